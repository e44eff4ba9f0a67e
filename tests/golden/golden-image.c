/* image_encoder_* and image_noising cases */
#include <stdlib.h>
#include <string.h>

#include "gv-golden.h"
#include "models/gv-image-preprocess.h"

/* the image encoder on @pixels; compares image_embeds under @label (with @tol, or the case's
 * tolerance), and the taps */
static void
encode (Golden *g, GvTensor *pixels, const gchar *label, gboolean with_hidden,
    const GvCaseTolerance *tol)
{
  GvModel *m = golden_model (g);
  GvCmd *cmd = gv_cmd_new (g->dev);
  GvTensor *last = NULL;

  GvTensor *embeds = gv_image_encoder_forward (gv_model_get_image_encoder (m), cmd, pixels,
      with_hidden ? &last : NULL, with_hidden ? golden_tap : NULL, g);
  gfloat *e = g_new (gfloat, embeds->numel), *h = last ? g_new (gfloat, last->numel) : NULL;
  gv_tensor_record_download (cmd, embeds, e);
  if (last)
    gv_tensor_record_download (cmd, last, h);
  if (golden_finish (g, cmd, "image_encoder")) {
    golden_compare_with (g, "image_embeds", label, e, embeds->numel, tol);
    if (last)
      golden_compare (g, "last_hidden_state", NULL, h, last->numel);
    golden_compare_taps (g);
  }
  gv_tensor_unref (embeds);
  if (last)
    gv_tensor_unref (last);
  gv_cmd_free (cmd);
  g_free (e);
  g_free (h);
}

/* image_uint8 [N, H, W, 3] through the preprocessing, then the encoder */
static void
run_from_uint8 (Golden *g)
{
  GError *error = NULL;
  gint64 shape[GV_ST_MAX_DIMS];
  if (gv_case_get_shape (g->c, "image_uint8", shape) != 4 || shape[3] != 3) {
    golden_fail (g, "image_uint8", NULL);
    return;
  }
  guint8 *pixels = gv_case_read_u8 (g->c, "image_uint8", &error);
  if (pixels == NULL) {
    golden_fail (g, "image_uint8", error);
    g_clear_error (&error);
    return;
  }
  const GvPreprocessorConfig *pc = &g->cfg->feature_extractor;
  gint64 n = shape[0], h = shape[1], w = shape[2];
  gsize plane = (gsize) 3 * pc->crop_height * pc->crop_width;
  gfloat *pv = g_new (gfloat, n * plane);
  for (gint64 i = 0; i < n; i++) {
    gfloat *one = gv_clip_preprocess (pc, pixels + i * h * w * 3, (gint) w, (gint) h,
        (gint) w * 3);
    memcpy (pv + i * plane, one, plane * sizeof (gfloat));
    g_free (one);
  }
  golden_compare (g, "pixel_values", NULL, pv, n * plane);

  GvTensor *ours = gv_tensor_new_from_data (g->dev, 4, (const gint64[]) { n, 3,
      pc->crop_height, pc->crop_width }, pv, &error);
  if (ours != NULL) {
    encode (g, ours, "image_embeds", FALSE, NULL);
    gv_tensor_unref (ours);
  } else {
    golden_fail (g, "pixel_values", error);
    g_clear_error (&error);
  }
  /* the encoder alone, on the reference's own preprocessing, at the per-module tolerance */
  GvTensor *stored = golden_input (g, "pixel_values");
  if (stored != NULL) {
    GvCaseTolerance module = { "rel_l2", 1e-4 };
    encode (g, stored, "image_embeds (from the stored pixel_values)", FALSE, &module);
    gv_tensor_unref (stored);
  }
  g_free (pv);
  g_free (pixels);
}

static void
run_image_encoder (Golden *g)
{
  if (golden_model (g) == NULL)
    return;
  if (gv_case_has_tensor (g->c, "image_uint8")) {
    run_from_uint8 (g);
    return;
  }
  GvTensor *pv = golden_input (g, "pixel_values");
  if (pv != NULL) {
    encode (g, pv, NULL, TRUE, NULL);
    gv_tensor_unref (pv);
  }
}

static void
run_image_noising (Golden *g)
{
  GvModel *m = golden_model (g);
  if (m == NULL)
    return;
  GvImageNoiser *noiser = gv_model_get_image_noiser (m);
  GvScheduler *sched = gv_image_noiser_get_schedule (noiser);
  golden_compare (g, "image_noising_scheduler.alphas_cumprod", NULL,
      gv_scheduler_get_alphas_cumprod (sched), gv_scheduler_get_train_timesteps (sched));

  GvTensor *embeds = golden_input (g, "image_embeds"), *noise = golden_input (g, "noise");
  if (embeds == NULL || noise == NULL) {
    g_clear_pointer (&embeds, gv_tensor_unref);
    g_clear_pointer (&noise, gv_tensor_unref);
    return;
  }
  /* every class_labels.noise_level_<k> of the case */
  gchar **names = gv_case_list_tensors (g->c, GV_CASE_PLAIN);
  for (gchar **n = names; *n; n++) {
    if (!g_str_has_prefix (*n, "class_labels.noise_level_"))
      continue;
    gint level = atoi (*n + strlen ("class_labels.noise_level_"));
    GvCmd *cmd = gv_cmd_new (g->dev);
    GvTensor *labels = gv_image_noiser_apply (noiser, cmd, embeds, level, noise);
    gfloat *host = g_new (gfloat, labels->numel);
    gv_tensor_record_download (cmd, labels, host);
    if (golden_finish (g, cmd, *n))
      golden_compare (g, *n, NULL, host, labels->numel);
    gv_tensor_unref (labels);
    gv_cmd_free (cmd);
    g_free (host);
  }
  g_strfreev (names);
  gv_tensor_unref (embeds);
  gv_tensor_unref (noise);
}

gboolean
golden_run_image (Golden *g, const gchar *kind)
{
  if (strcmp (kind, "image_encoder") == 0)
    run_image_encoder (g);
  else if (strcmp (kind, "image_noising") == 0)
    run_image_noising (g);
  else
    return FALSE;
  return TRUE;
}
