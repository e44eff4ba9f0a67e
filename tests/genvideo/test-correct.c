/* Latent correction on a synthetic clip whose frames are shifted copies of one another: the
 * nearest-neighbour fields of the features recover the shift, so latents that move the same
 * way are left as they are, and latents that do not are pulled along the motion. */
#include <math.h>
#include <string.h>

#include "genvideo/gv-latent-correct.h"
#include "gv-test-util.h"

#define F 3
#define CF 24    /* feature channels */
#define C 4      /* latent channels */
#define H 13
#define W 15
#define DY 2
#define DX -1

/* [F, ch, H, W]: frame k is @base shifted by k (DY, DX); what enters from outside is fresh
 * random content */
static gfloat *
shifted_clip (gint ch, guint seed)
{
  gint big_h = H + F * ABS (DY), big_w = W + F * ABS (DX);
  gfloat *base = gv_test_random ((gsize) ch * big_h * big_w, seed, -1, 1);
  gfloat *clip = g_new (gfloat, (gsize) F * ch * H * W);
  for (gint k = 0; k < F; k++)
    for (gint c = 0; c < ch; c++)
      for (gint y = 0; y < H; y++)
        for (gint x = 0; x < W; x++) {
          /* frame k at (y, x) shows the base at (y - k DY, x - k DX), offset into range */
          gint by = y - k * DY + F * ABS (DY), bx = x - k * DX + F * ABS (DX);
          clip[(((gsize) k * ch + c) * H + y) * W + x] = base[((gsize) c * big_h + by) * big_w + bx];
        }
  g_free (base);
  return clip;
}

static GvCorrectParams
params (void)
{
  return (GvCorrectParams) {
    .weight_prev = 0.25f, .weight_current = 0.5f, .weight_next = 0.25f,
  };
}

static gboolean
interior (gint y, gint x)
{
  /* the neighbours of frame 1 at p are p - (DY, DX) in frame 0 and p + (DY, DX) in frame 2 */
  return y - ABS (DY) >= 0 && y + ABS (DY) < H && x - ABS (DX) >= 0 && x + ABS (DX) < W;
}

/* Corrects; the matches' scores into @scores, and their fields into @fields when not NULL:
 * [2][F - 1][H * W], from_prev then from_next (checked to be I32 of that size). */
static GvTensor *
correct_with (const gfloat *features, const gfloat *latents, const gfloat *mask,
    const GvCorrectParams *p, gfloat **scores, gint32 **fields)
{
  GvTensor *tf = GV_TEST_TENSOR (features, F, CF, H, W);
  GvTensor *tz = GV_TEST_TENSOR (latents, F, C, H, W);
  GvTensor *tm = GV_TEST_TENSOR (mask, F, 1, H, W);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  GvCorrectionMatches m;
  GvTensor *out = gv_correct_latents (cmd, tz, tf, tm, p, &m);
  gv_test_finish (cmd);
  *scores = gv_test_download (m.scores);
  if (fields) {
    gsize half = (F - 1) * H * W;
    *fields = g_new (gint32, 2 * half);
    GvTensor *both[] = { m.from_prev, m.from_next };
    for (gint k = 0; k < 2; k++) {
      GError *error = NULL;
      g_assert_cmpint (both[k]->dtype, ==, GV_DTYPE_I32);
      g_assert_cmpint (both[k]->numel, ==, half);
      gv_tensor_download (both[k], *fields + k * half, &error);
      g_assert_no_error (error);
    }
  }
  gv_correction_matches_clear (&m);
  g_assert_null (m.from_prev);
  gv_tensor_unref (tf);
  gv_tensor_unref (tz);
  gv_tensor_unref (tm);
  gv_cmd_free (cmd);
  return out;
}

static GvTensor *
correct (const gfloat *features, const gfloat *latents, const gfloat *mask, gfloat **scores)
{
  GvCorrectParams p = params ();
  return correct_with (features, latents, mask, &p, scores, NULL);
}

static gfloat *
ones (gsize n, gfloat v)
{
  gfloat *m = g_new (gfloat, n);
  for (gsize i = 0; i < n; i++)
    m[i] = v;
  return m;
}

/* the interior positions of the middle frame of @out are those of @latents; with @scores
 * (may be NULL) their matches in frame 0 exact (cosine 1) */
static void
assert_middle_frame_kept (GvTensor *out, const gfloat *latents, const gfloat *scores)
{
  gfloat *z = gv_test_download (out);
  gsize checked = 0;
  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W; x++) {
      if (!interior (y, x))
        continue;
      for (gint c = 0; c < C; c++) {
        gsize i = (((gsize) 1 * C + c) * H + y) * W + x;
        g_assert_cmpfloat_with_epsilon (z[i], latents[i], 1e-5);
      }
      if (scores)
        g_assert_cmpfloat_with_epsilon (scores[(gsize) y * W + x], 1.0, 1e-4);
      checked++;
    }
  g_test_message ("%" G_GSIZE_FORMAT " interior positions of the middle frame kept", checked);
  g_assert_cmpuint (checked, >, 50);
  g_free (z);
}

static void
test_consistent_motion_is_kept (void)
{
  gfloat *features = shifted_clip (CF, 1), *latents = shifted_clip (C, 2), *scores;
  gfloat *mask = ones (F * H * W, 1.0f);
  GvTensor *out = correct (features, latents, mask, &scores);
  assert_middle_frame_kept (out, latents, scores);
  gv_tensor_unref (out);
  g_free (features);
  g_free (latents);
  g_free (mask);
  g_free (scores);
}

/* the field along the shift, [2][F - 1][H * W] as correct_with gives them: from frame k + 1
 * back to frame k, then from frame k on; a position whose neighbour leaves the frame maps to
 * itself, or to -1 with @unknown_outside */
static gint32 *
shift_fields (gboolean unknown_outside)
{
  gint32 *fields = g_new (gint32, 2 * (F - 1) * H * W);
  for (gint k = 0; k + 1 < F; k++)
    for (gint y = 0; y < H; y++)
      for (gint x = 0; x < W; x++) {
        gsize i = (gsize) k * H * W + (gsize) y * W + x;
        gint outside = unknown_outside ? -1 : y * W + x;
        /* frame k + 1 at (y, x) shows what frame k shows at (y - DY, x - DX) */
        gint py = y - DY, px = x - DX, ny = y + DY, nx = x + DX;
        fields[i] = py >= 0 && py < H && px >= 0 && px < W ? py * W + px : outside;
        fields[(F - 1) * H * W + i] = ny >= 0 && ny < H && nx >= 0 && nx < W ? ny * W + nx :
            outside;
      }
  return fields;
}

/* the fields handed out with the matches are the ones the blend used: both along the shift
 * wherever the neighbour is in the frame */
static void
test_matches_give_the_fields (void)
{
  gfloat *features = shifted_clip (CF, 5), *latents = gv_test_random (F * C * H * W, 6, -1, 1);
  gfloat *mask = ones (F * H * W, 1.0f), *scores;
  gint32 *got, *want = shift_fields (TRUE);
  GvCorrectParams p = params ();
  GvTensor *out = correct_with (features, latents, mask, &p, &scores, &got);
  gsize checked = 0;
  for (gsize i = 0; i < 2 * (F - 1) * H * W; i++)
    if (want[i] >= 0) {
      g_assert_cmpint (got[i], ==, want[i]);
      checked++;
    }
  g_assert_cmpuint (checked, >, 200);
  gv_tensor_unref (out);
  g_free (got);
  g_free (want);
  g_free (features);
  g_free (latents);
  g_free (mask);
  g_free (scores);
}

/* Given fields replace the matches: with features that match nothing (random), latents that
 * move along the given fields are kept as they are, and the fields reported are the given ones. */
static void
test_given_fields_replace_the_matches (void)
{
  gfloat *features = gv_test_random (F * CF * H * W, 7, -1, 1), *latents = shifted_clip (C, 8);
  gfloat *mask = ones (F * H * W, 1.0f), *scores;
  gint32 *got, *given = shift_fields (FALSE);
  GvCorrectParams p = params ();
  p.given_fields = given;
  GvTensor *out = correct_with (features, latents, mask, &p, &scores, &got);
  g_assert_cmpmem (got, 2 * (F - 1) * H * W * sizeof (gint32), given,
      2 * (F - 1) * H * W * sizeof (gint32));
  assert_middle_frame_kept (out, latents, NULL);
  gv_tensor_unref (out);
  g_free (got);
  g_free (given);
  g_free (features);
  g_free (latents);
  g_free (mask);
  g_free (scores);
}

/* the latents are not shifted with the features: the correction pulls each position towards
 * the neighbours' latents at the matched (shifted) positions */
static void
test_blend_follows_the_field (void)
{
  gfloat *features = shifted_clip (CF, 3), *latents = gv_test_random (F * C * H * W, 4, -1, 1);
  gfloat *mask = ones (F * H * W, 1.0f), *scores;
  GvTensor *out = correct (features, latents, mask, &scores);
  gfloat *z = gv_test_download (out);

  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W; x++) {
      if (!interior (y, x))
        continue;
      for (gint c = 0; c < C; c++) {
        gsize mid = (((gsize) 1 * C + c) * H + y) * W + x;
        gsize prev = (((gsize) 0 * C + c) * H + (y - DY)) * W + (x - DX);
        gsize next = (((gsize) 2 * C + c) * H + (y + DY)) * W + (x + DX);
        gdouble want = 0.25 * latents[prev] + 0.5 * latents[mid] + 0.25 * latents[next];
        g_assert_cmpfloat_with_epsilon (z[mid], want, 1e-5);
      }
    }
  /* the first frame has no previous one: its weights renormalise to 2/3 and 1/3 */
  for (gint y = 0; y + ABS (DY) < H; y++)
    for (gint x = ABS (DX); x < W; x++) {
      for (gint c = 0; c < C; c++) {
        gsize cur = (((gsize) 0 * C + c) * H + y) * W + x;
        gsize next = (((gsize) 1 * C + c) * H + (y + DY)) * W + (x + DX);
        gdouble want = (0.5 * latents[cur] + 0.25 * latents[next]) / 0.75;
        g_assert_cmpfloat_with_epsilon (z[cur], want, 1e-5);
      }
    }
  gv_tensor_unref (out);
  g_free (features);
  g_free (latents);
  g_free (mask);
  g_free (scores);
  g_free (z);
}

/* Pins the weights and their direction: w_prev goes with frame i - 1's neighbour, w_next with
 * frame i + 1's (unequal weights, so that a swap shows), renormalised over what exists at both
 * ends of the clip. */
static void
test_weights_and_edges (void)
{
  gfloat *features = shifted_clip (CF, 7), *latents = gv_test_random (F * C * H * W, 8, -1, 1);
  gfloat *mask = ones (F * H * W, 1.0f), *scores;
  GvCorrectParams p = { .weight_prev = 0.1f, .weight_current = 0.6f, .weight_next = 0.3f };
  GvTensor *out = correct_with (features, latents, mask, &p, &scores, NULL);
  gfloat *z = gv_test_download (out);
  gsize checked = 0;

  for (gint k = 0; k < F; k++)
    for (gint y = ABS (DY); y + ABS (DY) < H; y++)
      for (gint x = ABS (DX); x + ABS (DX) < W; x++)
        for (gint c = 0; c < C; c++) {
          gsize cur = (((gsize) k * C + c) * H + y) * W + x;
          gdouble sum = 0.6 * latents[cur], weights = 0.6;
          if (k > 0) {
            sum += 0.1 * latents[(((gsize) (k - 1) * C + c) * H + (y - DY)) * W + (x - DX)];
            weights += 0.1;
          }
          if (k < F - 1) {
            sum += 0.3 * latents[(((gsize) (k + 1) * C + c) * H + (y + DY)) * W + (x + DX)];
            weights += 0.3;
          }
          g_assert_cmpfloat_with_epsilon (z[cur], sum / weights, 1e-5);
          checked++;
        }
  g_assert_cmpuint (checked, >, 300);
  gv_tensor_unref (out);
  g_free (features);
  g_free (latents);
  g_free (mask);
  g_free (scores);
  g_free (z);
}

/* Pins that the search radius reaches the search: frames move by (DY, DX) = (2, -1), so with
 * a radius of 1 no match is exact (the right position lies outside every window), with 2 the
 * interior matches exactly, as with the whole frame. */
static void
test_search_radius (void)
{
  gfloat *features = shifted_clip (CF, 9), *latents = shifted_clip (C, 10);
  gfloat *mask = ones (F * H * W, 1.0f);

  for (gint radius = 1; radius <= 2; radius++) {
    GvCorrectParams p = params ();
    gfloat *scores;
    p.search_radius = radius;
    GvTensor *out = correct_with (features, latents, mask, &p, &scores, NULL);
    gsize exact = 0, interior_n = 0;
    /* the previous-frame matches of frame 1, then of frame 2 */
    for (gint k = 0; k < F - 1; k++)
      for (gint y = 0; y < H; y++)
        for (gint x = 0; x < W; x++) {
          if (!interior (y, x))
            continue;
          exact += scores[(gsize) k * H * W + y * W + x] > 1 - 1e-4;
          interior_n++;
        }
    g_test_message ("radius %d: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " exact matches",
        radius, exact, interior_n);
    g_assert_cmpuint (exact, ==, radius == 1 ? 0 : interior_n);
    gv_tensor_unref (out);
    g_free (scores);
  }
  g_free (features);
  g_free (latents);
  g_free (mask);
}

static void
test_outside_the_mask_is_untouched (void)
{
  gfloat *features = shifted_clip (CF, 5), *latents = gv_test_random (F * C * H * W, 6, -1, 1);
  gfloat *mask = ones (F * H * W, 0.0f), *scores;
  /* a mask over the left half of every frame */
  for (gint k = 0; k < F; k++)
    for (gint y = 0; y < H; y++)
      for (gint x = 0; x < W / 2; x++)
        mask[((gsize) k * H + y) * W + x] = 1.0f;
  GvTensor *out = correct (features, latents, mask, &scores);
  gfloat *z = gv_test_download (out);
  gsize changed = 0;
  for (gint k = 0; k < F; k++)
    for (gint c = 0; c < C; c++)
      for (gint y = 0; y < H; y++)
        for (gint x = 0; x < W; x++) {
          gsize i = (((gsize) k * C + c) * H + y) * W + x;
          if (x >= W / 2)
            g_assert_cmpfloat (z[i], ==, latents[i]);
          else
            changed += z[i] != latents[i];
        }
  g_assert_cmpuint (changed, >, 0);
  gv_tensor_unref (out);
  g_free (features);
  g_free (latents);
  g_free (mask);
  g_free (scores);
  g_free (z);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/correct/consistent-motion-is-kept", test_consistent_motion_is_kept);
  g_test_add_func ("/correct/blend-follows-the-field", test_blend_follows_the_field);
  g_test_add_func ("/correct/matches-give-the-fields", test_matches_give_the_fields);
  g_test_add_func ("/correct/given-fields-replace-the-matches",
      test_given_fields_replace_the_matches);
  g_test_add_func ("/correct/outside-the-mask-is-untouched", test_outside_the_mask_is_untouched);
  g_test_add_func ("/correct/weights-and-edges", test_weights_and_edges);
  g_test_add_func ("/correct/search-radius", test_search_radius);
  return g_test_run ();
}
