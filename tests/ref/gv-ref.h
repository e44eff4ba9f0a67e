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

/* --- attention (gv-ref-attention.c) --- */
/* q [B, Lq, H*D], k and v [Bk, Lk, H*D], out [B, Lq, H*D]; query batch b uses key/value batch
 * b / (B / Bk). scale 0 means 1 / sqrt (D). Only the query rows i with i % row_step == 0 are
 * computed (row_step 1: all of them; larger steps check long sequences on a subset); the
 * other rows of @out are left as they are. */
void gv_ref_attention (gfloat *out, const gfloat *q, const gfloat *k, const gfloat *v,
    gint B, gint Bk, gint Lq, gint Lk, gint heads, gint head_dim, gfloat scale,
    gboolean causal, gint row_step);
/* --- feature matching (gv-ref-match.c) --- */
/* The cosine of feature vectors, each norm clamped at GV_REF_COS_EPS (as
 * torch.nn.functional.cosine_similarity): a zero vector has cosine 0 with everything. */
#define GV_REF_COS_EPS 1e-8
/* a, b [N, C, H, W]: for every position p of a[n] the index of the most cosine-similar
 * position of b[n] within the window of @radius (0: anywhere), ties to the smallest index;
 * @index and @score [N, H*W]. @second (may be NULL) receives the best cosine among the other
 * candidates, so tests can tell clear winners from near ties. */
void gv_ref_nn_search (gint32 *index, gfloat *score, gfloat *second, const gfloat *a,
    const gfloat *b, gint N, gint C, gint H, gint W, gint radius);
/* a, b [N, C, S] -> out [N, S] = mean over c of |a - b| (added to out when @accumulate) */
void gv_ref_mean_abs_diff (gfloat *out, const gfloat *a, const gfloat *b, gint N, gint C,
    gint S, gboolean accumulate);
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
