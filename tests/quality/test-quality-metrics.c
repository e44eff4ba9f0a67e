/* The quality metrics (tools/quality) on images whose figures are known: PSNR of identical
 * images is the cap and of a known offset its formula, IoU of known masks, SSIM of identical
 * images 1, colour distance of known colours, the dilation's disc, and the temporal error: 0
 * for a known shift, ~0 for a world clip's ideal edit along its path, more along a wrong one. */
#include <math.h>
#include <string.h>

#include "gv-quality-metrics.h"
#include "gv-world-render.h"

#define W 23
#define H 17

static guint8 *
random_rgb (gint n, guint32 seed)
{
  GRand *r = g_rand_new_with_seed (seed);
  guint8 *p = g_new (guint8, n * 3);
  for (gint i = 0; i < n * 3; i++)
    p[i] = (guint8) g_rand_int_range (r, 0, 256);
  g_rand_free (r);
  return p;
}

static void
test_psnr (void)
{
  g_autofree guint8 *a = random_rgb (W * H, 1);
  g_autofree guint8 *b = g_memdup2 (a, W * H * 3);
  g_autofree guint8 *region = g_new0 (guint8, W * H);
  g_assert_cmpfloat (gv_quality_psnr (a, b, W * H, NULL, FALSE), ==, GV_QUALITY_PSNR_CAP);

  /* the left 5 columns inside the region; outside it, b = a + 10 (a clamped below 246) */
  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W; x++) {
      gsize i = (gsize) y * W + x;
      region[i] = x < 5 ? 255 : 0;
      for (gint c = 0; c < 3; c++) {
        a[i * 3 + c] = MIN (a[i * 3 + c], 245);
        b[i * 3 + c] = x < 5 ? a[i * 3 + c] : a[i * 3 + c] + 10;
      }
    }
  g_assert_cmpfloat (gv_quality_psnr (a, b, W * H, region, FALSE), ==, GV_QUALITY_PSNR_CAP);
  g_assert_cmpfloat_with_epsilon (gv_quality_psnr (a, b, W * H, region, TRUE),
      10 * log10 (255.0 * 255.0 / 100.0), 1e-9);
  /* all pixels: MSE 100 over 18 of 23 columns */
  g_assert_cmpfloat_with_epsilon (gv_quality_psnr (a, b, W * H, NULL, FALSE),
      10 * log10 (255.0 * 255.0 / (100.0 * 18 / 23)), 1e-9);
  /* an empty region has no figure */
  memset (region, 0, W * H);
  g_assert_true (isnan (gv_quality_psnr (a, b, W * H, region, FALSE)));

  /* the background metric: one masked pixel at (11, 8); the edit differs by 10 within the
   * margin around it (the disc of that radius) and by 20 beyond it: only the 20 count */
  region[8 * W + 11] = 255;
  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W; x++) {
      gsize i = (gsize) y * W + x;
      gint dx = x - 11, dy = y - 8, r = GV_QUALITY_BACKGROUND_MARGIN;
      for (gint c = 0; c < 3; c++) {
        a[i * 3 + c] = (guint8) (100 + (i * 3 + c) % 50);
        b[i * 3 + c] = a[i * 3 + c] + (dx * dx + dy * dy <= r * r ? 10 : 20);
      }
    }
  g_assert_cmpfloat_with_epsilon (gv_quality_background_psnr (b, a, region, W, H, 1),
      10 * log10 (255.0 * 255.0 / 400.0), 1e-9);
}

static void
test_iou_and_dilate (void)
{
  g_autofree guint8 *a = g_new0 (guint8, W * H);
  g_autofree guint8 *b = g_new0 (guint8, W * H);
  g_assert_cmpfloat (gv_quality_iou (a, b, W * H), ==, 1.0);
  /* a: 4x4 at (2, 3); b: the same moved 2 to the right: 8 shared of 24 */
  for (gint y = 3; y < 7; y++)
    for (gint x = 2; x < 6; x++) {
      a[y * W + x] = 255;
      b[y * W + x + 2] = 200;
    }
  g_assert_cmpfloat_with_epsilon (gv_quality_iou (a, b, W * H), 8.0 / 24.0, 1e-12);
  g_assert_cmpfloat (gv_quality_iou (a, a, W * H), ==, 1.0);

  /* one pixel dilated by 2: the 13 pixel centres within 2 (not the 25 of the square) */
  g_autofree guint8 *one = g_new0 (guint8, W * H);
  one[8 * W + 10] = 255;
  g_autofree guint8 *d = gv_quality_dilate (one, W, H, 1, 2);
  gint n = 0;
  for (gint i = 0; i < W * H; i++) {
    gint dx = i % W - 10, dy = i / W - 8;
    g_assert_cmpint (d[i], ==, dx * dx + dy * dy <= 4 ? 255 : 0);
    n += d[i] != 0;
  }
  g_assert_cmpint (n, ==, 13);
}

static void
test_ssim (void)
{
  g_autofree guint8 *a = random_rgb (W * H * 2, 2);
  g_autofree guint8 *b = random_rgb (W * H * 2, 3);
  g_autofree guint8 *region = g_new0 (guint8, W * H * 2);
  g_assert_cmpfloat (gv_quality_ssim (a, a, W, H, 2, NULL), ==, 1.0);
  gdouble ab = gv_quality_ssim (a, b, W, H, 2, NULL);
  g_assert_cmpfloat (ab, <, 0.2);
  g_assert_cmpfloat_with_epsilon (ab, gv_quality_ssim (b, a, W, H, 2, NULL), 1e-12);
  /* b equal to a on the region and its surroundings (radius 5): 1 there */
  for (gint i = 0; i < W * H; i++) {
    gint x = i % W, y = i / W;
    region[W * H + i] = (x >= 10 && x < 12 && y >= 7 && y < 9) ? 255 : 0;
    if (x >= 5 && x < 17 && y >= 2 && y < 14)
      memcpy (b + (W * H + i) * 3, a + (W * H + i) * 3, 3);
  }
  g_assert_cmpfloat_with_epsilon (gv_quality_ssim (a, b, W, H, 2, region), 1.0, 1e-12);
  memset (region, 0, W * H * 2);
  g_assert_true (isnan (gv_quality_ssim (a, b, W, H, 2, region)));
}

static void
test_colour_error (void)
{
  guint8 a[3 * 3] = { 0, 0, 0,  10, 20, 30,  1, 2, 3 };
  guint8 b[3 * 3] = { 3, 4, 0,  10, 20, 30,  200, 200, 200 };
  guint8 region[3] = { 255, 128, 0 };
  g_assert_cmpfloat_with_epsilon (gv_quality_colour_error (a, b, 3, region), 2.5, 1e-12);
  region[0] = region[1] = 0;
  g_assert_true (isnan (gv_quality_colour_error (a, b, 3, region)));
}

/* The ideal edit of world clips moves rigidly with the path: ~0 along it (measured 0.56 to
 * 1.34), several times more when read as if the object stood still (2.2 to 50). */
static void
test_temporal_error_of_ideal_edit (void)
{
  for (guint index = 0; index < 6; index++) {
    GvWorldClip *clip = gv_world_clip_new (5, index, 96, 80, 6);
    GvWorldRender *r = gv_world_render (clip);
    gsize plane = 96 * 80;
    g_autofree guint8 *cov = g_new (guint8, plane * clip->frames);
    for (gint f = 0; f < clip->frames; f++)
      gv_world_render_coverage (clip->target.shape, &clip->path[f], 96, 80, cov + f * plane);
    gdouble along = gv_quality_temporal_error (r->edit, cov, 96, 80, clip->frames, clip->path);
    /* not exactly 0: the bilinear read mixes in the anti-aliased edge next to the object */
    g_assert_cmpfloat (along, <, 2.0);
    g_assert_cmpfloat (along, >=, 0.0);

    /* the same frames and coverage, read as if the object stood still: the background and the
     * object's far side come in */
    GvWorldPlace still[6];
    for (gint f = 0; f < clip->frames; f++)
      still[f] = clip->path[0];
    gdouble wrong = gv_quality_temporal_error (r->edit, cov, 96, 80, clip->frames, still);
    g_test_message ("clip %u: %.3f along the path, %.3f standing still", index, along, wrong);
    g_assert_cmpfloat (wrong, >, 2 * along);
    gv_world_render_free (r);
    gv_world_clip_free (clip);
  }
}

/* A known shift: a frame moved by exactly (3, 1) pixels reads back identically. */
static void
test_temporal_error_known_shift (void)
{
  g_autofree guint8 *frames = g_new (guint8, W * H * 3 * 2);
  g_autofree guint8 *cov = g_new (guint8, W * H * 2);
  g_autofree guint8 *pattern = random_rgb (W * H, 4);
  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W; x++) {
      gsize i = (gsize) y * W + x;
      memcpy (frames + i * 3, pattern + i * 3, 3);
      gint sx = x - 3, sy = y - 1;
      gsize j = sx >= 0 && sy >= 0 ? (gsize) sy * W + sx : i;
      memcpy (frames + (W * H + i) * 3, pattern + j * 3, 3);
      cov[i] = x >= 2 && x < 12 && y >= 2 && y < 10 ? 255 : 0;
      cov[W * H + i] = x >= 5 && x < 15 && y >= 3 && y < 11 ? 255 : 0;
    }
  GvWorldPlace path[2] = { { 7, 6, 10 }, { 10, 7, 10 } };
  g_assert_cmpfloat (gv_quality_temporal_error (frames, cov, W, H, 2, path), ==, 0.0);
  /* without the motion, random pixels meet: a large mean difference */
  path[1] = path[0];
  g_assert_cmpfloat (gv_quality_temporal_error (frames, cov, W, H, 2, path), >, 40.0);
}

/* Fields at latent resolution (a cell is 4x4 pixels) against an object that moves (8, 4)
 * pixels, then one that doubles in size about its centre. */
static void
test_field_tally (void)
{
  enum { LW = 16, LH = 12, PW = 64, PH = 48 };
  g_autofree guint8 *region = g_new0 (guint8, PW * PH);
  gint32 along[LW * LH], still[LW * LH], off[LW * LH];
  for (gint y = 16; y < 32; y++)
    for (gint x = 8; x < 32; x++)
      region[y * PW + x] = 255;
  for (gint cy = 0; cy < LH; cy++)
    for (gint cx = 0; cx < LW; cx++) {
      gint i = cy * LW + cx;
      still[i] = i;
      along[i] = MIN (cy + 1, LH - 1) * LW + MIN (cx + 2, LW - 1);
      off[i] = along[i] + 1;
    }
  GvWorldPlace a = { 20, 24, 10 }, b = { 28, 28, 10 };
  GvQualityFieldTally t = { 0 };
  gv_quality_field_tally (&t, along, LW, LH, region, PW, PH, &a, &b);
  /* the 6 x 4 cells of the region, all in the frame after the move */
  g_assert_cmpuint (t.count, ==, 24);
  g_assert_cmpfloat_with_epsilon (t.error, 0.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (t.still_error / t.count, sqrt (5.0), 1e-9);
  GvQualityFieldTally u = { 0 };
  gv_quality_field_tally (&u, still, LW, LH, region, PW, PH, &a, &b);
  g_assert_cmpfloat_with_epsilon (u.error, u.still_error, 1e-9);
  GvQualityFieldTally v = { 0 };
  gv_quality_field_tally (&v, off, LW, LH, region, PW, PH, &a, &b);
  g_assert_cmpfloat_with_epsilon (v.error / v.count, 1.0, 1e-9);

  /* doubling about the centre (20, 24): the cell centred at (22, 26) goes to (24, 28), its
   * neighbour at (18, 22) to (16, 20); a still field is off by half the distance to the centre */
  GvWorldPlace big = { 20, 24, 20 };
  GvQualityFieldTally w = { 0 };
  gv_quality_field_tally (&w, still, LW, LH, region, PW, PH, &a, &big);
  g_assert_cmpuint (w.count, ==, 24);
  gdouble want = 0;
  for (gint cy = 4; cy < 8; cy++)
    for (gint cx = 2; cx < 8; cx++)
      want += hypot ((cx + 0.5) * 4 - 20, (cy + 0.5) * 4 - 24) / 4;
  g_assert_cmpfloat_with_epsilon (w.still_error, want, 1e-9);

  /* the known field of the move is the field along it inside the region, still outside */
  gint32 known[LW * LH];
  gv_quality_known_field (known, LW, LH, region, PW, PH, &a, &b);
  for (gint cy = 0; cy < LH; cy++)
    for (gint cx = 0; cx < LW; cx++) {
      gint i = cy * LW + cx;
      gboolean in = cy >= 4 && cy < 8 && cx >= 2 && cx < 8;
      g_assert_cmpint (known[i], ==, in ? along[i] : i);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/quality/psnr", test_psnr);
  g_test_add_func ("/quality/iou-and-dilate", test_iou_and_dilate);
  g_test_add_func ("/quality/ssim", test_ssim);
  g_test_add_func ("/quality/colour-error", test_colour_error);
  g_test_add_func ("/quality/temporal-error-known-shift", test_temporal_error_known_shift);
  g_test_add_func ("/quality/temporal-error-of-ideal-edit", test_temporal_error_of_ideal_edit);
  g_test_add_func ("/quality/field-tally", test_field_tally);
  return g_test_run ();
}
