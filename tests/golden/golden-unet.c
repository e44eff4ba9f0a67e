/* unet_* (UNet2DConditionModel) and tav_unet3d* (Tune-A-Video's inflated UNet) cases */
#include <string.h>

#include "gv-golden.h"

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

gboolean
golden_run_unet (Golden *g, const gchar *kind)
{
  if (strcmp (kind, "unet") == 0)
    run_unet (g, FALSE);
  else if (strcmp (kind, "tav_unet3d") == 0)
    run_unet (g, TRUE);
  else
    return FALSE;
  return TRUE;
}
