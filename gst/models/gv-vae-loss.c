#include <math.h>

#include "models/gv-vae-loss.h"

#define LOGVAR_MIN -30.0f
#define LOGVAR_MAX 20.0f

/* the sign of @x (0 at 0: the subgradient torch's abs uses) */
static gfloat
sign (gfloat x)
{
  return x > 0 ? 1.0f : x < 0 ? -1.0f : 0.0f;
}

/* the edge term along one direction (neighbour at @step elements, @count pairs per row,
 * @rows rows of @row_stride): its sum, and its gradient times @scale added into @dpred */
static gdouble
edge_pass (const gfloat *pred, const gfloat *target, gint64 rows, gint64 row_stride,
    gint64 count, gint64 step, gfloat scale, gfloat *dpred)
{
  gdouble sum = 0;
  for (gint64 r = 0; r < rows; r++) {
    for (gint64 i = 0; i < count; i++) {
      gint64 a = r * row_stride + i, b = a + step;
      gfloat d = (pred[b] - pred[a]) - (target[b] - target[a]);
      sum += fabsf (d);
      if (dpred != NULL) {
        dpred[b] += scale * sign (d);
        dpred[a] -= scale * sign (d);
      }
    }
  }
  return sum;
}

gdouble
gv_vae_recon_loss (const GvVaeLossWeights *w, const gfloat *pred, const gfloat *target,
    gint n, gint c, gint h, gint w_, gfloat *dpred)
{
  gint64 count = (gint64) n * c * h * w_;
  gdouble l1 = 0, mse = 0;
  for (gint64 i = 0; i < count; i++) {
    gfloat d = pred[i] - target[i];
    l1 += fabsf (d);
    mse += (gdouble) d * d;
    if (dpred != NULL)
      dpred[i] = (w->l1 * sign (d) + w->mse * 2.0f * d) / count;
  }
  gdouble edge = 0;
  if (w->edge != 0) {
    gfloat scale = w->edge / count;
    gint64 planes = (gint64) n * c;
    /* horizontal: every row of every plane; vertical: every plane as one row of (h-1) w */
    edge += edge_pass (pred, target, planes * h, w_, w_ - 1, 1, scale, dpred);
    edge += edge_pass (pred, target, planes, (gint64) h * w_, (gint64) (h - 1) * w_, w_, scale,
        dpred);
  }
  return (w->l1 * l1 + w->mse * mse + w->edge * edge) / count;
}

gdouble
gv_vae_kl_loss (const GvVaeLossWeights *w, const gfloat *mean, const gfloat *logvar,
    gsize count, gsize image_elements, gfloat *dmean, gfloat *dlogvar)
{
  gdouble kl = 0, scale = w->kl / (gdouble) image_elements;
  for (gsize i = 0; i < count; i++) {
    gdouble var = exp (logvar[i]);
    kl += 0.5 * (mean[i] * (gdouble) mean[i] + var - 1.0 - logvar[i]);
    dmean[i] += (gfloat) (scale * mean[i]);
    if (logvar[i] > LOGVAR_MIN && logvar[i] < LOGVAR_MAX)
      dlogvar[i] += (gfloat) (scale * 0.5 * (var - 1.0));
  }
  return scale * kl;
}

void
gv_vae_sample (const gfloat *mean, const gfloat *logvar, const gfloat *eps, gsize count,
    gfloat *z)
{
  for (gsize i = 0; i < count; i++)
    z[i] = mean[i] + expf (0.5f * logvar[i]) * eps[i];
}

void
gv_vae_sample_backward (const gfloat *logvar, const gfloat *eps, const gfloat *dz,
    gsize count, gfloat *dmean, gfloat *dlogvar)
{
  for (gsize i = 0; i < count; i++) {
    dmean[i] += dz[i];
    if (logvar[i] > LOGVAR_MIN && logvar[i] < LOGVAR_MAX)
      dlogvar[i] += dz[i] * eps[i] * 0.5f * expf (0.5f * logvar[i]);
  }
}
