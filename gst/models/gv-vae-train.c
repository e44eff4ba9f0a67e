#include <math.h>
#include <string.h>

#include "models/gv-random.h"
#include "models/gv-vae-train.h"

struct _GvVaeTrainer {
  GvVae *vae;
  GvOptimizer *opt;
  GvVaeLossWeights w;
  guint64 seed;
};

GvVaeTrainer *
gv_vae_trainer_new (GvVae *vae, const GvAdamW *opt, GError **error)
{
  GvVaeTrainer *tr = g_new0 (GvVaeTrainer, 1);
  GvVaeLossWeights w = GV_VAE_LOSS_WEIGHTS_DEFAULT;
  tr->vae = vae;
  tr->w = w;
  tr->opt = gv_optimizer_new (gv_vae_get_device (vae), opt);
  gv_vae_foreach_param (vae, gv_optimizer_add_param, tr->opt);
  if (!gv_optimizer_take_error (tr->opt, error)) {
    gv_vae_trainer_free (tr);
    return NULL;
  }
  return tr;
}

void
gv_vae_trainer_free (GvVaeTrainer *tr)
{
  if (tr == NULL)
    return;
  gv_optimizer_free (tr->opt);
  g_free (tr);
}

void
gv_vae_trainer_set_loss_weights (GvVaeTrainer *tr, const GvVaeLossWeights *w)
{
  tr->w = *w;
}

void
gv_vae_trainer_set_seed (GvVaeTrainer *tr, guint64 seed)
{
  tr->seed = seed;
}

guint64
gv_vae_trainer_eps_seed (guint64 seed, gint step)
{
  return seed * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15) + (guint64) step;
}

GvOptimizer *
gv_vae_trainer_get_optimizer (GvVaeTrainer *tr)
{
  return tr->opt;
}

/* One step's state: the host side of the loss. */
typedef struct {
  GvVaeTrainer *tr;
  GvGrads g;
  const GvTensor *images;
  gfloat *target;                 /* the images on the host */
  gdouble recon, kl;
  GError *error;
} Step;

/* runs what is recorded so far; on failure @cmd stays failed (later recording is skipped)
 * and the error is kept for the step */
static gboolean
step_sync (Step *s, GvCmd *cmd)
{
  if (s->error == NULL && gv_cmd_finish (cmd, &s->error))
    return TRUE;
  gv_cmd_failf (cmd, s->error->code, "%s", s->error->message);
  return FALSE;
}

static GvTensor *
image_grad (GvCmd *cmd, GvTensor *image, gpointer data)
{
  Step *s = data;
  GvTensor *d = gv_tensor_like (cmd, image);
  gfloat *pred = g_new (gfloat, image->numel), *dpred = NULL;
  gv_tensor_record_download (cmd, image, pred);
  if (step_sync (s, cmd)) {
    dpred = g_new (gfloat, image->numel);
    s->recon = gv_vae_recon_loss (&s->tr->w, pred, s->target, image->shape[0],
        image->shape[1], image->shape[2], image->shape[3], dpred);
    gv_tensor_record_upload (cmd, d, dpred);
  }
  g_free (pred);
  g_free (dpred);
  return d;
}

static void
latent_grad (GvCmd *cmd, GvTensor *mean, GvTensor *logvar, GvTensor *dmean, GvTensor *dlogvar,
    gpointer data)
{
  Step *s = data;
  gsize n = mean->numel;
  gfloat *m = g_new (gfloat, n), *lv = g_new (gfloat, n), *eps = g_new (gfloat, n);
  gfloat *z = g_new (gfloat, n), *dm = g_new0 (gfloat, n), *dlv = g_new0 (gfloat, n);
  gv_tensor_record_download (cmd, mean, m);
  gv_tensor_record_download (cmd, logvar, lv);
  if (step_sync (s, cmd)) {
    gint k = gv_optimizer_get_step_count (s->tr->opt);
    gv_random_normal (eps, n, gv_vae_trainer_eps_seed (s->tr->seed, k));
    gv_vae_sample (m, lv, eps, n, z);
    GvTensor *zt = gv_tensor_like (cmd, mean), *dz = gv_tensor_like (cmd, mean);
    gv_tensor_record_upload (cmd, zt, z);
    gv_vae_decode_backward (s->tr->vae, cmd, zt, &s->g, image_grad, s, dz);
    gv_tensor_record_download (cmd, dz, z);
    gboolean ok = step_sync (s, cmd);
    gv_tensor_unref (zt);
    gv_tensor_unref (dz);
    if (ok) {
      s->kl = gv_vae_kl_loss (&s->tr->w, m, lv, n, s->images->numel, dm, dlv);
      gv_vae_sample_backward (lv, eps, z, n, dm, dlv);
      gv_tensor_record_upload (cmd, dmean, dm);
      gv_tensor_record_upload (cmd, dlogvar, dlv);
    }
  }
  g_free (m);
  g_free (lv);
  g_free (eps);
  g_free (z);
  g_free (dm);
  g_free (dlv);
}

static gboolean
check_images (GvVae *vae, GvTensor *images, GError **error)
{
  gint f = gv_vae_get_factor (vae);
  if (images != NULL && images->ndim == 4 &&
      images->shape[1] == gv_vae_get_config (vae)->in_channels && images->shape[0] > 0 &&
      images->shape[2] > 0 && images->shape[3] > 0 && images->shape[2] % f == 0 &&
      images->shape[3] % f == 0)
    return TRUE;
  g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "VAE: the images must be [B, %d, H, W] "
      "with H and W multiples of %d", gv_vae_get_config (vae)->in_channels, f);
  return FALSE;
}

gboolean
gv_vae_trainer_step (GvVaeTrainer *tr, GvCmd *cmd, GvTensor *images, gfloat max_grad_norm,
    gfloat *loss_out, gfloat *recon_out, GError **error)
{
  Step s = { tr, gv_optimizer_get_grads (tr->opt), images };

  if (!check_images (tr->vae, images, error))
    return FALSE;
  s.target = g_new (gfloat, images->numel);
  gv_optimizer_zero_grads (tr->opt, cmd);
  gv_tensor_record_download (cmd, images, s.target);
  gv_vae_encode_backward (tr->vae, cmd, images, &s.g, latent_grad, &s);
  g_free (s.target);
  if (s.error != NULL) {
    /* clear the failure we re-raised on @cmd; the weights are untouched */
    gv_cmd_finish (cmd, NULL);
    g_propagate_error (error, s.error);
    return FALSE;
  }
  if (!gv_optimizer_step (tr->opt, cmd, max_grad_norm, NULL, error))
    return FALSE;
  if (loss_out != NULL)
    *loss_out = (gfloat) (s.recon + s.kl);
  if (recon_out != NULL)
    *recon_out = (gfloat) s.recon;
  return TRUE;
}

static void
reset_norm (const gchar *name, GvTensor *t, gpointer data)
{
  GError **error = data;
  gboolean weight = g_str_has_suffix (name, "norm1.weight") ||
      g_str_has_suffix (name, "norm2.weight") || g_str_has_suffix (name, "norm.weight") ||
      g_str_has_suffix (name, "norm_out.weight");
  gboolean bias = g_str_has_suffix (name, "norm1.bias") ||
      g_str_has_suffix (name, "norm2.bias") || g_str_has_suffix (name, "norm.bias") ||
      g_str_has_suffix (name, "norm_out.bias");
  if (*error != NULL || !(weight || bias))
    return;
  gfloat *v = g_new (gfloat, t->numel);
  for (gint64 i = 0; i < t->numel; i++)
    v[i] = weight ? 1.0f : 0.0f;
  gv_tensor_upload (t, v, error);
  g_free (v);
}

gboolean
gv_vae_init_norms (GvVae *vae, GError **error)
{
  GError *e = NULL;
  gv_vae_foreach_param (vae, reset_norm, &e);
  if (e != NULL) {
    g_propagate_error (error, e);
    return FALSE;
  }
  return TRUE;
}

gdouble
gv_vae_latent_std (GvVae *vae, GvCmd *cmd, GvTensor *images, GError **error)
{
  GvTensor *mean;
  if (!check_images (vae, images, error))
    return -1;
  gv_vae_encode (vae, cmd, images, &mean, NULL);
  gfloat *m = g_new (gfloat, mean->numel);
  gint64 n = mean->numel;
  gv_tensor_record_download (cmd, mean, m);
  gv_tensor_unref (mean);
  gdouble sum = 0, sq = 0;
  if (!gv_cmd_finish (cmd, error)) {
    g_free (m);
    return -1;
  }
  for (gint64 i = 0; i < n; i++)
    sum += m[i];
  gdouble mu = sum / n;
  for (gint64 i = 0; i < n; i++)
    sq += (m[i] - mu) * (m[i] - mu);
  g_free (m);
  return sqrt (sq / MAX (n - 1, 1));
}
