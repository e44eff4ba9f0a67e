#include <math.h>

#include "genvideo/gv-background.h"

/* the upsampled mask of one frame: 1 where the nearest latent pixel is inside */
static void
upsample (const gfloat *mask, gint mw, gint mh, gint width, gint height, gfloat *out)
{
  for (gint y = 0; y < height; y++) {
    const gfloat *row = mask + (gsize) ((gint64) y * mh / height) * mw;
    for (gint x = 0; x < width; x++)
      out[(gsize) y * width + x] = row[(gint64) x * mw / width] > 0.5f ? 1.0f : 0.0f;
  }
}

/* the ramp outside @inside: the nearest inside pixel within @feather (a window search: the
 * feather is a few pixels) */
static void
feather_plane (const gfloat *inside, gint width, gint height, gint feather, gfloat *out)
{
  for (gint y = 0; y < height; y++) {
    for (gint x = 0; x < width; x++) {
      gsize i = (gsize) y * width + x;
      if (inside[i] > 0) {
        out[i] = 1.0f;
        continue;
      }
      gint best = G_MAXINT;
      for (gint dy = -feather; dy <= feather; dy++) {
        gint yy = y + dy;
        if (yy < 0 || yy >= height)
          continue;
        for (gint dx = -feather; dx <= feather; dx++) {
          gint xx = x + dx;
          if (xx >= 0 && xx < width && inside[(gsize) yy * width + xx] > 0)
            best = MIN (best, dx * dx + dy * dy);
        }
      }
      out[i] = best == G_MAXINT ? 0.0f : (gfloat) MAX (0.0, 1.0 - sqrt (best) / (feather + 1));
    }
  }
}

gfloat *
gv_background_weights (const gfloat *masks, gint n, gint mask_width, gint mask_height,
    gint width, gint height, gint feather)
{
  gsize plane = (gsize) width * height;
  gfloat *out = g_new (gfloat, n * plane);
  gfloat *up = feather > 0 ? g_new (gfloat, plane) : NULL;

  for (gint f = 0; f < n; f++) {
    const gfloat *m = masks + (gsize) f * mask_width * mask_height;
    if (feather > 0) {
      upsample (m, mask_width, mask_height, width, height, up);
      feather_plane (up, width, height, feather, out + f * plane);
    } else {
      upsample (m, mask_width, mask_height, width, height, out + f * plane);
    }
  }
  g_free (up);
  return out;
}

void
gv_background_composite (gfloat *image, gint width, gint height, const GvPicture *source,
    GvPixelFormat format, const gfloat *weights)
{
  gint bpp = gv_pixel_format_bpp (format);
  gsize plane = (gsize) width * height;

  for (gint y = 0; y < height; y++) {
    const guint8 *row = source->data + (gsize) y * source->stride;
    for (gint x = 0; x < width; x++) {
      gsize i = (gsize) y * width + x;
      gfloat m = weights[i];
      for (gint c = 0; c < 3; c++) {
        /* the source as gv_pictures_to_images () reads it */
        gfloat src = row[x * bpp + (bpp == 1 ? 0 : c)] / 127.5f - 1.0f;
        gfloat *v = image + c * plane + i;
        *v = m > 0 ? m * *v + (1.0f - m) * src : src;
      }
    }
  }
}
