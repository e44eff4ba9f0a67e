/* The background in pixels (genvideo/gv-background.h) on known inputs: the masks upsampled to
 * the frame by the nearest latent pixel, the feathered ramp outside them, and the composite:
 * the decoded pixels inside, the source's bytes exactly far outside, a blend on the ramp. */
#include <math.h>

#include "genvideo/gv-background.h"

#define W 36
#define H 28
#define MW 9
#define MH 7

/* one frame, one latent pixel inside: (4, 3), so frame pixels [16, 20) x [12, 16) */
static gfloat *
one_pixel_mask (void)
{
  gfloat *m = g_new0 (gfloat, MW * MH);
  m[3 * MW + 4] = 1.0f;
  return m;
}

static gdouble
distance_to_block (gint x, gint y)
{
  gint dx = x < 16 ? 16 - x : x > 19 ? x - 19 : 0;
  gint dy = y < 12 ? 12 - y : y > 15 ? y - 15 : 0;
  return sqrt (dx * dx + dy * dy);
}

static void
test_weights_upsample_and_feather (void)
{
  g_autofree gfloat *m = one_pixel_mask ();
  g_autofree gfloat *hard = gv_background_weights (m, 1, MW, MH, W, H, 0);
  g_autofree gfloat *soft = gv_background_weights (m, 1, MW, MH, W, H, 3);
  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W; x++) {
      gdouble d = distance_to_block (x, y);
      gfloat h = hard[y * W + x], s = soft[y * W + x];
      g_assert_cmpfloat (h, ==, d == 0 ? 1.0f : 0.0f);
      g_assert_cmpfloat_with_epsilon (s, MAX (0.0, 1.0 - d / 4.0), 1e-6);
    }
  /* the ramp: 0.75, 0.5, 0.25 at 1, 2, 3 pixels to the right; nothing from 4 on */
  g_assert_cmpfloat_with_epsilon (soft[13 * W + 20], 0.75, 1e-6);
  g_assert_cmpfloat_with_epsilon (soft[13 * W + 21], 0.5, 1e-6);
  g_assert_cmpfloat_with_epsilon (soft[13 * W + 22], 0.25, 1e-6);
  g_assert_cmpfloat (soft[13 * W + 23], ==, 0.0f);
}

static void
test_composite_known_frame (void)
{
  g_autofree gfloat *m = one_pixel_mask ();
  g_autofree gfloat *w = gv_background_weights (m, 1, MW, MH, W, H, 3);
  /* the source: RGBA (alpha skipped) with every byte value somewhere; decoded: mid values */
  gint stride = W * 4 + 5;
  g_autofree guint8 *src = g_new0 (guint8, (gsize) stride * H);
  g_autofree gfloat *img = g_new (gfloat, 3 * W * H);
  g_autofree guint8 *out = g_new0 (guint8, W * H * 3);
  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W; x++)
      for (gint c = 0; c < 4; c++)
        src[y * stride + x * 4 + c] = (guint8) ((y * W + x) * 7 + c * 85);
  for (gint i = 0; i < 3 * W * H; i++)
    img[i] = 0.25f - (i % 5) * 0.1f;
  g_autofree gfloat *decoded = g_memdup2 (img, 3 * W * H * sizeof (gfloat));

  GvPicture pic = { src, stride };
  gv_background_composite (img, W, H, &pic, GV_PIXELS_RGBA, w);
  gv_image_to_picture (img, W, H, out, W * 3, GV_PIXELS_RGB);
  gint inside = 0, ramp = 0, far = 0;
  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W; x++)
      for (gint c = 0; c < 3; c++) {
        gsize i = (gsize) c * W * H + y * W + x;
        gdouble d = distance_to_block (x, y), s = src[y * stride + x * 4 + c] / 127.5 - 1.0;
        if (d == 0) {
          g_assert_cmpfloat (img[i], ==, decoded[i]);
          inside++;
        } else if (d >= 4) {
          /* far outside: the source's own bytes, exactly */
          g_assert_cmpint (out[(y * W + x) * 3 + c], ==, src[y * stride + x * 4 + c]);
          far++;
        } else {
          gdouble k = 1.0 - d / 4.0;
          g_assert_cmpfloat_with_epsilon (img[i], k * decoded[i] + (1 - k) * s, 1e-5);
          ramp++;
        }
      }
  g_assert_cmpint (inside, ==, 16 * 3);
  g_assert_cmpint (ramp, >, 0);
  g_assert_cmpint (far, >, ramp);
}

/* two frames, each its own mask; and a mask wider than the frame's grid (non-integer factor) */
static void
test_weights_per_frame (void)
{
  gfloat m[2 * 2 * 3] = { 1, 0, 0,  0, 0, 0,    0, 0, 0,  0, 0, 1 };
  g_autofree gfloat *w = gv_background_weights (m, 2, 3, 2, 7, 5, 0);
  for (gint f = 0; f < 2; f++)
    for (gint y = 0; y < 5; y++)
      for (gint x = 0; x < 7; x++) {
        gint ly = y * 2 / 5, lx = x * 3 / 7;
        g_assert_cmpfloat (w[(f * 5 + y) * 7 + x], ==, m[(f * 2 + ly) * 3 + lx]);
      }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/background/weights-upsample-and-feather", test_weights_upsample_and_feather);
  g_test_add_func ("/background/weights-per-frame", test_weights_per_frame);
  g_test_add_func ("/background/composite-known-frame", test_composite_known_frame);
  return g_test_run ();
}
