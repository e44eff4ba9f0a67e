#include <math.h>
#include <string.h>

#include "genvideo/gv-frames.h"

gint
gv_pixel_format_bpp (GvPixelFormat format)
{
  return format == GV_PIXELS_RGBA ? 4 : format == GV_PIXELS_RGB ? 3 : 1;
}

gfloat *
gv_pictures_to_images (const GvPicture *pictures, gint n, gint width, gint height,
    GvPixelFormat format)
{
  gint bpp = gv_pixel_format_bpp (format);
  gsize plane = (gsize) width * height;
  gfloat *out = g_new (gfloat, (gsize) n * 3 * plane);

  for (gint i = 0; i < n; i++) {
    gfloat *img = out + (gsize) i * 3 * plane;
    for (gint y = 0; y < height; y++) {
      const guint8 *row = pictures[i].data + (gsize) y * pictures[i].stride;
      for (gint x = 0; x < width; x++) {
        for (gint c = 0; c < 3; c++) {
          guint8 v = row[x * bpp + (bpp == 1 ? 0 : c)];
          img[c * plane + (gsize) y * width + x] = v / 127.5f - 1.0f;
        }
      }
    }
  }
  return out;
}

void
gv_image_to_picture (const gfloat *image, gint width, gint height, guint8 *dst, gint stride,
    GvPixelFormat format)
{
  gint bpp = gv_pixel_format_bpp (format);
  gsize plane = (gsize) width * height;

  for (gint y = 0; y < height; y++) {
    guint8 *row = dst + (gsize) y * stride;
    for (gint x = 0; x < width; x++) {
      for (gint c = 0; c < MIN (bpp, 3); c++) {
        /* as diffusers' numpy_to_pil: (x / 2 + 0.5) clamped, times 255, rounded */
        gfloat v = image[c * plane + (gsize) y * width + x] * 0.5f + 0.5f;
        row[x * bpp + c] = (guint8) lrintf (CLAMP (v, 0.0f, 1.0f) * 255.0f);
      }
    }
  }
}

GvTensor *
gv_encode_images (GvModel *m, GvCmd *cmd, const gfloat *images, gint n, gint height,
    gint width)
{
  GvVae *vae = gv_model_get_vae (m);
  const GvVaeConfig *vc = gv_vae_get_config (vae);
  gint f = gv_vae_get_factor (vae);
  gint64 h = height / f, w = width / f, lat = vc->latent_channels;
  gsize image_size = (gsize) 3 * height * width;
  GvTensor *out = GV_TENSOR (cmd, n, lat, h, w);

  for (gint i = 0; i < n && !gv_cmd_failed (cmd); i++) {
    GvTensor *img = GV_TENSOR (cmd, 1, 3, height, width);
    gv_tensor_record_upload (cmd, img, images + i * image_size);
    GvTensor *mean = NULL;
    gv_vae_encode (vae, cmd, img, &mean, NULL);
    GvTensor *dst = GV_VIEW (out, i * lat * h * w, 1, lat, h, w);
    gv_op_scale (cmd, dst, mean, vc->scaling_factor, 0.0f);
    gv_tensor_unref (dst);
    gv_tensor_unref (mean);
    gv_tensor_unref (img);
    /* let each frame's activations be recycled before the next */
    gv_cmd_flush (cmd);
  }
  return out;
}

GvTensor *
gv_decode_latents (GvModel *m, GvCmd *cmd, GvTensor *latents)
{
  GvVae *vae = gv_model_get_vae (m);
  const GvVaeConfig *vc = gv_vae_get_config (vae);
  gint f = gv_vae_get_factor (vae);
  gint64 n = latents->shape[0], lat = latents->shape[1];
  gint64 h = latents->shape[2], w = latents->shape[3];
  GvTensor *out = GV_TENSOR (cmd, n, 3, h * f, w * f);

  for (gint64 i = 0; i < n && !gv_cmd_failed (cmd); i++) {
    GvTensor *z = GV_VIEW (latents, i * lat * h * w, 1, lat, h, w);
    GvTensor *unscaled = gv_tensor_like (cmd, z);
    gv_op_scale (cmd, unscaled, z, 1.0f / vc->scaling_factor, 0.0f);
    GvTensor *img = gv_vae_decode (vae, cmd, unscaled);
    GvTensor *dst = GV_VIEW (out, i * 3 * h * f * w * f, 1, 3, h * f, w * f);
    gv_tensor_record_copy (cmd, dst, img);
    gv_tensor_unref (dst);
    gv_tensor_unref (img);
    gv_tensor_unref (unscaled);
    gv_tensor_unref (z);
    gv_cmd_flush (cmd);
  }
  return out;
}

void
gv_picture_to_rgb (const GvPicture *picture, GvPixelFormat format, gint width, gint height,
    guint8 *rgb)
{
  gint bpp = gv_pixel_format_bpp (format);
  for (gint y = 0; y < height; y++)
    for (gint x = 0; x < width; x++)
      for (gint c = 0; c < 3; c++)
        rgb[((gsize) y * width + x) * 3 + c] =
            picture->data[(gsize) y * picture->stride + x * bpp + (bpp == 1 ? 0 : c)];
}
