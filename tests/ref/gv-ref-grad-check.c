#include <math.h>

#include "gv-ref-grad-check.h"

GRand *
gv_check_rand (guint32 seed)
{
  GRand *rand = g_rand_new_with_seed (seed);
  g_test_queue_destroy ((GDestroyNotify) g_rand_free, rand);
  return rand;
}

gdouble *
gv_check_random (GRand *rand, gint64 n)
{
  gdouble *x = g_new (gdouble, MAX (n, 1));
  for (gint64 i = 0; i < n; i++)
    x[i] = g_rand_double_range (rand, -1.0, 1.0);
  g_test_queue_free (x);
  return x;
}

gdouble *
gv_check_zeros (gint64 n)
{
  gdouble *x = g_new0 (gdouble, MAX (n, 1));
  g_test_queue_free (x);
  return x;
}

gfloat *
gv_check_floats (gint64 n)
{
  gfloat *x = g_new0 (gfloat, MAX (n, 1));
  g_test_queue_free (x);
  return x;
}

gfloat *
gv_check_to_float (const gdouble *x, gint64 n)
{
  gfloat *f = g_new (gfloat, MAX (n, 1));
  for (gint64 i = 0; i < n; i++)
    f[i] = (gfloat) x[i];
  g_test_queue_free (f);
  return f;
}

gdouble
gv_check_dot (const gdouble *y, const gdouble *w, gint64 n)
{
  gdouble s = 0;
  for (gint64 i = 0; i < n; i++)
    s += y[i] * w[i];
  return s;
}

gdouble *
gv_check_grad_buffer (gint64 n)
{
  gdouble *g = g_new (gdouble, MAX (n, 1));
  for (gint64 i = 0; i < n; i++)
    g[i] = GV_CHECK_PREFILL;
  g_test_queue_free (g);
  return g;
}

void
gv_check_grad (const gchar *what, GvCheckLoss loss, gpointer ctx, gdouble *x,
    const gdouble *analytic, gint64 n, gdouble tol)
{
  gdouble num = 0, den = 0, worst = 0;
  for (gint64 i = 0; i < n; i++) {
    gdouble keep = x[i];
    x[i] = keep + GV_CHECK_STEP;
    gdouble up = loss (ctx);
    x[i] = keep - GV_CHECK_STEP;
    gdouble down = loss (ctx);
    x[i] = keep;
    gdouble fd = (up - down) / (2 * GV_CHECK_STEP), err = analytic[i] - GV_CHECK_PREFILL - fd;
    num += err * err;
    den += fd * fd;
    worst = MAX (worst, fabs (err));
  }
  gdouble rel = sqrt (num / den);
  g_test_message ("%s: %" G_GINT64_FORMAT " values, |fd| %.3g, rel. L2 error %.2e, max abs. "
      "error %.2e", what, n, sqrt (den), rel, worst);
  /* a gradient that is zero everywhere would check nothing */
  g_assert_cmpfloat (den, >, 0);
  g_assert_cmpfloat (rel, <, tol);
}

void
gv_check_forward (const gchar *what, const gdouble *ours, const gfloat *ref, gint64 n,
    gdouble tol)
{
  gdouble num = 0, den = 0;
  for (gint64 i = 0; i < n; i++) {
    num += (ours[i] - ref[i]) * (ours[i] - ref[i]);
    den += (gdouble) ref[i] * ref[i];
  }
  gdouble rel = sqrt (num / den);
  g_test_message ("%s forward against the float reference: rel. L2 error %.2e", what, rel);
  g_assert_cmpfloat (den, >, 0);
  g_assert_cmpfloat (rel, <, tol);
}
