/* The shared optimizer (gv-optimizer.h): one AdamW step with clipping against a host
 * computation, a saved and reloaded run continuing bit for bit like an unstopped one, state
 * files that do not match refused without touching the weights, and the moving average. */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "gv-test-util.h"
#include "models/gv-optimizer.h"

#define N_A 37
#define N_B 12

static const GvAdamW adamw = { 1e-2, 0.9, 0.999, 1e-8, 1e-2 };

typedef struct {
  GvTensor *a, *b;
  GvOptimizer *opt;
} Run;

static void
run_init (Run *r)
{
  g_autofree gfloat *a = gv_test_random (N_A, 1, -1.0f, 1.0f);
  g_autofree gfloat *b = gv_test_random (N_B, 2, -1.0f, 1.0f);
  GError *error = NULL;
  r->a = gv_test_tensor (1, (const gint64[]) { N_A }, a);
  r->b = gv_test_tensor (2, (const gint64[]) { 3, N_B / 3 }, b);
  r->opt = gv_optimizer_new (gv_test_device (), &adamw);
  g_assert_true (gv_optimizer_add (r->opt, "layer.weight", r->a, &error));
  g_assert_true (gv_optimizer_add (r->opt, "layer.bias", r->b, &error));
  /* a tensor added twice is trained once */
  g_assert_true (gv_optimizer_add (r->opt, "tied", r->a, &error));
  g_assert_no_error (error);
  g_assert_cmpint (gv_optimizer_get_n_params (r->opt), ==, 2);
}

static void
run_clear (Run *r)
{
  gv_optimizer_free (r->opt);
  gv_tensor_unref (r->a);
  gv_tensor_unref (r->b);
}

/* step @k's gradients: random, large enough that clipping at 1 acts */
static void
run_step (Run *r, gint k, gfloat *norm)
{
  g_autofree gfloat *ga = gv_test_random (N_A, 100 + k, -2.0f, 2.0f);
  g_autofree gfloat *gb = gv_test_random (N_B, 200 + k, -2.0f, 2.0f);
  GError *error = NULL;
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  gv_optimizer_zero_grads (r->opt, cmd);
  gv_tensor_record_upload (cmd, gv_optimizer_grad_of (r->opt, r->a), ga);
  gv_tensor_record_upload (cmd, gv_optimizer_grad_of (r->opt, r->b), gb);
  g_assert_true (gv_optimizer_step (r->opt, cmd, 1.0f, norm, &error));
  g_assert_no_error (error);
  gv_cmd_free (cmd);
}

static void
test_step_matches_host (void)
{
  Run r;
  gfloat norm;
  run_init (&r);
  g_autofree gfloat *a0 = gv_test_download (r.a);
  g_autofree gfloat *b0 = gv_test_download (r.b);
  run_step (&r, 0, &norm);
  g_assert_cmpint (gv_optimizer_get_step_count (r.opt), ==, 1);

  g_autofree gfloat *ga = gv_test_random (N_A, 100, -2.0f, 2.0f);
  g_autofree gfloat *gb = gv_test_random (N_B, 200, -2.0f, 2.0f);
  gdouble sq = 0;
  for (gint i = 0; i < N_A; i++)
    sq += (gdouble) ga[i] * ga[i];
  for (gint i = 0; i < N_B; i++)
    sq += (gdouble) gb[i] * gb[i];
  gdouble want_norm = sqrt (sq), f = MIN (1.0 / (want_norm + 1e-6), 1.0);
  g_assert_cmpfloat_with_epsilon (norm, want_norm, 1e-4 * want_norm);

  /* first AdamW step: m_hat = g, v_hat = g^2, so the update is lr g / (|g| + eps) */
  g_autofree gfloat *a1 = gv_test_download (r.a);
  g_autofree gfloat *b1 = gv_test_download (r.b);
  for (gint i = 0; i < N_A + N_B; i++) {
    gdouble p = i < N_A ? a0[i] : b0[i - N_A], g = (i < N_A ? ga[i] : gb[i - N_A]) * f;
    gdouble want = p * (1 - adamw.lr * adamw.weight_decay) -
        adamw.lr * g / (fabs (g) + adamw.eps);
    gdouble got = i < N_A ? a1[i] : b1[i - N_A];
    g_assert_cmpfloat_with_epsilon (got, want, 1e-5);
  }
  run_clear (&r);
}

static void
assert_same (GvTensor *x, GvTensor *y)
{
  g_autofree gfloat *hx = gv_test_download (x);
  g_autofree gfloat *hy = gv_test_download (y);
  g_assert_cmpmem (hx, x->numel * sizeof (gfloat), hy, y->numel * sizeof (gfloat));
}

static void
test_resume_is_exact (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("gv-optimizer-XXXXXX", NULL);
  g_autofree gchar *path = g_build_filename (dir, "state.safetensors", NULL);
  GError *error = NULL;
  Run whole, first, second;

  run_init (&whole);
  for (gint k = 0; k < 4; k++)
    run_step (&whole, k, NULL);

  run_init (&first);
  run_step (&first, 0, NULL);
  run_step (&first, 1, NULL);
  g_assert_true (gv_optimizer_save (first.opt, path, &error));
  g_assert_no_error (error);
  run_clear (&first);

  run_init (&second);
  g_assert_true (gv_optimizer_load (second.opt, path, &error));
  g_assert_no_error (error);
  g_assert_cmpint (gv_optimizer_get_step_count (second.opt), ==, 2);
  run_step (&second, 2, NULL);
  run_step (&second, 3, NULL);
  assert_same (second.a, whole.a);
  assert_same (second.b, whole.b);
  run_clear (&second);
  run_clear (&whole);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_mismatch_refused (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("gv-optimizer-XXXXXX", NULL);
  g_autofree gchar *path = g_build_filename (dir, "state.safetensors", NULL);
  g_autofree gchar *missing = g_build_filename (dir, "none.safetensors", NULL);
  GError *error = NULL;
  Run r;
  run_init (&r);
  run_step (&r, 0, NULL);

  /* another model: same names, another shape */
  g_autofree gfloat *c = gv_test_random (N_A + 1, 3, -1.0f, 1.0f);
  GvTensor *other = gv_test_tensor (1, (const gint64[]) { N_A + 1 }, c);
  GvOptimizer *o = gv_optimizer_new (gv_test_device (), &adamw);
  g_assert_true (gv_optimizer_add (o, "layer.weight", other, &error));
  g_assert_true (gv_optimizer_save (o, path, &error));
  g_assert_no_error (error);

  g_autofree gfloat *before = gv_test_download (r.a);
  g_assert_false (gv_optimizer_load (r.opt, path, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "layer.weight"));
  g_clear_error (&error);
  g_autofree gfloat *after = gv_test_download (r.a);
  g_assert_cmpmem (before, N_A * sizeof (gfloat), after, N_A * sizeof (gfloat));
  g_assert_cmpint (gv_optimizer_get_step_count (r.opt), ==, 1);

  g_assert_false (gv_optimizer_load (r.opt, missing, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_NOT_FOUND);
  g_clear_error (&error);

  gv_optimizer_free (o);
  gv_tensor_unref (other);
  run_clear (&r);
  g_unlink (path);
  g_rmdir (dir);
}

/* the moving average: the host recurrence over three steps, the parameters untouched by it,
 * kept across a save and a load, and required of a state file once kept */
static void
test_ema (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("gv-optimizer-XXXXXX", NULL);
  g_autofree gchar *path = g_build_filename (dir, "state.safetensors", NULL);
  g_autofree gchar *plain_path = g_build_filename (dir, "plain.safetensors", NULL);
  GError *error = NULL;
  const gdouble decay = 0.2;
  Run plain, r;
  run_init (&plain);
  run_init (&r);
  g_assert_null (gv_optimizer_get_ema (r.opt, 0));
  g_assert_true (gv_optimizer_set_ema (r.opt, decay, &error));
  g_assert_no_error (error);
  g_autofree gfloat *want = gv_test_download (r.a);
  for (gint k = 0; k < 3; k++) {
    run_step (&plain, k, NULL);
    run_step (&r, k, NULL);
    g_autofree gfloat *p = gv_test_download (r.a);
    gdouble d = gv_optimizer_ema_decay_at (decay, k + 1);
    g_assert_cmpfloat (d, ==, MIN (decay, (k + 1.0) / (k + 10.0)));
    for (gint i = 0; i < N_A; i++)
      want[i] = (gfloat) (d * want[i] + (1 - d) * p[i]);
  }
  /* the decays 0.1, 0.18 and 0.2 differ from the plain weights' 0 */
  g_autofree gfloat *got = gv_test_download (gv_optimizer_get_ema (r.opt, 0));
  for (gint i = 0; i < N_A; i++)
    g_assert_cmpfloat_with_epsilon (got[i], want[i], 1e-6);
  assert_same (r.a, plain.a);
  assert_same (r.b, plain.b);

  g_assert_true (gv_optimizer_save (r.opt, path, &error));
  g_assert_true (gv_optimizer_save (plain.opt, plain_path, &error));
  g_assert_no_error (error);
  Run back;
  run_init (&back);
  g_assert_true (gv_optimizer_set_ema (back.opt, decay, &error));
  g_assert_false (gv_optimizer_load (back.opt, plain_path, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, ".ema"));
  g_clear_error (&error);
  g_assert_true (gv_optimizer_load (back.opt, path, &error));
  g_assert_no_error (error);
  run_step (&back, 3, NULL);
  run_step (&r, 3, NULL);
  assert_same (gv_optimizer_get_ema (back.opt, 0), gv_optimizer_get_ema (r.opt, 0));
  assert_same (gv_optimizer_get_ema (back.opt, 1), gv_optimizer_get_ema (r.opt, 1));
  assert_same (back.a, r.a);
  run_clear (&back);
  run_clear (&r);
  run_clear (&plain);
  g_unlink (path);
  g_unlink (plain_path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/optimizer/step-matches-host", test_step_matches_host);
  g_test_add_func ("/optimizer/resume-is-exact", test_resume_is_exact);
  g_test_add_func ("/optimizer/mismatch-refused", test_mismatch_refused);
  g_test_add_func ("/optimizer/ema", test_ema);
  return g_test_run ();
}
