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

/* --- matrix products (gv-ref-matmul.c) --- */
typedef enum { GV_REF_ACT_NONE, GV_REF_ACT_SILU, GV_REF_ACT_GELU } GvRefAct;
/* out[z] = act (alpha * op(a[z]) @ op(b[z]) + bias) + residual[z], z < batch; a is [m, k]
 * ([k, m] when trans_a), b is [k, n] ([n, k] when trans_b); a shared operand has one entry
 * for every z. bias [n] and residual [batch, m, n] may be NULL. */
void gv_ref_matmul (gfloat *out, const gfloat *a, const gfloat *b, gint64 batch, gint64 m,
    gint64 n, gint64 k, gboolean a_shared, gboolean b_shared, gboolean trans_a,
    gboolean trans_b, gfloat alpha, const gfloat *bias, GvRefAct act, const gfloat *residual);
typedef struct {
  gint64 n, c, h, w;     /* input */
  gint64 co;             /* output channels */
  gint kh, kw, stride;
  gint pad_top, pad_bottom, pad_left, pad_right;
} GvRefConv;
gint64 gv_ref_conv_out_size (gint64 in, gint pad_before, gint pad_after, gint kernel,
    gint stride);
/* in [n, c, h, w], weight [co, c, kh, kw] -> out [n, co, ho, wo]; bias [co],
 * add_per_channel [n, co] and residual [n, co, ho, wo] may be NULL. */
void gv_ref_conv2d (gfloat *out, const gfloat *in, const gfloat *weight, const GvRefConv *c,
    const gfloat *bias, const gfloat *add_per_channel, GvRefAct act, const gfloat *residual);

G_END_DECLS
