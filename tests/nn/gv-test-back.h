/* Helpers of the backward op tests: float data to the double references and back. */
#pragma once

#include "gv-ref-back.h"
#include "gv-test-util.h"

static inline gdouble *
gv_test_to_double (const gfloat *x, gsize n)
{
  gdouble *d = g_new (gdouble, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    d[i] = x[i];
  return d;
}

/* @base + @grad as floats (the reference adds into zeroed buffers; @base may be NULL) */
static inline gfloat *
gv_test_to_float (const gdouble *grad, const gfloat *base, gsize n)
{
  gfloat *f = g_new (gfloat, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    f[i] = (gfloat) ((base ? base[i] : 0.0) + grad[i]);
  return f;
}

/* a tensor of @n random values (when @accumulate: what the op adds to) or uninitialised */
static inline GvTensor *
gv_test_grad_tensor (gint64 n, gboolean accumulate, guint32 seed, gfloat **init)
{
  *init = accumulate ? gv_test_random (n, seed, -1, 1) : NULL;
  return gv_test_tensor (1, (const gint64[]) { n }, *init);
}
