/* ResnetBlock2D (diffusers), shared by the UNet and the VAE; with frames > 1 it is Tune-A-Video's
 * ResnetBlock3D (GroupNorm statistics across the frames of a clip, convolutions per frame). */
#pragma once

#include "models/gv-layers.h"

G_BEGIN_DECLS

typedef struct {
  GvGroupNorm norm1, norm2;
  GvConv2d conv1, conv2;
  GvConv2d conv_shortcut;     /* weight NULL when in == out */
  GvLinear time_emb_proj;     /* weight NULL without a time embedding (VAE) */
  gint in, out;
} GvResnet;

/* The embedding a block adds after conv1: emb_silu ([N, T], SiLU already applied), or, when
 * @mask is set, mask * proj (emb_silu) + (1 - mask) * proj (emb_silu_alt) per pixel (GenVideo's
 * mask-gated target/source embeddings). */
typedef struct {
  GvTensor *emb_silu;
  GvTensor *emb_silu_alt;
  GvTensor *mask;             /* [N, 1, H, W] at the block's resolution, or NULL */
} GvResnetEmb;

void gv_resnet_load (GvResnet *r, GvLoader *ld, const gchar *name, gint in, gint out,
    gint temb_channels, gint groups, gfloat eps);
/* x [N, in, H, W] -> [N, out, H, W]; @emb may be NULL (VAE) */
GvTensor *gv_resnet_forward (GvResnet *r, GvCmd *cmd, GvTensor *x, const GvResnetEmb *emb,
    gint frames);
/* What the backward reads of a block's inside: h = silu (norm1 (x)), h1 = conv1 (h) +
 * time_emb_proj (emb_silu), h2 = silu (norm2 (h1)). */
typedef struct {
  GvTensor *h, *h1, *h2;
} GvResnetInside;

/* Training (no mask): gv_resnet_forward (r, cmd, x, {emb_silu}, frames), the same bytes;
 * @keep (or NULL) gets the block's inside for the backward. */
GvTensor *gv_resnet_forward_train (GvResnet *r, GvCmd *cmd, GvTensor *x, GvTensor *emb_silu,
    gint frames, GvResnetInside *keep);
void gv_resnet_inside_clear (GvResnetInside *in);
/* The gradient of gv_resnet_forward_train from @dout. @kept: the inside the forward kept
 * (taken over and released), or NULL / empty: recomputed from @x (per-block checkpoint), the
 * same bytes. dx (+)= dL/dx as @accumulate says; @demb_silu [N, temb] (or NULL) is always
 * added into; weight gradients go where @g says. */
void gv_resnet_backward (GvResnet *r, GvCmd *cmd, const GvGrads *g, GvTensor *dx,
    GvTensor *demb_silu, GvTensor *dout, GvTensor *x, GvTensor *emb_silu, gint frames,
    gboolean accumulate, GvResnetInside *kept);
void gv_resnet_clear (GvResnet *r);

G_END_DECLS
