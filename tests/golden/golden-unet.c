/* unet_* (UNet2DConditionModel) and tav_unet3d* (Tune-A-Video's inflated UNet) cases */
#include <math.h>
#include <string.h>

#include "gv-golden.h"
#include "models/gv-unet-train.h"

/* timestep: a 0-d tensor (the whole batch) or one per clip */
static gfloat *
read_timesteps (Golden *g, gint64 clips)
{
  GError *error = NULL;
  gint64 n = gv_case_get_numel (g->c, "timestep");
  gfloat *t = gv_case_read_f32 (g->c, "timestep", &error);
  if (t == NULL || (n != 1 && n != clips)) {
    golden_fail (g, "timestep", error);
    g_clear_error (&error);
    g_free (t);
    return NULL;
  }
  gfloat *out = g_new (gfloat, clips);
  for (gint64 i = 0; i < clips; i++)
    out[i] = t[n == 1 ? 0 : i];
  g_free (t);
  return out;
}

/* the temporal parameters: param.* of this case, or of the sibling case tav_unet3d */
static gchar *
temporal_source (Golden *g)
{
  gchar **params = gv_case_list_tensors (g->c, GV_CASE_PARAM);
  gboolean own = params != NULL && params[0] != NULL;
  g_strfreev (params);
  if (own)
    return g_strdup (gv_safetensors_get_path (gv_case_get_safetensors (g->c)));
  return g_build_filename (g->cases_dir, "tav_unet3d.safetensors", NULL);
}

static void
run_unet (Golden *g, gboolean video)
{
  GError *error = NULL;
  GvModel *m = golden_model (g);
  if (m == NULL)
    return;
  GvUNet *unet = gv_model_get_unet (m);
  GvTensor *sample = golden_input (g, "sample");
  GvTensor *ehs = golden_input (g, "encoder_hidden_states");
  GvTensor *labels = gv_case_has_tensor (g->c, "class_labels") ?
      golden_input (g, "class_labels") : NULL;
  GvUNetTemporal *temporal = NULL;
  gfloat *timesteps = NULL;
  gint frames = video && sample ? (gint) sample->shape[2] : 1;

  if (sample == NULL || ehs == NULL)
    goto out;
  if (video) {
    gchar *path = temporal_source (g);
    temporal = gv_unet_temporal_new (unet, path, "param.", 0, &error);
    g_free (path);
    if (temporal == NULL) {
      golden_fail (g, "temporal layers", error);
      g_clear_error (&error);
      goto out;
    }
  }
  timesteps = read_timesteps (g, ehs->shape[0]);
  if (timesteps == NULL)
    goto out;

  GvCmd *cmd = gv_cmd_new (g->dev);
  g->tap_frames = frames;
  GvTensor *images = video ? gv_video_to_images (cmd, sample) : gv_tensor_ref (sample);
  GvUNetInputs in = {
    .frames = frames,
    .temporal = temporal,
    .timesteps = timesteps,
    .encoder_hidden_states = ehs,
    .class_labels = labels,
    .tap = golden_tap,
    .tap_data = g,
  };
  GvTensor *out = gv_unet_forward (unet, cmd, images, &in);
  GvTensor *result = video ? gv_images_to_video (cmd, out, frames) : gv_tensor_ref (out);
  gfloat *host = g_new (gfloat, result->numel);
  gv_tensor_record_download (cmd, result, host);
  if (golden_finish (g, cmd, "unet")) {
    golden_compare (g, "out_sample", NULL, host, result->numel);
    golden_compare_taps (g);
  }
  gv_tensor_unref (images);
  gv_tensor_unref (out);
  gv_tensor_unref (result);
  gv_cmd_free (cmd);
  g_free (host);

out:
  g_free (timesteps);
  gv_unet_temporal_free (temporal);
  g_clear_pointer (&sample, gv_tensor_unref);
  g_clear_pointer (&ehs, gv_tensor_unref);
  g_clear_pointer (&labels, gv_tensor_unref);
}

/* tav_train_step: one Tune-A-Video step (v-prediction target, MSE, clipping, AdamW) */
static gfloat *
download (Golden *g, GvTensor *t)
{
  GError *error = NULL;
  gfloat *host = g_new (gfloat, t->numel);
  if (!gv_tensor_download (t, host, &error)) {
    golden_fail (g, "download", error);
    g_clear_error (&error);
  }
  return host;
}

/* the tolerance is on the update (new - before): rel_l2 (new) against the reference's new
 * scaled by |ref - before| / |ref| is the same test */
static void
compare_update (Golden *g, const gchar *name, const gchar *label, const gfloat *before,
    const gfloat *ours, gsize n)
{
  GvCaseTolerance tol = { "rel_l2", 1e-2 };
  gfloat *ref = gv_case_read_f32 (g->c, name, NULL);
  gdouble du = 0, r = 0;
  gv_case_get_tolerance (g->c, name, &tol);
  for (gsize i = 0; ref != NULL && gv_case_get_numel (g->c, name) == (gint64) n && i < n; i++) {
    du += (gdouble) (ref[i] - before[i]) * (ref[i] - before[i]);
    r += (gdouble) ref[i] * ref[i];
  }
  GvCaseTolerance scaled = { "rel_l2", r > 0 ? tol.value * sqrt (du / r) : tol.value };
  golden_compare_with (g, name, label, ours, n, &scaled);
  g_free (ref);
}

/* the label of @name in the step without recompute (NULL: the name itself, with recompute) */
static gchar *
path_label (const gchar *name, gboolean recompute)
{
  return recompute ? NULL : g_strdup_printf ("%s (no recompute)", name);
}

static void
run_train_step_with (Golden *g, gboolean recompute)
{
  GError *error = NULL;
  GvModel *m = golden_model (g);
  if (m == NULL)
    return;
  GvUNet *unet = gv_model_get_unet (m);
  const GvUNetConfig *cfg = gv_unet_get_config (unet);
  gfloat *x0 = gv_case_read_f32 (g->c, "latents", &error);
  gfloat *noise = x0 ? gv_case_read_f32 (g->c, "noise", &error) : NULL;
  gint64 *ts = noise ? gv_case_read_i64 (g->c, "timesteps", &error) : NULL;
  GvScheduler *sched = ts ? gv_model_new_scheduler (m, &error) : NULL;
  GvTensor *ehs = golden_input (g, "encoder_hidden_states");
  GvTensor *labels = golden_input (g, "class_labels");
  gint64 shape[5];
  GvUNetTemporal *temporal = NULL;
  GvUNetTrainer *tr = NULL;

  if (sched == NULL || ehs == NULL || labels == NULL ||
      gv_case_get_shape (g->c, "latents", shape) != 5) {
    golden_fail (g, "inputs", error);
    goto out;
  }
  gchar *path = temporal_source (g);
  temporal = gv_unet_temporal_new (unet, path, "param.", 0, &error);
  g_free (path);
  if (temporal == NULL) {
    golden_fail (g, "temporal layers", error);
    goto out;
  }

  /* noisy = sqrt (a) x0 + sqrt (1 - a) noise; target (v) = sqrt (a) noise - sqrt (1 - a) x0 */
  gint64 n = shape[0] * shape[1] * shape[2] * shape[3] * shape[4];
  gint frames = (gint) shape[2];
  gfloat a = gv_scheduler_get_alphas_cumprod (sched)[ts[0]];
  gfloat sa = sqrtf (a), s1a = sqrtf (1.0f - a);
  gfloat *noisy = g_new (gfloat, n), *target = g_new (gfloat, n);
  for (gint64 i = 0; i < n; i++) {
    noisy[i] = sa * x0[i] + s1a * noise[i];
    target[i] = sa * noise[i] - s1a * x0[i];
  }
  golden_compare (g, "noisy_latents", NULL, noisy, n);
  golden_compare (g, "target", NULL, target, n);

  GvAdamWParams opt = GV_ADAMW_PARAMS_DEFAULT;
  tr = gv_unet_trainer_new (unet, temporal, GV_TRAIN_TAV, &opt, recompute, &error);
  if (tr == NULL) {
    golden_fail (g, "trainer", error);
    g_free (noisy);
    g_free (target);
    goto out;
  }
  GvOptimizer *optim = gv_unet_trainer_get_optimizer (tr);
  gint np = gv_optimizer_get_n_params (optim);
  gfloat **before = g_new0 (gfloat *, np);
  for (gint i = 0; i < np; i++)
    before[i] = download (g, gv_optimizer_get_param (optim, i));

  GvCmd *cmd = gv_cmd_new (g->dev);
  GvTensor *vid = GV_TENSOR (cmd, shape[0], shape[1], shape[2], shape[3], shape[4]);
  GvTensor *vt = GV_TENSOR (cmd, shape[0], cfg->out_channels, shape[2], shape[3], shape[4]);
  gv_tensor_record_upload (cmd, vid, noisy);
  gv_tensor_record_upload (cmd, vt, target);
  GvTensor *images = gv_video_to_images (cmd, vid);
  GvTensor *timages = gv_video_to_images (cmd, vt);
  gfloat t = (gfloat) ts[0], loss = 0, norm = 0;

  /* the model prediction, by the inference forward of the same weights */
  GvUNetInputs in = { .frames = frames, .temporal = temporal, .timesteps = &t,
    .encoder_hidden_states = ehs, .class_labels = labels };
  GvTensor *pred = gv_unet_forward (unet, cmd, images, &in);
  GvTensor *pred_video = gv_images_to_video (cmd, pred, frames);
  gfloat *host = g_new (gfloat, pred_video->numel);
  gv_tensor_record_download (cmd, pred_video, host);
  if (golden_finish (g, cmd, "forward"))
    golden_compare (g, "model_pred", NULL, host, pred_video->numel);

  if (!gv_unet_trainer_step (tr, cmd, images, frames, &t, ehs, labels, timages, 1.0f, &loss,
          &norm, &error)) {
    golden_fail (g, "step", error);
  } else {
    gchar *llabel = path_label ("loss", recompute);
    gchar *tlabel = path_label ("grad_total_norm", recompute);
    golden_compare (g, "loss", llabel, &loss, 1);
    golden_compare (g, "grad_total_norm", tlabel, &norm, 1);
    g_free (llabel);
    g_free (tlabel);
    for (gint i = 0; i < np; i++) {
      GvTensor *p = gv_optimizer_get_param (optim, i);
      gchar *gname = g_strdup_printf ("grad.%s", gv_optimizer_get_name (optim, i));
      gchar *nname = g_strdup_printf ("new.%s", gv_optimizer_get_name (optim, i));
      gfloat *gh = download (g, gv_optimizer_get_grad (optim, i)), *ph = download (g, p);
      gchar *glabel = path_label (gname, recompute), *nlabel = path_label (nname, recompute);
      golden_compare (g, gname, glabel, gh, p->numel);
      compare_update (g, nname, nlabel, before[i], ph, p->numel);
      g_free (glabel);
      g_free (nlabel);
      g_free (gh);
      g_free (ph);
      g_free (gname);
      g_free (nname);
    }
  }
  for (gint i = 0; i < np; i++)
    g_free (before[i]);
  g_free (before);
  g_free (host);
  g_free (noisy);
  g_free (target);
  gv_tensor_unref (pred);
  gv_tensor_unref (pred_video);
  gv_tensor_unref (images);
  gv_tensor_unref (timages);
  gv_tensor_unref (vid);
  gv_tensor_unref (vt);
  gv_cmd_free (cmd);

out:
  g_clear_error (&error);
  gv_unet_trainer_free (tr);
  gv_unet_temporal_free (temporal);
  if (sched != NULL)
    gv_scheduler_free (sched);
  g_free (x0);
  g_free (noise);
  g_free (ts);
  g_clear_pointer (&ehs, gv_tensor_unref);
  g_clear_pointer (&labels, gv_tensor_unref);
}

/* with per-block recompute and with every block's inside kept: both within the tolerances
 * (each path starts from the case's weights) */
static void
run_train_step (Golden *g)
{
  run_train_step_with (g, TRUE);
  run_train_step_with (g, FALSE);
}

gboolean
golden_run_unet (Golden *g, const gchar *kind)
{
  if (strcmp (kind, "unet") == 0)
    run_unet (g, FALSE);
  else if (strcmp (kind, "tav_unet3d") == 0)
    run_unet (g, TRUE);
  else if (strcmp (kind, "tav_train_step") == 0)
    run_train_step (g);
  else
    return FALSE;
  return TRUE;
}
