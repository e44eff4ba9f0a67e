/* Tune-A-Video's loss and optimiser step in double: MSE against the v-prediction target,
 * global-norm gradient clipping and AdamW, as torch computes them. */
#include <math.h>

#include "gv-ref-back.h"

void
gv_ref_v_target (gdouble *target, const gdouble *z0, const gdouble *eps, gdouble alpha_bar,
    gint64 n)
{
  for (gint64 i = 0; i < n; i++)
    target[i] = sqrt (alpha_bar) * eps[i] - sqrt (1.0 - alpha_bar) * z0[i];
}

gdouble
gv_ref_mse_forward (const gdouble *pred, const gdouble *target, gint64 n)
{
  gdouble s = 0;
  for (gint64 i = 0; i < n; i++)
    s += (pred[i] - target[i]) * (pred[i] - target[i]);
  return s / n;
}

void
gv_ref_mse_backward (gdouble *dpred, gdouble dloss, const gdouble *pred, const gdouble *target,
    gint64 n)
{
  for (gint64 i = 0; i < n; i++)
    dpred[i] += dloss * 2.0 * (pred[i] - target[i]) / n;
}

gdouble
gv_ref_clip_grad_norm (gdouble *const *grads, const gint64 *sizes, gint n_tensors,
    gdouble max_norm)
{
  gdouble sq = 0;
  for (gint t = 0; t < n_tensors; t++)
    for (gint64 i = 0; i < sizes[t]; i++)
      sq += grads[t][i] * grads[t][i];
  gdouble norm = sqrt (sq);
  /* torch multiplies by min (max_norm / (norm + 1e-6), 1) */
  gdouble coef = max_norm / (norm + 1e-6);
  if (coef < 1.0)
    for (gint t = 0; t < n_tensors; t++)
      for (gint64 i = 0; i < sizes[t]; i++)
        grads[t][i] *= coef;
  return norm;
}

void
gv_ref_adamw_step (gdouble *param, gdouble *m, gdouble *v, const gdouble *grad, gint64 n,
    gint step, const GvRefAdamW *o)
{
  gdouble bias1 = 1.0 - pow (o->beta1, step), bias2 = 1.0 - pow (o->beta2, step);
  for (gint64 i = 0; i < n; i++) {
    param[i] *= 1.0 - o->lr * o->weight_decay;     /* decoupled: not through the moments */
    m[i] = o->beta1 * m[i] + (1.0 - o->beta1) * grad[i];
    v[i] = o->beta2 * v[i] + (1.0 - o->beta2) * grad[i] * grad[i];
    param[i] -= o->lr * (m[i] / bias1) / (sqrt (v[i] / bias2) + o->eps);
  }
}
