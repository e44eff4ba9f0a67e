#include "models/gv-unet-train.h"

struct _GvUNetTrainer {
  GvUNet *unet;
  GvUNetTemporal *temporal;
  GvDevice *dev;
  GvOptimizer *opt;
  gboolean recompute;
  guint64 peak;
  GvTensor *loss_weight;
};

GvUNetTrainer *
gv_unet_trainer_new (GvUNet *unet, GvUNetTemporal *temporal, GvTrainableSet which,
    const GvAdamWParams *opt, gboolean recompute, GError **error)
{
  GvUNetTrainer *tr = g_new0 (GvUNetTrainer, 1);
  tr->unet = unet;
  tr->temporal = temporal;
  tr->recompute = recompute;
  tr->dev = gv_unet_get_device (unet);
  tr->opt = gv_optimizer_new (tr->dev, opt);

  if (!gv_unet_foreach_param (unet, temporal, which == GV_TRAIN_TAV, gv_optimizer_add_param,
          tr->opt, error) || !gv_optimizer_take_error (tr->opt, error)) {
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
  gv_optimizer_free (tr->opt);
  g_clear_pointer (&tr->loss_weight, gv_tensor_unref);
  g_free (tr);
}

void
gv_unet_trainer_set_lr (GvUNetTrainer *tr, gdouble lr)
{
  gv_optimizer_set_lr (tr->opt, lr);
}

void
gv_unet_trainer_set_recompute (GvUNetTrainer *tr, gboolean recompute)
{
  tr->recompute = recompute;
}

void
gv_unet_trainer_set_loss_weight (GvUNetTrainer *tr, GvTensor *weight)
{
  if (weight != NULL)
    gv_tensor_ref (weight);
  g_clear_pointer (&tr->loss_weight, gv_tensor_unref);
  tr->loss_weight = weight;
}

GvOptimizer *
gv_unet_trainer_get_optimizer (GvUNetTrainer *tr)
{
  return tr->opt;
}

typedef struct {
  GvTensor *target, *weight;
  gfloat loss;
} Loss;

static GvTensor *
mse_grad (GvCmd *cmd, GvTensor *out, gpointer data)
{
  Loss *l = data;
  GvTensor *dout = gv_tensor_like (cmd, out);
  gv_op_mse_loss (cmd, dout, out, l->target, &l->loss, FALSE);
  if (l->weight == NULL)
    return dout;
  /* d/dpred of mean (w (pred - target)^2) */
  GvTensor *weighted = gv_tensor_like (cmd, out);
  gv_op_mul (cmd, weighted, dout, l->weight);
  gv_tensor_unref (dout);
  return weighted;
}

gboolean
gv_unet_trainer_step (GvUNetTrainer *tr, GvCmd *cmd, GvTensor *noisy_latents, gint frames,
    const gfloat *timesteps, GvTensor *text, GvTensor *class_labels, GvTensor *target,
    gfloat max_grad_norm, gfloat *loss_out, gfloat *grad_norm_out, GError **error)
{
  const GvUNetConfig *c = gv_unet_get_config (tr->unet);
  guint64 bytes, peak, block_bytes, block_peak;
  Loss loss = { target, tr->loss_weight, 0 };

  if (target == NULL || noisy_latents == NULL || noisy_latents->ndim != 4 ||
      target->numel != noisy_latents->numel / c->in_channels * c->out_channels) {
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID,
        "training step: the target must have the model output's shape");
    return FALSE;
  }
  if (tr->loss_weight != NULL && tr->loss_weight->numel != target->numel) {
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID,
        "training step: the loss weight must have the target's shape");
    return FALSE;
  }
  gv_device_reset_peak_memory (tr->dev);
  gv_optimizer_zero_grads (tr->opt, cmd);
  GvUNetInputs in = {
    .frames = frames,
    .temporal = tr->temporal,
    .timesteps = timesteps,
    .encoder_hidden_states = text,
    .class_labels = class_labels,
  };
  GvGrads g = gv_optimizer_get_grads (tr->opt);
  gv_unet_forward_backward (tr->unet, cmd, noisy_latents, &in, &g, tr->recompute, mse_grad,
      &loss);
  if (!gv_optimizer_step (tr->opt, cmd, max_grad_norm, grad_norm_out, error))
    return FALSE;
  gv_device_get_memory_stats (tr->dev, &bytes, &peak, &block_bytes, &block_peak);
  tr->peak = peak;
  if (loss_out != NULL)
    *loss_out = loss.loss;
  return TRUE;
}

guint64
gv_unet_trainer_get_peak_memory (GvUNetTrainer *tr)
{
  return tr->peak;
}
