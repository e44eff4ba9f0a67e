/* Shared by the backward op tests: the double-precision references' data and the checks. */
#pragma once

#include "gv-test-util.h"

G_BEGIN_DECLS

/* @n doubles: the values of @f, or zeros when @f is NULL */
gdouble *back_to_double (const gfloat *f, gint64 n);
/* downloads @t and compares it with @want within a relative L2 error of @tol */
void back_check_grad (GvTensor *t, const gdouble *want, gdouble tol);
/* finishes @cmd, expects it failed with GV_ERROR_INVALID naming @op, and frees it */
void back_expect_invalid (GvCmd *cmd, const gchar *op);

G_END_DECLS
