/* The layers networks are built from, each bound to its weights by diffusers / transformers
 * name: Linear, Conv2d, GroupNorm, LayerNorm. Loading goes through a GvLoader (sticky errors),
 * applying records ops on a GvCmd and returns a new tensor (the caller unrefs it). */
#pragma once

#include "models/gv-weights.h"
#include "nn/gv-ops.h"

G_BEGIN_DECLS

/* Called by a network with intermediate results under their reference module paths
 * ("down_blocks.0", "hidden_states.3", ...), and the GvCmd the network records on. The
 * tensor is only valid during the call (ref it to keep it); to read its values, record a
 * download or a copy on @cmd (then they are those of this point of the computation). */
typedef void (*GvTapFunc) (const gchar *name, GvCmd *cmd, GvTensor *t, gpointer user_data);

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

/* --- Training: backward of the layers above (issue 9) ---
 * A GvGradFunc names the gradient tensor of a parameter (NULL: frozen, no weight gradient is
 * computed). Weight gradients are always added into (the trainer zeroes them before a step);
 * input gradients are written, or added when @accumulate. dx may be NULL (not wanted). */
typedef GvTensor *(*GvGradFunc) (GvTensor *param, gpointer user_data);

typedef struct {
  GvGradFunc grad;
  gpointer data;
} GvGrads;

/* Called for every parameter of a network with its state-dict name (the trainers register
 * them with their optimizer). */
typedef void (*GvParamFunc) (const gchar *name, GvTensor *param, gpointer data);
/* Records the loss of a network's output @out and returns dL/dout (transfer full): the
 * networks' forward_backward functions call it between their forward and their backward. */
typedef GvTensor *(*GvLossGradFunc) (GvCmd *cmd, GvTensor *out, gpointer data);

GvTensor *gv_grads_lookup (const GvGrads *g, GvTensor *param);

/* gv_linear_apply without activation: dy [..., out] -> dx [..., in]; @weight is the weight
 * the forward used (a tuned one may stand in for l->weight; NULL: l->weight). */
void gv_linear_backward (GvLinear *l, GvCmd *cmd, const GvGrads *g, GvTensor *weight,
    GvTensor *dx, GvTensor *dy, GvTensor *x, gboolean accumulate);
void gv_linear_pixels_backward (GvLinear *l, GvCmd *cmd, const GvGrads *g, GvTensor *dx,
    GvTensor *dy, GvTensor *x, gboolean accumulate);
void gv_linear_to_pixels_backward (GvLinear *l, GvCmd *cmd, const GvGrads *g, GvTensor *dh,
    GvTensor *dy, GvTensor *h, gboolean accumulate);
/* gv_conv2d_apply without activation; @dadd: gradient of add_per_channel [N, out] (or NULL) */
void gv_conv2d_backward (GvConv2d *c, GvCmd *cmd, const GvGrads *g, GvTensor *dx,
    GvTensor *dadd, GvTensor *dy, GvTensor *x, gboolean accumulate);
void gv_group_norm_backward (GvGroupNorm *n, GvCmd *cmd, const GvGrads *g, GvTensor *dx,
    GvTensor *dy, GvTensor *x, gint frames, gboolean silu, gboolean accumulate);
void gv_layer_norm_backward (GvLayerNorm *n, GvCmd *cmd, const GvGrads *g, GvTensor *dx,
    GvTensor *dy, GvTensor *x, gboolean accumulate);

G_END_DECLS
