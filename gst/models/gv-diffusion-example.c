#include "models/gv-diffusion-example.h"
#include "models/gv-random.h"
#include "nn/gv-op-eltwise.h"
#include <math.h>

void
gv_diffusion_example_record (GvScheduler *s, GvPredictionType prediction, GvCmd *cmd,
    gint t, GvTensor *z0, GvTensor *noise, GvTensor *noisy, GvTensor *target)
{
  gv_scheduler_add_noise (s, cmd, t, z0, noise, noisy);
  gdouble a = gv_scheduler_get_alphas_cumprod (s)[t];
  switch (prediction) {
    case GV_PREDICT_V:
      gv_op_binary (cmd, target, noise, z0, GV_BINARY_ADD, (gfloat) sqrt (a),
          (gfloat) -sqrt (1.0 - a));
      break;
    case GV_PREDICT_SAMPLE:
      gv_tensor_record_copy (cmd, target, z0);
      break;
    case GV_PREDICT_EPSILON:
    default:
      gv_tensor_record_copy (cmd, target, noise);
      break;
  }
}

GvTensor *
gv_diffusion_class_labels (GvImageNoiser *noiser, GvCmd *cmd, GvTensor *embeds,
    gboolean drop, gint level, guint64 noise_seed)
{
  if (drop) {
    GvTensor *zeros = GV_TENSOR (cmd, embeds->shape[0], 2 * embeds->shape[1]);
    gv_tensor_record_fill (cmd, zeros, 0.0f);
    return zeros;
  }
  GvTensor *noise = gv_random_normal_tensor (cmd, 2, embeds->shape, noise_seed);
  GvTensor *labels = gv_image_noiser_apply (noiser, cmd, embeds, level, noise);
  gv_tensor_unref (noise);
  return labels;
}
