/* GroupNorm (per frame or across the frames of a clip, optionally fused with SiLU) and
 * LayerNorm, forward and backward in double.
 *
 * Both normalise a set of N values: xhat = (x - mean) * rstd, rstd = 1 / sqrt (var + eps),
 * then z = gamma xhat + beta. With dxhat = gamma dz the input gradient of the set is
 *   dx = rstd * (dxhat - mean (dxhat) - xhat * mean (dxhat * xhat))
 * (the two means come from mean and var depending on every x of the set). */
#include <math.h>

#include "gv-ref-back.h"

static gdouble
sigmoid (gdouble x)
{
  return 1.0 / (1.0 + exp (-x));
}

/* d silu (z) / dz */
static gdouble
silu_grad (gdouble z)
{
  gdouble s = sigmoid (z);
  return s * (1.0 + z * (1.0 - s));
}

/* offset of channel @ch of image @img in x [n, c, s] */
#define AT(img, ch) (((gint64) (img) * c + (ch)) * s)

void
gv_ref_group_norm_forward (gdouble *y, gdouble *mean, gdouble *rstd, const gdouble *x,
    const gdouble *gamma, const gdouble *beta, gint64 n, gint64 c, gint64 s, gint groups,
    gint frames, gdouble eps, gboolean silu)
{
  gint64 cpg = c / groups, count = cpg * s * frames;
  for (gint64 clip = 0; clip < n / frames; clip++) {
    for (gint g = 0; g < groups; g++) {
      gint64 f0 = clip * frames, stat = clip * groups + g;
      gdouble sum = 0, sq = 0;
      for (gint64 f = f0; f < f0 + frames; f++)
        for (gint64 ch = g * cpg; ch < (g + 1) * cpg; ch++)
          for (gint64 i = 0; i < s; i++)
            sum += x[AT (f, ch) + i];
      mean[stat] = sum / count;
      for (gint64 f = f0; f < f0 + frames; f++)
        for (gint64 ch = g * cpg; ch < (g + 1) * cpg; ch++)
          for (gint64 i = 0; i < s; i++)
            sq += (x[AT (f, ch) + i] - mean[stat]) * (x[AT (f, ch) + i] - mean[stat]);
      rstd[stat] = 1.0 / sqrt (sq / count + eps);
      for (gint64 f = f0; f < f0 + frames; f++) {
        for (gint64 ch = g * cpg; ch < (g + 1) * cpg; ch++) {
          for (gint64 i = 0; i < s; i++) {
            gdouble z = (x[AT (f, ch) + i] - mean[stat]) * rstd[stat];
            z = z * (gamma ? gamma[ch] : 1.0) + (beta ? beta[ch] : 0.0);
            y[AT (f, ch) + i] = silu ? z * sigmoid (z) : z;
          }
        }
      }
    }
  }
}

void
gv_ref_group_norm_backward (gdouble *dx, gdouble *dgamma, gdouble *dbeta, const gdouble *dy,
    const gdouble *x, const gdouble *mean, const gdouble *rstd, const gdouble *gamma,
    const gdouble *beta, gint64 n, gint64 c, gint64 s, gint groups, gint frames,
    gboolean silu)
{
  gint64 cpg = c / groups, count = cpg * s * frames;
  gdouble *dxhat = g_new (gdouble, count), *xhat = g_new (gdouble, count);

  for (gint64 clip = 0; clip < n / frames; clip++) {
    for (gint g = 0; g < groups; g++) {
      gint64 f0 = clip * frames, stat = clip * groups + g, e = 0;
      gdouble mean_d = 0, mean_dx = 0;
      /* first pass: through SiLU and the affine, gamma and beta gradients */
      for (gint64 f = f0; f < f0 + frames; f++) {
        for (gint64 ch = g * cpg; ch < (g + 1) * cpg; ch++) {
          gdouble gm = gamma ? gamma[ch] : 1.0;
          for (gint64 i = 0; i < s; i++, e++) {
            xhat[e] = (x[AT (f, ch) + i] - mean[stat]) * rstd[stat];
            gdouble dz = dy[AT (f, ch) + i];
            if (silu)
              dz *= silu_grad (xhat[e] * gm + (beta ? beta[ch] : 0.0));
            if (dgamma)
              dgamma[ch] += dz * xhat[e];
            if (dbeta)
              dbeta[ch] += dz;
            dxhat[e] = dz * gm;
            mean_d += dxhat[e];
            mean_dx += dxhat[e] * xhat[e];
          }
        }
      }
      mean_d /= count;
      mean_dx /= count;
      /* second pass: through the statistics */
      e = 0;
      for (gint64 f = f0; f < f0 + frames; f++)
        for (gint64 ch = g * cpg; ch < (g + 1) * cpg; ch++)
          for (gint64 i = 0; i < s; i++, e++)
            if (dx)
              dx[AT (f, ch) + i] += rstd[stat] * (dxhat[e] - mean_d - xhat[e] * mean_dx);
    }
  }
  g_free (dxhat);
  g_free (xhat);
}

#undef AT

void
gv_ref_layer_norm_forward (gdouble *y, gdouble *mean, gdouble *rstd, const gdouble *x,
    const gdouble *gamma, const gdouble *beta, gint64 rows, gint64 len, gdouble eps)
{
  for (gint64 r = 0; r < rows; r++) {
    const gdouble *xr = x + r * len;
    gdouble sum = 0, sq = 0;
    for (gint64 i = 0; i < len; i++)
      sum += xr[i];
    mean[r] = sum / len;
    for (gint64 i = 0; i < len; i++)
      sq += (xr[i] - mean[r]) * (xr[i] - mean[r]);
    rstd[r] = 1.0 / sqrt (sq / len + eps);
    for (gint64 i = 0; i < len; i++)
      y[r * len + i] = (xr[i] - mean[r]) * rstd[r] * (gamma ? gamma[i] : 1.0) +
          (beta ? beta[i] : 0.0);
  }
}

void
gv_ref_layer_norm_backward (gdouble *dx, gdouble *dgamma, gdouble *dbeta, const gdouble *dy,
    const gdouble *x, const gdouble *mean, const gdouble *rstd, const gdouble *gamma,
    gint64 rows, gint64 len)
{
  for (gint64 r = 0; r < rows; r++) {
    const gdouble *xr = x + r * len, *dyr = dy + r * len;
    gdouble mean_d = 0, mean_dx = 0;
    for (gint64 i = 0; i < len; i++) {
      gdouble xhat = (xr[i] - mean[r]) * rstd[r];
      gdouble dxhat = dyr[i] * (gamma ? gamma[i] : 1.0);
      if (dgamma)
        dgamma[i] += dyr[i] * xhat;
      if (dbeta)
        dbeta[i] += dyr[i];
      mean_d += dxhat;
      mean_dx += dxhat * xhat;
    }
    mean_d /= len;
    mean_dx /= len;
    for (gint64 i = 0; dx && i < len; i++) {
      gdouble xhat = (xr[i] - mean[r]) * rstd[r];
      gdouble dxhat = dyr[i] * (gamma ? gamma[i] : 1.0);
      dx[r * len + i] += rstd[r] * (dxhat - mean_d - xhat * mean_dx);
    }
  }
}
