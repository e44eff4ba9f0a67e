/* The layers networks are built from, each bound to its weights by diffusers / transformers
 * name: Linear, Conv2d, GroupNorm, LayerNorm. Loading goes through a GvLoader (sticky errors),
 * applying records ops on a GvCmd and returns a new tensor (the caller unrefs it). */
#pragma once

#include "models/gv-weights.h"
#include "nn/gv-ops.h"

G_BEGIN_DECLS

/* Called by a network with intermediate results under their reference module paths
 * ("down_blocks.0", "hidden_states.3", ...). The tensor is only valid during the call (ref it
 * to keep it); its values are there once the command finishes (record a download or copy). */
typedef void (*GvTapFunc) (const gchar *name, GvTensor *t, gpointer user_data);

typedef struct {
  GvTensor *weight;   /* [out, in] */
  GvTensor *bias;     /* [out] or NULL */
  gint in, out;
} GvLinear;

/* Loads @name.weight (and @name.bias when @bias). */
void gv_linear_load (GvLinear *l, GvLoader *ld, const gchar *name, gint in, gint out,
    gboolean bias);
/* A 1x1 Conv2d (weight [out, in, 1, 1]) used as a Linear on the channels. */
void gv_linear_load_conv1x1 (GvLinear *l, GvLoader *ld, const gchar *name, gint in, gint out,
    gboolean bias);
/* x [..., in] -> act (x W^T + b) + residual, shape [..., out] */
GvTensor *gv_linear_apply (GvLinear *l, GvCmd *cmd, GvTensor *x, GvActivation act,
    GvTensor *residual);
/* x [N, in, H, W] -> tokens [N, H*W, out]: the Linear on every pixel's channels, transposed on
 * the fly (Transformer2DModel's proj_in, the VAE attention's q/k/v). */
GvTensor *gv_linear_apply_pixels (GvLinear *l, GvCmd *cmd, GvTensor *x);
/* tokens h [N, H*W, in] -> [N, out, H, W] = (h W^T + b) transposed, plus @residual
 * [N, out, H, W] (proj_out, to_out back to images). */
GvTensor *gv_linear_apply_to_pixels (GvLinear *l, GvCmd *cmd, GvTensor *h, gint64 height,
    gint64 width, GvTensor *residual);
void gv_linear_clear (GvLinear *l);

typedef struct {
  GvTensor *weight;   /* [out, in, k, k] */
  GvTensor *bias;     /* [out] or NULL */
  gint in, out, kernel, stride;
  gint pad_top, pad_bottom, pad_left, pad_right;
} GvConv2d;

/* Loads a k x k conv with symmetric padding @pad (the asymmetric VAE padding is set after). */
void gv_conv2d_load (GvConv2d *c, GvLoader *ld, const gchar *name, gint in, gint out,
    gint kernel, gint stride, gint pad, gboolean bias);
/* x [N, in, H, W] -> [N, out, Ho, Wo] */
GvTensor *gv_conv2d_apply (GvConv2d *c, GvCmd *cmd, GvTensor *x, GvTensor *add_per_channel,
    GvActivation act, GvTensor *residual);
void gv_conv2d_clear (GvConv2d *c);

typedef struct {
  GvTensor *weight, *bias;   /* [C] each */
  gint channels, groups;
  gfloat eps;
} GvGroupNorm;

void gv_group_norm_load (GvGroupNorm *n, GvLoader *ld, const gchar *name, gint channels,
    gint groups, gfloat eps);
/* statistics over @frames consecutive images together (Tune-A-Video's 3-D blocks) */
GvTensor *gv_group_norm_apply (GvGroupNorm *n, GvCmd *cmd, GvTensor *x, gint frames,
    gboolean silu);
void gv_group_norm_clear (GvGroupNorm *n);

typedef struct {
  GvTensor *weight, *bias;   /* [dim] each */
  gint dim;
  gfloat eps;
} GvLayerNorm;

void gv_layer_norm_load (GvLayerNorm *n, GvLoader *ld, const gchar *name, gint dim, gfloat eps);
GvTensor *gv_layer_norm_apply (GvLayerNorm *n, GvCmd *cmd, GvTensor *x);
void gv_layer_norm_clear (GvLayerNorm *n);

/* A new tensor shaped like @like (same dims), or with its last dimension replaced by @last. */
GvTensor *gv_tensor_like (GvCmd *cmd, const GvTensor *like);
GvTensor *gv_tensor_like_last (GvCmd *cmd, const GvTensor *like, gint64 last);

G_END_DECLS
