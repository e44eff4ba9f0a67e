#include "models/gv-unclip.h"

struct _GvImageNoiser {
  gint dim;
  GvTensor *mean, *std, *inv_std;   /* [1, P] */
  GvScheduler *schedule;
};

GvImageNoiser *
gv_image_noiser_new_from_weights (GvDevice *dev, GvWeights *w,
    const GvImageNormalizerConfig *cfg, const GvSchedulerConfig *noising, GError **error)
{
  gint p = cfg->embedding_dim;
  GvImageNoiser *n = g_new0 (GvImageNoiser, 1);
  n->dim = p;
  gfloat *std = gv_weights_read (w, "std", 2, (const gint64[]) { 1, p }, error);
  if (std != NULL) {
    gfloat *inv = g_new (gfloat, p);
    for (gint i = 0; i < p; i++)
      inv[i] = 1.0f / std[i];
    n->std = gv_tensor_new_from_data (dev, 2, (const gint64[]) { 1, p }, std, error);
    if (n->std != NULL)
      n->inv_std = gv_tensor_new_from_data (dev, 2, (const gint64[]) { 1, p }, inv, error);
    g_free (inv);
    g_free (std);
  }
  if (n->inv_std != NULL) {
    gfloat *mean = gv_weights_read (w, "mean", 2, (const gint64[]) { 1, p }, error);
    if (mean != NULL)
      n->mean = gv_tensor_new_from_data (dev, 2, (const gint64[]) { 1, p }, mean, error);
    g_free (mean);
  }
  if (n->mean != NULL)
    n->schedule = gv_scheduler_new (noising, error);
  if (n->schedule == NULL) {
    gv_image_noiser_free (n);
    return NULL;
  }
  return n;
}

GvImageNoiser *
gv_image_noiser_load (GvDevice *dev, const gchar *normalizer_folder,
    const GvImageNormalizerConfig *cfg, const GvSchedulerConfig *noising, GError **error)
{
  GvWeights *w = gv_weights_open (normalizer_folder, FALSE, error);
  if (w == NULL)
    return NULL;
  GvImageNoiser *n = gv_image_noiser_new_from_weights (dev, w, cfg, noising, error);
  gv_weights_free (w);
  return n;
}

void
gv_image_noiser_free (GvImageNoiser *n)
{
  if (n == NULL)
    return;
  g_clear_pointer (&n->mean, gv_tensor_unref);
  g_clear_pointer (&n->std, gv_tensor_unref);
  g_clear_pointer (&n->inv_std, gv_tensor_unref);
  gv_scheduler_free (n->schedule);
  g_free (n);
}

GvScheduler *
gv_image_noiser_get_schedule (GvImageNoiser *n)
{
  return n->schedule;
}

GvTensor *
gv_image_noiser_apply (GvImageNoiser *n, GvCmd *cmd, GvTensor *embeds, gint noise_level,
    GvTensor *noise)
{
  gint64 rows = embeds->shape[0], p = n->dim;
  GvTensor *out = GV_TENSOR (cmd, rows, 2 * p);

  if (embeds->ndim != 2 || embeds->shape[1] != p || !gv_tensor_same_shape (embeds, noise)) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "image noising: embeddings and noise must be [N, %"
        G_GINT64_FORMAT "]", p);
    return out;
  }
  GvTensor *x = GV_TENSOR (cmd, rows, p);
  /* normalise, noise, un-normalise */
  gv_op_binary (cmd, x, embeds, n->mean, GV_BINARY_ADD, 1.0f, -1.0f);
  gv_op_mul (cmd, x, x, n->inv_std);
  gv_scheduler_add_noise (n->schedule, cmd, noise_level, x, noise, x);
  gv_op_mul (cmd, x, x, n->std);
  gv_op_add (cmd, x, x, n->mean);

  GvTensor *level = GV_TENSOR (cmd, rows);
  gv_tensor_record_fill (cmd, level, (gfloat) noise_level);
  GvTensor *emb = GV_TENSOR (cmd, rows, p);
  gv_op_timestep_embedding (cmd, emb, level, TRUE, 0.0f, 10000.0f);
  gv_op_concat (cmd, out, x, emb, 1);
  gv_tensor_unref (x);
  gv_tensor_unref (level);
  gv_tensor_unref (emb);
  return out;
}
