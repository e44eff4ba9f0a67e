#include "genvideo/gv-target.h"

#define NEUTRAL_GREY 128

guint8 *
gv_target_foreground (const guint8 *rgba, gint width, gint height, gint stride,
    const guint8 *mask, gint mask_stride, gdouble *coverage, GError **error)
{
  guint8 *rgb = g_new (guint8, (gsize) width * height * 3);
  gdouble covered = 0;

  for (gint y = 0; y < height; y++) {
    const guint8 *src = rgba + (gsize) y * stride;
    const guint8 *m = mask ? mask + (gsize) y * mask_stride : NULL;
    guint8 *dst = rgb + (gsize) y * width * 3;
    for (gint x = 0; x < width; x++) {
      /* a mask is binary (white is the object); alpha blends, as compositing does */
      gfloat a = m ? (m[x] > 127 ? 1.0f : 0.0f) : src[4 * x + 3] / 255.0f;
      covered += a;
      for (gint c = 0; c < 3; c++) {
        gfloat v = a * src[4 * x + c] + (1.0f - a) * NEUTRAL_GREY;
        dst[3 * x + c] = (guint8) (v + 0.5f);
      }
    }
  }
  if (coverage)
    *coverage = covered / ((gdouble) width * height);
  if (covered < 1.0) {
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "the target image has no foreground (%s "
        "is empty)", mask ? "its mask" : "its alpha channel");
    g_free (rgb);
    return NULL;
  }
  return rgb;
}
