/* libFuzzer target for what the image loader hands on: a decoded RGBA picture (and optionally
 * a mask) of any size and content into gv_target_foreground (alpha, mask, or the border colour
 * of an opaque picture). The decoding itself is GStreamer's (decodebin, pngdec/jpegdec:
 * libpng, libjpeg) and runs only in a pipeline, so it is not fuzzed here. Input: width and
 * height bytes, a flags byte (1: a mask follows the pixels), then the pixels. */
#include <string.h>

#include "genvideo/gv-target.h"

int LLVMFuzzerTestOneInput (const guint8 *data, gsize size);

int
LLVMFuzzerTestOneInput (const guint8 *data, gsize size)
{
  if (size < 3)
    return 0;
  gint w = data[0] % 64 + 1, h = data[1] % 64 + 1;
  gboolean with_mask = data[2] & 1;
  gsize npix = (gsize) w * h;
  data += 3;
  size -= 3;

  /* the pixels (and mask) in buffers of their exact size, zero-padded, so ASan sees any
   * read past them */
  guint8 *rgba = g_malloc0 (npix * 4);
  memcpy (rgba, data, MIN (size, npix * 4));
  guint8 *mask = NULL;
  if (with_mask) {
    mask = g_malloc0 (npix);
    if (size > npix * 4)
      memcpy (mask, data + npix * 4, MIN (size - npix * 4, npix));
  }
  GError *error = NULL;
  gdouble coverage = -1;
  guint8 *rgb = gv_target_foreground (rgba, w, h, w * 4, mask, w, &coverage, &error);
  g_assert ((rgb == NULL) == (error != NULL));
  if (rgb)
    g_assert (coverage > 0 && coverage <= 1);
  g_clear_error (&error);
  g_free (rgb);
  g_free (mask);
  g_free (rgba);
  return 0;
}
