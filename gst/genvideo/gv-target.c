#include <stdlib.h>

#include "genvideo/gv-target.h"

#define NEUTRAL_GREY 128

static gboolean
is_opaque (const guint8 *rgba, gint width, gint height, gint stride)
{
  for (gint y = 0; y < height; y++)
    for (gint x = 0; x < width; x++)
      if (rgba[(gsize) y * stride + 4 * x + 3] != 255)
        return FALSE;
  return TRUE;
}

static gint
colour_distance (const guint8 *p, const guint8 *colour)
{
  gint d = 0;
  for (gint c = 0; c < 3; c++)
    d = MAX (d, abs (p[c] - colour[c]));
  return d;
}

/* Runs @body with @p on each pixel of the outermost ring. */
#define FOR_BORDER(rgba, width, height, stride, p, body) \
  for (gint y_ = 0; y_ < (height); y_++) \
    for (gint x_ = 0; x_ < (width); x_++) \
      if (y_ == 0 || y_ == (height) - 1 || x_ == 0 || x_ == (width) - 1) { \
        const guint8 *p = (rgba) + (gsize) y_ * (stride) + 4 * x_; \
        body; \
      }

/* An opaque picture without a mask: the background is the border's colour (per channel, its
 * median), and the object what differs from it by more than GV_TARGET_BORDER_TOLERANCE. A
 * border of no one colour (a photograph) cannot tell object from background: an error that
 * asks for a mask. Returns the binary object mask (width x height). */
static guint8 *
mask_from_border (const guint8 *rgba, gint width, gint height, gint stride, GError **error)
{
  guint hist[3][256] = { { 0 } };
  guint n = 0, near = 0;
  guint8 colour[3];

  FOR_BORDER (rgba, width, height, stride, p, {
    for (gint c = 0; c < 3; c++)
      hist[c][p[c]]++;
    n++;
  });
  for (gint c = 0; c < 3; c++) {
    guint below = 0;
    gint v = 0;
    while (v < 255 && (below += hist[c][v]) * 2 < n)
      v++;
    colour[c] = (guint8) v;
  }
  FOR_BORDER (rgba, width, height, stride, p, {
    near += colour_distance (p, colour) <= GV_TARGET_BORDER_TOLERANCE;
  });
  if (near < GV_TARGET_BORDER_UNIFORM * n) {
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "the target image is opaque and its border "
        "is not of one colour (%u of %u border pixels near #%02x%02x%02x), so its object "
        "cannot be told from its background: give a mask, or an image with an alpha channel",
        near, n, colour[0], colour[1], colour[2]);
    return NULL;
  }
  guint8 *mask = g_new (guint8, (gsize) width * height);
  for (gint y = 0; y < height; y++)
    for (gint x = 0; x < width; x++)
      mask[(gsize) y * width + x] = colour_distance (rgba + (gsize) y * stride + 4 * x,
          colour) > GV_TARGET_BORDER_TOLERANCE ? 255 : 0;
  return mask;
}

guint8 *
gv_target_foreground (const guint8 *rgba, gint width, gint height, gint stride,
    const guint8 *mask, gint mask_stride, gdouble *coverage, GError **error)
{
  guint8 *border_mask = NULL;
  gdouble covered = 0;

  if (mask == NULL && is_opaque (rgba, width, height, stride)) {
    border_mask = mask_from_border (rgba, width, height, stride, error);
    if (border_mask == NULL)
      return NULL;
    mask = border_mask;
    mask_stride = width;
  }
  guint8 *rgb = g_new (guint8, (gsize) width * height * 3);
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
        "is empty)", border_mask ? "it is opaque and nothing in it differs from its border "
        "colour" : mask ? "its mask" : "its alpha channel");
    g_clear_pointer (&rgb, g_free);
  }
  g_free (border_mask);
  return rgb;
}
