#include "models/gv-unet-train.h"

struct _GvUNetTrainer {
  GvUNet *unet;
  GvUNetTemporal *temporal;
  GvDevice *dev;
  GvAdamW opt;
  gboolean recompute;
  GPtrArray *names;               /* gchar *, state-dict names */
  GPtrArray *params, *grads, *m, *v;
  GHashTable *index;              /* param -> position + 1 */
  GvTensor *clip;                 /* [2]: norm, factor */
  gint step;
  guint64 peak;
  GError *error;                  /* while collecting */
};

static void
add_param (const gchar *name, GvTensor *param, gpointer data)
{
  GvUNetTrainer *tr = data;
  if (tr->error != NULL || g_hash_table_contains (tr->index, param))
    return;
  GvTensor *t[3] = { NULL };
  for (gint i = 0; i < 3 && tr->error == NULL; i++)
    t[i] = gv_tensor_new (tr->dev, param->ndim, param->shape, &tr->error);
  if (tr->error != NULL) {
    for (gint i = 0; i < 3; i++)
      g_clear_pointer (&t[i], gv_tensor_unref);
    return;
  }
  g_ptr_array_add (tr->names, g_strdup (name));
  g_ptr_array_add (tr->params, gv_tensor_ref (param));
  g_ptr_array_add (tr->grads, t[0]);
  g_ptr_array_add (tr->m, t[1]);
  g_ptr_array_add (tr->v, t[2]);
  g_hash_table_insert (tr->index, param, GINT_TO_POINTER (tr->params->len));
}

static GvTensor *
grad_of (GvTensor *param, gpointer data)
{
  GvUNetTrainer *tr = data;
  gint i = GPOINTER_TO_INT (g_hash_table_lookup (tr->index, param));
  return i > 0 ? g_ptr_array_index (tr->grads, i - 1) : NULL;
}

/* records zeros into every tensor of @a */
static void
zero_all (GvCmd *cmd, GPtrArray *a)
{
  for (guint i = 0; i < a->len; i++)
    gv_tensor_record_fill (cmd, g_ptr_array_index (a, i), 0.0f);
}

GvUNetTrainer *
gv_unet_trainer_new (GvUNet *unet, GvUNetTemporal *temporal, GvTrainableSet which,
    const GvAdamWParams *opt, gboolean recompute, GError **error)
{
  GvUNetTrainer *tr = g_new0 (GvUNetTrainer, 1);
  tr->unet = unet;
  tr->temporal = temporal;
  tr->opt = *opt;
  tr->recompute = recompute;
  tr->names = g_ptr_array_new_with_free_func (g_free);
  tr->params = g_ptr_array_new_with_free_func ((GDestroyNotify) gv_tensor_unref);
  tr->grads = g_ptr_array_new_with_free_func ((GDestroyNotify) gv_tensor_unref);
  tr->m = g_ptr_array_new_with_free_func ((GDestroyNotify) gv_tensor_unref);
  tr->v = g_ptr_array_new_with_free_func ((GDestroyNotify) gv_tensor_unref);
  tr->index = g_hash_table_new (NULL, NULL);
  tr->dev = gv_unet_get_device (unet);

  if (!gv_unet_foreach_param (unet, temporal, which == GV_TRAIN_TAV, add_param, tr, error) ||
      (tr->error != NULL && (g_propagate_error (error, g_steal_pointer (&tr->error)), TRUE))) {
    gv_unet_trainer_free (tr);
    return NULL;
  }
  tr->clip = gv_tensor_new (tr->dev, 1, (const gint64[]) { 2 }, error);
  if (tr->clip == NULL) {
    gv_unet_trainer_free (tr);
    return NULL;
  }
  GvCmd *cmd = gv_cmd_new (tr->dev);
  zero_all (cmd, tr->m);
  zero_all (cmd, tr->v);
  gboolean ok = gv_cmd_finish (cmd, error);
  gv_cmd_free (cmd);
  if (!ok) {
    gv_unet_trainer_free (tr);
    return NULL;
  }
  return tr;
}

void
gv_unet_trainer_free (GvUNetTrainer *tr)
{
  if (tr == NULL)
    return;
  g_ptr_array_unref (tr->names);
  g_ptr_array_unref (tr->params);
  g_ptr_array_unref (tr->grads);
  g_ptr_array_unref (tr->m);
  g_ptr_array_unref (tr->v);
  g_hash_table_unref (tr->index);
  g_clear_pointer (&tr->clip, gv_tensor_unref);
  g_clear_error (&tr->error);
  g_free (tr);
}

void
gv_unet_trainer_set_lr (GvUNetTrainer *tr, gdouble lr)
{
  tr->opt.lr = lr;
}

void
gv_unet_trainer_set_recompute (GvUNetTrainer *tr, gboolean recompute)
{
  tr->recompute = recompute;
}

typedef struct {
  GvTensor *target;
  gfloat loss;
} Loss;

static GvTensor *
mse_grad (GvCmd *cmd, GvTensor *out, gpointer data)
{
  Loss *l = data;
  GvTensor *dout = gv_tensor_like (cmd, out);
  gv_op_mse_loss (cmd, dout, out, l->target, &l->loss, FALSE);
  return dout;
}

gboolean
gv_unet_trainer_step (GvUNetTrainer *tr, GvCmd *cmd, GvTensor *noisy_latents, gint frames,
    const gfloat *timesteps, GvTensor *text, GvTensor *class_labels, GvTensor *target,
    gfloat max_grad_norm, gfloat *loss_out, gfloat *grad_norm_out, GError **error)
{
  const GvUNetConfig *c = gv_unet_get_config (tr->unet);
  guint64 bytes, peak, block_bytes, block_peak;
  gfloat clip[2] = { 0, 1 };
  Loss loss = { target, 0 };

  if (target == NULL || noisy_latents == NULL || noisy_latents->ndim != 4 ||
      target->numel != noisy_latents->numel / c->in_channels * c->out_channels) {
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID,
        "training step: the target must have the model output's shape");
    return FALSE;
  }
  gv_device_reset_peak_memory (tr->dev);
  zero_all (cmd, tr->grads);
  GvUNetInputs in = {
    .frames = frames,
    .temporal = tr->temporal,
    .timesteps = timesteps,
    .encoder_hidden_states = text,
    .class_labels = class_labels,
  };
  GvGrads g = { grad_of, tr };
  gv_unet_forward_backward (tr->unet, cmd, noisy_latents, &in, &g, tr->recompute, mse_grad,
      &loss);
  /* the norm with max_norm +inf gives factor 1: no clipping */
  gv_op_clip_grad_norm (cmd, tr->clip, (GvTensor *const *) tr->grads->pdata, tr->grads->len,
      max_grad_norm > 0 ? max_grad_norm : G_MAXFLOAT);
  gv_tensor_record_download (cmd, tr->clip, clip);
  /* a cancelled or failed step leaves the weights as they were */
  if (!gv_cmd_finish (cmd, error))
    return FALSE;

  tr->step++;
  for (guint i = 0; i < tr->params->len; i++)
    gv_op_adamw_step (cmd, g_ptr_array_index (tr->params, i), g_ptr_array_index (tr->m, i),
        g_ptr_array_index (tr->v, i), g_ptr_array_index (tr->grads, i), tr->clip, tr->step,
        &tr->opt);
  if (!gv_cmd_finish (cmd, error))
    return FALSE;
  gv_device_get_memory_stats (tr->dev, &bytes, &peak, &block_bytes, &block_peak);
  tr->peak = peak;
  if (loss_out != NULL)
    *loss_out = loss.loss;
  if (grad_norm_out != NULL)
    *grad_norm_out = clip[0];
  return TRUE;
}

gint
gv_unet_trainer_get_step_count (GvUNetTrainer *tr)
{
  return tr->step;
}

gint
gv_unet_trainer_get_n_params (GvUNetTrainer *tr)
{
  return tr->params->len;
}

const gchar *
gv_unet_trainer_get_param_name (GvUNetTrainer *tr, gint i)
{
  return g_ptr_array_index (tr->names, i);
}

GvTensor *
gv_unet_trainer_get_param (GvUNetTrainer *tr, gint i)
{
  return g_ptr_array_index (tr->params, i);
}

GvTensor *
gv_unet_trainer_lookup_param (GvUNetTrainer *tr, const gchar *name)
{
  for (guint i = 0; i < tr->names->len; i++)
    if (g_str_equal (g_ptr_array_index (tr->names, i), name))
      return g_ptr_array_index (tr->params, i);
  return NULL;
}

GvTensor *
gv_unet_trainer_get_grad (GvUNetTrainer *tr, gint i)
{
  return g_ptr_array_index (tr->grads, i);
}

guint64
gv_unet_trainer_get_peak_memory (GvUNetTrainer *tr)
{
  return tr->peak;
}
