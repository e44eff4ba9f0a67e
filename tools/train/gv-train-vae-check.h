/* How well a model's VAE codes whole frames of the world the way the edit uses it (encode,
 * scale, decode: genvideo/gv-frames.h; 8-bit RGB after gv_image_to_picture): PSNR over whole
 * frames, their interior and a band along the borders, on held-out frames. A VAE trained on
 * crops can score well on its loss and still draw a frame along the borders and shift flat
 * colours on whole frames: this says it in numbers (model card, gv-train-model --check-vae). */
#pragma once

#include "models/gv-model.h"

G_BEGIN_DECLS

/* the held-out frames: frame 0 of clips of a stream that no stage draws from (the streams of
 * gv-train-data.h draw disjoint clips of the world) */
#define GV_TRAIN_STREAM_VAE_CHECK 202
#define GV_VAE_CHECK_SEED 0
#define GV_VAE_CHECK_FRAMES 32
#define GV_VAE_CHECK_BORDER 8     /* pixels: the band along the frame's borders */
#define GV_VAE_CHECK_FLAT_RADIUS 2  /* a flat pixel: its (2r+1)^2 neighbourhood is one colour */

typedef struct {
  gint frames, size;
  gdouble psnr, interior_psnr, border_psnr;   /* dB over all the frames' pixels of each region */
  gdouble flat_colour_error;   /* mean RGB distance (0..441) over the flat pixels: colour shift */
} GvVaeCheck;

/* @n held-out frames of @size x @size (a multiple of the VAE's factor) through @model's VAE */
gboolean gv_train_vae_check (GvModel *model, gint size, gint n, GvVaeCheck *check,
    GError **error);
/* The same for the model folder @folder, at its VAE's sample_size: loads the model. */
gboolean gv_train_vae_check_folder (const gchar *folder, gint n, GvVaeCheck *check,
    GError **error);
/* "whole-frame reconstruction: PSNR 17.06 dB (interior ..., border band ...), flat colour
 * error ... on 32 held-out frames of 128x128" */
gchar *gv_train_vae_check_describe (const GvVaeCheck *check);

G_END_DECLS
