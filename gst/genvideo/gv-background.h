/* Background in pixels: after decoding, the source frame's own pixels outside the masks, so
 * that the background is the source's exactly and not its VAE reconstruction. The masks live
 * at latent resolution; they are upsampled to the frame (nearest latent pixel) and feathered
 * outwards by a few pixels, so that the seam does not show. */
#pragma once

#include "genvideo/gv-frames.h"

G_BEGIN_DECLS

/* The feather latentcorrect uses, in frame pixels. */
#define GV_BACKGROUND_FEATHER 3

/* Weights of the decoded frame per frame pixel, [n, height, width] in [0, 1] (g_free() them):
 * @masks [n, mask_height, mask_width] (> 0.5 is inside) upsampled to @width x @height by the
 * nearest latent pixel, then feathered: 1 inside, 1 - d / (@feather + 1) at the Euclidean
 * distance d (between pixel centres) to the nearest pixel inside, 0 from d >= @feather + 1 on.
 * With @feather 0 the weights are the upsampled masks, 0 or 1. */
gfloat *gv_background_weights (const gfloat *masks, gint n, gint mask_width, gint mask_height,
    gint width, gint height, gint feather);

/* One frame: @image [3, height, width] in [-1, 1] (the decoded frame) becomes, per pixel and
 * channel, m * decoded + (1 - m) * source with m from @weights [height, width]; where m is 0
 * the value is exactly the source's (gv_image_to_picture () gives back its bytes). */
void gv_background_composite (gfloat *image, gint width, gint height, const GvPicture *source,
    GvPixelFormat format, const gfloat *weights);

G_END_DECLS
