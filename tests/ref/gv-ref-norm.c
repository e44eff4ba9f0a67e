#include <math.h>

#include "gv-ref.h"

/* mean and biased variance of @n values at @x (stride 1), two-pass in double */
static void
moments (const gfloat *x, gint64 n, gdouble *mean, gdouble *var)
{
  gdouble s = 0, q = 0;
  for (gint64 i = 0; i < n; i++)
    s += x[i];
  *mean = s / n;
  for (gint64 i = 0; i < n; i++)
    q += (x[i] - *mean) * (x[i] - *mean);
  *var = q / n;
}

void
gv_ref_group_norm (gfloat *out, const gfloat *in, gint64 n, gint64 c, gint64 s,
    const gfloat *gamma, const gfloat *beta, gint groups, gint frames, gfloat eps,
    gboolean silu)
{
  gint64 cpg = c / groups, seg = cpg * s;
  for (gint64 clip = 0; clip < n / frames; clip++) {
    for (gint g = 0; g < groups; g++) {
      /* the group's segments of the clip's frames are each contiguous */
      gdouble sum = 0, q = 0, mean;
      for (gint f = 0; f < frames; f++) {
        const gfloat *x = in + ((clip * frames + f) * c + g * cpg) * s;
        for (gint64 i = 0; i < seg; i++)
          sum += x[i];
      }
      mean = sum / ((gdouble) seg * frames);
      for (gint f = 0; f < frames; f++) {
        const gfloat *x = in + ((clip * frames + f) * c + g * cpg) * s;
        for (gint64 i = 0; i < seg; i++)
          q += (x[i] - mean) * (x[i] - mean);
      }
      gdouble rstd = 1.0 / sqrt (q / ((gdouble) seg * frames) + eps);
      for (gint f = 0; f < frames; f++) {
        for (gint64 ch = g * cpg; ch < (g + 1) * cpg; ch++) {
          gint64 off = ((clip * frames + f) * c + ch) * s;
          for (gint64 i = 0; i < s; i++) {
            gdouble y = (in[off + i] - mean) * rstd;
            if (gamma)
              y *= gamma[ch];
            if (beta)
              y += beta[ch];
            if (silu)
              y = y / (1.0 + exp (-y));
            out[off + i] = (gfloat) y;
          }
        }
      }
    }
  }
}

void
gv_ref_layer_norm (gfloat *out, const gfloat *in, gint64 rows, gint64 len, const gfloat *gamma,
    const gfloat *beta, gfloat eps)
{
  for (gint64 r = 0; r < rows; r++) {
    const gfloat *x = in + r * len;
    gdouble mean, var;
    moments (x, len, &mean, &var);
    gdouble rstd = 1.0 / sqrt (var + eps);
    for (gint64 i = 0; i < len; i++) {
      gdouble y = (x[i] - mean) * rstd;
      if (gamma)
        y *= gamma[i];
      if (beta)
        y += beta[i];
      out[r * len + i] = (gfloat) y;
    }
  }
}

void
gv_ref_softmax (gfloat *out, const gfloat *in, gint64 rows, gint64 len)
{
  for (gint64 r = 0; r < rows; r++) {
    const gfloat *x = in + r * len;
    gdouble m = -INFINITY, s = 0;
    for (gint64 i = 0; i < len; i++)
      m = MAX (m, x[i]);
    for (gint64 i = 0; i < len; i++)
      s += exp (x[i] - m);
    for (gint64 i = 0; i < len; i++)
      out[r * len + i] = (gfloat) (exp (x[i] - m) / s);
  }
}

void
gv_ref_geglu (gfloat *out, const gfloat *in, gint64 rows, gint64 n)
{
  for (gint64 r = 0; r < rows; r++) {
    for (gint64 j = 0; j < n; j++) {
      gdouble h = in[r * 2 * n + j], g = in[r * 2 * n + n + j];
      out[r * n + j] = (gfloat) (h * 0.5 * g * (1.0 + erf (g / sqrt (2.0))));
    }
  }
}
