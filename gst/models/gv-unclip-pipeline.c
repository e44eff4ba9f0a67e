#include <string.h>

#include "models/gv-random.h"
#include "models/gv-unclip-pipeline.h"

/* [uncond; cond] rows of the prompt embeddings (only cond without guidance) */
static GvTensor *
prompt_embeddings (GvModel *m, GvCmd *cmd, const GvUnclipParams *p, gboolean cfg)
{
  GvTensor *cond = gv_model_encode_prompt (m, cmd, p->prompt);
  if (!cfg)
    return cond;
  GvTensor *uncond = gv_model_encode_prompt (m, cmd, p->negative_prompt ? p->negative_prompt :
      "");
  GvTensor *both = GV_TENSOR (cmd, 2, cond->shape[1], cond->shape[2]);
  gv_op_concat (cmd, both, uncond, cond, 0);
  gv_tensor_unref (cond);
  gv_tensor_unref (uncond);
  return both;
}

/* [zeros; noised image embedding] (only the latter without guidance) */
static GvTensor *
class_labels (GvModel *m, GvCmd *cmd, const GvUnclipParams *p, gboolean cfg)
{
  GvTensor *embeds = gv_model_encode_image (m, cmd, p->image, p->image_width, p->image_height,
      p->image_stride);
  gint64 dim = embeds->shape[1];
  gfloat *noise = g_new (gfloat, dim);
  if (p->image_embeds_noise)
    memcpy (noise, p->image_embeds_noise, dim * sizeof (gfloat));
  else
    gv_random_normal (noise, dim, p->seed ^ 0x696d616765ull);
  GvTensor *noise_t = GV_TENSOR (cmd, 1, dim);
  gv_tensor_record_upload (cmd, noise_t, noise);
  g_free (noise);
  GvTensor *labels = gv_image_noiser_apply (gv_model_get_image_noiser (m), cmd, embeds,
      p->noise_level, noise_t);
  gv_tensor_unref (embeds);
  gv_tensor_unref (noise_t);
  if (!cfg)
    return labels;
  GvTensor *both = GV_TENSOR (cmd, 2, 2 * dim);
  GvTensor *zeros = GV_TENSOR (cmd, 1, 2 * dim);
  gv_tensor_record_fill (cmd, zeros, 0.0f);
  gv_op_concat (cmd, both, zeros, labels, 0);
  gv_tensor_unref (zeros);
  gv_tensor_unref (labels);
  return both;
}

static void
tap (const GvUnclipParams *p, GvCmd *cmd, const gchar *name, GvTensor *t)
{
  if (p->tap)
    p->tap (name, cmd, t, p->tap_data);
}

gfloat *
gv_unclip_generate (GvModel *m, const GvUnclipParams *p, GError **error)
{
  GvDevice *dev = gv_model_get_device (m);
  const GvCheckpointConfig *c = gv_model_get_config (m);
  gint f = gv_vae_get_factor (gv_model_get_vae (m));
  gboolean cfg = p->guidance_scale > 1.0f;
  gint64 ch = c->unet.in_channels, h = p->height / f, w = p->width / f;

  if (p->height % f != 0 || p->width % f != 0 || h <= 0 || w <= 0) {
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "image size %dx%d is not a positive "
        "multiple of the VAE factor %d", p->width, p->height, f);
    return NULL;
  }
  GvScheduler *sched = gv_model_new_scheduler (m, error);
  if (sched == NULL)
    return NULL;

  GvCmd *cmd = gv_cmd_new (dev);
  gv_cmd_set_cancel_flag (cmd, p->cancel);
  GvTensor *ehs = prompt_embeddings (m, cmd, p, cfg);
  GvTensor *labels = class_labels (m, cmd, p, cfg);
  tap (p, cmd, "encoder_hidden_states", ehs);
  tap (p, cmd, "class_labels", labels);

  gfloat *init = g_new (gfloat, ch * h * w);
  if (p->latents)
    memcpy (init, p->latents, ch * h * w * sizeof (gfloat));
  else
    gv_random_normal (init, ch * h * w, p->seed);
  GvTensor *latents = GV_TENSOR (cmd, 1, ch, h, w);
  gv_tensor_record_upload (cmd, latents, init);
  g_free (init);

  gint *timesteps = gv_scheduler_timesteps (sched, p->steps);
  for (gint i = 0; i < p->steps && !gv_cmd_failed (cmd); i++) {
    gint t = timesteps[i];
    GvTensor *input = latents;
    if (cfg) {
      input = GV_TENSOR (cmd, 2, ch, h, w);
      gv_op_concat (cmd, input, latents, latents, 0);
    }
    gfloat ts[2] = { t, t };
    GvUNetInputs in = {
      .frames = 1, .timesteps = ts, .encoder_hidden_states = ehs, .class_labels = labels,
    };
    GvTensor *pred = gv_unet_forward (gv_model_get_unet (m), cmd, input, &in);
    if (input != latents)
      gv_tensor_unref (input);
    GvTensor *noise = pred;
    if (cfg) {
      GvTensor *u = GV_VIEW (pred, 0, 1, ch, h, w);
      GvTensor *cnd = GV_VIEW (pred, ch * h * w, 1, ch, h, w);
      noise = GV_TENSOR (cmd, 1, ch, h, w);
      gv_scheduler_guide (cmd, noise, u, cnd, p->guidance_scale);
      gv_tensor_unref (u);
      gv_tensor_unref (cnd);
      gv_tensor_unref (pred);
    }
    GvTensor *next = GV_TENSOR (cmd, 1, ch, h, w);
    gv_scheduler_step (sched, cmd, p->steps, t, noise, latents, next, NULL);
    gv_tensor_unref (noise);
    gv_tensor_unref (latents);
    latents = next;
    gchar *name = g_strdup_printf ("latents_after_step_%d", i);
    tap (p, cmd, name, latents);
    g_free (name);
    /* one submission per step: the work in flight stays bounded and cancellation prompt */
    gv_cmd_flush (cmd);
  }
  g_free (timesteps);

  const GvVaeConfig *vc = gv_vae_get_config (gv_model_get_vae (m));
  gv_op_scale (cmd, latents, latents, 1.0f / vc->scaling_factor, 0.0f);
  GvTensor *image = gv_vae_decode (gv_model_get_vae (m), cmd, latents);
  gv_op_scale (cmd, image, image, 0.5f, 0.5f);
  gv_op_clamp (cmd, image, image, 0.0f, 1.0f);
  GvTensor *hwc = GV_TENSOR (cmd, 1, p->height, p->width, 3);
  gv_op_permute (cmd, hwc, image, (const gint[]) { 0, 2, 3, 1 });
  gfloat *out = g_new (gfloat, (gsize) p->height * p->width * 3);
  gv_tensor_record_download (cmd, hwc, out);
  gv_tensor_unref (image);
  gv_tensor_unref (hwc);
  gv_tensor_unref (latents);
  gv_tensor_unref (ehs);
  gv_tensor_unref (labels);
  gboolean ok = gv_cmd_finish (cmd, error);
  gv_cmd_free (cmd);
  gv_scheduler_free (sched);
  if (!ok)
    g_clear_pointer (&out, g_free);
  return out;
}
