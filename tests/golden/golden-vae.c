/* vae_encode, vae_decode and scheduler cases */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gv-golden.h"

static void
run_vae_encode (Golden *g)
{
  GvModel *m = golden_model (g);
  GvTensor *image = m ? golden_input (g, "image") : NULL;
  if (image == NULL)
    return;
  GvCmd *cmd = gv_cmd_new (g->dev);
  GvTensor *mean = NULL, *logvar = NULL;
  gv_vae_encode (gv_model_get_vae (m), cmd, image, &mean, &logvar);
  gfloat *mh = g_new (gfloat, mean->numel), *lh = g_new (gfloat, logvar->numel);
  gv_tensor_record_download (cmd, mean, mh);
  gv_tensor_record_download (cmd, logvar, lh);
  if (golden_finish (g, cmd, "vae_encode")) {
    /* std = exp (0.5 logvar), as DiagonalGaussianDistribution */
    gfloat *std = g_new (gfloat, logvar->numel);
    for (gint64 i = 0; i < logvar->numel; i++)
      std[i] = expf (0.5f * lh[i]);
    golden_compare (g, "latent_mean", NULL, mh, mean->numel);
    golden_compare (g, "latent_std", NULL, std, logvar->numel);
    golden_compare (g, "latent_logvar", NULL, lh, logvar->numel);
    g_free (std);
  }
  gv_tensor_unref (mean);
  gv_tensor_unref (logvar);
  gv_tensor_unref (image);
  gv_cmd_free (cmd);
  g_free (mh);
  g_free (lh);
}

static void
run_vae_decode (Golden *g)
{
  GvModel *m = golden_model (g);
  GvTensor *latents = m ? golden_input (g, "latents") : NULL;
  if (latents == NULL)
    return;
  GvCmd *cmd = gv_cmd_new (g->dev);
  GvTensor *image = gv_vae_decode (gv_model_get_vae (m), cmd, latents);
  gfloat *host = g_new (gfloat, image->numel);
  gv_tensor_record_download (cmd, image, host);
  if (golden_finish (g, cmd, "vae_decode"))
    golden_compare (g, "image", NULL, host, image->numel);
  gv_tensor_unref (image);
  gv_tensor_unref (latents);
  gv_cmd_free (cmd);
  g_free (host);
}

/* the timesteps_<n> tensors and their inverse_*_timesteps_<n> lists */
static void
check_timesteps (Golden *g, GvScheduler *s)
{
  gchar **names = gv_case_list_tensors (g->c, GV_CASE_PLAIN);
  for (gchar **n = names; *n; n++) {
    if (!g_str_has_prefix (*n, "timesteps_"))
      continue;
    gint steps = atoi (*n + strlen ("timesteps_"));
    gint *t = gv_scheduler_timesteps (s, steps);
    gint64 *t64 = g_new (gint64, steps);
    for (gint i = 0; i < steps; i++)
      t64[i] = t[i];
    golden_compare_i64 (g, *n, t64, steps);
    g_free (t);
    g_free (t64);
  }
  g_strfreev (names);
}

/* ddim[_inverse].<prediction>.t<T>.<output> */
static void
check_step (Golden *g, GvSchedulerConfig *base, const gchar *name, GvTensor *sample,
    GvTensor *output, gint steps)
{
  gchar **parts = g_strsplit (name, ".", 4);
  if (g_strv_length (parts) != 4 || parts[2][0] != 't') {
    g_strfreev (parts);
    return;
  }
  gboolean inverse = strcmp (parts[0], "ddim_inverse") == 0;
  GvSchedulerConfig cfg = *base;
  cfg.prediction_type = strcmp (parts[1], "epsilon") == 0 ? GV_PREDICT_EPSILON :
      strcmp (parts[1], "sample") == 0 ? GV_PREDICT_SAMPLE : GV_PREDICT_V;
  gint t = atoi (parts[2] + 1);
  GError *error = NULL;
  GvScheduler *s = gv_scheduler_new (&cfg, &error);
  if (s == NULL) {
    golden_fail (g, name, error);
    g_clear_error (&error);
    g_strfreev (parts);
    return;
  }
  GvCmd *cmd = gv_cmd_new (g->dev);
  GvTensor *prev = gv_tensor_alloc (cmd, sample->ndim, sample->shape);
  GvTensor *x0 = gv_tensor_alloc (cmd, sample->ndim, sample->shape);
  if (inverse)
    gv_scheduler_inverse_step (s, cmd, steps, t, output, sample, prev);
  else
    gv_scheduler_step (s, cmd, steps, t, output, sample, prev, x0);
  gboolean want_x0 = strcmp (parts[3], "pred_original_sample") == 0;
  gfloat *host = g_new (gfloat, sample->numel);
  gv_tensor_record_download (cmd, want_x0 ? x0 : prev, host);
  if (golden_finish (g, cmd, name))
    golden_compare (g, name, NULL, host, sample->numel);
  g_free (host);
  gv_tensor_unref (prev);
  gv_tensor_unref (x0);
  gv_cmd_free (cmd);
  gv_scheduler_free (s);
  g_strfreev (parts);
}

static void
run_scheduler (Golden *g)
{
  GError *error = NULL;
  GvScheduler *s = gv_scheduler_new (&g->cfg->scheduler, &error);
  if (s == NULL) {
    golden_fail (g, "scheduler", error);
    g_clear_error (&error);
    return;
  }
  golden_compare (g, "alphas_cumprod", NULL, gv_scheduler_get_alphas_cumprod (s),
      gv_scheduler_get_train_timesteps (s));
  gfloat final = gv_scheduler_get_final_alpha_cumprod (s);
  golden_compare (g, "final_alpha_cumprod", NULL, &final, 1);
  check_timesteps (g, s);

  /* the steps belong to the schedule the case's call sets up: set_timesteps(<n>) */
  const gchar *call = gv_case_get_string (g->c, "call");
  const gchar *set = call ? strstr (call, "set_timesteps(") : NULL;
  gint64 steps = set ? atoi (set + strlen ("set_timesteps(")) : 0;
  if (steps <= 0) {
    golden_fail (g, "call (no set_timesteps(<n>) in it)", NULL);
    steps = 1;
  }

  GvTensor *sample = golden_input (g, "sample"), *output = golden_input (g, "model_output");
  if (sample != NULL && output != NULL) {
    gchar **names = gv_case_list_tensors (g->c, GV_CASE_PLAIN);
    for (gchar **n = names; *n; n++)
      if (g_str_has_prefix (*n, "ddim"))
        check_step (g, &g->cfg->scheduler, *n, sample, output, (gint) steps);
    g_strfreev (names);
  }
  g_clear_pointer (&sample, gv_tensor_unref);
  g_clear_pointer (&output, gv_tensor_unref);
  gv_scheduler_free (s);
}

gboolean
golden_run_vae (Golden *g, const gchar *kind)
{
  if (strcmp (kind, "vae_encode") == 0)
    run_vae_encode (g);
  else if (strcmp (kind, "vae_decode") == 0)
    run_vae_decode (g);
  else if (strcmp (kind, "scheduler") == 0)
    run_scheduler (g);
  else
    return FALSE;
  return TRUE;
}
