/* Element-wise ops, forward and backward in double. */
#include <math.h>

#include "gv-ref-back.h"

static gdouble
sigmoid (gdouble x)
{
  return 1.0 / (1.0 + exp (-x));
}

static gdouble
gelu (gdouble x)
{
  return 0.5 * x * (1.0 + erf (x / G_SQRT2));
}

/* d/dx of 0.5 x (1 + erf (x / sqrt 2)) = Phi (x) + x phi (x) */
static gdouble
gelu_grad (gdouble x)
{
  return 0.5 * (1.0 + erf (x / G_SQRT2)) + x * exp (-0.5 * x * x) / sqrt (2.0 * G_PI);
}

/* silu (x) = x sigmoid (x); silu' = s + x s (1 - s) */
void
gv_ref_silu_forward (gdouble *y, const gdouble *x, gint64 n)
{
  for (gint64 i = 0; i < n; i++)
    y[i] = x[i] * sigmoid (x[i]);
}

void
gv_ref_silu_backward (gdouble *dx, const gdouble *dy, const gdouble *x, gint64 n)
{
  for (gint64 i = 0; i < n; i++) {
    gdouble s = sigmoid (x[i]);
    dx[i] += dy[i] * s * (1.0 + x[i] * (1.0 - s));
  }
}

void
gv_ref_gelu_forward (gdouble *y, const gdouble *x, gint64 n)
{
  for (gint64 i = 0; i < n; i++)
    y[i] = gelu (x[i]);
}

void
gv_ref_gelu_backward (gdouble *dx, const gdouble *dy, const gdouble *x, gint64 n)
{
  for (gint64 i = 0; i < n; i++)
    dx[i] += dy[i] * gelu_grad (x[i]);
}

/* y = hidden * gelu (gate): d hidden = dy gelu (gate), d gate = dy hidden gelu' (gate) */
void
gv_ref_geglu_forward (gdouble *y, const gdouble *x, gint64 rows, gint64 n)
{
  for (gint64 r = 0; r < rows; r++)
    for (gint64 j = 0; j < n; j++)
      y[r * n + j] = x[r * 2 * n + j] * gelu (x[r * 2 * n + n + j]);
}

void
gv_ref_geglu_backward (gdouble *dx, const gdouble *dy, const gdouble *x, gint64 rows, gint64 n)
{
  for (gint64 r = 0; r < rows; r++) {
    for (gint64 j = 0; j < n; j++) {
      gdouble hidden = x[r * 2 * n + j], gate = x[r * 2 * n + n + j], g = dy[r * n + j];
      dx[r * 2 * n + j] += g * gelu (gate);
      dx[r * 2 * n + n + j] += g * hidden * gelu_grad (gate);
    }
  }
}

void
gv_ref_add_forward (gdouble *y, const gdouble *a, const gdouble *b, gint64 n)
{
  for (gint64 i = 0; i < n; i++)
    y[i] = a[i] + b[i];
}

void
gv_ref_add_backward (gdouble *da, gdouble *db, const gdouble *dy, gint64 n)
{
  for (gint64 i = 0; i < n; i++) {
    if (da)
      da[i] += dy[i];
    if (db)
      db[i] += dy[i];
  }
}
