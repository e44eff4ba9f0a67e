/* Helpers of the backward op tests: float data to the double references and back, the
 * gradient checks, an op's refusal. */
#pragma once

#include "gv-ref-back.h"
#include "gv-test-files.h"
#include "gv-test-util.h"

/* @n doubles: the values of @x, or zeros when @x is NULL (what a reference adds into) */
static inline gdouble *
gv_test_to_double (const gfloat *x, gsize n)
{
  gdouble *d = g_new0 (gdouble, MAX (n, 1));
  for (gsize i = 0; x && i < n; i++)
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

/* Downloads @t and asserts it close to @base + @grad (gv_assert_close) */
#define gv_assert_grad(t, grad, base, n, tol) \
  gv_test_assert_grad_impl (__FILE__, __LINE__, #t, (t), (grad), (base), (n), (tol))
static inline void
gv_test_assert_grad_impl (const gchar *file, gint line, const gchar *what, GvTensor *t,
    const gdouble *grad, const gfloat *base, gsize n, gdouble tol)
{
  gfloat *got = gv_test_download (t), *want = gv_test_to_float (grad, base, n);
  gv_test_assert_close_impl (file, line, what, got, want, n, tol);
  g_free (got);
  g_free (want);
}

/* Downloads @t and asserts it close to @grad, all of it */
#define gv_assert_grad_all(t, grad, tol) gv_assert_grad (t, grad, NULL, (t)->numel, tol)

/* Finishes @cmd, expects it failed with GV_ERROR_INVALID naming @op, and frees it */
static inline void
gv_test_expect_invalid (GvCmd *cmd, const gchar *op)
{
  GError *error = NULL;
  g_assert_false (gv_cmd_finish (cmd, &error));
  gv_test_assert_error (error, GV_ERROR_INVALID, op, NULL);
  g_error_free (error);
  gv_cmd_free (cmd);
}

/* g_free of every pointer of the list (NULLs allowed) */
#define GV_TEST_FREE_ALL(...) \
  gv_test_free_all ((gpointer[]) { __VA_ARGS__ }, \
      sizeof ((gpointer[]) { __VA_ARGS__ }) / sizeof (gpointer))
static inline void
gv_test_free_all (gpointer *p, gsize n)
{
  for (gsize i = 0; i < n; i++)
    g_free (p[i]);
}

/* gv_tensor_unref of every tensor of the list (NULLs allowed) */
#define GV_TEST_UNREF_ALL(...) \
  gv_test_unref_all ((GvTensor *[]) { __VA_ARGS__ }, \
      sizeof ((GvTensor *[]) { __VA_ARGS__ }) / sizeof (GvTensor *))
static inline void
gv_test_unref_all (GvTensor **t, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (t[i])
      gv_tensor_unref (t[i]);
}

/* a tensor of @n random values (when @accumulate: what the op adds to) or uninitialised */
static inline GvTensor *
gv_test_grad_tensor (gint64 n, gboolean accumulate, guint32 seed, gfloat **init)
{
  *init = accumulate ? gv_test_random (n, seed, -1, 1) : NULL;
  return gv_test_tensor (1, (const gint64[]) { n }, *init);
}
