/* UNet2DConditionModel (diffusers), and its Tune-A-Video inflation for video latents.
 *
 * Video latents (B, C, F, H, W) run as B*F images in frame-major order ((b f) c h w, as
 * Tune-A-Video rearranges them); gv_video_to_images () and gv_images_to_video () convert. */
#pragma once

#include "models/gv-config.h"
#include "models/gv-layers.h"

G_BEGIN_DECLS

typedef struct _GvUNet GvUNet;

/* Tune-A-Video's layers for a UNet: per transformer block (down blocks, mid block, up blocks
 * in order) the temporal attention and the tuned attn1/attn2 query projections. Given to the
 * forward pass, they make the UNet the inflated video model; without them it is the image
 * model applied to each frame. */
typedef struct _GvUNetTemporal GvUNetTemporal;

typedef struct {
  gint frames;                    /* F: images per clip */
  GvUNetTemporal *temporal;       /* NULL: the image model per frame */
  const gfloat *timesteps;        /* one per clip */
  GvTensor *encoder_hidden_states;   /* [B, L, D] */
  GvTensor *class_labels;         /* [B, 2P], or NULL for a model without class embedding */
  /* GenVideo's mask-gated embedding: inside @mask the embedding of @class_labels, outside it
   * that of @class_labels_alt (both NULL/unused when @mask is NULL) */
  GvTensor *class_labels_alt;     /* [B, 2P] */
  GvTensor *mask;                 /* [B*F, 1, h, w] at latent resolution */
  /* taps: "time_embedding", "class_embedding", "conv_in", "down_blocks.<i>", "mid_block",
   * "up_blocks.<i>" (latent correction reads up_blocks.2), "conv_norm_out" */
  GvTapFunc tap;
  gpointer tap_data;
} GvUNetInputs;

/* Loads @folder (the checkpoint's unet/) described by @cfg. */
GvUNet *gv_unet_load (GvDevice *dev, const gchar *folder, const GvUNetConfig *cfg,
    GError **error);
/* The same network with its tensors from @ld (consumed), such as gv_loader_new_random()'s
 * made-up weights. */
GvUNet *gv_unet_new_from_loader (GvDevice *dev, GvLoader *ld, const GvUNetConfig *cfg,
    GError **error);
void gv_unet_free (GvUNet *unet);

/* The temporal layers of @unet: each tensor from the safetensors file @path (when not NULL)
 * under its Tune-A-Video state-dict name after @prefix ("param." in golden cases, "" in a
 * tuned-layers file), else initialised from @seed (to_out zeroed: the untuned model is the
 * image model per frame). */
GvUNetTemporal *gv_unet_temporal_new (GvUNet *unet, const gchar *path, const gchar *prefix,
    guint32 seed, GError **error);
void gv_unet_temporal_free (GvUNetTemporal *temporal);

const GvUNetConfig *gv_unet_get_config (GvUNet *unet);
GvDevice *gv_unet_get_device (GvUNet *unet);

/* sample [B*F, C, h, w] -> model output of the same shape (recorded on @cmd) */
GvTensor *gv_unet_forward (GvUNet *unet, GvCmd *cmd, GvTensor *sample, const GvUNetInputs *in);

/* --- Training (gv-unet-train.h builds on these) --- */

/* Calls @fn for every parameter tensor with its diffusers / Tune-A-Video state-dict name:
 * with @tav_only Tune-A-Video's trainable_modules of @temporal (attn1.to_q, attn2.to_q,
 * attn_temp.*; a block without its own tuned query weights gets a copy of the base's first),
 * else every tensor of @unet and @temporal (a base to_q that a tuned one replaces is left
 * out). */
gboolean gv_unet_foreach_param (GvUNet *unet, GvUNetTemporal *temporal, gboolean tav_only,
    GvParamFunc fn, gpointer data, GError **error);

/* Forward and backward of one step: out = unet (sample) as gv_unet_forward (no tap, no
 * mask), dout = @loss_grad (@out, a callback that records the loss and returns dL/dout),
 * then the backward, adding the weight gradients where @g says. Each block's input is kept;
 * with @recompute its inside is recomputed during the backward (per-block gradient
 * checkpointing), else the forward keeps it (faster, more memory). Both give the same
 * bytes. */
void gv_unet_forward_backward (GvUNet *unet, GvCmd *cmd, GvTensor *sample,
    const GvUNetInputs *in, const GvGrads *g, gboolean recompute, GvLossGradFunc loss_grad,
    gpointer data);

/* (B, C, F, H, W) <-> (B*F, C, H, W) */
GvTensor *gv_video_to_images (GvCmd *cmd, GvTensor *video);
GvTensor *gv_images_to_video (GvCmd *cmd, GvTensor *images, gint frames);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvUNet, gv_unet_free)

G_END_DECLS
