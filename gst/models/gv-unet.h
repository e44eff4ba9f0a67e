/* UNet2DConditionModel (diffusers), and its Tune-A-Video inflation for video latents.
 *
 * Video latents (B, C, F, H, W) run as B*F images in frame-major order ((b f) c h w, as
 * Tune-A-Video rearranges them); gv_video_to_images () and gv_images_to_video () convert. */
#pragma once

#include "models/gv-config.h"
#include "models/gv-layers.h"

G_BEGIN_DECLS

typedef struct _GvUNet GvUNet;

typedef struct {
  gint frames;                    /* F: images per clip (1: the image model) */
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

/* Loads @folder (the checkpoint's unet/) described by @cfg. With @inflate, the Tune-A-Video
 * temporal layers are added: loaded when the weights hold them (a tuned model), else
 * initialised (seeded by @seed) so that the untuned model is the image model per frame. */
GvUNet *gv_unet_load (GvDevice *dev, const gchar *folder, const GvUNetConfig *cfg,
    gboolean inflate, guint32 seed, GError **error);
/* The same network with random weights (benchmarks at real size without the file). */
GvUNet *gv_unet_new_random (GvDevice *dev, const GvUNetConfig *cfg, gboolean inflate,
    guint32 seed, GError **error);
void gv_unet_free (GvUNet *unet);

const GvUNetConfig *gv_unet_get_config (GvUNet *unet);

/* sample [B*F, C, h, w] -> model output of the same shape (recorded on @cmd) */
GvTensor *gv_unet_forward (GvUNet *unet, GvCmd *cmd, GvTensor *sample, const GvUNetInputs *in);

/* (B, C, F, H, W) <-> (B*F, C, H, W) */
GvTensor *gv_video_to_images (GvCmd *cmd, GvTensor *video);
GvTensor *gv_images_to_video (GvCmd *cmd, GvTensor *images, gint frames);

G_END_DECLS
