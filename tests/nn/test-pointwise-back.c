/* Element-wise, GEGLU, concat, nearest resize and per-frame repeat backward against the double
 * references of gv-ref-back.h. */
#include <math.h>
#include <string.h>

#include "gv-test-back.h"

/* quick GELU (x sigmoid (1.702 x)) has no backward reference: its derivative, in double */
static void
quick_gelu_backward (gdouble *dx, const gdouble *dy, const gdouble *x, gint64 n)
{
  for (gint64 i = 0; i < n; i++) {
    gdouble s = 1.0 / (1.0 + exp (-1.702 * x[i]));
    dx[i] += dy[i] * (s + 1.702 * x[i] * s * (1.0 - s));
  }
}

static void
activation_case (GvActivation act, gint64 n, gboolean accumulate, guint32 seed)
{
  gfloat *x = gv_test_random (n, seed, -4, 4), *dy = gv_test_random (n, seed + 1, -1, 1);
  gfloat *dx0;
  GvTensor *tx = GV_TEST_TENSOR (x, n), *tdy = GV_TEST_TENSOR (dy, n);
  GvTensor *tdx = gv_test_grad_tensor (n, accumulate, seed + 2, &dx0);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  gv_op_activation_backward (cmd, tdx, tdy, tx, act, accumulate);
  gv_test_finish (cmd);

  gdouble *xd = gv_test_to_double (x, n), *dyd = gv_test_to_double (dy, n);
  gdouble *rdx = g_new0 (gdouble, n);
  if (act == GV_ACT_SILU)
    gv_ref_silu_backward (rdx, dyd, xd, n);
  else if (act == GV_ACT_GELU)
    gv_ref_gelu_backward (rdx, dyd, xd, n);
  else if (act == GV_ACT_QUICK_GELU)
    quick_gelu_backward (rdx, dyd, xd, n);
  else
    gv_ref_add_backward (rdx, NULL, dyd, n);
  gv_assert_grad (tdx, rdx, dx0, n, 1e-5);

  gv_cmd_free (cmd);
  gv_tensor_unref (tx);
  gv_tensor_unref (tdy);
  gv_tensor_unref (tdx);
  GV_TEST_FREE_ALL (x, dy, dx0, xd, dyd, rdx);
}

static void
test_activations (void)
{
  activation_case (GV_ACT_SILU, 1001, FALSE, 1);
  activation_case (GV_ACT_GELU, 777, TRUE, 2);
  activation_case (GV_ACT_QUICK_GELU, 333, FALSE, 3);
  activation_case (GV_ACT_NONE, 65, TRUE, 4);
}

static void
test_geglu (void)
{
  gint64 rows = 7, n = 37;
  gfloat *x = gv_test_random (rows * 2 * n, 5, -3, 3), *dy = gv_test_random (rows * n, 6, -1, 1);
  gfloat *dx0;
  GvTensor *tx = GV_TEST_TENSOR (x, rows, 2 * n), *tdy = GV_TEST_TENSOR (dy, rows, n);
  GvTensor *tdx = gv_test_grad_tensor (rows * 2 * n, TRUE, 7, &dx0);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  gv_op_geglu_backward (cmd, tdx, tdy, tx, TRUE);
  gv_test_finish (cmd);

  gdouble *xd = gv_test_to_double (x, rows * 2 * n), *dyd = gv_test_to_double (dy, rows * n);
  gdouble *rdx = g_new0 (gdouble, rows * 2 * n);
  gv_ref_geglu_backward (rdx, dyd, xd, rows, n);
  gv_assert_grad (tdx, rdx, dx0, rows * 2 * n, 1e-5);

  /* dy of the wrong width */
  g_autoptr (GError) error = NULL;
  gv_op_geglu_backward (cmd, tdx, tx, tx, FALSE);
  g_assert_false (gv_cmd_finish (cmd, &error));

  gv_cmd_free (cmd);
  gv_tensor_unref (tx);
  gv_tensor_unref (tdy);
  gv_tensor_unref (tdx);
  GV_TEST_FREE_ALL (x, dy, dx0, xd, dyd, rdx);
}

/* a residual: dy goes to both inputs, one of them accumulating */
static void
test_add (void)
{
  gint64 n = 515;
  gfloat *dy = gv_test_random (n, 8, -1, 1), *da0, *db0;
  GvTensor *tdy = GV_TEST_TENSOR (dy, n);
  GvTensor *tda = gv_test_grad_tensor (n, TRUE, 9, &da0);
  GvTensor *tdb = gv_test_grad_tensor (n, TRUE, 10, &db0);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  gv_op_add_backward (cmd, tda, tdb, tdy, TRUE);
  gv_test_finish (cmd);

  gdouble *dyd = gv_test_to_double (dy, n);
  gdouble *rda = g_new0 (gdouble, n), *rdb = g_new0 (gdouble, n);
  gv_ref_add_backward (rda, rdb, dyd, n);
  gv_assert_grad (tda, rda, da0, n, 1e-6);
  gv_assert_grad (tdb, rdb, db0, n, 1e-6);

  gv_cmd_free (cmd);
  gv_tensor_unref (tdy);
  gv_tensor_unref (tda);
  gv_tensor_unref (tdb);
  GV_TEST_FREE_ALL (dy, da0, db0, dyd, rda, rdb);
}

/* the UNet's skip concatenation [hidden, skip] along channels: [n, ca + cb, h, w] */
static void
test_concat (void)
{
  gint64 n = 3, ca = 5, cb = 3, hw = 7 * 9, len = (ca + cb) * hw;
  gfloat *dy = gv_test_random (n * len, 11, -1, 1), *da0, *db0;
  GvTensor *tdy = GV_TEST_TENSOR (dy, n, ca + cb, 7, 9);
  GvTensor *tda = GV_TEST_TENSOR (NULL, n, ca, 7, 9);
  db0 = gv_test_random (n * cb * hw, 12, -1, 1);
  GvTensor *tdb = GV_TEST_TENSOR (db0, n, cb, 7, 9);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  gv_op_concat_backward (cmd, tda, NULL, tdy, 1, FALSE);
  gv_op_concat_backward (cmd, NULL, tdb, tdy, -3, TRUE);
  gv_test_finish (cmd);

  gdouble *dyd = gv_test_to_double (dy, n * len);
  gdouble *rda = g_new0 (gdouble, n * ca * hw), *rdb = g_new0 (gdouble, n * cb * hw);
  gv_ref_concat_backward (rda, rdb, dyd, n, ca * hw, cb * hw);
  da0 = NULL;
  gv_assert_grad (tda, rda, da0, n * ca * hw, 1e-7);
  gv_assert_grad (tdb, rdb, db0, n * cb * hw, 1e-6);

  /* a part that does not fit */
  g_autoptr (GError) error = NULL;
  gv_op_concat_backward (cmd, tdy, NULL, tda, 1, FALSE);
  g_assert_false (gv_cmd_finish (cmd, &error));

  gv_cmd_free (cmd);
  gv_tensor_unref (tdy);
  gv_tensor_unref (tda);
  gv_tensor_unref (tdb);
  GV_TEST_FREE_ALL (dy, db0, dyd, rda, rdb);
}

static void
resize_case (gint64 planes, gint64 h, gint64 w, gint64 ho, gint64 wo, gboolean accumulate,
    guint32 seed)
{
  gfloat *dy = gv_test_random (planes * ho * wo, seed, -1, 1), *dx0;
  GvTensor *tdy = GV_TEST_TENSOR (dy, 1, planes, ho, wo);
  GvTensor *tdx = gv_test_grad_tensor (planes * h * w, accumulate, seed + 1, &dx0);
  GvTensor *tdx4 = GV_VIEW (tdx, 0, 1, planes, h, w);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  gv_op_resize_nearest_backward (cmd, tdx4, tdy, accumulate);
  gv_test_finish (cmd);

  gdouble *dyd = gv_test_to_double (dy, planes * ho * wo);
  gdouble *rdx = g_new0 (gdouble, planes * h * w);
  gv_ref_resize_nearest_backward (rdx, dyd, planes, h, w, ho, wo);
  gv_assert_grad (tdx, rdx, dx0, planes * h * w, 1e-6);

  gv_cmd_free (cmd);
  gv_tensor_unref (tdy);
  gv_tensor_unref (tdx);
  gv_tensor_unref (tdx4);
  GV_TEST_FREE_ALL (dy, dx0, dyd, rdx);
}

static void
test_resize (void)
{
  resize_case (5, 7, 9, 14, 18, FALSE, 13);     /* 2x upsampling: the 2x2 sum */
  resize_case (3, 5, 7, 15, 21, TRUE, 14);      /* 3x */
  resize_case (2, 5, 7, 8, 11, FALSE, 15);      /* a non-integer ratio */
  resize_case (2, 9, 8, 4, 3, TRUE, 16);        /* downsampling: unread inputs get 0 */
}

/* the embedding path: SiLU after the per-frame repeat, then the sum over a clip's frames, as
 * gv_ref_embedding_backward takes it (its linear layers are the linear backward's) */
static void
test_embedding_frames (void)
{
  gint64 clips = 2, frames = 3, dim = 37;
  gfloat *sum = gv_test_random (clips * dim, 17, -3, 3);
  gfloat *dy = gv_test_random (clips * frames * dim, 18, -1, 1);
  gfloat *rep = g_new (gfloat, clips * frames * dim), *ds0;
  for (gint64 i = 0; i < clips * frames; i++)
    memcpy (rep + i * dim, sum + i / frames * dim, dim * sizeof (gfloat));
  GvTensor *trep = GV_TEST_TENSOR (rep, clips * frames, dim);
  GvTensor *tdy = GV_TEST_TENSOR (dy, clips * frames, dim);
  GvTensor *dsilu = GV_TEST_TENSOR (NULL, clips * frames, dim);
  GvTensor *tds = gv_test_grad_tensor (clips * dim, TRUE, 19, &ds0);
  GvTensor *tds2 = GV_VIEW (tds, 0, clips, dim);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  gv_op_activation_backward (cmd, dsilu, tdy, trep, GV_ACT_SILU, FALSE);
  gv_op_repeat_frames_backward (cmd, tds2, dsilu, (gint) frames, TRUE);
  gv_test_finish (cmd);

  gdouble *sd = gv_test_to_double (sum, clips * dim);
  gdouble *dyd = gv_test_to_double (dy, clips * frames * dim);
  gdouble *rds = g_new0 (gdouble, clips * dim);
  for (gint64 i = 0; i < clips * frames; i++)
    gv_ref_silu_backward (rds + i / frames * dim, dyd + i * dim, sd + i / frames * dim, dim);
  gv_assert_grad (tds, rds, ds0, clips * dim, 1e-5);

  g_autoptr (GError) error = NULL;
  gv_op_repeat_frames_backward (cmd, tds2, dsilu, 2, FALSE);
  g_assert_false (gv_cmd_finish (cmd, &error));

  gv_cmd_free (cmd);
  GV_TEST_UNREF_ALL (trep, tdy, dsilu, tds, tds2);
  GV_TEST_FREE_ALL (sum, dy, rep, ds0, sd, dyd, rds);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pointwise-back/activations", test_activations);
  g_test_add_func ("/pointwise-back/geglu", test_geglu);
  g_test_add_func ("/pointwise-back/add", test_add);
  g_test_add_func ("/pointwise-back/concat", test_concat);
  g_test_add_func ("/pointwise-back/resize-nearest", test_resize);
  g_test_add_func ("/pointwise-back/embedding-frames", test_embedding_frames);
  return g_test_run ();
}
