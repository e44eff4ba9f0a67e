/* Backward of conv2d against the double-precision reference (tests/ref/gv-ref-back.h).
 * Registered twice in meson, like the forward op tests. */
#include "gv-test-back.h"
#include "gv-ref.h"

typedef struct {
  GvRefConv g;
  gboolean accumulate;
  gboolean no_weight;            /* dweight not computed (stays as given) */
  guint seed;
} Case;

static void
check_case (const Case *c)
{
  const GvRefConv *g = &c->g;
  gint64 ho = gv_ref_conv_out_size (g->h, g->pad_top, g->pad_bottom, g->kh, g->stride);
  gint64 wo = gv_ref_conv_out_size (g->w, g->pad_left, g->pad_right, g->kw, g->stride);
  gint64 n_in = g->n * g->c * g->h * g->w, n_w = g->co * g->c * g->kh * g->kw;
  gint64 n_out = g->n * g->co * ho * wo, n_add = g->n * g->co;
  gfloat *x = gv_test_random (n_in, c->seed, -1, 1);
  gfloat *w = gv_test_random (n_w, c->seed + 1, -1, 1);
  gfloat *dy = gv_test_random (n_out, c->seed + 2, -1, 1);
  gfloat *dx0 = gv_test_random (n_in, c->seed + 3, -1, 1);
  gfloat *dw0 = gv_test_random (n_w, c->seed + 4, -1, 1);
  gfloat *db0 = gv_test_random (g->co, c->seed + 5, -1, 1);
  gfloat *dadd0 = gv_test_random (n_add, c->seed + 6, -1, 1);
  GvTensor *tx = GV_TEST_TENSOR (x, g->n, g->c, g->h, g->w);
  GvTensor *tw = GV_TEST_TENSOR (w, g->co, g->c, g->kh, g->kw);
  GvTensor *tdy = GV_TEST_TENSOR (dy, g->n, g->co, ho, wo);
  GvTensor *tdx = GV_TEST_TENSOR (dx0, g->n, g->c, g->h, g->w);
  GvTensor *tdw = GV_TEST_TENSOR (dw0, g->co, g->c, g->kh, g->kw);
  GvTensor *tdb = GV_TEST_TENSOR (db0, g->co);
  GvTensor *tdadd = GV_TEST_TENSOR (dadd0, g->n, g->co);
  gdouble *dx = gv_test_to_double (c->accumulate ? dx0 : NULL, n_in), *dw = gv_test_to_double (c->accumulate ? dw0 : NULL, n_w);
  gdouble *db = gv_test_to_double (c->accumulate ? db0 : NULL, g->co);
  gdouble *dadd = gv_test_to_double (c->accumulate ? dadd0 : NULL, n_add);
  gdouble *xd = gv_test_to_double (x, n_in), *wd = gv_test_to_double (w, n_w);
  gdouble *dyd = gv_test_to_double (dy, n_out);
  GvConvArgs args = {
    .stride = g->stride, .pad_top = g->pad_top, .pad_bottom = g->pad_bottom,
    .pad_left = g->pad_left, .pad_right = g->pad_right,
  };
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  gv_op_conv2d_backward_input (cmd, tdx, tdy, tw, &args, c->accumulate);
  if (!c->no_weight)
    gv_op_conv2d_backward_weight (cmd, tdw, tdy, tx, &args, c->accumulate);
  gv_op_conv2d_backward_bias (cmd, tdb, tdy, c->accumulate);
  gv_op_conv2d_backward_add (cmd, tdadd, tdy, c->accumulate);
  gv_test_finish (cmd);
  gv_ref_conv2d_backward (dx, c->no_weight ? NULL : dw, db, dadd, dyd, xd, wd, g);
  gv_assert_grad_all (tdx, dx, 1e-5);
  if (!c->no_weight)
    gv_assert_grad_all (tdw, dw, 1e-5);
  gv_assert_grad_all (tdb, db, 1e-5);
  gv_assert_grad_all (tdadd, dadd, 1e-5);

  gv_cmd_free (cmd);
  for (guint i = 0; i < 7; i++)
    gv_tensor_unref ((GvTensor *[]) { tx, tw, tdy, tdx, tdw, tdb, tdadd }[i]);
  for (guint i = 0; i < 7; i++)
    g_free ((gfloat *[]) { x, w, dy, dx0, dw0, db0, dadd0 }[i]);
  for (guint i = 0; i < 7; i++)
    g_free ((gdouble *[]) { dx, dw, db, dadd, xd, wd, dyd }[i]);
}

static void
test_3x3 (void)
{
  Case a = { { .n = 2, .c = 5, .h = 13, .w = 17, .co = 7, .kh = 3, .kw = 3, .stride = 1,
      .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1 }, .seed = 1 };
  Case b = { { .n = 3, .c = 9, .h = 11, .w = 8, .co = 20, .kh = 3, .kw = 3, .stride = 1,
      .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1 }, .accumulate = TRUE,
    .seed = 2 };
  check_case (&a);
  check_case (&b);
}

/* the downsamplers: stride 2 with symmetric and the VAE's (0, 1, 0, 1) padding */
static void
test_stride2 (void)
{
  Case a = { { .n = 1, .c = 12, .h = 16, .w = 15, .co = 11, .kh = 3, .kw = 3, .stride = 2,
      .pad_bottom = 1, .pad_right = 1 }, .seed = 3 };
  Case b = { { .n = 2, .c = 3, .h = 11, .w = 10, .co = 5, .kh = 3, .kw = 3, .stride = 2,
      .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1 }, .accumulate = TRUE,
    .seed = 4 };
  check_case (&a);
  check_case (&b);
}

/* non-square kernels and uneven padding on every side */
static void
test_asymmetric (void)
{
  Case a = { { .n = 1, .c = 4, .h = 10, .w = 12, .co = 9, .kh = 3, .kw = 2, .stride = 1,
      .pad_top = 1, .pad_bottom = 0, .pad_left = 2, .pad_right = 1 }, .seed = 5 };
  Case b = { { .n = 2, .c = 4, .h = 17, .w = 13, .co = 8, .kh = 5, .kw = 4, .stride = 2,
      .pad_top = 2, .pad_bottom = 0, .pad_left = 1, .pad_right = 3 }, .accumulate = TRUE,
    .seed = 6 };
  check_case (&a);
  check_case (&b);
}

/* 1x1: straight on the GEMM (no column matrix); with padding through the columns */
static void
test_1x1 (void)
{
  Case a = { { .n = 3, .c = 20, .h = 9, .w = 11, .co = 36, .kh = 1, .kw = 1, .stride = 1 },
    .seed = 7 };
  Case b = { { .n = 2, .c = 7, .h = 6, .w = 5, .co = 3, .kh = 1, .kw = 1, .stride = 1 },
    .accumulate = TRUE, .seed = 8 };
  Case d = { { .n = 1, .c = 6, .h = 7, .w = 5, .co = 4, .kh = 1, .kw = 1, .stride = 2,
      .pad_top = 1, .pad_left = 1 }, .seed = 9 };
  check_case (&a);
  check_case (&b);
  check_case (&d);
}

/* a ResNet-like layer (aligned, vec4 GEMM kernels) */
static void
test_large (void)
{
  Case a = { { .n = 2, .c = 32, .h = 24, .w = 24, .co = 40, .kh = 3, .kw = 3, .stride = 1,
      .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1 }, .accumulate = TRUE,
    .seed = 10 };
  check_case (&a);
}

/* shapes of the implicit-GEMM dW kernels' branches (rows a multiple of 4 wide, which the
 * CPU kernel needs): the reduction split into parts when the channels are few (with and
 * without accumulation), a partial last pixel group, dy rows as vec4 or not, stride 2 with
 * symmetric and the VAE's padding, a 1 x 3 kernel */
static void
test_weight_kernels (void)
{
  Case cases[] = {
    { { .n = 2, .c = 3, .h = 37, .w = 36, .co = 5, .kh = 3, .kw = 3, .stride = 1,
        .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1 }, .seed = 14 },
    { { .n = 3, .c = 4, .h = 21, .w = 24, .co = 3, .kh = 3, .kw = 3, .stride = 1,
        .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1 }, .accumulate = TRUE,
      .seed = 15 },
    { { .n = 2, .c = 6, .h = 21, .w = 20, .co = 9, .kh = 3, .kw = 3, .stride = 2,
        .pad_bottom = 1, .pad_right = 1 }, .accumulate = TRUE, .seed = 16 },
    { { .n = 1, .c = 10, .h = 15, .w = 16, .co = 17, .kh = 3, .kw = 3, .stride = 2,
        .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1 }, .seed = 17 },
    { { .n = 2, .c = 5, .h = 9, .w = 12, .co = 19, .kh = 1, .kw = 3, .stride = 1,
        .pad_left = 1, .pad_right = 1 }, .accumulate = TRUE, .seed = 18 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    check_case (&cases[i]);
}

/* the same dW twice (reduction in parts): identical bytes */
static void
test_weight_deterministic (void)
{
  GvRefConv g = { .n = 2, .c = 3, .h = 37, .w = 36, .co = 5, .kh = 3, .kw = 3, .stride = 1,
    .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1 };
  GvConvArgs args = { .stride = 1, .pad_top = 1, .pad_bottom = 1, .pad_left = 1,
    .pad_right = 1 };
  gint64 n_in = g.n * g.c * g.h * g.w, n_out = g.n * g.co * g.h * g.w;
  gfloat *x = gv_test_random (n_in, 19, -1, 1), *dy = gv_test_random (n_out, 20, -1, 1);
  g_autoptr (GvTensor) tx = GV_TEST_TENSOR (x, g.n, g.c, g.h, g.w);
  g_autoptr (GvTensor) tdy = GV_TEST_TENSOR (dy, g.n, g.co, g.h, g.w);
  g_autoptr (GvTensor) dw1 = GV_TEST_TENSOR (NULL, g.co, g.c, g.kh, g.kw);
  g_autoptr (GvTensor) dw2 = GV_TEST_TENSOR (NULL, g.co, g.c, g.kh, g.kw);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  gv_op_conv2d_backward_weight (cmd, dw1, tdy, tx, &args, FALSE);
  gv_op_conv2d_backward_weight (cmd, dw2, tdy, tx, &args, FALSE);
  gv_test_finish (cmd);
  gv_cmd_free (cmd);
  gfloat *a = gv_test_download (dw1), *b = gv_test_download (dw2);
  g_assert_cmpmem (a, dw1->numel * 4, b, dw2->numel * 4);
  g_free (a);
  g_free (b);
  g_free (x);
  g_free (dy);
}

/* bindings of 640 KiB: the column GEMM of dx splits its output, the 1x1 GEMMs and the sums
 * split, the dW kernels split over images. (dweight through the column matrix, the GEMM's B
 * bound whole, does not fit such a binding: the first two cases skip it.) */
static void
test_splits (void)
{
  Case a = { { .n = 2, .c = 32, .h = 24, .w = 24, .co = 40, .kh = 3, .kw = 3, .stride = 1,
      .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1 }, .accumulate = TRUE,
    .no_weight = TRUE, .seed = 11 };
  Case b = { { .n = 3, .c = 13, .h = 41, .w = 39, .co = 17, .kh = 3, .kw = 3, .stride = 2,
      .pad_top = 1, .pad_bottom = 0, .pad_left = 0, .pad_right = 1 }, .no_weight = TRUE,
    .seed = 12 };
  Case d = { { .n = 2, .c = 40, .h = 20, .w = 20, .co = 300, .kh = 1, .kw = 1, .stride = 1 },
    .accumulate = TRUE, .seed = 13 };
  /* dW of images larger than half a binding: one dispatch per image, each adding to the
   * ones before */
  Case e = { { .n = 3, .c = 40, .h = 47, .w = 48, .co = 7, .kh = 3, .kw = 3, .stride = 1,
      .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1 }, .seed = 21 };
  Case f = { { .n = 2, .c = 37, .h = 47, .w = 52, .co = 6, .kh = 3, .kw = 3, .stride = 2,
      .pad_bottom = 1, .pad_right = 1 }, .accumulate = TRUE, .seed = 22 };
  g_setenv ("GENVIDEO_GEMM_MAX_BINDING", "655360", TRUE);
  gv_test_reopen_device ();
  check_case (&a);
  check_case (&b);
  check_case (&d);
  check_case (&e);
  check_case (&f);
  g_unsetenv ("GENVIDEO_GEMM_MAX_BINDING");
  gv_test_reopen_device ();
}

static void
test_bad_shapes (void)
{
  g_autoptr (GvTensor) x = GV_TEST_TENSOR (NULL, 1, 3, 8, 8);
  g_autoptr (GvTensor) w = GV_TEST_TENSOR (NULL, 4, 3, 3, 3);
  g_autoptr (GvTensor) dy = GV_TEST_TENSOR (NULL, 1, 4, 7, 8);   /* 8 x 8 with padding 1 */
  g_autoptr (GvTensor) dadd = GV_TEST_TENSOR (NULL, 1, 5);
  GvConvArgs args = { .stride = 1, .pad_top = 1, .pad_bottom = 1, .pad_left = 1,
    .pad_right = 1 };
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  gv_op_conv2d_backward_weight (cmd, w, dy, x, &args, FALSE);
  gv_test_expect_invalid (cmd, "conv2d_backward_weight");
  cmd = gv_cmd_new (gv_test_device ());
  gv_op_conv2d_backward_add (cmd, dadd, dy, FALSE);
  gv_test_expect_invalid (cmd, "conv2d_backward_add");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/conv2d-backward/3x3", test_3x3);
  g_test_add_func ("/conv2d-backward/stride2", test_stride2);
  g_test_add_func ("/conv2d-backward/asymmetric", test_asymmetric);
  g_test_add_func ("/conv2d-backward/1x1", test_1x1);
  g_test_add_func ("/conv2d-backward/large", test_large);
  g_test_add_func ("/conv2d-backward/weight-kernels", test_weight_kernels);
  g_test_add_func ("/conv2d-backward/weight-deterministic", test_weight_deterministic);
  g_test_add_func ("/conv2d-backward/splits", test_splits);
  g_test_add_func ("/conv2d-backward/bad-shapes", test_bad_shapes);
  return g_test_run ();
}
