/* Shared by the backward op tests (back-check.h). */
#include "back-check.h"
#include "gv-test-files.h"

gdouble *
back_to_double (const gfloat *f, gint64 n)
{
  gdouble *d = g_new0 (gdouble, n);
  for (gint64 i = 0; f && i < n; i++)
    d[i] = f[i];
  return d;
}

void
back_check_grad (GvTensor *t, const gdouble *want, gdouble tol)
{
  gfloat *got = gv_test_download (t);
  gfloat *wf = g_new (gfloat, t->numel);
  for (gint64 i = 0; i < t->numel; i++)
    wf[i] = want[i];
  gv_assert_close (got, wf, t->numel, tol);
  g_free (got);
  g_free (wf);
}

void
back_expect_invalid (GvCmd *cmd, const gchar *op)
{
  GError *error = NULL;
  g_assert_false (gv_cmd_finish (cmd, &error));
  gv_test_assert_error (error, GV_ERROR_INVALID, op, NULL);
  g_error_free (error);
  gv_cmd_free (cmd);
}
