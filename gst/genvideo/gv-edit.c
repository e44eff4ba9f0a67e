#include "genvideo/gv-edit.h"
#include "models/gv-random.h"

struct _GvEdit {
  GvDevice *dev;
  GvModel *model;
  GvUNetTemporal *temporal;
  gint frames, width, height;         /* pixels */
  GvTensor *z0;                       /* [F, C, h, w] */
  GvCondition uncond, source, target;
  gboolean has_source, has_target;
  GvInversion inversion;
  gfloat *masks;                      /* [F, h, w] */
  GvTensor *mask_tensor;              /* [F, 1, h, w] */
  GvTensor *result;                   /* final latents */
};

/* seed streams, so that each random choice of an edit is independent of the others */
enum {
  STREAM_SOURCE_FRAME = 1,
  /* one noise for both image embeddings: their difference is the pictures' alone, and
   * identical conditions are identical to the bit */
  STREAM_EMBEDDING_NOISE = 2,
  STREAM_TEMPORAL_INIT = 4,
};

/* forgets everything computed (not the model) */
static void
edit_reset (GvEdit *e)
{
  gv_condition_clear (&e->uncond);
  gv_condition_clear (&e->source);
  gv_condition_clear (&e->target);
  gv_inversion_clear (&e->inversion);
  g_clear_pointer (&e->z0, gv_tensor_unref);
  g_clear_pointer (&e->mask_tensor, gv_tensor_unref);
  g_clear_pointer (&e->result, gv_tensor_unref);
  g_clear_pointer (&e->masks, g_free);
  g_clear_pointer (&e->temporal, gv_unet_temporal_free);
  e->has_source = e->has_target = FALSE;
}

static void
edit_free (GvEdit *e)
{
  edit_reset (e);
  g_clear_pointer (&e->model, gv_model_unref);
  g_clear_pointer (&e->dev, gv_device_unref);
  g_free (e);
}

GvEdit *
gv_edit_peek (GvClip *clip)
{
  return gv_clip_get_slot (clip, GV_CLIP_SLOT_EDIT);
}

GvEdit *
gv_edit_for_clip (GvClip *clip)
{
  GvEdit *e = gv_edit_peek (clip);
  if (e == NULL) {
    e = g_new0 (GvEdit, 1);
    gv_clip_set_slot (clip, GV_CLIP_SLOT_EDIT, e, (GDestroyNotify) edit_free);
  }
  return e;
}

gboolean
gv_edit_has_source (GvEdit *e)
{
  return e->has_source;
}

gboolean
gv_edit_has_target (GvEdit *e)
{
  return e->has_target;
}

gboolean
gv_edit_has_inversion (GvEdit *e)
{
  return e->inversion.steps > 0;
}

gboolean
gv_edit_has_masks (GvEdit *e)
{
  return e->masks != NULL;
}

GvModel *
gv_edit_get_model (GvEdit *e)
{
  return e->model;
}

gint
gv_edit_get_latent_width (GvEdit *e)
{
  return e->z0 ? (gint) e->z0->shape[3] : 0;
}

gint
gv_edit_get_latent_height (GvEdit *e)
{
  return e->z0 ? (gint) e->z0->shape[2] : 0;
}

GvTensor *
gv_edit_get_result_latents (GvEdit *e)
{
  return e->result;
}

GvTensor *
gv_edit_get_source_latents (GvEdit *e)
{
  return e->z0;
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
new_cmd (GvEdit *e, const GvEditEnv *env)
{
  GvCmd *cmd = gv_cmd_new (e->dev);
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

static gboolean
load_model (GvEdit *e, const GvEditEnv *env, GError **error)
{
  if (e->model != NULL)
    return TRUE;
  if (env->model != NULL) {
    e->model = gv_model_ref (env->model);
    e->dev = gv_device_ref (gv_model_get_device (env->model));
    return TRUE;
  }
  e->dev = gv_device_get_shared (env->device_index, error);
  if (e->dev == NULL)
    return FALSE;
  e->model = gv_model_get_shared (e->dev, env->model_dir, error);
  return e->model != NULL;
}

/* The frame size against what the model can take. */
static gboolean
check_size (GvEdit *e, gint width, gint height, GError **error)
{
  gint f = gv_vae_get_factor (gv_model_get_vae (e->model));
  if (width % f != 0 || height % f != 0) {
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "frames of %dx%d: this model needs sizes "
        "that are multiples of %d (its VAE downsamples by %d)", width, height, f, f);
    return FALSE;
  }
  return TRUE;
}

gboolean
gv_edit_prepare_source (GvEdit *e, const GvEditEnv *env, const GvPicture *frames, gint n,
    gint width, gint height, GvPixelFormat format, const gchar *source_prompt,
    const gchar *tuned_location, GError **error)
{
  edit_reset (e);
  if (!load_model (e, env, error) || !check_size (e, width, height, error))
    return FALSE;
  e->frames = n;
  e->width = width;
  e->height = height;

  const gchar *tuned = tuned_location && g_file_test (tuned_location, G_FILE_TEST_EXISTS) ?
      tuned_location : NULL;
  e->temporal = gv_unet_temporal_new (gv_model_get_unet (e->model), tuned, "",
      (guint32) (env->seed ^ STREAM_TEMPORAL_INIT), error);
  if (e->temporal == NULL)
    return FALSE;

  GvCmd *cmd = new_cmd (e, env);
  progress (env, "encoding", 0, n);
  gfloat *images = gv_pictures_to_images (frames, n, width, height, format);
  e->z0 = gv_encode_images (e->model, cmd, images, n, height, width);
  g_free (images);

  gv_condition_init_uncond (&e->uncond, e->model, cmd);
  e->source.text = gv_model_encode_prompt (e->model, cmd, source_prompt ? source_prompt : "");
  /* the unCLIP embedding of one source frame, chosen by the seed */
  guint pick = gv_edit_source_frame (env->seed, n);
  gint bpp = gv_pixel_format_bpp (format);
  guint8 *rgb = g_new (guint8, (gsize) width * height * 3);
  for (gint y = 0; y < height; y++)
    for (gint x = 0; x < width; x++)
      for (gint c = 0; c < 3; c++)
        rgb[((gsize) y * width + x) * 3 + c] =
            frames[pick].data[(gsize) y * frames[pick].stride + x * bpp + (bpp == 1 ? 0 : c)];
  e->source.labels = gv_image_class_labels (e->model, cmd, rgb, width, height, width * 3,
      env->seed ^ ((guint64) STREAM_EMBEDDING_NOISE << 32));
  g_free (rgb);
  if (!finish (cmd, error))
    return FALSE;
  progress (env, "encoding", n, n);
  e->has_source = TRUE;
  return TRUE;
}

gboolean
gv_edit_set_target (GvEdit *e, const GvEditEnv *env, const gchar *prompt, const guint8 *rgb,
    gint width, gint height, gint stride, GError **error)
{
  g_return_val_if_fail (e->has_source, FALSE);
  GvCmd *cmd = new_cmd (e, env);
  gv_condition_clear (&e->target);
  e->target.text = gv_model_encode_prompt (e->model, cmd, prompt ? prompt : "");
  e->target.labels = gv_image_class_labels (e->model, cmd, rgb, width, height, stride,
      env->seed ^ ((guint64) STREAM_EMBEDDING_NOISE << 32));
  /* outside the mask, GenVideo keeps the source frame's embedding */
  e->target.labels_outside = gv_tensor_ref (e->source.labels);
  if (!finish (cmd, error))
    return FALSE;
  e->has_target = TRUE;
  return TRUE;
}

static GvDenoiser
denoiser (GvEdit *e, gfloat guidance)
{
  return (GvDenoiser) {
    .unet = gv_model_get_unet (e->model),
    .temporal = e->temporal,
    .uncond = e->uncond,
    .guidance_scale = guidance,
  };
}

gboolean
gv_edit_invert (GvEdit *e, const GvEditEnv *env, gint steps, GError **error)
{
  g_return_val_if_fail (e->has_source, FALSE);
  GvScheduler *s = gv_model_new_scheduler (e->model, error);
  if (s == NULL)
    return FALSE;
  GvDenoiser d = denoiser (e, 1.0f);
  GvCmd *cmd = new_cmd (e, env);
  gv_inversion_clear (&e->inversion);
  gboolean ok = gv_invert (&d, s, cmd, e->z0, &e->source, steps, &e->inversion, env->progress,
      env->progress_data, error);
  gv_cmd_free (cmd);
  gv_scheduler_free (s);
  return ok;
}

gboolean
gv_edit_compute_masks (GvEdit *e, const GvEditEnv *env, const GvMaskParams *p, GError **error)
{
  g_return_val_if_fail (e->has_target && gv_edit_has_inversion (e), FALSE);
  GvScheduler *s = gv_model_new_scheduler (e->model, error);
  if (s == NULL)
    return FALSE;
  GvDenoiser d = denoiser (e, p->guidance_scale);
  GvCmd *cmd = new_cmd (e, env);
  gfloat *masks = gv_invedit_masks (&d, s, cmd, &e->inversion, &e->source, &e->target, p,
      env->progress, env->progress_data, error);
  gv_scheduler_free (s);
  if (masks == NULL) {
    gv_cmd_free (cmd);
    return FALSE;
  }
  g_free (e->masks);
  e->masks = masks;
  g_clear_pointer (&e->mask_tensor, gv_tensor_unref);
  e->mask_tensor = GV_TENSOR (cmd, e->frames, 1, e->z0->shape[2], e->z0->shape[3]);
  gv_tensor_record_upload (cmd, e->mask_tensor, masks);
  return finish (cmd, error);
}

const gfloat *
gv_edit_get_masks (GvEdit *e, gdouble *area)
{
  if (e->masks != NULL && area != NULL) {
    gsize plane = (gsize) e->z0->shape[2] * e->z0->shape[3];
    for (gint f = 0; f < e->frames; f++) {
      gdouble sum = 0;
      for (gsize i = 0; i < plane; i++)
        sum += e->masks[f * plane + i];
      area[f] = sum / plane;
    }
  }
  return e->masks;
}

gfloat *
gv_edit_generate (GvEdit *e, const GvEditEnv *env, const GvCorrectParams *p,
    GvCorrectionFunc on_correction, gpointer correction_data, GError **error)
{
  g_return_val_if_fail (e->has_source, NULL);
  if (!gv_edit_has_inversion (e) && !gv_edit_invert (e, env, p->steps, error))
    return NULL;

  GvScheduler *s = gv_model_new_scheduler (e->model, error);
  if (s == NULL)
    return NULL;
  GvDenoiser d = denoiser (e, p->guidance_scale);
  GvCmd *cmd = new_cmd (e, env);
  GvTensor *mask = e->mask_tensor ? gv_tensor_ref (e->mask_tensor) :
      GV_TENSOR (cmd, e->frames, 1, e->z0->shape[2], e->z0->shape[3]);
  if (e->mask_tensor == NULL)
    gv_tensor_record_fill (cmd, mask, 1.0f);
  /* without a target the source conditions stand in: the clip is re-generated as it is */
  const GvCondition *trg = e->has_target ? &e->target : &e->source;
  g_clear_pointer (&e->result, gv_tensor_unref);
  e->result = gv_latent_correct (&d, s, cmd, &e->inversion, trg, mask, p, env->progress,
      env->progress_data, on_correction, correction_data, error);
  gv_tensor_unref (mask);
  gv_scheduler_free (s);
  if (e->result == NULL) {
    gv_cmd_free (cmd);
    return NULL;
  }

  progress (env, "decoding", 0, e->frames);
  GvTensor *images = gv_decode_latents (e->model, cmd, e->result);
  gfloat *out = g_new (gfloat, images->numel);
  gv_tensor_record_download (cmd, images, out);
  gv_tensor_unref (images);
  if (!finish (cmd, error)) {
    g_free (out);
    return NULL;
  }
  progress (env, "decoding", e->frames, e->frames);
  return out;
}
