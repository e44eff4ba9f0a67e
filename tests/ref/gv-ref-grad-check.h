/* Checks of the backward references (gv-ref-back.h): analytic gradients against central finite
 * differences of the double forwards, and the double forwards against the float references. */
#pragma once

#include "gv-ref-back.h"

G_BEGIN_DECLS

/* A scalar function of the inputs (a forward and a fixed projection of its output). */
typedef gdouble (*GvCheckLoss) (gpointer ctx);

/* A generator with a fixed seed, and buffers, all freed at the end of the test. */
GRand *gv_check_rand (guint32 seed);
/* @n uniform values in [-1, 1) from the seeded generator (never all zeros) */
gdouble *gv_check_random (GRand *rand, gint64 n);
gdouble *gv_check_zeros (gint64 n);
/* the float copy, for the float references, and a float buffer */
gfloat *gv_check_to_float (const gdouble *x, gint64 n);
gfloat *gv_check_floats (gint64 n);
/* <y, w>: the loss whose output gradient is w */
gdouble gv_check_dot (const gdouble *y, const gdouble *w, gint64 n);
/* A gradient buffer, prefilled with GV_CHECK_PREFILL so that the checks see that the backward
 * adds to what is there. */
#define GV_CHECK_PREFILL 0.25
gdouble *gv_check_grad_buffer (gint64 n);

/* Asserts ||analytic - PREFILL - fd|| / ||fd|| < tol, fd the central differences of @loss in
 * each element of @x; prints both errors. */
void gv_check_grad (const gchar *what, GvCheckLoss loss, gpointer ctx, gdouble *x,
    const gdouble *analytic, gint64 n, gdouble tol);
/* Asserts ||ours - ref|| / ||ref|| < tol (a double forward against its float reference). */
void gv_check_forward (const gchar *what, const gdouble *ours, const gfloat *ref, gint64 n,
    gdouble tol);

/* The step of the central differences and the tolerances: see docs/testing.md. */
#define GV_CHECK_STEP 1e-5
#define GV_CHECK_GRAD_TOL 1e-7
#define GV_CHECK_FORWARD_TOL 1e-6

G_END_DECLS
