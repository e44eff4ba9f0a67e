/* Stage 1 of GenVideo: Tune-A-Video's one-shot tuning of the inflated model on the clip
 * (DESIGN.md section 1). Trains attn1.to_q, attn2.to_q and attn_temp.* of every transformer
 * block (the clip's GvUNetTemporal, which invedit and latentcorrect then run) on the clip's
 * latents z0 under the source conditions. Per step, from the seed (deterministic): one
 * timestep t ~ U[0, num_train_timesteps), Gaussian noise for the whole clip, the noisy latents
 * add_noise (z0, noise, t), the target the scheduler's prediction type asks for (epsilon:
 * noise; v: sqrt (a_t) noise - sqrt (1 - a_t) z0), the source prompt's text embedding and the
 * unCLIP class labels of a random source frame noised at a random level of the image noising
 * schedule, replaced by zeros with probability 0.1; AdamW, global-norm clipping at 1.0. */
#pragma once

#include "genvideo/gv-edit.h"

G_BEGIN_DECLS

/* Called after every step with the loss of that step (before its update). */
typedef void (*GvTuneStepFunc) (gint step, gint total, gfloat loss, gpointer data);

typedef struct {
  gint steps;
  gdouble learning_rate;      /* AdamW; Tune-A-Video: 3e-5 */
  gboolean recompute;         /* per-block gradient checkpointing (gv-unet-train.h) */
  GvTuneStepFunc on_step;     /* may be NULL */
  gpointer on_step_data;
  /* when not NULL: the tuned layers are written there after the last step (gv-tune-file.h),
   * atomically (a temporary file renamed), with @fingerprint in the metadata */
  const gchar *save_path;
  const gchar *fingerprint;
} GvTuneParams;

/* Bumped whenever what a tuning computes changes (it is part of a tuned file's fingerprint). */
#define GV_TUNE_RECIPE_VERSION 1

/* Tunes the clip's temporal layers (after gv_edit_prepare_source) on its frames @frames
 * (needed for the image embeddings of the frames). Cancellation (env->cancel) is noticed
 * between steps and inside a step: FALSE with GV_ERROR_CANCELLED. */
gboolean gv_edit_tune (GvClip *clip, const GvEditEnv *env, const GvPicture *frames,
    GvPixelFormat format, const GvTuneParams *p, GError **error);

/* The mean training loss of the clip's current model over @n fixed (timestep, noise) pairs
 * drawn from @seed (no dropout, the source frame's labels): to measure what tuning learned. */
gboolean gv_edit_tune_eval_loss (GvClip *clip, const GvEditEnv *env, guint64 seed, gint n,
    gdouble *loss, GError **error);

G_END_DECLS
