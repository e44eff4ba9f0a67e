/* The unCLIP image-variation pipeline (diffusers StableUnCLIPImg2ImgPipeline): prompt + image ->
 * image. It proves the pieces fit and is checked against the reference end to end. */
#pragma once

#include "models/gv-model.h"

G_BEGIN_DECLS

typedef struct {
  const gchar *prompt;
  const gchar *negative_prompt;   /* NULL: "" */
  const guint8 *image;            /* RGB */
  gint image_width, image_height, image_stride;
  gint noise_level;
  const gfloat *image_embeds_noise;   /* [P], or NULL: drawn from @seed */
  gint steps;
  gfloat guidance_scale;          /* > 1: classifier-free guidance */
  gint height, width;             /* output size (multiples of the VAE factor) */
  const gfloat *latents;          /* [1, C, h, w], or NULL: drawn from @seed */
  guint64 seed;
  /* "encoder_hidden_states", "class_labels", "latents_after_step_<i>" */
  GvTapFunc tap;
  gpointer tap_data;
  const gint *cancel;             /* checked between steps */
} GvUnclipParams;

/* Returns the image as [height, width, 3] floats in [0, 1] (g_free() it), or NULL with @error. */
gfloat *gv_unclip_generate (GvModel *model, const GvUnclipParams *params, GError **error);

G_END_DECLS
