#include "genvideo/gv-denoise.h"
#include "models/gv-random.h"

void
gv_condition_init_uncond (GvCondition *c, GvModel *m, GvCmd *cmd)
{
  const GvCheckpointConfig *cfg = gv_model_get_config (m);
  c->text = gv_model_encode_prompt (m, cmd, "");
  c->labels = GV_TENSOR (cmd, 1, cfg->unet.projection_class_embeddings_input_dim);
  gv_tensor_record_fill (cmd, c->labels, 0.0f);
  c->labels_outside = NULL;
}

GvTensor *
gv_image_class_labels (GvModel *m, GvCmd *cmd, const guint8 *rgb, gint width, gint height,
    gint stride, guint64 seed)
{
  GvTensor *embeds = gv_model_encode_image (m, cmd, rgb, width, height, stride);
  gint64 dim = embeds->shape[1];
  GvTensor *noise_t = gv_random_normal_tensor (cmd, 2, (const gint64[]) { 1, dim }, seed);
  GvTensor *labels = gv_image_noiser_apply (gv_model_get_image_noiser (m), cmd, embeds, 0,
      noise_t);
  gv_tensor_unref (embeds);
  gv_tensor_unref (noise_t);
  return labels;
}

void
gv_condition_clear (GvCondition *c)
{
  g_clear_pointer (&c->text, gv_tensor_unref);
  g_clear_pointer (&c->labels, gv_tensor_unref);
  g_clear_pointer (&c->labels_outside, gv_tensor_unref);
}

/* copies @src into rows [row, row + src rows) of @dst (same trailing shape) */
static void
copy_rows (GvCmd *cmd, GvTensor *dst, gint64 row, GvTensor *src)
{
  gint64 per_row = dst->numel / dst->shape[0];
  GvTensor *view = gv_tensor_view (dst, row * per_row, src->ndim, src->shape);
  gv_tensor_record_copy (cmd, view, src);
  gv_tensor_unref (view);
}

void
gv_denoise (GvDenoiser *d, GvCmd *cmd, gint t, gint n_branches, GvTensor *const *latents,
    const GvCondition *const *cond, GvTensor **eps, GvTapFunc tap, gpointer tap_data)
{
  gboolean guided = d->guidance_scale > 1.0f;
  gint per = guided ? 2 : 1;
  gint clips = n_branches * per;
  GvTensor *z = latents[0];
  gint64 f = z->shape[0], ch = z->shape[1], h = z->shape[2], w = z->shape[3];
  gint64 len = d->uncond.text->shape[1], dim = d->uncond.text->shape[2];
  gint64 labels_dim = d->uncond.labels->shape[1];
  gboolean gated = FALSE;

  for (gint b = 0; b < n_branches; b++)
    gated |= cond[b]->labels_outside != NULL;
  gated &= d->mask != NULL;

  GvTensor *input = GV_TENSOR (cmd, clips * f, ch, h, w);
  GvTensor *text = GV_TENSOR (cmd, clips, len, dim);
  GvTensor *labels = GV_TENSOR (cmd, clips, labels_dim);
  GvTensor *outside = gated ? GV_TENSOR (cmd, clips, labels_dim) : NULL;
  GvTensor *mask = gated ? GV_TENSOR (cmd, clips * f, 1, h, w) : NULL;
  for (gint b = 0; b < n_branches; b++) {
    for (gint k = 0; k < per; k++) {
      gint clip = b * per + k;
      const GvCondition *c = guided && k == 0 ? &d->uncond : cond[b];
      copy_rows (cmd, input, clip * f, latents[b]);
      copy_rows (cmd, text, clip, c->text);
      copy_rows (cmd, labels, clip, c->labels);
      if (gated) {
        copy_rows (cmd, outside, clip, c->labels_outside ? c->labels_outside : c->labels);
        copy_rows (cmd, mask, clip * f, d->mask);
      }
    }
  }

  gfloat *ts = g_new (gfloat, clips);
  for (gint i = 0; i < clips; i++)
    ts[i] = (gfloat) t;
  GvUNetInputs in = {
    .frames = (gint) f,
    .temporal = d->temporal,
    .timesteps = ts,
    .encoder_hidden_states = text,
    .class_labels = labels,
    .class_labels_alt = outside,
    .mask = mask,
    .tap = tap,
    .tap_data = tap_data,
  };
  GvTensor *pred = gv_unet_forward (d->unet, cmd, input, &in);
  g_free (ts);

  gint64 clip_size = f * ch * h * w;
  for (gint b = 0; b < n_branches; b++) {
    eps[b] = GV_TENSOR (cmd, f, ch, h, w);
    /* a failed command (cancelled) gives a placeholder prediction: nothing to take from it,
     * and the caller's gv_cmd_finish() reports the error */
    if (gv_cmd_failed (cmd))
      continue;
    GvTensor *c = GV_VIEW (pred, (b * per + per - 1) * clip_size, f, ch, h, w);
    if (guided) {
      GvTensor *u = GV_VIEW (pred, b * per * clip_size, f, ch, h, w);
      gv_scheduler_guide (cmd, eps[b], u, c, d->guidance_scale);
      gv_tensor_unref (u);
    } else {
      gv_tensor_record_copy (cmd, eps[b], c);
    }
    gv_tensor_unref (c);
  }
  if (d->on_pass) {
    GvPass pass = { t, n_branches, latents, cond, eps, guided ? d->guidance_scale : 1.0f,
      gated ? d->mask : NULL };
    d->on_pass (&pass, cmd, d->pass_data);
  }
  gv_tensor_unref (pred);
  gv_tensor_unref (input);
  gv_tensor_unref (text);
  gv_tensor_unref (labels);
  if (gated) {
    gv_tensor_unref (outside);
    gv_tensor_unref (mask);
  }
}
