/* Transformer2DModel (diffusers, continuous input) and its BasicTransformerBlock, with
 * Tune-A-Video's inflation when frames > 1: attn1 becomes sparse-causal attention (keys and
 * values of frame 0 and frame i-1), and a temporal attention (norm_temp + attn_temp, over the
 * frames at each position) follows the feed-forward. */
#pragma once

#include "models/gv-layers.h"

G_BEGIN_DECLS

typedef struct {
  GvLinear to_q, to_k, to_v, to_out;
} GvAttentionProj;

typedef struct {
  GvLayerNorm norm1, norm2, norm3, norm_temp;
  GvAttentionProj attn1, attn2, attn_temp;
  GvLinear ff_proj, ff_out;
  gboolean has_temporal;      /* attn_temp / norm_temp exist (inflated model) */
} GvTransformerBlock;

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
  gboolean inflate;           /* add the temporal layers (loaded if present, else initialised) */
  guint32 init_seed;          /* seed of the initialisation of absent temporal layers */
  GvDevice *dev;              /* where initialised layers are created */
} GvTransformerSpec;

void gv_transformer_load (GvTransformer2D *t, GvLoader *ld, const gchar *name, gint channels,
    const GvTransformerSpec *spec);
/* x [N*F, C, H, W]; context [N, L, D] (text, shared by the F frames of each clip).
 * Returns x + transformer (x). */
GvTensor *gv_transformer_forward (GvTransformer2D *t, GvCmd *cmd, GvTensor *x,
    GvTensor *context, gint frames, GvTensor *frame_index);
void gv_transformer_clear (GvTransformer2D *t);

/* The gather index of sparse-causal attention for @clips clips of @frames frames: for image
 * n*F + f, the pair (n*F, n*F + max (f - 1, 0)). NULL when frames == 1. */
GvTensor *gv_sparse_causal_index (GvCmd *cmd, gint clips, gint frames);

G_END_DECLS
