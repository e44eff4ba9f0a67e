#include <math.h>

#include "models/gv-clip-loss.h"

/* rows of @x [B, P] divided by their norms into @u; @norm gets the norms */
static void
normalise (const gfloat *x, gint b, gint p, gdouble *u, gdouble *norm)
{
  for (gint i = 0; i < b; i++) {
    gdouble s = 0;
    for (gint k = 0; k < p; k++)
      s += (gdouble) x[i * p + k] * x[i * p + k];
    norm[i] = MAX (sqrt (s), 1e-12);
    for (gint k = 0; k < p; k++)
      u[i * p + k] = x[i * p + k] / norm[i];
  }
}

/* dx of x / |x| from du: (du - u (u . du)) / |x| */
static void
normalise_backward (const gdouble *u, const gdouble *norm, const gdouble *du, gint b, gint p,
    gfloat *dx)
{
  for (gint i = 0; i < b; i++) {
    gdouble dot = 0;
    for (gint k = 0; k < p; k++)
      dot += u[i * p + k] * du[i * p + k];
    for (gint k = 0; k < p; k++)
      dx[i * p + k] = (gfloat) ((du[i * p + k] - u[i * p + k] * dot) / norm[i]);
  }
}

/* softmax of the @n values at @v with stride @stride into @out (same stride); returns the
 * log-sum-exp */
static gdouble
softmax (const gdouble *v, gint n, gint stride, gdouble *out)
{
  gdouble m = -G_MAXDOUBLE, s = 0;
  for (gint j = 0; j < n; j++)
    m = MAX (m, v[j * stride]);
  for (gint j = 0; j < n; j++)
    s += exp (v[j * stride] - m);
  for (gint j = 0; j < n; j++)
    out[j * stride] = exp (v[j * stride] - m) / s;
  return m + log (s);
}

void
gv_clip_loss (const gfloat *image, const gfloat *text, gint b, gint p, gdouble logit_scale,
    const gboolean *same, gfloat *dimage, gfloat *dtext, GvClipLossResult *r)
{
  gdouble *a = g_new (gdouble, b * p), *t = g_new (gdouble, b * p);
  gdouble *na = g_new (gdouble, b), *nt = g_new (gdouble, b);
  gdouble *cos = g_new (gdouble, b * b), *logits = g_new (gdouble, b * b);
  gdouble *prow = g_new (gdouble, b * b), *pcol = g_new (gdouble, b * b);
  gboolean clamped = logit_scale >= GV_CLIP_MAX_LOGIT_SCALE;
  gdouble scale = exp (MIN (logit_scale, GV_CLIP_MAX_LOGIT_SCALE));

  normalise (image, b, p, a, na);
  normalise (text, b, p, t, nt);
  for (gint i = 0; i < b; i++)
    for (gint j = 0; j < b; j++) {
      gdouble s = 0;
      for (gint k = 0; k < p; k++)
        s += a[i * p + k] * t[j * p + k];
      cos[i * b + j] = s;
      logits[i * b + j] = scale * s;
    }

  r->loss = 0;
  r->correct = 0;
  for (gint i = 0; i < b; i++) {
    r->loss += softmax (logits + i * b, b, 1, prow + i * b) - logits[i * b + i];
    r->loss += softmax (logits + i, b, b, pcol + i) - logits[i * b + i];
    gint best = 0;
    for (gint j = 1; j < b; j++)
      if (logits[i * b + j] > logits[i * b + best])
        best = j;
    r->correct += best == i || (same != NULL && same[i * b + best]);
  }
  r->loss /= 2.0 * b;

  /* dL/dlogits = (softmax_rows - I + softmax_columns - I) / 2B */
  gdouble *da = g_new0 (gdouble, b * p), *dt = g_new0 (gdouble, b * p);
  r->dlogit_scale = 0;
  for (gint i = 0; i < b; i++)
    for (gint j = 0; j < b; j++) {
      gdouble g = (prow[i * b + j] + pcol[i * b + j] - (i == j ? 2.0 : 0.0)) / (2.0 * b);
      r->dlogit_scale += g * cos[i * b + j];
      for (gint k = 0; k < p; k++) {
        da[i * p + k] += scale * g * t[j * p + k];
        dt[j * p + k] += scale * g * a[i * p + k];
      }
    }
  /* d/d logit_scale of exp (logit_scale) * cos */
  r->dlogit_scale = clamped ? 0 : r->dlogit_scale * scale;
  if (dimage != NULL)
    normalise_backward (a, na, da, b, p, dimage);
  if (dtext != NULL)
    normalise_backward (t, nt, dt, b, p, dtext);

  gpointer all[] = { a, t, na, nt, cos, logits, prow, pcol, da, dt };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    g_free (all[i]);
}
