/* Backward of linear and of its pixel forms against the double-precision references
 * (tests/ref/gv-ref-back.h). Registered twice in meson, like the forward op tests. */
#include "gv-test-back.h"

/* a device tensor of @n random floats (never zeros), its values also in @host */
static GvTensor *
random_tensor (gfloat **host, guint seed, gint ndim, const gint64 *shape)
{
  gint64 n = 1;
  for (gint i = 0; i < ndim; i++)
    n *= shape[i];
  *host = gv_test_random (n, seed, -1, 1);
  return gv_test_tensor (ndim, shape, *host);
}

/* [b, r, s] -> [b, s, r] */
static gdouble *
transpose (const gdouble *a, gint64 b, gint64 r, gint64 s)
{
  gdouble *t = g_new (gdouble, b * r * s);
  for (gint64 i = 0; i < b; i++)
    for (gint64 y = 0; y < r; y++)
      for (gint64 x = 0; x < s; x++)
        t[(i * s + x) * r + y] = a[(i * r + y) * s + x];
  return t;
}

/* x [lead, rows, k], weight [n, k]; gradients start random when accumulating */
static void
check_linear (gint64 lead, gint64 rows, gint64 k, gint64 n, gboolean accumulate, guint seed)
{
  gint64 r = lead * rows;
  gfloat *x, *w, *dy, *dx0, *dw0, *db0;
  GvTensor *tx = random_tensor (&x, seed, 3, (gint64[]) { lead, rows, k });
  GvTensor *tw = random_tensor (&w, seed + 1, 2, (gint64[]) { n, k });
  GvTensor *tdy = random_tensor (&dy, seed + 2, 3, (gint64[]) { lead, rows, n });
  GvTensor *tdx = random_tensor (&dx0, seed + 3, 3, (gint64[]) { lead, rows, k });
  GvTensor *tdw = random_tensor (&dw0, seed + 4, 2, (gint64[]) { n, k });
  GvTensor *tdb = random_tensor (&db0, seed + 5, 1, (gint64[]) { n });
  gdouble *dx = gv_test_to_double (accumulate ? dx0 : NULL, r * k);
  gdouble *dw = gv_test_to_double (accumulate ? dw0 : NULL, n * k);
  gdouble *db = gv_test_to_double (accumulate ? db0 : NULL, n);
  gdouble *xd = gv_test_to_double (x, r * k), *wd = gv_test_to_double (w, n * k), *dyd = gv_test_to_double (dy, r * n);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  gv_op_linear_backward_input (cmd, tdx, tdy, tw, accumulate);
  gv_op_linear_backward_weight (cmd, tdw, tdy, tx, accumulate);
  gv_op_linear_backward_bias (cmd, tdb, tdy, accumulate);
  gv_test_finish (cmd);
  gv_ref_linear_backward (dx, dw, db, dyd, xd, wd, r, k, n);
  gv_assert_grad_all (tdx, dx, 1e-5);
  gv_assert_grad_all (tdw, dw, 1e-5);
  gv_assert_grad_all (tdb, db, 1e-5);

  gv_cmd_free (cmd);
  for (guint i = 0; i < 6; i++)
    gv_tensor_unref ((GvTensor *[]) { tx, tw, tdy, tdx, tdw, tdb }[i]);
  for (guint i = 0; i < 6; i++)
    g_free ((gfloat *[]) { x, w, dy, dx0, dw0, db0 }[i]);
  for (guint i = 0; i < 6; i++)
    g_free ((gdouble *[]) { dx, dw, db, xd, wd, dyd }[i]);
}

static void
test_linear_odd (void)
{
  check_linear (1, 37, 29, 23, FALSE, 1);
  check_linear (3, 13, 45, 17, TRUE, 10);
  check_linear (2, 1, 5, 3, TRUE, 20);
}

/* transformer-like sizes: aligned rows (vec4 kernels), many rows summed in dW and db; 2051
 * rows: dW as 4 partial products and their sum, plus the 3 rows left over */
static void
test_linear_large (void)
{
  check_linear (2, 300, 64, 96, FALSE, 30);
  check_linear (1, 1031, 40, 36, TRUE, 40);
  check_linear (1, 2051, 40, 36, TRUE, 45);
  check_linear (4, 512, 20, 28, FALSE, 46);
}

/* small bindings: the GEMM and the bias sum split their work */
static void
test_linear_splits (void)
{
  g_setenv ("GENVIDEO_GEMM_MAX_BINDING", "32768", TRUE);
  gv_test_reopen_device ();
  check_linear (1, 1001, 24, 20, FALSE, 50);
  check_linear (3, 171, 17, 19, TRUE, 60);
  g_unsetenv ("GENVIDEO_GEMM_MAX_BINDING");
  gv_test_reopen_device ();
}

/* the pixel forms: proj_in (pixels -> tokens) and proj_out (tokens -> pixels) as linear on
 * transposed data */
static void
check_pixels (gboolean to_pixels, gint64 b, gint64 h, gint64 w, gint64 c, gint64 n,
    gboolean accumulate, guint seed)
{
  gint64 hw = h * w, r = b * hw;
  gfloat *x, *wt, *dy, *dx0, *dw0, *db0;
  /* proj_in: x [b, c, h, w], dy [b, hw, n]; proj_out: x [b, hw, c], dy [b, n, h, w] */
  GvTensor *tx = to_pixels ? random_tensor (&x, seed, 3, (gint64[]) { b, hw, c }) :
      random_tensor (&x, seed, 4, (gint64[]) { b, c, h, w });
  GvTensor *tw = random_tensor (&wt, seed + 1, 2, (gint64[]) { n, c });
  GvTensor *tdy = to_pixels ? random_tensor (&dy, seed + 2, 4, (gint64[]) { b, n, h, w }) :
      random_tensor (&dy, seed + 2, 3, (gint64[]) { b, hw, n });
  GvTensor *tdx = random_tensor (&dx0, seed + 3, tx->ndim, tx->shape);
  GvTensor *tdw = random_tensor (&dw0, seed + 4, 2, (gint64[]) { n, c });
  GvTensor *tdb = random_tensor (&db0, seed + 5, 1, (gint64[]) { n });
  gdouble *xd = gv_test_to_double (x, r * c), *dyd = gv_test_to_double (dy, r * n);
  gdouble *x_tok = to_pixels ? xd : transpose (xd, b, c, hw);
  gdouble *dy_tok = to_pixels ? transpose (dyd, b, n, hw) : dyd;
  gdouble *dx0d = gv_test_to_double (dx0, r * c);
  gdouble *dx_tok = gv_test_to_double (NULL, r * c);
  gdouble *dw = gv_test_to_double (accumulate ? dw0 : NULL, n * c);
  gdouble *db = gv_test_to_double (accumulate ? db0 : NULL, n);
  gdouble *wd = gv_test_to_double (wt, n * c);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  if (to_pixels)
    gv_op_linear_apply_to_pixels_backward (cmd, tdx, tdw, tdb, tdy, tx, tw, accumulate);
  else
    gv_op_linear_apply_pixels_backward (cmd, tdx, tdw, tdb, tdy, tx, tw, accumulate);
  gv_test_finish (cmd);
  gv_ref_linear_backward (dx_tok, dw, db, dy_tok, x_tok, wd, r, c, n);
  gdouble *dx = to_pixels ? dx_tok : transpose (dx_tok, b, hw, c);
  for (gint64 i = 0; accumulate && i < r * c; i++)
    dx[i] += dx0d[i];
  gv_assert_grad_all (tdx, dx, 1e-5);
  gv_assert_grad_all (tdw, dw, 1e-5);
  gv_assert_grad_all (tdb, db, 1e-5);

  gv_cmd_free (cmd);
  for (guint i = 0; i < 6; i++)
    gv_tensor_unref ((GvTensor *[]) { tx, tw, tdy, tdx, tdw, tdb }[i]);
  for (guint i = 0; i < 6; i++)
    g_free ((gfloat *[]) { x, wt, dy, dx0, dw0, db0 }[i]);
  if (dx != dx_tok)
    g_free (dx);
  if (x_tok != xd)
    g_free (x_tok);
  if (dy_tok != dyd)
    g_free (dy_tok);
  for (guint i = 0; i < 7; i++)
    g_free ((gdouble *[]) { xd, dyd, dx0d, dx_tok, dw, db, wd }[i]);
}

static void
test_pixels (void)
{
  check_pixels (FALSE, 2, 5, 7, 13, 11, FALSE, 70);
  check_pixels (FALSE, 3, 9, 4, 16, 20, TRUE, 80);
  check_pixels (TRUE, 2, 5, 7, 13, 11, FALSE, 90);
  check_pixels (TRUE, 3, 9, 4, 16, 20, TRUE, 100);
}

static void
test_bad_shapes (void)
{
  g_autoptr (GvTensor) dy = GV_TEST_TENSOR (NULL, 4, 5);
  g_autoptr (GvTensor) w = GV_TEST_TENSOR (NULL, 6, 3);
  g_autoptr (GvTensor) dx = GV_TEST_TENSOR (NULL, 4, 3);
  g_autoptr (GvTensor) db = GV_TEST_TENSOR (NULL, 6);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  gv_op_linear_backward_input (cmd, dx, dy, w, FALSE);   /* dy has 5 columns, weight 6 rows */
  gv_test_expect_invalid (cmd, "linear_backward_input");
  cmd = gv_cmd_new (gv_test_device ());
  gv_op_linear_backward_bias (cmd, db, dy, FALSE);
  gv_test_expect_invalid (cmd, "linear_backward_bias");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/linear-backward/odd", test_linear_odd);
  g_test_add_func ("/linear-backward/large", test_linear_large);
  g_test_add_func ("/linear-backward/splits", test_linear_splits);
  g_test_add_func ("/linear-backward/pixels", test_pixels);
  g_test_add_func ("/linear-backward/bad-shapes", test_bad_shapes);
  return g_test_run ();
}
