/* Plain C references of the ops, written for clarity: loops as in the definition, double
 * accumulation where sums are long. Shapes are given outermost first, as in the ops. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* --- element-wise (gv-ref-eltwise.c) --- */
/* Broadcasts like numpy: out has out_nd dims; a has a_nd dims (right-aligned). */
typedef enum { GV_REF_ADD, GV_REF_MUL, GV_REF_BLEND } GvRefBinary;
void gv_ref_binary (gfloat *out, const gint64 *out_shape, gint out_nd,
    const gfloat *a, const gint64 *a_shape, gint a_nd,
    const gfloat *b, const gint64 *b_shape, gint b_nd,
    const gfloat *m, const gint64 *m_shape, gint m_nd,
    GvRefBinary op, gfloat alpha, gfloat beta);
gfloat gv_ref_silu (gfloat x);
gfloat gv_ref_gelu (gfloat x);

/* --- normalisation and rows (gv-ref-norm.c) --- */
/* in [n, c, s]; statistics per group over @frames consecutive images (gv_op_group_norm);
 * gamma and beta may be NULL */
void gv_ref_group_norm (gfloat *out, const gfloat *in, gint64 n, gint64 c, gint64 s,
    const gfloat *gamma, const gfloat *beta, gint groups, gint frames, gfloat eps,
    gboolean silu);
void gv_ref_layer_norm (gfloat *out, const gfloat *in, gint64 rows, gint64 len,
    const gfloat *gamma, const gfloat *beta, gfloat eps);
void gv_ref_softmax (gfloat *out, const gfloat *in, gint64 rows, gint64 len);
/* in [rows, 2n] -> out [rows, n] = in[:, :n] * gelu (in[:, n:]) */
void gv_ref_geglu (gfloat *out, const gfloat *in, gint64 rows, gint64 n);

/* --- data movement (gv-ref-layout.c) --- */
/* a and b of nd dims, equal except along @dim */
void gv_ref_concat (gfloat *out, const gfloat *a, const gint64 *a_shape, const gfloat *b,
    const gint64 *b_shape, gint nd, gint dim);
/* out = in.permute (perm), in of @shape */
void gv_ref_permute (gfloat *out, const gfloat *in, const gint64 *shape, gint nd,
    const gint *perm);
void gv_ref_resize_nearest (gfloat *out, const gfloat *in, gint64 planes, gint64 h, gint64 w,
    gint64 ho, gint64 wo);
/* src [b, c, l, d], index [b, m] -> out [b, c, m, d] */
void gv_ref_gather (gfloat *out, const gfloat *src, const gint32 *index, gint64 b, gint64 c,
    gint64 l, gint64 m, gint64 d);
/* t [batch] -> out [batch, dim], in double */
void gv_ref_timestep_embedding (gfloat *out, const gfloat *t, gint64 batch, gint64 dim,
    gboolean flip_sin_to_cos, gfloat shift, gfloat max_period);

G_END_DECLS
