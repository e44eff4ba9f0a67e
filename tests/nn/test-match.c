/* Nearest-neighbour search (cosine) and mean |a - b| against the C reference. */
#include <math.h>
#include <string.h>

#include "gv-ref.h"
#include "gv-test-util.h"

/* cosine of a[n, :, p] and b[n, :, q] in double, norms clamped as the op documents */
static gdouble
cosine (const gfloat *a, const gfloat *b, gint64 n, gint C, gint64 S, gint64 p, gint64 q)
{
  gdouble dot = 0, na = 0, nb = 0;
  for (gint c = 0; c < C; c++) {
    gdouble x = a[(n * C + c) * S + p], y = b[(n * C + c) * S + q];
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return dot / (MAX (sqrt (na), GV_REF_COS_EPS) * MAX (sqrt (nb), GV_REF_COS_EPS));
}

typedef struct {
  gint32 *index;
  gfloat *score;
} Field;

static Field
run_search (const gfloat *a, const gfloat *b, gint N, gint C, gint H, gint W, gint radius,
    gboolean with_score)
{
  GvTensor *ta = GV_TEST_TENSOR (a, N, C, H, W);
  GvTensor *tb = GV_TEST_TENSOR (b, N, C, H, W);
  GError *error = NULL;
  GvTensor *ti = gv_tensor_new_typed (gv_test_device (), GV_DTYPE_I32, 2,
      (const gint64[]) { N, (gint64) H * W }, &error);
  g_assert_no_error (error);
  GvTensor *ts = with_score ? GV_TEST_TENSOR (NULL, N, (gint64) H * W) : NULL;
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  Field f = { g_new (gint32, (gsize) N * H * W), NULL };

  gv_op_nn_search (cmd, ti, ts, ta, tb, radius);
  gv_test_finish (cmd);
  g_assert_true (gv_tensor_download (ti, f.index, &error));
  g_assert_no_error (error);
  if (ts)
    f.score = gv_test_download (ts);
  g_assert_cmpuint (gv_validation_error_count (), ==, 0);
  gv_cmd_free (cmd);
  gv_tensor_unref (ta);
  gv_tensor_unref (tb);
  gv_tensor_unref (ti);
  if (ts)
    gv_tensor_unref (ts);
  return f;
}

/* Against the reference: the chosen position must be a best one (its cosine within 1e-5 of
 * the best; the same index wherever the best is clear by more than that) and inside the
 * window, and the score must be the best cosine. */
static void
check_search (const gfloat *a, const gfloat *b, gint N, gint C, gint H, gint W, gint radius)
{
  gint64 S = (gint64) H * W, total = N * S, same = 0;
  gint32 *want = g_new (gint32, total);
  gfloat *best = g_new (gfloat, total), *second = g_new (gfloat, total);
  Field f = run_search (a, b, N, C, H, W, radius, TRUE);

  gv_ref_nn_search (want, best, second, a, b, N, C, H, W, radius);
  for (gint64 i = 0; i < total; i++) {
    gint64 n = i / S, p = i % S, q = f.index[i];
    g_assert_cmpint (q, >=, 0);
    g_assert_cmpint (q, <, S);
    if (radius > 0) {
      g_assert_cmpint (ABS (q / W - p / W), <=, radius);
      g_assert_cmpint (ABS (q % W - p % W), <=, radius);
    }
    gdouble cq = cosine (a, b, n, C, S, p, q);
    g_assert_cmpfloat (cq, >=, best[i] - 1e-5);
    if (best[i] - second[i] > 1e-5)
      g_assert_cmpint (q, ==, want[i]);
    g_assert_cmpfloat (fabs (f.score[i] - best[i]), <, 1e-5);
    same += q == want[i];
  }
  g_test_message ("%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " indices equal the reference's",
      same, total);
  g_free (want);
  g_free (best);
  g_free (second);
  g_free (f.index);
  g_free (f.score);
}

static void
search_case (gint N, gint C, gint H, gint W, gint radius, guint seed)
{
  gint64 n = (gint64) N * C * H * W;
  gfloat *a = gv_test_random (n, seed, -1, 1);
  gfloat *b = gv_test_random (n, seed + 1, -1, 1);
  check_search (a, b, N, C, H, W, radius);
  g_free (a);
  g_free (b);
}

static void
test_search_whole_frame (void)
{
  search_case (2, 37, 13, 11, 0, 1);     /* 143 positions: scalar loads */
  search_case (3, 19, 12, 10, 0, 2);     /* 120 positions: vec4 loads on CPU devices */
  search_case (1, 3, 1, 1, 0, 3);        /* one position */
}

static void
test_search_window (void)
{
  search_case (2, 23, 17, 19, 2, 4);
  search_case (1, 16, 9, 30, 3, 5);      /* blocks of positions that wrap across rows */
  search_case (2, 8, 10, 10, 12, 6);     /* a window larger than the frame */
}

/* b is a copy of a shifted by (dy, dx) (new random features where the source is outside):
 * every position whose match is inside the frame must find it */
static void
shift_case (gint C, gint H, gint W, const gint (*shifts)[2], gint N, gint radius, guint seed)
{
  gint64 S = (gint64) H * W, fs = (gint64) C * S;
  gfloat *a = g_new (gfloat, N * fs), *b = g_new (gfloat, N * fs);
  for (gint n = 0; n < N; n++) {
    gint dy = shifts[n][0], dx = shifts[n][1];
    gint GH = H + ABS (dy), GW = W + ABS (dx);
    gfloat *g = gv_test_random ((gsize) C * GH * GW, seed + n, -1, 1);
    /* a(y, x) = G(y + ya, x + xa), b(y, x) = G(y + yb, x + xb) = a(y - dy, x - dx) */
    gint ya = MAX (dy, 0), xa = MAX (dx, 0), yb = MAX (-dy, 0), xb = MAX (-dx, 0);
    for (gint c = 0; c < C; c++) {
      for (gint y = 0; y < H; y++) {
        for (gint x = 0; x < W; x++) {
          a[n * fs + c * S + y * W + x] = g[((gint64) c * GH + y + ya) * GW + x + xa];
          b[n * fs + c * S + y * W + x] = g[((gint64) c * GH + y + yb) * GW + x + xb];
        }
      }
    }
    g_free (g);
  }
  Field f = run_search (a, b, N, C, H, W, radius, FALSE);
  gint64 checked = 0;
  for (gint n = 0; n < N; n++) {
    for (gint y = 0; y < H; y++) {
      for (gint x = 0; x < W; x++) {
        gint ty = y + shifts[n][0], tx = x + shifts[n][1];
        if (ty < 0 || ty >= H || tx < 0 || tx >= W)
          continue;
        g_assert_cmpint (f.index[n * S + y * W + x], ==, ty * W + tx);
        checked++;
      }
    }
  }
  g_test_message ("%" G_GINT64_FORMAT " positions recovered their shift", checked);
  g_free (f.index);
  g_free (a);
  g_free (b);
}

static void
test_search_recovers_shift (void)
{
  const gint shifts[3][2] = { { 3, -2 }, { -1, 4 }, { 0, 0 } };
  shift_case (64, 24, 20, shifts, 3, 0, 10);
  shift_case (29, 15, 17, shifts, 3, 5, 20);
}

/* 32 x 32 positions of 160 channels: a quarter of the real case's side */
static void
test_search_larger (void)
{
  const gint shifts[2][2] = { { 2, 1 }, { -3, -5 } };
  shift_case (160, 32, 32, shifts, 2, 0, 30);
}

/* zero feature vectors: cosine 0 with everything, no NaN; a zero query ties everywhere and
 * takes index 0 */
static void
test_search_zero_vectors (void)
{
  gint N = 1, C = 12, H = 7, W = 9;
  gint64 S = H * W;
  gfloat *a = gv_test_random (N * C * S, 40, -1, 1);
  gfloat *b = gv_test_random (N * C * S, 41, -1, 1);
  for (gint c = 0; c < C; c++) {
    a[c * S + 5] = 0;
    a[c * S + 40] = 0;
    b[c * S + 0] = 0;
    b[c * S + 17] = 0;
  }
  check_search (a, b, N, C, H, W, 0);
  check_search (a, b, N, C, H, W, 2);
  Field f = run_search (a, b, N, C, H, W, 0, TRUE);
  g_assert_cmpint (f.index[5], ==, 0);
  g_assert_cmpfloat (f.score[5], ==, 0);
  g_assert_cmpint (f.index[40], ==, 0);
  g_free (f.index);
  g_free (f.score);
  g_free (a);
  g_free (b);
}

/* exact ties: the second half of b repeats the first half, and every position of a is one of
 * b's vectors; the smaller index must win */
static void
tie_case (gint H, gint W, gint radius)
{
  gint C = 24;
  gint64 S = (gint64) H * W, half = S / 2;
  gfloat *b = gv_test_random (C * S, 50, -1, 1);
  gfloat *a = g_new (gfloat, C * S);
  for (gint c = 0; c < C; c++) {
    for (gint64 q = half; q < 2 * half; q++)
      b[c * S + q] = b[c * S + q - half];
    for (gint64 p = 0; p < S; p++)
      a[c * S + p] = b[c * S + (p * 7) % half];
  }
  Field f = run_search (a, b, 1, C, H, W, radius, FALSE);
  for (gint64 p = 0; p < S; p++) {
    if (radius == 0)
      g_assert_cmpint (f.index[p], ==, (p * 7) % half);
  }
  g_free (f.index);
  /* windowed: compare against the reference, which also takes the smallest index */
  if (radius > 0) {
    gint32 *want = g_new (gint32, S);
    gfloat *best = g_new (gfloat, S), *second = g_new (gfloat, S);
    f = run_search (a, b, 1, C, H, W, radius, FALSE);
    gv_ref_nn_search (want, best, second, a, b, 1, C, H, W, radius);
    for (gint64 p = 0; p < S; p++) {
      if (best[p] == second[p] || best[p] - second[p] > 1e-5)
        g_assert_cmpint (f.index[p], ==, want[p]);
    }
    g_free (f.index);
    g_free (want);
    g_free (best);
    g_free (second);
  }
  g_free (a);
  g_free (b);
}

static void
test_search_ties (void)
{
  tie_case (10, 16, 0);
  tie_case (9, 13, 0);
  tie_case (4, 6, 3);
}

static void
test_search_bad_args (void)
{
  GvTensor *a = GV_TEST_TENSOR (NULL, 1, 4, 5, 6);
  GvTensor *b = GV_TEST_TENSOR (NULL, 1, 4, 5, 7);
  GvTensor *wrong_type = GV_TEST_TENSOR (NULL, 1, 30);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  GError *error = NULL;

  gv_op_nn_search (cmd, wrong_type, NULL, a, a, 0);    /* float index */
  g_assert_false (gv_cmd_finish (cmd, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
  g_clear_error (&error);
  gv_op_mean_abs_diff (cmd, wrong_type, a, b, FALSE);   /* a and b differ */
  g_assert_false (gv_cmd_finish (cmd, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
  g_clear_error (&error);
  gv_cmd_free (cmd);
  gv_tensor_unref (a);
  gv_tensor_unref (b);
  gv_tensor_unref (wrong_type);
}

static void
mad_case (gint N, gint C, gint S, gboolean accumulate, guint seed)
{
  gfloat *a = gv_test_random ((gsize) N * C * S, seed, -2, 2);
  gfloat *b = gv_test_random ((gsize) N * C * S, seed + 1, -2, 2);
  gfloat *want = gv_test_random ((gsize) N * S, seed + 2, 0, 1);
  GvTensor *ta = GV_TEST_TENSOR (a, N, C, S);
  GvTensor *tb = GV_TEST_TENSOR (b, N, C, S);
  GvTensor *out = GV_TEST_TENSOR (want, N, S);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  gv_op_mean_abs_diff (cmd, out, ta, tb, accumulate);
  gv_ref_mean_abs_diff (want, a, b, N, C, S, accumulate);
  if (accumulate) {
    /* twice: the second call adds to the first (the InvEdit sum over steps) */
    gv_op_mean_abs_diff (cmd, out, tb, ta, TRUE);
    gv_ref_mean_abs_diff (want, b, a, N, C, S, TRUE);
  }
  gv_test_finish (cmd);
  gfloat *got = gv_test_download (out);
  gv_assert_close (got, want, (gsize) N * S, 1e-6);
  g_assert_cmpuint (gv_validation_error_count (), ==, 0);
  gv_cmd_free (cmd);
  gv_tensor_unref (ta);
  gv_tensor_unref (tb);
  gv_tensor_unref (out);
  g_free (a);
  g_free (b);
  g_free (want);
  g_free (got);
}

static void
test_mean_abs_diff (void)
{
  mad_case (3, 37, 143, FALSE, 60);
  mad_case (1, 1, 5, FALSE, 61);
}

static void
test_mean_abs_diff_accumulate (void)
{
  mad_case (2, 4, 4099, TRUE, 62);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/match/search-whole-frame", test_search_whole_frame);
  g_test_add_func ("/match/search-window", test_search_window);
  g_test_add_func ("/match/search-recovers-shift", test_search_recovers_shift);
  g_test_add_func ("/match/search-larger", test_search_larger);
  g_test_add_func ("/match/search-zero-vectors", test_search_zero_vectors);
  g_test_add_func ("/match/search-ties", test_search_ties);
  g_test_add_func ("/match/search-bad-args", test_search_bad_args);
  g_test_add_func ("/match/mean-abs-diff", test_mean_abs_diff);
  g_test_add_func ("/match/mean-abs-diff-accumulate", test_mean_abs_diff_accumulate);
  return g_test_run ();
}
