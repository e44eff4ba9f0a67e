#include <math.h>
#include <stdlib.h>

#include "gv-test-util.h"

static GvDevice *test_device;

static void
release_device (void)
{
  g_clear_pointer (&test_device, gv_device_unref);
}

GvDevice *
gv_test_device (void)
{
  if (test_device == NULL) {
    GError *error = NULL;
    test_device = gv_device_get_shared (-1, &error);
    if (test_device == NULL) {
      g_printerr ("no Vulkan device for the tests: %s\n", error->message);
      exit (1);
    }
    atexit (release_device);
  }
  return test_device;
}

void
gv_test_reopen_device (void)
{
  GError *error = NULL;
  gv_test_device ();
  g_clear_pointer (&test_device, gv_device_unref);
  test_device = gv_device_new (-1, &error);
  g_assert_no_error (error);
}

gfloat *
gv_test_random (gsize n, guint32 seed, gfloat lo, gfloat hi)
{
  GRand *r = g_rand_new_with_seed (seed);
  gfloat *x = g_new (gfloat, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    x[i] = (gfloat) g_rand_double_range (r, lo, hi);
  g_rand_free (r);
  return x;
}

gdouble
gv_test_rel_l2 (const gfloat *ours, const gfloat *ref, gsize n)
{
  gdouble num = 0, den = 0;
  for (gsize i = 0; i < n; i++) {
    if (!isfinite (ours[i]))
      return INFINITY;
    gdouble d = (gdouble) ours[i] - ref[i];
    num += d * d;
    den += (gdouble) ref[i] * ref[i];
  }
  if (den == 0)
    return num == 0 ? 0 : INFINITY;
  return sqrt (num / den);
}

void
gv_test_assert_close_impl (const gchar *file, gint line, const gchar *what, const gfloat *ours,
    const gfloat *ref, gsize n, gdouble tol)
{
  gdouble err = gv_test_rel_l2 (ours, ref, n);
  g_test_message ("%s:%d: %s: rel L2 error %.3g (tolerance %.1g, %" G_GSIZE_FORMAT " values)",
      file, line, what, err, tol, n);
  if (!(err < tol)) {
    gchar *msg = g_strdup_printf ("%s: relative L2 error %.3g >= %.1g", what, err, tol);
    g_assertion_message (G_LOG_DOMAIN, file, line, G_STRFUNC, msg);
    g_free (msg);
  }
}

GvTensor *
gv_test_tensor (gint ndim, const gint64 *shape, const gfloat *data)
{
  GError *error = NULL;
  GvTensor *t = gv_tensor_new (gv_test_device (), ndim, shape, &error);
  g_assert_no_error (error);
  if (data != NULL) {
    gv_tensor_upload (t, data, &error);
    g_assert_no_error (error);
  }
  return t;
}

gfloat *
gv_test_download (GvTensor *t)
{
  GError *error = NULL;
  gfloat *data = g_new (gfloat, t->numel);
  gv_tensor_download (t, data, &error);
  g_assert_no_error (error);
  return data;
}

void
gv_test_finish (GvCmd *cmd)
{
  GError *error = NULL;
  gv_cmd_finish (cmd, &error);
  g_assert_no_error (error);
}
