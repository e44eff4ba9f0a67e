/* Transformer2DModel (diffusers, continuous input) and its BasicTransformerBlock, with
 * Tune-A-Video's inflation when frames > 1: attn1 becomes sparse-causal attention (keys and
 * values of frame 0 and frame i-1), and, when the block is given its temporal layers, a
 * temporal attention (norm_temp + attn_temp, over the frames at each position) follows the
 * feed-forward. The temporal layers and the tuned query projections live apart from the
 * base weights (GvTemporalBlock), so that one base model serves every clip. */
#pragma once

#include "models/gv-layers.h"

G_BEGIN_DECLS

typedef struct {
  GvLinear to_q, to_k, to_v, to_out;
} GvAttentionProj;

typedef struct {
  GvLayerNorm norm1, norm2, norm3;
  GvAttentionProj attn1, attn2;
  GvLinear ff_proj, ff_out;
} GvTransformerBlock;

/* What Tune-A-Video adds to (and tunes in) one BasicTransformerBlock. */
typedef struct {
  GvTensor *attn1_q, *attn2_q;   /* tuned to_q weights of attn1 / attn2, or NULL: the base's */
  GvLayerNorm norm_temp;
  GvAttentionProj attn_temp;
} GvTemporalBlock;

typedef struct {
  GvGroupNorm norm;
  GvLinear proj_in, proj_out;  /* 1x1 conv projections are loaded as Linear views */
  gint n_blocks;
  GvTransformerBlock *blocks;
  gint channels, heads;
} GvTransformer2D;

typedef struct {
  gint heads;
  gint cross_attention_dim;
  gint n_layers;
  gint groups;
  gboolean linear_projection;
} GvTransformerSpec;

void gv_transformer_load (GvTransformer2D *t, GvLoader *ld, const gchar *name, gint channels,
    const GvTransformerSpec *spec);
/* x [N*F, C, H, W]; context [N, L, D] (text, shared by the F frames of each clip);
 * @frame_index: the sparse-causal gather index (NULL: plain self-attention);
 * @temporal: one entry per transformer block of @t, or NULL. Returns x + transformer (x). */
GvTensor *gv_transformer_forward (GvTransformer2D *t, GvCmd *cmd, GvTensor *x,
    GvTensor *context, gint frames, GvTensor *frame_index, GvTemporalBlock *const *temporal);
/* What a Transformer2D's backward reads of its inside (norms, projections, attention outputs
 * and log-sum-exps, the feed-forward's and the temporal attention's intermediates). */
typedef struct _GvTransformerInside GvTransformerInside;
void gv_transformer_inside_free (GvTransformerInside *in);

/* Training: gv_transformer_forward (same arguments), the same bytes; *@keep (when @keep is not
 * NULL) gets the inside for the backward. */
GvTensor *gv_transformer_forward_train (GvTransformer2D *t, GvCmd *cmd, GvTensor *x,
    GvTensor *context, gint frames, GvTensor *frame_index, GvTemporalBlock *const *temporal,
    GvTransformerInside **keep);
/* The gradient of gv_transformer_forward_train (same arguments) from @dout. @kept: the inside
 * the forward kept (taken over and released), or NULL: the blocks are recomputed from @x
 * (per-block checkpoint), the same bytes. dx (+)= as @accumulate; weight gradients (tuned
 * query weights and temporal layers included) where @g says. The text @context gets no
 * gradient. */
void gv_transformer_backward (GvTransformer2D *t, GvCmd *cmd, const GvGrads *g, GvTensor *dx,
    GvTensor *dout, GvTensor *x, GvTensor *context, gint frames, GvTensor *frame_index,
    GvTemporalBlock *const *temporal, gboolean accumulate, GvTransformerInside *kept);
void gv_transformer_clear (GvTransformer2D *t);

/* Temporal layers of a block of width @dim: each tensor from @ld when present under
 * @name ("...transformer_blocks.0" + ".attn_temp.to_q.weight" etc.), else initialised as
 * Tune-A-Video does (to_out zeroed, bias included, so that the untuned model is the image model
 * per frame), with @rand. Tuned attn1/attn2 query weights are taken when present. */
void gv_temporal_block_load (GvTemporalBlock *b, GvLoader *ld, const gchar *name, gint dim,
    GvDevice *dev, GRand *rand);
void gv_temporal_block_clear (GvTemporalBlock *b);

/* The gather index of sparse-causal attention for @clips clips of @frames frames: for image
 * n*F + f, the pair (n*F, n*F + max (f - 1, 0)). NULL when frames == 1. */
GvTensor *gv_sparse_causal_index (GvCmd *cmd, gint clips, gint frames);

G_END_DECLS
