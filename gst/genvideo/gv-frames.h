/* Frames in and out of the model: 8-bit pictures <-> float images in [-1, 1] (NCHW), and
 * clips through the VAE (one frame at a time, to bound device memory). */
#pragma once

#include "models/gv-model.h"

G_BEGIN_DECLS

typedef enum {
  GV_PIXELS_RGB,     /* 3 bytes per pixel */
  GV_PIXELS_RGBA,    /* 4 bytes per pixel, alpha ignored */
  GV_PIXELS_GRAY8,   /* 1 byte per pixel */
} GvPixelFormat;

typedef struct {
  const guint8 *data;
  gint stride;       /* bytes per row */
} GvPicture;

gint gv_pixel_format_bpp (GvPixelFormat format);

/* @n pictures of @width x @height -> [n, 3, height, width] floats in [-1, 1] */
gfloat *gv_pictures_to_images (const GvPicture *pictures, gint n, gint width, gint height,
    GvPixelFormat format);
/* @picture's colours as packed RGB (@width x @height, stride width * 3) into @rgb */
void gv_picture_to_rgb (const GvPicture *picture, GvPixelFormat format, gint width, gint height,
    guint8 *rgb);
/* one [3, height, width] image in [-1, 1] -> the colours of @dst (RGB or RGBA: the alpha is
 * left as it is) */
void gv_image_to_picture (const gfloat *image, gint width, gint height, guint8 *dst,
    gint stride, GvPixelFormat format);

/* images [n, 3, H, W] (host, [-1, 1]) -> diffusion latents [n, C, H/f, W/f]: the mean of the
 * VAE's latent distribution times its scaling factor */
GvTensor *gv_encode_images (GvModel *model, GvCmd *cmd, const gfloat *images, gint n,
    gint height, gint width);
/* latents [n, C, h, w] -> images [n, 3, h*f, w*f] in [-1, 1] (a device tensor) */
GvTensor *gv_decode_latents (GvModel *model, GvCmd *cmd, GvTensor *latents);

G_END_DECLS
