/* Backward references of the ops on the inflated UNet's path (and of the loss and optimiser of
 * Tune-A-Video's tuning), written as in llm.c: each op's forward and backward side by side, the
 * math visible, in double precision throughout. The backward kernels are checked against these;
 * these are checked against central finite differences of the forwards here, and the forwards
 * against the float references of gv-ref.h (tests/ref/test-ref-backward-*.c).
 *
 * Layouts are those of the forward ops (shapes outermost first). Every backward *adds* its
 * gradients (+=) into buffers the caller has zeroed, so that a tensor used twice (a residual,
 * the key/value frames shared by sparse-causal attention, an embedding read by every ResNet)
 * sums its gradients; a NULL gradient pointer is not computed (frozen weights, inputs that need
 * none). Forwards overwrite their outputs. */
#pragma once

#include "gv-ref.h"

G_BEGIN_DECLS

/* --- linear and conv2d (gv-ref-back-matmul.c) --- */
/* x [rows, in], weight [out, in] (torch layout), bias [out] or NULL -> y [rows, out] */
void gv_ref_linear_forward (gdouble *y, const gdouble *x, const gdouble *weight,
    const gdouble *bias, gint64 rows, gint64 in, gint64 out);
void gv_ref_linear_backward (gdouble *dx, gdouble *dweight, gdouble *dbias, const gdouble *dy,
    const gdouble *x, const gdouble *weight, gint64 rows, gint64 in, gint64 out);
/* Per image (a frame is an image: x [frames, c, h, w]), geometry as gv_ref_conv2d: x [n, c, h,
 * w], weight [co, c, kh, kw] -> y [n, co, ho, wo]; bias [co] and add_per_channel [n, co] (the
 * ResNet's time embedding) may be NULL. Any stride and any padding per side (the VAE's
 * downsampler pads (0, 1, 0, 1)). */
void gv_ref_conv2d_forward (gdouble *y, const gdouble *x, const gdouble *weight,
    const gdouble *bias, const gdouble *add_per_channel, const GvRefConv *c);
void gv_ref_conv2d_backward (gdouble *dx, gdouble *dweight, gdouble *dbias, gdouble *dadd,
    const gdouble *dy, const gdouble *x, const gdouble *weight, const GvRefConv *c);

/* --- normalisations (gv-ref-back-norm.c) --- */
/* x [n, c, s]; statistics per group of c / groups channels over @frames consecutive images
 * together (1: torch GroupNorm, per frame, as in the Transformer2D's norm; F: Tune-A-Video's
 * 3-D ResNets and conv_norm_out on [b, c, f, h, w], across the clip's frames); gamma, beta [c]
 * or NULL; SiLU after the affine when @silu (the fused GroupNorm + SiLU). mean and rstd
 * [n / frames, groups] are saved for the backward. */
void gv_ref_group_norm_forward (gdouble *y, gdouble *mean, gdouble *rstd, const gdouble *x,
    const gdouble *gamma, const gdouble *beta, gint64 n, gint64 c, gint64 s, gint groups,
    gint frames, gdouble eps, gboolean silu);
void gv_ref_group_norm_backward (gdouble *dx, gdouble *dgamma, gdouble *dbeta,
    const gdouble *dy, const gdouble *x, const gdouble *mean, const gdouble *rstd,
    const gdouble *gamma, const gdouble *beta, gint64 n, gint64 c, gint64 s, gint groups,
    gint frames, gboolean silu);
/* over the last dimension: x [rows, len]; mean and rstd [rows] saved */
void gv_ref_layer_norm_forward (gdouble *y, gdouble *mean, gdouble *rstd, const gdouble *x,
    const gdouble *gamma, const gdouble *beta, gint64 rows, gint64 len, gdouble eps);
void gv_ref_layer_norm_backward (gdouble *dx, gdouble *dgamma, gdouble *dbeta,
    const gdouble *dy, const gdouble *x, const gdouble *mean, const gdouble *rstd,
    const gdouble *gamma, gint64 rows, gint64 len);

/* --- attention (gv-ref-back-attention.c) --- */
typedef struct {
  gint B, Bk;             /* query batches; key/value batches (query batch b uses b / (B / Bk)) */
  gint Lq, Lk;
  gint heads, head_dim;   /* channels = heads * head_dim, head h at channels [h*D, (h+1)*D) */
  gdouble scale;          /* 0 means 1 / sqrt (head_dim) */
  gboolean causal;        /* query i sees keys j <= i */
} GvRefAttn;
/* q [B, Lq, H*D], k and v [Bk, Lk, H*D] -> o [B, Lq, H*D] = softmax (scale q k^T) v per head,
 * and lse [B, H, Lq], the log-sum-exp of each row's scaled scores, kept for the backward. */
void gv_ref_attention_forward (gdouble *o, gdouble *lse, const gdouble *q, const gdouble *k,
    const gdouble *v, const GvRefAttn *a);
/* Flash-style: the scores are recomputed row by row from q, k and lse; with
 * Di = rowsum (dO * O) no score matrix is kept (memory linear in the sequence lengths). */
void gv_ref_attention_backward (gdouble *dq, gdouble *dk, gdouble *dv, const gdouble *dout,
    const gdouble *q, const gdouble *k, const gdouble *v, const gdouble *o, const gdouble *lse,
    const GvRefAttn *a);

/* --- data movement (gv-ref-back-layout.c) --- */
/* src [b, c, l, d], index [b, m] -> out [b, c, m, d]; the backward sums (scatters) dout into
 * the rows of dsrc the index names. */
void gv_ref_gather_forward (gdouble *out, const gdouble *src, const gint32 *index, gint64 b,
    gint64 c, gint64 l, gint64 m, gint64 d);
void gv_ref_gather_backward (gdouble *dsrc, const gdouble *dout, const gint32 *index, gint64 b,
    gint64 c, gint64 l, gint64 m, gint64 d);
/* index [2 * clips * frames] of the sparse-causal key/value gather: image i of a clip takes
 * the tokens of its frame 0 and of frame i-1 (frame 0 takes frame 0 twice). With it, k [N, L, C]
 * seen as src [1, 1, N, L*C] gathers [N, 2L, C]; the backward adds into frames 0 and i-1. */
void gv_ref_sparse_causal_index (gint32 *index, gint clips, gint frames);
/* x [n, a, b, c] -> y [n, b, a, c] (temporal attention's [f, hw, c] <-> [hw, f, c]); the
 * backward is the same swap of the gradient, back. */
void gv_ref_swap_axes_forward (gdouble *y, const gdouble *x, gint64 n, gint64 a, gint64 b,
    gint64 c);
void gv_ref_swap_axes_backward (gdouble *dx, const gdouble *dy, gint64 n, gint64 a, gint64 b,
    gint64 c);
/* a [outer, a_len], b [outer, b_len] -> y [outer, a_len + b_len] (torch.cat along one dim:
 * a_len = a_shape[dim] * the size of the dims after it; the UNet's skip concatenation
 * [hidden, skip] along channels is outer = n) */
void gv_ref_concat_forward (gdouble *y, const gdouble *a, const gdouble *b, gint64 outer,
    gint64 a_len, gint64 b_len);
void gv_ref_concat_backward (gdouble *da, gdouble *db, const gdouble *dy, gint64 outer,
    gint64 a_len, gint64 b_len);
/* x [planes, h, w] -> y [planes, ho, wo], source floor (dst * in / out) (torch nearest); the
 * backward sums every output's gradient into its source: a 2x2 sum for 2x upsampling. */
void gv_ref_resize_nearest_forward (gdouble *y, const gdouble *x, gint64 planes, gint64 h,
    gint64 w, gint64 ho, gint64 wo);
void gv_ref_resize_nearest_backward (gdouble *dx, const gdouble *dy, gint64 planes, gint64 h,
    gint64 w, gint64 ho, gint64 wo);

/* --- element-wise (gv-ref-back-eltwise.c) --- */
void gv_ref_silu_forward (gdouble *y, const gdouble *x, gint64 n);
void gv_ref_silu_backward (gdouble *dx, const gdouble *dy, const gdouble *x, gint64 n);
/* exact GELU, 0.5 x (1 + erf (x / sqrt 2)) (diffusers' GEGLU and CLIP's "gelu") */
void gv_ref_gelu_forward (gdouble *y, const gdouble *x, gint64 n);
void gv_ref_gelu_backward (gdouble *dx, const gdouble *dy, const gdouble *x, gint64 n);
/* x [rows, 2n] -> y [rows, n] = x[:, :n] * gelu (x[:, n:]) (diffusers GEGLU: hidden, gate) */
void gv_ref_geglu_forward (gdouble *y, const gdouble *x, gint64 rows, gint64 n);
void gv_ref_geglu_backward (gdouble *dx, const gdouble *dy, const gdouble *x, gint64 rows,
    gint64 n);
/* y = a + b (residuals): the gradient goes to both */
void gv_ref_add_forward (gdouble *y, const gdouble *a, const gdouble *b, gint64 n);
void gv_ref_add_backward (gdouble *da, gdouble *db, const gdouble *dy, gint64 n);

/* --- composite paths (gv-ref-back-temporal.c, gv-ref-back-embedding.c) --- */
/* Tune-A-Video's temporal block: h [clips*frames, L, C] -> h + attn_temp (norm_temp (h)) with
 * attention across the frames at each token (no positional encoding), i.e. on h regrouped as
 * [clips*L, frames, C]. All its tensors are trainable. */
typedef struct {
  gint clips, frames, tokens, channels, heads;
  gdouble eps;                  /* norm_temp's, 1e-5 */
} GvRefTemporal;
typedef struct {
  gdouble *norm_w, *norm_b;     /* norm_temp [C] */
  gdouble *wq, *wk, *wv, *wo;   /* attn_temp.to_q, to_k, to_v, to_out.0 [C, C] */
  gdouble *bo;                  /* attn_temp.to_out.0 bias [C] */
} GvRefTemporalParams;
/* the activations the backward needs, kept by the forward (each [clips*L*frames, C] except
 * mean, rstd [clips*L*frames] and lse [clips*L, heads, frames]) */
typedef struct {
  gdouble *seq, *normed, *mean, *rstd, *q, *k, *v, *att, *lse, *out;
} GvRefTemporalActs;
void gv_ref_temporal_acts_init (GvRefTemporalActs *acts, const GvRefTemporal *t);
void gv_ref_temporal_acts_clear (GvRefTemporalActs *acts);
void gv_ref_temporal_forward (gdouble *y, GvRefTemporalActs *acts, const gdouble *h,
    const GvRefTemporalParams *p, const GvRefTemporal *t);
/* @grads holds the parameter gradients (any may be NULL), @dh the input's */
void gv_ref_temporal_backward (gdouble *dh, const GvRefTemporalParams *grads,
    const gdouble *dy, const GvRefTemporalActs *acts, const GvRefTemporalParams *p,
    const GvRefTemporal *t);

/* The UNet's time and class embedding: emb = time_embedding (proj) + class_embedding (labels),
 * each Linear-SiLU-Linear, then SiLU, repeated for the frames of each clip: the per-image
 * input of every ResNet's time_emb_proj. proj [clips, in] is the sinusoidal embedding of the
 * timesteps (gv_ref_timestep_embedding: no parameters, no gradient). */
typedef struct {
  gint clips, frames;
  gint in, dim;                 /* sinusoidal width (block_out_channels[0]); time_embed_dim */
  gint class_in;                /* class_labels width; 0: no class embedding */
} GvRefEmbedding;
typedef struct {
  gdouble *w1, *b1, *w2, *b2;       /* time_embedding.linear_1 [dim, in], linear_2 [dim, dim] */
  gdouble *wc1, *bc1, *wc2, *bc2;   /* class_embedding.linear_1 [dim, class_in], linear_2 */
} GvRefEmbeddingParams;
typedef struct {
  gdouble *t1, *t1_silu, *c1, *c1_silu, *sum;   /* each [clips, dim] */
} GvRefEmbeddingActs;
void gv_ref_embedding_acts_init (GvRefEmbeddingActs *acts, const GvRefEmbedding *e);
void gv_ref_embedding_acts_clear (GvRefEmbeddingActs *acts);
/* -> y [clips*frames, dim] */
void gv_ref_embedding_forward (gdouble *y, GvRefEmbeddingActs *acts, const gdouble *proj,
    const gdouble *labels, const GvRefEmbeddingParams *p, const GvRefEmbedding *e);
/* @dlabels may be NULL (the labels are not trained) */
void gv_ref_embedding_backward (const GvRefEmbeddingParams *grads, gdouble *dlabels,
    const gdouble *dy, const GvRefEmbeddingActs *acts, const gdouble *proj,
    const gdouble *labels, const GvRefEmbeddingParams *p, const GvRefEmbedding *e);

/* --- loss and optimiser (gv-ref-back-optim.c) --- */
/* the v-prediction target sqrt (a) * eps - sqrt (1 - a) * z0 (a = alphas_cumprod[t]) */
void gv_ref_v_target (gdouble *target, const gdouble *z0, const gdouble *eps, gdouble alpha_bar,
    gint64 n);
/* F.mse_loss (pred, target) (mean); the backward adds dloss * 2 (pred - target) / n */
gdouble gv_ref_mse_forward (const gdouble *pred, const gdouble *target, gint64 n);
void gv_ref_mse_backward (gdouble *dpred, gdouble dloss, const gdouble *pred,
    const gdouble *target, gint64 n);
/* torch.nn.utils.clip_grad_norm_: the 2-norm of all @n_tensors gradients together; when
 * over @max_norm every gradient is scaled by max_norm / (norm + 1e-6). Returns the norm
 * before clipping. */
gdouble gv_ref_clip_grad_norm (gdouble *const *grads, const gint64 *sizes, gint n_tensors,
    gdouble max_norm);
typedef struct {
  gdouble lr, beta1, beta2, eps, weight_decay;
} GvRefAdamW;
/* One step of torch.optim.AdamW (step counts from 1): decoupled weight decay
 * p -= lr * wd * p, then the bias-corrected Adam update on the moments m and v. */
void gv_ref_adamw_step (gdouble *param, gdouble *m, gdouble *v, const gdouble *grad, gint64 n,
    gint step, const GvRefAdamW *o);

G_END_DECLS
