/* The target object without a mask, and masks from differences that are not finite: an opaque
 * picture's object is what differs from its border colour (or an error asking for a mask), and
 * a NaN or infinity in the InvEdit differences is an error, not an empty mask. */
#include <math.h>
#include <string.h>

#include "genvideo/gv-invedit.h"
#include "genvideo/gv-target.h"

#define W 37
#define H 29

static const guint8 background[3] = { 30, 90, 200 };
static const guint8 object[3] = { 230, 40, 20 };

/* W x H RGBA, opaque: @background with a rectangle of @object at [10, 22) x [7, 19), each
 * pixel off by a little noise (below the tolerance) */
static guint8 *
opaque_picture (GRand *rand)
{
  guint8 *rgba = g_new (guint8, W * H * 4);
  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W; x++) {
      gboolean in = x >= 10 && x < 22 && y >= 7 && y < 19;
      guint8 *p = rgba + (y * W + x) * 4;
      for (gint c = 0; c < 3; c++)
        p[c] = (in ? object : background)[c] + g_rand_int_range (rand, -8, 9);
      p[3] = 255;
    }
  return rgba;
}

static void
test_opaque_border (void)
{
  GRand *rand = g_rand_new_with_seed (12);
  guint8 *rgba = opaque_picture (rand);
  GError *error = NULL;
  gdouble coverage = 0;

  guint8 *rgb = gv_target_foreground (rgba, W, H, W * 4, NULL, 0, &coverage, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (coverage, 12.0 * 12 / (W * H), 1e-9);
  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W; x++) {
      gboolean in = x >= 10 && x < 22 && y >= 7 && y < 19;
      for (gint c = 0; c < 3; c++) {
        guint8 want = in ? rgba[(y * W + x) * 4 + c] : 128;
        g_assert_cmpint (rgb[(y * W + x) * 3 + c], ==, want);
      }
    }
  g_free (rgb);

  /* with a mask, the mask decides, opaque or not */
  guint8 *mask = g_new0 (guint8, W * H);
  mask[5 * W + 3] = 255;
  rgb = gv_target_foreground (rgba, W, H, W * 4, mask, W, &coverage, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (coverage, 1.0 / (W * H), 1e-12);
  g_free (rgb);
  g_free (mask);

  /* one colour everywhere: no object */
  for (gint i = 0; i < W * H; i++)
    memcpy (rgba + 4 * i, background, 3);
  g_assert_null (gv_target_foreground (rgba, W, H, W * 4, NULL, 0, NULL, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "border colour"));
  g_clear_error (&error);
  g_free (rgba);
  g_rand_free (rand);
}

/* a photograph-like border: refused with an error that asks for a mask */
static void
test_opaque_busy_border (void)
{
  GRand *rand = g_rand_new_with_seed (13);
  guint8 *rgba = g_new (guint8, W * H * 4);
  GError *error = NULL;

  for (gint i = 0; i < W * H * 4; i++)
    rgba[i] = i % 4 == 3 ? 255 : (guint8) g_rand_int_range (rand, 0, 256);
  g_assert_null (gv_target_foreground (rgba, W, H, W * 4, NULL, 0, NULL, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "give a mask"));
  g_clear_error (&error);
  g_free (rgba);
  g_rand_free (rand);
}

/* a picture with alpha keeps its alpha rule: one transparent pixel is enough */
static void
test_alpha_unchanged (void)
{
  GRand *rand = g_rand_new_with_seed (14);
  guint8 *rgba = opaque_picture (rand);
  GError *error = NULL;
  gdouble coverage = 0;

  rgba[3] = 0;
  guint8 *rgb = gv_target_foreground (rgba, W, H, W * 4, NULL, 0, &coverage, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (coverage, (W * H - 1.0) / (W * H), 1e-12);
  g_free (rgb);
  g_free (rgba);
  g_rand_free (rand);
}

static gfloat *
random_differences (GRand *rand, gint frames, gint h, gint w)
{
  gfloat *d = g_new (gfloat, frames * h * w);
  for (gint i = 0; i < frames * h * w; i++)
    d[i] = (gfloat) g_rand_double_range (rand, 0.01, 2.0);
  return d;
}

static void
test_mask_not_finite (void)
{
  const gint frames = 3, h = 7, w = 5;
  const gfloat bad[] = { NAN, INFINITY, -INFINITY };
  GRand *rand = g_rand_new_with_seed (15);
  GError *error = NULL;

  /* finite differences give masks of 0 and 1 with something in them */
  gfloat *d = random_differences (rand, frames, h, w);
  g_assert_true (gv_masks_from_differences (d, frames, h, w, 3.0f, 0.5f, 0, &error));
  g_assert_no_error (error);
  gdouble sum = 0;
  for (gint i = 0; i < frames * h * w; i++) {
    g_assert_true (d[i] == 0.0f || d[i] == 1.0f);
    sum += d[i];
  }
  g_assert_cmpfloat (sum, >, 0);
  g_free (d);

  for (guint b = 0; b < G_N_ELEMENTS (bad); b++) {
    d = random_differences (rand, frames, h, w);
    d[2 * h * w + 3 * w + 4] = bad[b];    /* frame 2, latent pixel (4, 3) */
    g_assert_false (gv_masks_from_differences (d, frames, h, w, 3.0f, 0.5f, 1, &error));
    g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "frame 2"));
    g_assert_nonnull (strstr (error->message, "(4, 3)"));
    g_clear_error (&error);
    g_free (d);
  }
  g_rand_free (rand);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/target/opaque-border", test_opaque_border);
  g_test_add_func ("/target/opaque-busy-border", test_opaque_busy_border);
  g_test_add_func ("/target/alpha-unchanged", test_alpha_unchanged);
  g_test_add_func ("/target/mask-not-finite", test_mask_not_finite);
  return g_test_run ();
}
