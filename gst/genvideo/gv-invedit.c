#include <math.h>
#include <string.h>

#include "genvideo/gv-invedit.h"

static gboolean
finish_step (GvCmd *cmd, const gchar *stage, gint step, gint steps, GvProgressFunc progress,
    gpointer data, GError **error)
{
  if (!gv_cmd_finish (cmd, error))
    return FALSE;
  if (progress)
    progress (stage, step, steps, data);
  return TRUE;
}

gboolean
gv_invert (GvDenoiser *d, GvScheduler *s, GvCmd *cmd, GvTensor *z0, const GvCondition *src,
    gint steps, GvInversion *out, GvProgressFunc progress, gpointer progress_data,
    GError **error)
{
  GvDenoiser plain = *d;
  gint *desc = gv_scheduler_timesteps (s, steps);

  plain.guidance_scale = 1.0f;   /* inversion is unguided */
  plain.mask = NULL;
  memset (out, 0, sizeof (*out));
  out->steps = steps;
  out->timesteps = g_new (gint, steps);
  out->levels = g_new0 (GvTensor *, steps + 1);
  for (gint i = 0; i < steps; i++)
    out->timesteps[i] = desc[steps - 1 - i];
  g_free (desc);

  out->levels[0] = gv_tensor_ref (z0);
  for (gint k = 0; k < steps; k++) {
    GvTensor *z = out->levels[k], *eps = NULL;
    gint t = out->timesteps[k];
    gv_denoise (&plain, cmd, t, 1, &z, &src, &eps, NULL, NULL);
    out->levels[k + 1] = gv_tensor_like (cmd, z);
    gv_scheduler_inverse_step (s, cmd, steps, t, eps, z, out->levels[k + 1]);
    gv_tensor_unref (eps);
    if (!finish_step (cmd, "inversion", k + 1, steps, progress, progress_data, error)) {
      gv_inversion_clear (out);
      return FALSE;
    }
  }
  return TRUE;
}

void
gv_inversion_clear (GvInversion *inv)
{
  for (gint k = 0; inv->levels && k <= inv->steps; k++)
    g_clear_pointer (&inv->levels[k], gv_tensor_unref);
  g_clear_pointer (&inv->levels, g_free);
  g_clear_pointer (&inv->timesteps, g_free);
  inv->steps = 0;
}

GvTensor *
gv_inversion_noisiest (GvInversion *inv)
{
  return inv->levels[inv->steps];
}

GvTensor *
gv_inversion_at (GvInversion *inv, GvScheduler *s, GvCmd *cmd, gint t)
{
  if (t < 0)
    return gv_tensor_ref (inv->levels[0]);
  for (gint k = 0; k < inv->steps; k++)
    if (inv->timesteps[k] == t)
      return gv_tensor_ref (inv->levels[k + 1]);

  /* eps = (Z_T - sqrt (a_T) z0) / sqrt (1 - a_T); z_t = sqrt (a_t) z0 + sqrt (1 - a_t) eps */
  const gfloat *ac = gv_scheduler_get_alphas_cumprod (s);
  gdouble a_big = ac[inv->timesteps[inv->steps - 1]], a_t = ac[t];
  gdouble k_eps = sqrt (1 - a_t) / sqrt (1 - a_big);
  GvTensor *z0 = inv->levels[0], *zt = inv->levels[inv->steps];
  GvTensor *out = gv_tensor_like (cmd, z0);
  gv_op_binary (cmd, out, z0, zt, GV_BINARY_ADD, (gfloat) (sqrt (a_t) - k_eps * sqrt (a_big)),
      (gfloat) k_eps);
  return out;
}

static void
dilate (gfloat *mask, gint height, gint width, gint radius)
{
  gfloat *src = g_memdup2 (mask, (gsize) height * width * sizeof (gfloat));
  for (gint y = 0; y < height; y++) {
    for (gint x = 0; x < width; x++) {
      gfloat v = 0;
      for (gint dy = -radius; dy <= radius && v == 0; dy++) {
        for (gint dx = -radius; dx <= radius && v == 0; dx++) {
          gint yy = y + dy, xx = x + dx;
          if (yy >= 0 && yy < height && xx >= 0 && xx < width)
            v = src[yy * width + xx];
        }
      }
      mask[y * width + x] = v;
    }
  }
  g_free (src);
}

gboolean
gv_masks_from_differences (gfloat *diff, gint frames, gint height, gint width,
    gfloat clamp_ratio, gfloat threshold, gint dilation, GError **error)
{
  gsize plane = (gsize) height * width;
  /* a NaN would compare false everywhere and give an empty mask: the model broke down */
  for (gsize i = 0; i < frames * plane; i++) {
    if (!isfinite (diff[i])) {
      g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "the mask differences of frame %"
          G_GSIZE_FORMAT " are not finite (%g at latent pixel (%" G_GSIZE_FORMAT ", %"
          G_GSIZE_FORMAT ")): the model's predictions overflowed or hold NaN", i / plane,
          diff[i], i % plane % width, i % plane / width);
      return FALSE;
    }
  }
  for (gint n = 0; n < frames; n++) {
    gfloat *d = diff + n * plane;
    gdouble mean = 0;
    for (gsize i = 0; i < plane; i++)
      mean += d[i];
    mean /= plane;
    gdouble limit = clamp_ratio * mean;
    for (gsize i = 0; i < plane; i++) {
      /* no difference at all (identical conditions): an empty mask, not 0/0 */
      gdouble v = limit > 0 ? MIN (MAX (d[i], 0.0), limit) / limit : 0.0;
      d[i] = v > threshold ? 1.0f : 0.0f;
    }
    if (dilation > 0)
      dilate (d, height, width, dilation);
  }
  return TRUE;
}

gfloat *
gv_invedit_differences (GvDenoiser *d, GvScheduler *s, GvCmd *cmd, GvInversion *inv,
    const GvCondition *src, const GvCondition *trg, const GvMaskParams *p,
    GvProgressFunc progress, gpointer progress_data, GError **error)
{
  GvTensor *zt = gv_inversion_noisiest (inv);
  gint64 f = zt->shape[0], ch = zt->shape[1], h = zt->shape[2], w = zt->shape[3];
  gint *timesteps = gv_scheduler_timesteps (s, p->steps);
  GvDenoiser guided = *d;
  const GvCondition *conds[2] = { src, trg };
  GvTensor *z[2] = { gv_tensor_ref (zt), gv_tensor_ref (zt) };
  GvTensor *diff = GV_TENSOR (cmd, f, h * w);
  gfloat *avg = NULL;

  guided.guidance_scale = p->guidance_scale;
  guided.mask = NULL;
  gv_tensor_record_fill (cmd, diff, 0.0f);
  for (gint i = 0; i < p->steps; i++) {
    GvTensor *out[2], *noise[2], *flat[2];
    gint t = timesteps[i];
    gv_denoise (&guided, cmd, t, 2, z, conds, out, NULL, NULL);
    /* the paper's |eps_src - eps_trg|: each branch's output as the noise it implies on its own
     * latents, whatever the model predicts (v for SD-2.1-unCLIP) */
    for (gint b = 0; b < 2; b++) {
      noise[b] = gv_tensor_like (cmd, z[b]);
      gv_scheduler_predict_noise (s, cmd, t, out[b], z[b], noise[b]);
      flat[b] = GV_VIEW (noise[b], 0, f, ch, h * w);
    }
    if (p->from_model_output) {
      for (gint b = 0; b < 2; b++) {
        gv_tensor_unref (flat[b]);
        flat[b] = GV_VIEW (out[b], 0, f, ch, h * w);
      }
    }
    gv_op_mean_abs_diff (cmd, diff, flat[0], flat[1], TRUE);
    for (gint b = 0; b < 2; b++) {
      GvTensor *next = gv_tensor_like (cmd, z[b]);
      gv_scheduler_step (s, cmd, p->steps, t, out[b], z[b], next, NULL);
      gv_tensor_unref (flat[b]);
      gv_tensor_unref (noise[b]);
      gv_tensor_unref (out[b]);
      gv_tensor_unref (z[b]);
      z[b] = next;
    }
    if (!finish_step (cmd, "masks", i + 1, p->steps, progress, progress_data, error))
      goto out;
  }

  avg = g_new (gfloat, f * h * w);
  gv_tensor_record_download (cmd, diff, avg);
  if (!gv_cmd_finish (cmd, error)) {
    g_clear_pointer (&avg, g_free);
    goto out;
  }
  for (gint64 i = 0; i < f * h * w; i++)
    avg[i] /= p->steps;

out:
  gv_tensor_unref (z[0]);
  gv_tensor_unref (z[1]);
  gv_tensor_unref (diff);
  g_free (timesteps);
  return avg;
}
