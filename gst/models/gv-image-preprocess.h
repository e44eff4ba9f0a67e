/* CLIPImageProcessor on the host: the image encoder's input from an RGB picture. */
#pragma once

#include "models/gv-config.h"

G_BEGIN_DECLS

/* @rgb: @height rows of @width RGB uint8 pixels, @stride bytes apart. Resizes the shortest edge
 * to cfg->shortest_edge with PIL's filter cfg->resample (bicubic: PIL's antialiased convolution
 * on uint8 with its rounding), centre-crops to crop_height x crop_width (padding with zeros
 * when the image is smaller), rescales and normalises. Returns [3, crop_height, crop_width]
 * floats (CHW); g_free() it. The result is always of crop size, also with do_center_crop
 * unset (the encoder takes no other size). */
gfloat *gv_clip_preprocess (const GvPreprocessorConfig *cfg, const guint8 *rgb, gint width,
    gint height, gint stride);

/* PIL's Image.resize() of an RGB uint8 image to @out_w x @out_h with PIL's filter id @filter
 * (0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming), rows tightly packed;
 * g_free() it. */
guint8 *gv_image_resize_pil (const guint8 *rgb, gint width, gint height, gint stride,
    gint out_w, gint out_h, gint filter);

G_END_DECLS
