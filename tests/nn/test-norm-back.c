/* Group norm and layer norm backward against the double references of gv-ref-back.h. */
#include "gv-test-back.h"

typedef struct {
  gint64 n, c, h, w;
  gint groups, frames;
  gboolean gamma, beta, silu, accumulate;
} GroupNormBackCase;

static void
group_norm_back_case (const GroupNormBackCase *k, guint32 seed)
{
  gint64 s = k->h * k->w, numel = k->n * k->c * s, n_stats = k->n / k->frames * k->groups;
  gfloat *x = gv_test_random (numel, seed, -2, 2);
  gfloat *dy = gv_test_random (numel, seed + 1, -1, 1);
  gfloat *gamma = k->gamma ? gv_test_random (k->c, seed + 2, 0.5f, 1.5f) : NULL;
  gfloat *beta = k->beta ? gv_test_random (k->c, seed + 3, -1, 1) : NULL;
  gfloat *dx0 = NULL, *dg0 = NULL, *db0 = NULL;
  GvTensor *tx = GV_TEST_TENSOR (x, k->n, k->c, k->h, k->w);
  GvTensor *tdy = GV_TEST_TENSOR (dy, k->n, k->c, k->h, k->w);
  GvTensor *tg = gamma ? GV_TEST_TENSOR (gamma, k->c) : NULL;
  GvTensor *tb = beta ? GV_TEST_TENSOR (beta, k->c) : NULL;
  GvTensor *tdx = gv_test_grad_tensor (numel, k->accumulate, seed + 4, &dx0);
  GvTensor *tdg = gamma ? gv_test_grad_tensor (k->c, k->accumulate, seed + 5, &dg0) : NULL;
  GvTensor *tdb = beta ? gv_test_grad_tensor (k->c, k->accumulate, seed + 6, &db0) : NULL;
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  gv_op_group_norm_backward (cmd, tdx, tdg, tdb, tdy, tx, tg, tb, k->groups, k->frames, 1e-5f,
      k->silu, k->accumulate);
  gv_test_finish (cmd);

  gdouble *xd = gv_test_to_double (x, numel), *dyd = gv_test_to_double (dy, numel);
  gdouble *gd = gamma ? gv_test_to_double (gamma, k->c) : NULL;
  gdouble *bd = beta ? gv_test_to_double (beta, k->c) : NULL;
  gdouble *y = g_new (gdouble, numel), *mean = g_new (gdouble, n_stats);
  gdouble *rstd = g_new (gdouble, n_stats);
  gdouble *rdx = g_new0 (gdouble, numel), *rdg = g_new0 (gdouble, k->c);
  gdouble *rdb = g_new0 (gdouble, k->c);
  gv_ref_group_norm_forward (y, mean, rstd, xd, gd, bd, k->n, k->c, s, k->groups, k->frames,
      1e-5, k->silu);
  gv_ref_group_norm_backward (rdx, rdg, rdb, dyd, xd, mean, rstd, gd, bd, k->n, k->c, s,
      k->groups, k->frames, k->silu);

  gv_assert_grad (tdx, rdx, dx0, numel, 1e-5);
  if (tdg) {
    gv_assert_grad (tdg, rdg, dg0, k->c, 1e-5);
  }
  if (tdb) {
    gv_assert_grad (tdb, rdb, db0, k->c, 1e-5);
  }

  gv_cmd_free (cmd);
  GV_TEST_UNREF_ALL (tx, tdy, tg, tb, tdx, tdg, tdb);
  GV_TEST_FREE_ALL (x, dy, gamma, beta, dx0, dg0, db0, xd, dyd, gd, bd, y, mean, rstd, rdx,
    rdg, rdb);
}

/* plane of 63, statistics per image */
static void
test_group_norm_back_odd (void)
{
  GroupNormBackCase k = { 3, 12, 7, 9, 4, 1, TRUE, TRUE, FALSE, FALSE };
  group_norm_back_case (&k, 1);
}

/* fused SiLU, statistics across the 3 frames of a clip (Tune-A-Video), added to gradients */
static void
test_group_norm_back_frames_silu (void)
{
  GroupNormBackCase k = { 6, 10, 5, 7, 5, 3, TRUE, TRUE, TRUE, TRUE };
  group_norm_back_case (&k, 2);
}

/* no affine, one group per channel, plane of 1 */
static void
test_group_norm_back_plain (void)
{
  GroupNormBackCase k = { 4, 6, 1, 1, 2, 2, FALSE, FALSE, FALSE, FALSE };
  group_norm_back_case (&k, 3);
}

/* gamma only, SiLU, a larger plane (several invocations per plane in the apply stage) */
static void
test_group_norm_back_large_plane (void)
{
  GroupNormBackCase k = { 2, 8, 33, 41, 2, 1, TRUE, FALSE, TRUE, FALSE };
  group_norm_back_case (&k, 4);
}

/* dx written over dy gives the bits of a separate dx */
static void
test_group_norm_back_in_place (void)
{
  gint64 numel = 2 * 6 * 5 * 7;
  gfloat *x = gv_test_random (numel, 30, -2, 2), *dy = gv_test_random (numel, 31, -1, 1);
  gfloat *gamma = gv_test_random (6, 32, 0.5f, 1.5f), *beta = gv_test_random (6, 33, -1, 1);
  GvTensor *tx = GV_TEST_TENSOR (x, 2, 6, 5, 7), *tdy = GV_TEST_TENSOR (dy, 2, 6, 5, 7);
  GvTensor *tdx = GV_TEST_TENSOR (NULL, 2, 6, 5, 7);
  GvTensor *tg = GV_TEST_TENSOR (gamma, 6), *tb = GV_TEST_TENSOR (beta, 6);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  gv_op_group_norm_backward (cmd, tdx, NULL, NULL, tdy, tx, tg, tb, 3, 2, 1e-5f, TRUE, FALSE);
  gv_op_group_norm_backward (cmd, tdy, NULL, NULL, tdy, tx, tg, tb, 3, 2, 1e-5f, TRUE, FALSE);
  gv_test_finish (cmd);
  gfloat *a = gv_test_download (tdx), *b = gv_test_download (tdy);
  g_assert_cmpmem (a, numel * sizeof (gfloat), b, numel * sizeof (gfloat));
  gv_cmd_free (cmd);
  GV_TEST_UNREF_ALL (tx, tdy, tdx, tg, tb);
  GV_TEST_FREE_ALL (x, dy, gamma, beta, a, b);
}

static void
test_group_norm_back_bad_args (void)
{
  GvTensor *x = GV_TEST_TENSOR (NULL, 2, 6, 3, 3);
  GvTensor *dy = GV_TEST_TENSOR (NULL, 2, 6, 3, 4);
  GvTensor *dx = GV_TEST_TENSOR (NULL, 2, 6, 3, 3);
  GvTensor *dg = GV_TEST_TENSOR (NULL, 6);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  g_autoptr (GError) error = NULL;

  gv_op_group_norm_backward (cmd, dx, NULL, NULL, dy, x, NULL, NULL, 3, 1, 1e-5f, FALSE, FALSE);
  g_assert_false (gv_cmd_finish (cmd, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
  g_clear_error (&error);
  /* dgamma without gamma */
  gv_op_group_norm_backward (cmd, dx, dg, NULL, dx, x, NULL, NULL, 3, 1, 1e-5f, FALSE, FALSE);
  g_assert_false (gv_cmd_finish (cmd, &error));
  g_clear_error (&error);
  /* 2 images in clips of 3 frames */
  gv_op_group_norm_backward (cmd, dx, NULL, NULL, dx, x, NULL, NULL, 3, 3, 1e-5f, FALSE, FALSE);
  g_assert_false (gv_cmd_finish (cmd, &error));

  gv_cmd_free (cmd);
  gv_tensor_unref (x);
  gv_tensor_unref (dy);
  gv_tensor_unref (dx);
  gv_tensor_unref (dg);
}

static void
layer_norm_back_case (gint64 rows, gint64 len, gboolean affine, gboolean accumulate,
    guint32 seed)
{
  gint64 numel = rows * len;
  gfloat *x = gv_test_random (numel, seed, -2, 3);
  gfloat *dy = gv_test_random (numel, seed + 1, -1, 1);
  gfloat *gamma = affine ? gv_test_random (len, seed + 2, 0.5f, 1.5f) : NULL;
  gfloat *dx0 = NULL, *dg0 = NULL, *db0 = NULL;
  GvTensor *tx = GV_TEST_TENSOR (x, rows, len), *tdy = GV_TEST_TENSOR (dy, rows, len);
  GvTensor *tg = affine ? GV_TEST_TENSOR (gamma, len) : NULL;
  GvTensor *tdx = gv_test_grad_tensor (numel, accumulate, seed + 3, &dx0);
  GvTensor *tdg = affine ? gv_test_grad_tensor (len, accumulate, seed + 4, &dg0) : NULL;
  GvTensor *tdb = affine ? gv_test_grad_tensor (len, accumulate, seed + 5, &db0) : NULL;
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  gv_op_layer_norm_backward (cmd, tdx, tdg, tdb, tdy, tx, tg, 1e-5f, accumulate);
  gv_test_finish (cmd);

  gdouble *xd = gv_test_to_double (x, numel), *dyd = gv_test_to_double (dy, numel);
  gdouble *gd = affine ? gv_test_to_double (gamma, len) : NULL;
  gdouble *y = g_new (gdouble, numel), *mean = g_new (gdouble, rows);
  gdouble *rstd = g_new (gdouble, rows), *rdx = g_new0 (gdouble, numel);
  gdouble *rdg = g_new0 (gdouble, len), *rdb = g_new0 (gdouble, len);
  gv_ref_layer_norm_forward (y, mean, rstd, xd, gd, NULL, rows, len, 1e-5);
  gv_ref_layer_norm_backward (rdx, affine ? rdg : NULL, affine ? rdb : NULL, dyd, xd, mean,
      rstd, gd, rows, len);

  gv_assert_grad (tdx, rdx, dx0, numel, 1e-5);
  if (affine) {
    gv_assert_grad (tdg, rdg, dg0, len, 1e-5);
    gv_assert_grad (tdb, rdb, db0, len, 1e-5);
  }

  gv_cmd_free (cmd);
  GV_TEST_UNREF_ALL (tx, tdy, tg, tdx, tdg, tdb);
  GV_TEST_FREE_ALL (x, dy, gamma, dx0, dg0, db0, xd, dyd, gd, y, mean, rstd, rdx, rdg, rdb);
}

static void
test_layer_norm_back_odd (void)
{
  layer_norm_back_case (37, 45, TRUE, FALSE, 10);
}

/* rows longer than a subgroup or workgroup, gradients added */
static void
test_layer_norm_back_long_rows_accumulate (void)
{
  layer_norm_back_case (19, 333, TRUE, TRUE, 11);
}

static void
test_layer_norm_back_no_affine (void)
{
  layer_norm_back_case (5, 7, FALSE, FALSE, 12);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/norm-back/group-norm/odd", test_group_norm_back_odd);
  g_test_add_func ("/norm-back/group-norm/frames-silu-accumulate",
      test_group_norm_back_frames_silu);
  g_test_add_func ("/norm-back/group-norm/plain", test_group_norm_back_plain);
  g_test_add_func ("/norm-back/group-norm/large-plane", test_group_norm_back_large_plane);
  g_test_add_func ("/norm-back/group-norm/in-place", test_group_norm_back_in_place);
  g_test_add_func ("/norm-back/group-norm/bad-args", test_group_norm_back_bad_args);
  g_test_add_func ("/norm-back/layer-norm/odd", test_layer_norm_back_odd);
  g_test_add_func ("/norm-back/layer-norm/long-rows-accumulate",
      test_layer_norm_back_long_rows_accumulate);
  g_test_add_func ("/norm-back/layer-norm/no-affine", test_layer_norm_back_no_affine);
  return g_test_run ();
}
