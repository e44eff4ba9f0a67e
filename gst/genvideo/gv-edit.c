#include "genvideo/gv-edit.h"
#include "genvideo/gv-clip-private.h"
#include "models/gv-random.h"

/* seed streams, so that each random choice of an edit is independent of the others */
enum {
  STREAM_SOURCE_FRAME = 1,
  /* one noise for both image embeddings: their difference is the pictures' alone, and
   * identical conditions are identical to the bit */
  STREAM_EMBEDDING_NOISE = 2,
  STREAM_TEMPORAL_INIT = 4,
};

/* every function runs on the thread that holds the clip */
#define HELD(c, val) g_return_val_if_fail ((c) != NULL && gv_clip_is_held (c), (val))

gboolean
gv_edit_has_source (GvClip *clip)
{
  HELD (clip, FALSE);
  return clip->has_source;
}

gboolean
gv_edit_has_target (GvClip *clip)
{
  HELD (clip, FALSE);
  return clip->has_target;
}

gboolean
gv_edit_has_inversion (GvClip *clip)
{
  HELD (clip, FALSE);
  return clip->inversion.steps > 0;
}

gboolean
gv_edit_has_masks (GvClip *clip)
{
  HELD (clip, FALSE);
  return clip->masks != NULL;
}

GvModel *
gv_edit_get_model (GvClip *clip)
{
  HELD (clip, NULL);
  return clip->model;
}

gint
gv_edit_get_latent_width (GvClip *clip)
{
  HELD (clip, 0);
  return clip->z0 ? (gint) clip->z0->shape[3] : 0;
}

gint
gv_edit_get_latent_height (GvClip *clip)
{
  HELD (clip, 0);
  return clip->z0 ? (gint) clip->z0->shape[2] : 0;
}

GvTensor *
gv_edit_get_result_latents (GvClip *clip)
{
  HELD (clip, NULL);
  return clip->result;
}

GvTensor *
gv_edit_get_source_latents (GvClip *clip)
{
  HELD (clip, NULL);
  return clip->z0;
}

guint
gv_edit_source_frame (guint64 seed, gint n_frames)
{
  return gv_random_below (seed, STREAM_SOURCE_FRAME, (guint32) n_frames);
}

static void
progress (const GvEditEnv *env, const gchar *stage, gint current, gint total)
{
  if (env->progress)
    env->progress (stage, current, total, env->progress_data);
}

static GvCmd *
new_cmd (GvClip *clip, const GvEditEnv *env)
{
  GvCmd *cmd = gv_cmd_new (gv_model_get_device (clip->model));
  gv_cmd_set_cancel_flag (cmd, env->cancel);
  return cmd;
}

static gboolean
finish (GvCmd *cmd, GError **error)
{
  gboolean ok = gv_cmd_finish (cmd, error);
  gv_cmd_free (cmd);
  return ok;
}

/* The frame size against what the model can take. */
static gboolean
check_size (GvClip *clip, gint width, gint height, GError **error)
{
  gint f = gv_vae_get_factor (gv_model_get_vae (clip->model));
  if (width % f != 0 || height % f != 0) {
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "frames of %dx%d: this model needs sizes "
        "that are multiples of %d (its VAE downsamples by %d)", width, height, f, f);
    return FALSE;
  }
  return TRUE;
}

gboolean
gv_edit_prepare_source (GvClip *clip, GvModel *model, const GvEditEnv *env,
    const GvPicture *frames, GvPixelFormat format, const gchar *source_prompt,
    const gchar *tuned_location, GError **error)
{
  HELD (clip, FALSE);
  g_return_val_if_fail (model != NULL, FALSE);
  gint n = (gint) clip->n_frames, width = (gint) clip->width, height = (gint) clip->height;

  gv_clip_clear_results (clip);
  /* ref first: @model may be the clip's own */
  gv_model_ref (model);
  g_clear_pointer (&clip->model, gv_model_unref);
  clip->model = model;
  if (!check_size (clip, width, height, error))
    return FALSE;

  const gchar *tuned = tuned_location && g_file_test (tuned_location, G_FILE_TEST_EXISTS) ?
      tuned_location : NULL;
  clip->temporal = gv_unet_temporal_new (gv_model_get_unet (clip->model), tuned, "",
      (guint32) (env->seed ^ STREAM_TEMPORAL_INIT), error);
  if (clip->temporal == NULL)
    return FALSE;

  GvCmd *cmd = new_cmd (clip, env);
  progress (env, "encoding", 0, n);
  gfloat *images = gv_pictures_to_images (frames, n, width, height, format);
  clip->z0 = gv_encode_images (clip->model, cmd, images, n, height, width);
  g_free (images);

  gv_condition_init_uncond (&clip->uncond, clip->model, cmd);
  clip->source.text = gv_model_encode_prompt (clip->model, cmd, source_prompt ? source_prompt : "");
  /* the unCLIP embedding of one source frame, chosen by the seed */
  guint pick = gv_edit_source_frame (env->seed, n);
  guint8 *rgb = g_new (guint8, (gsize) width * height * 3);
  gv_picture_to_rgb (&frames[pick], format, width, height, rgb);
  clip->source.labels = gv_image_class_labels (clip->model, cmd, rgb, width, height, width * 3,
      env->seed ^ ((guint64) STREAM_EMBEDDING_NOISE << 32));
  g_free (rgb);
  if (!finish (cmd, error))
    return FALSE;
  progress (env, "encoding", n, n);
  clip->has_source = TRUE;
  return TRUE;
}

gboolean
gv_edit_set_target (GvClip *clip, const GvEditEnv *env, const gchar *prompt, const guint8 *rgb,
    gint width, gint height, gint stride, GError **error)
{
  HELD (clip, FALSE);
  g_return_val_if_fail (clip->has_source, FALSE);
  GvCmd *cmd = new_cmd (clip, env);
  gv_condition_clear (&clip->target);
  clip->target.text = gv_model_encode_prompt (clip->model, cmd, prompt ? prompt : "");
  clip->target.labels = gv_image_class_labels (clip->model, cmd, rgb, width, height, stride,
      env->seed ^ ((guint64) STREAM_EMBEDDING_NOISE << 32));
  /* outside the mask, GenVideo keeps the source frame's embedding */
  clip->target.labels_outside = gv_tensor_ref (clip->source.labels);
  if (!finish (cmd, error))
    return FALSE;
  clip->has_target = TRUE;
  return TRUE;
}

static GvDenoiser
denoiser (GvClip *clip, const GvEditEnv *env, gfloat guidance)
{
  return (GvDenoiser) {
    .unet = gv_model_get_unet (clip->model),
    .temporal = clip->temporal,
    .uncond = clip->uncond,
    .guidance_scale = guidance,
    .on_pass = env->on_pass,
    .pass_data = env->pass_data,
  };
}

/* a scale of 0 asks for the model's own (generation_config.json) */
static gfloat
guidance_for (GvClip *clip, gfloat asked)
{
  return asked > 0 ? asked : gv_model_get_config (clip->model)->guidance_scale;
}

gint
gv_edit_get_inversion_steps (GvClip *clip)
{
  HELD (clip, 0);
  return clip->inversion.steps;
}

gboolean
gv_edit_invert (GvClip *clip, const GvEditEnv *env, gint steps, GError **error)
{
  HELD (clip, FALSE);
  g_return_val_if_fail (clip->has_source, FALSE);
  GvScheduler *s = gv_model_new_scheduler (clip->model, error);
  if (s == NULL)
    return FALSE;
  GvDenoiser d = denoiser (clip, env, 1.0f);
  GvCmd *cmd = new_cmd (clip, env);
  gv_inversion_clear (&clip->inversion);
  gboolean ok = gv_invert (&d, s, cmd, clip->z0, &clip->source, steps, &clip->inversion, env->progress,
      env->progress_data, error);
  gv_cmd_free (cmd);
  gv_scheduler_free (s);
  return ok;
}

/* Takes @masks and @differences (NULL: none, masks given) as the clip's, uploads the masks
 * with @cmd and finishes it. */
static gboolean
store_masks (GvClip *clip, GvCmd *cmd, gfloat *masks, gfloat *differences, GError **error)
{
  g_free (clip->masks);
  clip->masks = masks;
  g_free (clip->differences);
  clip->differences = differences;
  g_clear_pointer (&clip->mask_tensor, gv_tensor_unref);
  clip->mask_tensor = GV_TENSOR (cmd, (gint) clip->n_frames, 1, clip->z0->shape[2], clip->z0->shape[3]);
  gv_tensor_record_upload (cmd, clip->mask_tensor, masks);
  return finish (cmd, error);
}

gboolean
gv_edit_compute_masks (GvClip *clip, const GvEditEnv *env, const GvMaskParams *p, GError **error)
{
  HELD (clip, FALSE);
  g_return_val_if_fail (clip->has_target && gv_edit_has_inversion (clip), FALSE);
  GvScheduler *s = gv_model_new_scheduler (clip->model, error);
  if (s == NULL)
    return FALSE;
  GvMaskParams mp = *p;
  mp.guidance_scale = guidance_for (clip, p->guidance_scale);
  GvDenoiser d = denoiser (clip, env, mp.guidance_scale);
  GvCmd *cmd = new_cmd (clip, env);
  GvCondition src = clip->source, trg = clip->target;
  if (p->labels == GV_MASK_LABELS_SOURCE)
    trg.labels = clip->source.labels;
  else if (p->labels == GV_MASK_LABELS_NONE)
    src.labels = trg.labels = clip->uncond.labels;
  gfloat *masks = gv_invedit_differences (&d, s, cmd, &clip->inversion, &src, &trg, &mp,
      env->progress, env->progress_data, error);
  gv_scheduler_free (s);
  gint64 h = clip->z0->shape[2], w = clip->z0->shape[3];
  gfloat *differences = masks ? g_memdup2 (masks, sizeof (gfloat) * clip->n_frames * h * w) :
      NULL;
  if (masks == NULL || !gv_masks_from_differences (masks, (gint) clip->n_frames, (gint) h,
          (gint) w, mp.clamp_ratio, mp.threshold, mp.dilation, error)) {
    g_free (masks);
    g_free (differences);
    gv_cmd_free (cmd);
    return FALSE;
  }
  return store_masks (clip, cmd, masks, differences, error);
}

gboolean
gv_edit_set_masks (GvClip *clip, const GvEditEnv *env, const gfloat *masks, GError **error)
{
  HELD (clip, FALSE);
  g_return_val_if_fail (clip->has_source && masks != NULL, FALSE);
  gsize n = (gsize) clip->n_frames * clip->z0->shape[2] * clip->z0->shape[3];
  for (gsize i = 0; i < n; i++)
    if (masks[i] != 0.0f && masks[i] != 1.0f) {
      g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "given masks: value %g at %" G_GSIZE_FORMAT
          " (masks are 0 or 1)", masks[i], i);
      return FALSE;
    }
  return store_masks (clip, new_cmd (clip, env), g_memdup2 (masks, n * sizeof (gfloat)), NULL,
      error);
}

gboolean
gv_edit_set_pixel_masks (GvClip *clip, const GvEditEnv *env, const guint8 *pixels, gint width,
    gint height, gint stride, GError **error)
{
  HELD (clip, FALSE);
  g_return_val_if_fail (clip->has_source && pixels != NULL, FALSE);
  g_return_val_if_fail (width > 0 && height > 0 && stride >= width, FALSE);
  gint lh = (gint) clip->z0->shape[2], lw = (gint) clip->z0->shape[3];
  gsize cells = (gsize) lw * lh, plane = (gsize) height * stride;
  gfloat *masks = g_new0 (gfloat, clip->n_frames * cells);
  for (guint f = 0; f < clip->n_frames; f++)
    for (gint y = 0; y < height; y++) {
      const guint8 *row = pixels + f * plane + (gsize) y * stride;
      gfloat *cell_row = masks + f * cells + (gsize) (y * lh / height) * lw;
      for (gint x = 0; x < width; x++)
        if (row[x] > 127)
          cell_row[(gsize) x * lw / width] = 1.0f;
    }
  return store_masks (clip, new_cmd (clip, env), masks, NULL, error);
}

const gfloat *
gv_edit_get_differences (GvClip *clip)
{
  HELD (clip, NULL);
  return clip->differences;
}

const gfloat *
gv_edit_get_masks (GvClip *clip, gdouble *area)
{
  HELD (clip, NULL);
  if (clip->masks != NULL && area != NULL) {
    gsize plane = (gsize) clip->z0->shape[2] * clip->z0->shape[3];
    for (gint f = 0; f < (gint) clip->n_frames; f++) {
      gdouble sum = 0;
      for (gsize i = 0; i < plane; i++)
        sum += clip->masks[f * plane + i];
      area[f] = sum / plane;
    }
  }
  return clip->masks;
}

gfloat *
gv_edit_generate (GvClip *clip, const GvEditEnv *env, const GvCorrectParams *p,
    GvCorrectionFunc on_correction, gpointer correction_data, GError **error)
{
  HELD (clip, NULL);
  g_return_val_if_fail (clip->has_source, NULL);
  if (!gv_edit_has_inversion (clip) && !gv_edit_invert (clip, env, p->steps, error))
    return NULL;

  GvScheduler *s = gv_model_new_scheduler (clip->model, error);
  if (s == NULL)
    return NULL;
  GvCorrectParams cp = *p;
  cp.guidance_scale = guidance_for (clip, p->guidance_scale);
  GvDenoiser d = denoiser (clip, env, cp.guidance_scale);
  GvCmd *cmd = new_cmd (clip, env);
  GvTensor *mask = clip->mask_tensor ? gv_tensor_ref (clip->mask_tensor) :
      GV_TENSOR (cmd, (gint) clip->n_frames, 1, clip->z0->shape[2], clip->z0->shape[3]);
  if (clip->mask_tensor == NULL)
    gv_tensor_record_fill (cmd, mask, 1.0f);
  /* without a target the source conditions stand in: the clip is re-generated as it is */
  const GvCondition *trg = clip->has_target ? &clip->target : &clip->source;
  g_clear_pointer (&clip->result, gv_tensor_unref);
  clip->result = gv_latent_correct (&d, s, cmd, &clip->inversion, trg, mask, &cp, env->progress,
      env->progress_data, on_correction, correction_data, error);
  gv_tensor_unref (mask);
  gv_scheduler_free (s);
  if (clip->result == NULL) {
    gv_cmd_free (cmd);
    return NULL;
  }

  progress (env, "decoding", 0, (gint) clip->n_frames);
  GvTensor *images = gv_decode_latents (clip->model, cmd, clip->result);
  gfloat *out = g_new (gfloat, images->numel);
  gv_tensor_record_download (cmd, images, out);
  gv_tensor_unref (images);
  if (!finish (cmd, error)) {
    g_free (out);
    return NULL;
  }
  progress (env, "decoding", (gint) clip->n_frames, (gint) clip->n_frames);
  return out;
}
