/* MSE loss, gradient clipping and AdamW against the double references of gv-ref-back.h
 * (themselves checked against torch in tests/ref/test-ref-optim.c). */
#include <math.h>

#include "gv-test-back.h"

static void
test_mse (void)
{
  gint64 n = 3001;   /* three partials, the last one short */
  gfloat *pred = gv_test_random (n, 1, -2, 2), *target = gv_test_random (n, 2, -2, 2), *d0;
  GvTensor *tp = GV_TEST_TENSOR (pred, n), *tt = GV_TEST_TENSOR (target, n);
  GvTensor *td = gv_test_grad_tensor (n, TRUE, 3, &d0);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  gfloat loss = 0.0f;
  gv_op_mse_loss (cmd, td, tp, tt, &loss, TRUE);
  gv_test_finish (cmd);

  gdouble *pd = gv_test_to_double (pred, n), *tdd = gv_test_to_double (target, n);
  gdouble *rd = g_new0 (gdouble, n);
  gdouble want_loss = gv_ref_mse_forward (pd, tdd, n);
  gv_ref_mse_backward (rd, 1.0, pd, tdd, n);
  g_assert_cmpfloat_with_epsilon (loss, want_loss, 1e-6 * want_loss);
  gv_assert_grad (td, rd, d0, n, 1e-6);

  g_autoptr (GError) error = NULL;
  GvTensor *short_t = GV_VIEW (tt, 0, n - 1);
  gv_op_mse_loss (cmd, td, tp, short_t, NULL, FALSE);
  g_assert_false (gv_cmd_finish (cmd, &error));
  gv_tensor_unref (short_t);

  gv_cmd_free (cmd);
  gv_tensor_unref (tp);
  gv_tensor_unref (tt);
  gv_tensor_unref (td);
  GV_TEST_FREE_ALL (pred, target, d0, pd, tdd, rd);
}

#define N_TENSORS 3
static const gint64 sizes[N_TENSORS] = { 3001, 37, 5000 };

/* Several steps of clip_grad_norm_ + AdamW on three tensors, against the reference from the
 * same starting point; @max_norm large enough or not for clipping to act. */
static void
adamw_case (gfloat max_norm, guint32 seed)
{
  const GvAdamW o = { 3e-2, 0.9, 0.999, 1e-8, 1e-2 };
  const GvRefAdamW ro = { 3e-2, 0.9, 0.999, 1e-8, 1e-2 };
  GvTensor *tp[N_TENSORS], *tm[N_TENSORS], *tv[N_TENSORS], *tg[N_TENSORS];
  gdouble *rp[N_TENSORS], *rm[N_TENSORS], *rv[N_TENSORS], *rg[N_TENSORS];
  GvTensor *result = GV_TEST_TENSOR (NULL, 2);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  for (gint t = 0; t < N_TENSORS; t++) {
    gfloat *p = gv_test_random (sizes[t], seed + t, -1, 1);
    gfloat *zeros = g_new0 (gfloat, sizes[t]);
    tp[t] = GV_TEST_TENSOR (p, sizes[t]);
    tm[t] = GV_TEST_TENSOR (zeros, sizes[t]);
    tv[t] = GV_TEST_TENSOR (zeros, sizes[t]);
    tg[t] = GV_TEST_TENSOR (NULL, sizes[t]);
    rp[t] = gv_test_to_double (p, sizes[t]);
    rm[t] = g_new0 (gdouble, sizes[t]);
    rv[t] = g_new0 (gdouble, sizes[t]);
    g_free (p);
    g_free (zeros);
  }
  for (gint step = 1; step <= 5; step++) {
    for (gint t = 0; t < N_TENSORS; t++) {
      gfloat *g = gv_test_random (sizes[t], seed + 100 * step + t, -0.05f, 0.05f);
      g_assert_true (gv_tensor_upload (tg[t], g, NULL));
      rg[t] = gv_test_to_double (g, sizes[t]);
      g_free (g);
    }
    gv_op_clip_grad_norm (cmd, result, tg, N_TENSORS, max_norm);
    for (gint t = 0; t < N_TENSORS; t++)
      gv_op_adamw_step (cmd, tp[t], tm[t], tv[t], tg[t], result, step, &o);
    gv_test_finish (cmd);

    gdouble norm = gv_ref_clip_grad_norm (rg, sizes, N_TENSORS, max_norm);
    for (gint t = 0; t < N_TENSORS; t++) {
      gv_ref_adamw_step (rp[t], rm[t], rv[t], rg[t], sizes[t], step, &ro);
      g_free (rg[t]);
    }
    gfloat *res = gv_test_download (result);
    g_assert_cmpfloat_with_epsilon (res[0], norm, 1e-6 * norm);
    g_assert_cmpfloat (res[1], <=, 1.0f);
    g_free (res);
  }
  for (gint t = 0; t < N_TENSORS; t++) {
    gv_assert_grad (tp[t], rp[t], NULL, sizes[t], 1e-6);
    gv_assert_grad (tv[t], rv[t], NULL, sizes[t], 1e-6);
    gv_tensor_unref (tp[t]);
    gv_tensor_unref (tm[t]);
    gv_tensor_unref (tv[t]);
    gv_tensor_unref (tg[t]);
    g_free (rp[t]);
    g_free (rm[t]);
    g_free (rv[t]);
  }
  gv_tensor_unref (result);
  gv_cmd_free (cmd);
}

/* the gradients' norm is ~2.5: clipped at 1.0, untouched at 100 */
static void
test_adamw_clipped (void)
{
  adamw_case (1.0f, 20);
}

static void
test_adamw_unclipped (void)
{
  adamw_case (100.0f, 30);
}

/* the same steps twice give the same bits */
static void
test_adamw_deterministic (void)
{
  gint64 n = 4099;
  gfloat *g = gv_test_random (n, 40, -1, 1), *out[2];
  const GvAdamW o = { 1e-3, 0.9, 0.999, 1e-8, 1e-2 };
  for (gint run = 0; run < 2; run++) {
    gfloat *p = gv_test_random (n, 41, -1, 1);
    GvTensor *tp = GV_TEST_TENSOR (p, n), *tm = GV_TEST_TENSOR (g, n);
    GvTensor *tv = GV_TEST_TENSOR (p, n), *tg = GV_TEST_TENSOR (g, n);
    GvTensor *result = GV_TEST_TENSOR (NULL, 2);
    GvCmd *cmd = gv_cmd_new (gv_test_device ());
    gv_op_clip_grad_norm (cmd, result, &tg, 1, 1.0f);
    gv_op_adamw_step (cmd, tp, tm, tv, tg, result, 3, &o);
    gv_test_finish (cmd);
    out[run] = gv_test_download (tp);
    gv_cmd_free (cmd);
    GV_TEST_UNREF_ALL (tp, tm, tv, tg, result);
    g_free (p);
  }
  g_assert_cmpmem (out[0], n * sizeof (gfloat), out[1], n * sizeof (gfloat));
  g_free (out[0]);
  g_free (out[1]);
  g_free (g);
}

static void
test_optim_bad_args (void)
{
  GvTensor *a = GV_TEST_TENSOR (NULL, 5), *b = GV_TEST_TENSOR (NULL, 6);
  const GvAdamW o = { 1e-3, 0.9, 0.999, 1e-8, 1e-2 };
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  g_autoptr (GError) error = NULL;

  gv_op_adamw_step (cmd, a, a, a, b, NULL, 1, &o);
  g_assert_false (gv_cmd_finish (cmd, &error));
  g_clear_error (&error);
  gv_op_adamw_step (cmd, a, a, a, a, NULL, 0, &o);
  g_assert_false (gv_cmd_finish (cmd, &error));
  g_clear_error (&error);
  gv_op_clip_grad_norm (cmd, a, &b, 1, 0.0f);
  g_assert_false (gv_cmd_finish (cmd, &error));

  gv_cmd_free (cmd);
  gv_tensor_unref (a);
  gv_tensor_unref (b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/optim/mse", test_mse);
  g_test_add_func ("/optim/adamw-clipped", test_adamw_clipped);
  g_test_add_func ("/optim/adamw-unclipped", test_adamw_unclipped);
  g_test_add_func ("/optim/adamw-deterministic", test_adamw_deterministic);
  g_test_add_func ("/optim/bad-args", test_optim_bad_args);
  return g_test_run ();
}
