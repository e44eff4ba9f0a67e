/* CLIPImageProcessor on the host: the image encoder's input from an RGB picture. */
#pragma once

#include "models/gv-config.h"

G_BEGIN_DECLS

/* @rgb: @height rows of @width RGB uint8 pixels, @stride bytes apart. Resizes the shortest edge
 * to cfg->shortest_edge with PIL's filter cfg->resample (bicubic: PIL's antialiased convolution
 * on uint8 with its rounding), centre-crops to crop_height x crop_width, rescales and
 * normalises. Returns [3, crop_height, crop_width] floats (CHW); g_free() it. */
gfloat *gv_clip_preprocess (const GvPreprocessorConfig *cfg, const guint8 *rgb, gint width,
    gint height, gint stride);

G_END_DECLS
