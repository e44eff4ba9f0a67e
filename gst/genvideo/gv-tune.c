#include "genvideo/gv-tune.h"
#include "genvideo/gv-tune-file.h"
#include "models/gv-safetensors-write.h"
#include "genvideo/gv-clip-private.h"
#include "models/gv-diffusion-example.h"
#include "models/gv-random.h"
#include "models/gv-unet-train.h"
#include <math.h>
#include <string.h>

/* seed streams of the tuning, apart from those of gv-edit.c (per step: step * N_DRAWS + draw) */
#define STREAM_TUNE (G_GUINT64_CONSTANT (1) << 20)
#define STREAM_EVAL (G_GUINT64_CONSTANT (1) << 21)
enum { DRAW_TIMESTEP, DRAW_FRAME, DRAW_LEVEL, DRAW_DROP, DRAW_NOISE, DRAW_LABEL_NOISE, N_DRAWS };

/* Tune-A-Video: unconditional with probability 0.1 (the class labels only) */
#define DROPOUT_IN_TEN 1
#define MAX_GRAD_NORM 1.0f

static guint32
draw (guint64 seed, guint64 base, gint step, gint what, guint32 bound)
{
  return gv_random_below (seed, base + (guint64) step * N_DRAWS + what, bound);
}

static guint64
draw_seed (guint64 seed, guint64 base, gint step, gint what)
{
  return seed ^ ((base + (guint64) step * N_DRAWS + what) << 32);
}

/* One training example: noisy latents, target and timestep for (@base, @step). */
typedef struct {
  GvTensor *noisy, *target;
  gfloat timestep;
} Example;

static void
example_init (Example *ex, GvClip *clip, GvScheduler *s, GvCmd *cmd, guint64 seed,
    guint64 base, gint step)
{
  GvTensor *z0 = clip->z0;
  gint t = (gint) draw (seed, base, step, DRAW_TIMESTEP,
      (guint32) gv_scheduler_get_train_timesteps (s));
  GvTensor *noise_t = gv_random_normal_tensor (cmd, z0->ndim, z0->shape,
      draw_seed (seed, base, step, DRAW_NOISE));

  ex->timestep = (gfloat) t;
  ex->noisy = gv_tensor_alloc (cmd, z0->ndim, z0->shape);
  ex->target = gv_tensor_alloc (cmd, z0->ndim, z0->shape);
  gv_diffusion_example_record (s, gv_model_get_config (clip->model)->scheduler.prediction_type,
      cmd, t, z0, noise_t, ex->noisy, ex->target);
  gv_tensor_unref (noise_t);
}

static void
example_clear (Example *ex)
{
  g_clear_pointer (&ex->noisy, gv_tensor_unref);
  g_clear_pointer (&ex->target, gv_tensor_unref);
}

/* The class labels of step @step: the embedding of a random frame at a random noise level of
 * the image noising schedule, or zeros (condition dropout). */
static GvTensor *
step_labels (GvClip *clip, GvCmd *cmd, GvTensor **embeds, guint64 seed, gint step)
{
  GvImageNoiser *noiser = gv_model_get_image_noiser (clip->model);
  GvTensor *e = embeds[draw (seed, STREAM_TUNE, step, DRAW_FRAME, clip->n_frames)];
  gboolean drop = draw (seed, STREAM_TUNE, step, DRAW_DROP, 10) < DROPOUT_IN_TEN;
  gint level = (gint) draw (seed, STREAM_TUNE, step, DRAW_LEVEL,
      (guint32) gv_scheduler_get_train_timesteps (gv_image_noiser_get_schedule (noiser)));
  return gv_diffusion_class_labels (noiser, cmd, e, drop, level,
      draw_seed (seed, STREAM_TUNE, step, DRAW_LABEL_NOISE));
}

/* the unCLIP image embedding of every frame ([1, P] each) */
static GvTensor **
frame_embeds (GvClip *clip, GvCmd *cmd, const GvPicture *frames, GvPixelFormat format)
{
  gint w = (gint) clip->width, h = (gint) clip->height;
  GvTensor **embeds = g_new0 (GvTensor *, clip->n_frames);
  guint8 *rgb = g_new (guint8, (gsize) w * h * 3);
  for (guint f = 0; f < clip->n_frames; f++) {
    gv_picture_to_rgb (&frames[f], format, w, h, rgb);
    embeds[f] = gv_model_encode_image (clip->model, cmd, rgb, w, h, w * 3);
  }
  g_free (rgb);
  return embeds;
}

static gboolean
cancelled (const GvEditEnv *env, GError **error)
{
  if (env->cancel == NULL || !g_atomic_int_get (env->cancel))
    return FALSE;
  g_set_error (error, GV_ERROR, GV_ERROR_CANCELLED, "tuning cancelled");
  return TRUE;
}

/* the temporal layer norms: not trained, but a file without them is read as untuned */
static void
add_norm_temp (const gchar *name, GvTensor *param, gpointer data)
{
  if (strstr (name, ".norm_temp.") != NULL) {
    g_ptr_array_add (data, g_strdup (name));
    g_ptr_array_add (data, gv_tensor_ref (param));
  }
}

/* Writes the trainable tensors of @tr and the temporal layer norms under their Tune-A-Video
 * names. */
static gboolean
save (GvClip *clip, GvUNetTrainer *tr, const GvTuneParams *p, GError **error)
{
  GvOptimizer *optim = gv_unet_trainer_get_optimizer (tr);
  /* (name, tensor) pairs */
  GPtrArray *pairs = g_ptr_array_new ();
  for (gint i = 0; i < gv_optimizer_get_n_params (optim); i++) {
    g_ptr_array_add (pairs, g_strdup (gv_optimizer_get_name (optim, i)));
    g_ptr_array_add (pairs, gv_tensor_ref (gv_optimizer_get_param (optim, i)));
  }
  gboolean ok = gv_unet_foreach_param (gv_model_get_unet (clip->model), clip->temporal, FALSE,
      add_norm_temp, pairs, error);
  gint n = (gint) pairs->len / 2;
  gfloat **host = g_new0 (gfloat *, n);
  GvCmd *cmd = gv_cmd_new (gv_model_get_device (clip->model));
  for (gint i = 0; i < n; i++) {
    GvTensor *t = pairs->pdata[2 * i + 1];
    host[i] = g_new (gfloat, t->numel);
    gv_tensor_record_download (cmd, t, host[i]);
  }
  ok = ok && gv_cmd_finish (cmd, error);
  gv_cmd_free (cmd);
  GvStWriter *w = gv_st_writer_new ();
  gv_st_writer_set_metadata (w, "format", "pt");
  if (p->fingerprint)
    gv_st_writer_set_metadata (w, GV_TUNE_FILE_FINGERPRINT_KEY, p->fingerprint);
  for (gint i = 0; i < n; i++) {
    GvTensor *t = pairs->pdata[2 * i + 1];
    gv_st_writer_add (w, pairs->pdata[2 * i], t->ndim, t->shape, host[i]);
    g_free (host[i]);
    g_free (pairs->pdata[2 * i]);
    gv_tensor_unref (t);
  }
  g_free (host);
  g_ptr_array_unref (pairs);
  ok = ok && gv_st_writer_write (w, p->save_path, error);
  gv_st_writer_free (w);
  return ok;
}

gboolean
gv_edit_tune (GvClip *clip, const GvEditEnv *env, const GvPicture *frames,
    GvPixelFormat format, const GvTuneParams *p, GError **error)
{
  g_return_val_if_fail (clip != NULL && gv_clip_is_held (clip) && clip->has_source, FALSE);
  GvUNet *unet = gv_model_get_unet (clip->model);
  GvAdamWParams opt = GV_ADAMW_PARAMS_DEFAULT;
  opt.lr = p->learning_rate;
  GvUNetTrainer *tr = gv_unet_trainer_new (unet, clip->temporal, GV_TRAIN_TAV, &opt,
      p->recompute, error);
  if (tr == NULL)
    return FALSE;
  GvScheduler *s = gv_model_new_scheduler (clip->model, error);
  if (s == NULL) {
    gv_unet_trainer_free (tr);
    return FALSE;
  }
  GvDevice *dev = gv_model_get_device (clip->model);
  GvCmd *cmd = gv_cmd_new (dev);
  gv_cmd_set_cancel_flag (cmd, env->cancel);
  GvTensor **embeds = frame_embeds (clip, cmd, frames, format);
  gboolean ok = gv_cmd_finish (cmd, error);
  gv_cmd_free (cmd);

  for (gint step = 0; ok && step < p->steps; step++) {
    if (cancelled (env, error)) {
      ok = FALSE;
      break;
    }
    cmd = gv_cmd_new (dev);
    gv_cmd_set_cancel_flag (cmd, env->cancel);
    Example ex;
    example_init (&ex, clip, s, cmd, env->seed, STREAM_TUNE, step);
    GvTensor *labels = step_labels (clip, cmd, embeds, env->seed, step);
    gfloat loss = 0;
    ok = gv_unet_trainer_step (tr, cmd, ex.noisy, (gint) clip->n_frames, &ex.timestep,
        clip->source.text, labels, ex.target, MAX_GRAD_NORM, &loss, NULL, error);
    gv_cmd_free (cmd);
    gv_tensor_unref (labels);
    example_clear (&ex);
    if (ok && p->on_step)
      p->on_step (step + 1, p->steps, loss, p->on_step_data);
  }

  if (ok && p->save_path)
    ok = save (clip, tr, p, error);
  for (guint f = 0; f < clip->n_frames; f++)
    g_clear_pointer (&embeds[f], gv_tensor_unref);
  g_free (embeds);
  gv_scheduler_free (s);
  gv_unet_trainer_free (tr);
  return ok;
}

gboolean
gv_edit_tune_eval_loss (GvClip *clip, const GvEditEnv *env, guint64 seed, gint n,
    gdouble *loss, GError **error)
{
  g_return_val_if_fail (clip != NULL && gv_clip_is_held (clip) && clip->has_source, FALSE);
  GvScheduler *s = gv_model_new_scheduler (clip->model, error);
  if (s == NULL)
    return FALSE;
  GvUNet *unet = gv_model_get_unet (clip->model);
  gdouble sum = 0;
  gboolean ok = TRUE;
  for (gint i = 0; ok && i < n; i++) {
    GvCmd *cmd = gv_cmd_new (gv_model_get_device (clip->model));
    gv_cmd_set_cancel_flag (cmd, env->cancel);
    Example ex;
    example_init (&ex, clip, s, cmd, seed, STREAM_EVAL, i);
    GvUNetInputs in = {
      .frames = (gint) clip->n_frames,
      .temporal = clip->temporal,
      .timesteps = &ex.timestep,
      .encoder_hidden_states = clip->source.text,
      .class_labels = clip->source.labels,
    };
    GvTensor *out = gv_unet_forward (unet, cmd, ex.noisy, &in);
    gfloat *y = g_new (gfloat, out->numel), *target = g_new (gfloat, out->numel);
    gv_tensor_record_download (cmd, out, y);
    gv_tensor_record_download (cmd, ex.target, target);
    ok = gv_cmd_finish (cmd, error);
    gv_cmd_free (cmd);
    gdouble se = 0;
    for (gint64 k = 0; ok && k < out->numel; k++)
      se += ((gdouble) y[k] - target[k]) * ((gdouble) y[k] - target[k]);
    sum += se / out->numel;
    g_free (y);
    g_free (target);
    gv_tensor_unref (out);
    example_clear (&ex);
  }
  gv_scheduler_free (s);
  *loss = n > 0 ? sum / n : 0;
  return ok;
}
