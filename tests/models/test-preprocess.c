/* CLIPImageProcessor: the golden cases (PIL bicubic resize included) and the resize and crop
 * rules on their own. */
#include <math.h>
#include <string.h>

#include "gv-case.h"
#include "gv-test-util.h"
#include "gv-test-files.h"
#include "models/gv-image-preprocess.h"

static GvPreprocessorConfig cfg;

static gdouble
max_abs_diff (const gfloat *a, const gfloat *b, gsize n)
{
  gdouble m = 0;
  for (gsize i = 0; i < n; i++)
    m = MAX (m, fabs ((gdouble) a[i] - b[i]));
  return m;
}

/* every image of the case through gv_clip_preprocess against pixel_values */
static void
run_case (const gchar *name, gdouble max_allowed)
{
  gchar *path = gv_test_golden_path (name);
  GError *error = NULL;
  g_autoptr (GvCase) c = gv_case_open (path, &error);
  g_assert_no_error (error);
  gint64 in[GV_ST_MAX_DIMS], out[GV_ST_MAX_DIMS];
  g_assert_cmpint (gv_case_get_shape (c, "image_uint8", in), ==, 4);
  g_assert_cmpint (gv_case_get_shape (c, "pixel_values", out), ==, 4);
  g_assert_cmpint (out[2], ==, cfg.crop_height);
  g_assert_cmpint (out[3], ==, cfg.crop_width);
  guint8 *images = gv_case_read_u8 (c, "image_uint8", &error);
  g_assert_no_error (error);
  gfloat *want = gv_case_read_f32 (c, "pixel_values", &error);
  g_assert_no_error (error);
  gint h = (gint) in[1], w = (gint) in[2];
  gsize per = (gsize) 3 * out[2] * out[3];
  GvCaseTolerance tol;
  g_assert_true (gv_case_get_tolerance (c, "pixel_values", &tol));

  for (gint i = 0; i < in[0]; i++) {
    gfloat *got = gv_clip_preprocess (&cfg, images + (gsize) i * h * w * 3, w, h, w * 3);
    gdouble diff = max_abs_diff (got, want + i * per, per);
    g_test_message ("%s image %d: max abs difference %g", name, i, diff);
    gv_assert_close (got, want + i * per, per, MIN (tol.value, 1e-6));
    g_assert_cmpfloat (diff, <=, max_allowed);
    g_free (got);
  }
  g_free (images);
  g_free (want);
  g_free (path);
}

/* the encoder's size: only rescale and normalise, bit for bit */
static void
test_golden_uint8 (void)
{
  run_case ("cases/image_encoder_uint8", 0);
}

/* 40x56 -> 32x44 with PIL's bicubic, crop 32x32: PIL's fixed-point rounding reproduced, so the
 * result is exact too (the case itself only asks for 5e-2) */
static void
test_golden_resize (void)
{
  run_case ("cases/image_encoder_resize", 0);
}

static guint8 *
random_image (gint w, gint h, guint32 seed)
{
  GRand *r = g_rand_new_with_seed (seed);
  guint8 *img = g_malloc ((gsize) w * h * 3);
  for (gsize i = 0; i < (gsize) w * h * 3; i++)
    img[i] = (guint8) g_rand_int_range (r, 0, 256);
  g_rand_free (r);
  return img;
}

static void
test_resize_rules (void)
{
  guint8 *img = random_image (13, 9, 1);
  /* same size: a copy, whatever the filter */
  for (gint f = 0; f <= 5; f++) {
    guint8 *same = gv_image_resize_pil (img, 13, 9, 13 * 3, 13, 9, f);
    g_assert_cmpmem (same, 13 * 9 * 3, img, 13 * 9 * 3);
    g_free (same);
  }
  /* a flat image stays flat, up or down, with every filter */
  guint8 *flat = g_malloc (13 * 9 * 3);
  for (gint i = 0; i < 13 * 9 * 3; i++)
    flat[i] = (guint8) (i % 3 == 0 ? 200 : i % 3 == 1 ? 7 : 255);
  for (gint f = 0; f <= 5; f++) {
    gint sizes[][2] = { { 5, 4 }, { 31, 17 }, { 13, 3 }, { 2, 9 } };
    for (guint s = 0; s < G_N_ELEMENTS (sizes); s++) {
      gint ow = sizes[s][0], oh = sizes[s][1];
      guint8 *r = gv_image_resize_pil (flat, 13, 9, 13 * 3, ow, oh, f);
      for (gint i = 0; i < ow * oh * 3; i++)
        g_assert_cmpint (r[i], ==, flat[i % 3]);
      g_free (r);
    }
  }
  /* the stride is honoured: the same picture inside a wider buffer */
  guint8 *wide = g_malloc0 (20 * 9 * 3);
  for (gint y = 0; y < 9; y++)
    memcpy (wide + y * 20 * 3, img + y * 13 * 3, 13 * 3);
  guint8 *a = gv_image_resize_pil (img, 13, 9, 13 * 3, 6, 5, 3);
  guint8 *b = gv_image_resize_pil (wide, 13, 9, 20 * 3, 6, 5, 3);
  g_assert_cmpmem (a, 6 * 5 * 3, b, 6 * 5 * 3);
  g_free (a);
  g_free (b);
  g_free (wide);
  g_free (flat);
  g_free (img);
}

/* a 2:1 bicubic reduction of a linear ramp: where the filter window (4 input pixels each side)
 * lies inside the image and is symmetric, the output is on the ramp */
static void
test_bicubic_ramp (void)
{
  guint8 row[12 * 3];
  for (gint x = 0; x < 12; x++)
    row[x * 3] = row[x * 3 + 1] = row[x * 3 + 2] = (guint8) (x * 20);
  guint8 *r = gv_image_resize_pil (row, 12, 1, 12 * 3, 6, 1, 3);
  /* output o is centred at input position 2 o + 1, where the ramp is 20 (2 o + 0.5) */
  g_assert_cmpint (r[2 * 3], ==, 90);
  g_assert_cmpint (r[3 * 3], ==, 130);
  /* at the borders the window is cut and renormalised: not on the ramp */
  g_assert_cmpint (r[0], !=, 10);
  g_free (r);
}

static void
test_crop_and_pad (void)
{
  GvPreprocessorConfig c = cfg;
  c.do_resize = FALSE;
  c.do_normalize = FALSE;
  c.do_rescale = FALSE;
  c.crop_height = 4;
  c.crop_width = 4;
  guint8 *img = random_image (7, 6, 2);
  gfloat *out = gv_clip_preprocess (&c, img, 7, 6, 7 * 3);
  /* top = (6 - 4) // 2 = 1, left = (7 - 4) // 2 = 1 */
  for (gint ch = 0; ch < 3; ch++)
    for (gint y = 0; y < 4; y++)
      for (gint x = 0; x < 4; x++)
        g_assert_cmpfloat (out[(ch * 4 + y) * 4 + x], ==, img[((y + 1) * 7 + x + 1) * 3 + ch]);
  g_free (out);

  /* smaller than the crop: centred on zeros */
  c.crop_height = 10;
  c.crop_width = 9;
  out = gv_clip_preprocess (&c, img, 7, 6, 7 * 3);
  for (gint y = 0; y < 10; y++) {
    for (gint x = 0; x < 9; x++) {
      gint sy = y - 2, sx = x - 1;
      gfloat want = sy >= 0 && sy < 6 && sx >= 0 && sx < 7 ? img[(sy * 7 + sx) * 3] : 0;
      g_assert_cmpfloat (out[y * 9 + x], ==, want);
    }
  }
  g_free (out);

  /* normalisation of a zero pixel */
  c = cfg;
  c.do_resize = FALSE;
  c.crop_height = c.crop_width = 1;
  guint8 black[3] = { 0, 0, 0 };
  out = gv_clip_preprocess (&c, black, 1, 1, 3);
  for (gint ch = 0; ch < 3; ch++)
    g_assert_cmpfloat (out[ch], ==, (0.0f - cfg.image_mean[ch]) / cfg.image_std[ch]);
  g_free (out);
  g_free (img);
}

/* the shortest edge goes to S, the other to int(S * long / short); portrait and landscape */
static void
test_resize_sizes (void)
{
  GvPreprocessorConfig c = cfg;
  c.shortest_edge = 10;
  c.crop_height = 10;
  c.crop_width = 10;
  c.do_rescale = FALSE;
  c.do_normalize = FALSE;
  guint8 *img = random_image (21, 13, 3);
  gfloat *out = gv_clip_preprocess (&c, img, 21, 13, 21 * 3);
  /* 21x13 -> 16x10 (int(10 * 21 / 13) = 16), crop columns 3..12 */
  guint8 *r = gv_image_resize_pil (img, 21, 13, 21 * 3, 16, 10, 3);
  for (gint y = 0; y < 10; y++)
    for (gint x = 0; x < 10; x++)
      g_assert_cmpfloat (out[y * 10 + x], ==, r[(y * 16 + x + 3) * 3]);
  g_free (r);
  g_free (out);
  g_free (img);

  img = random_image (13, 21, 4);
  out = gv_clip_preprocess (&c, img, 13, 21, 13 * 3);
  r = gv_image_resize_pil (img, 13, 21, 13 * 3, 10, 16, 3);
  for (gint y = 0; y < 10; y++)
    for (gint x = 0; x < 10; x++)
      g_assert_cmpfloat (out[100 + y * 10 + x], ==, r[((y + 3) * 10 + x) * 3 + 1]);
  g_free (r);
  g_free (out);
  g_free (img);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gchar *path = gv_test_golden_path ("checkpoint/feature_extractor/preprocessor_config.json");
  GError *error = NULL;
  gv_preprocessor_config_load (path, &cfg, &error);
  g_assert_no_error (error);
  g_free (path);

  g_test_add_func ("/preprocess/golden-uint8", test_golden_uint8);
  g_test_add_func ("/preprocess/golden-resize", test_golden_resize);
  g_test_add_func ("/preprocess/resize-rules", test_resize_rules);
  g_test_add_func ("/preprocess/bicubic-ramp", test_bicubic_ramp);
  g_test_add_func ("/preprocess/crop-and-pad", test_crop_and_pad);
  g_test_add_func ("/preprocess/resize-sizes", test_resize_sizes);
  return g_test_run ();
}
