/* conv2d against the C reference. Registered twice in meson: with the device's own kernel
 * family and with GENVIDEO_KERNELS=gpu (the shared-memory family, on lavapipe too). */
#include <string.h>

#include "gv-ref.h"
#include "gv-test-util.h"

typedef struct {
  GvRefConv g;
  gboolean bias, add;
  GvActivation act;
  gint residual;                 /* 0: none, 1: its own tensor, 2: out itself (in place) */
  guint seed;
} Case;

static void
check_case (const Case *c)
{
  const GvRefConv *g = &c->g;
  gint64 ho = gv_ref_conv_out_size (g->h, g->pad_top, g->pad_bottom, g->kh, g->stride);
  gint64 wo = gv_ref_conv_out_size (g->w, g->pad_left, g->pad_right, g->kw, g->stride);
  gint64 n_in = g->n * g->c * g->h * g->w, n_w = g->co * g->c * g->kh * g->kw;
  gint64 n_out = g->n * g->co * ho * wo;
  gfloat *in = gv_test_random (n_in, c->seed, -1, 1);
  gfloat *w = gv_test_random (n_w, c->seed + 1, -1, 1);
  gfloat *bias = c->bias ? gv_test_random (g->co, c->seed + 2, -1, 1) : NULL;
  gfloat *add = c->add ? gv_test_random (g->n * g->co, c->seed + 3, -1, 1) : NULL;
  gfloat *res = c->residual ? gv_test_random (n_out, c->seed + 4, -1, 1) : NULL;
  gfloat *want = g_new (gfloat, n_out);
  GvTensor *tin = GV_TEST_TENSOR (in, g->n, g->c, g->h, g->w);
  GvTensor *tw = GV_TEST_TENSOR (w, g->co, g->c, g->kh, g->kw);
  GvTensor *tbias = bias ? GV_TEST_TENSOR (bias, g->co) : NULL;
  GvTensor *tadd = add ? GV_TEST_TENSOR (add, g->n, g->co) : NULL;
  GvTensor *out = GV_TEST_TENSOR (c->residual == 2 ? res : NULL, g->n, g->co, ho, wo);
  GvTensor *tres = c->residual == 1 ? GV_TEST_TENSOR (res, g->n, g->co, ho, wo) :
      c->residual == 2 ? gv_tensor_ref (out) : NULL;
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  GvConvArgs args = {
    .stride = g->stride, .pad_top = g->pad_top, .pad_bottom = g->pad_bottom,
    .pad_left = g->pad_left, .pad_right = g->pad_right, .bias = tbias,
    .add_per_channel = tadd, .act = c->act, .residual = tres,
  };

  gv_op_conv2d (cmd, out, tin, tw, &args);
  gv_test_finish (cmd);
  gfloat *got = gv_test_download (out);
  gv_ref_conv2d (want, in, w, g, bias, add, c->act == GV_ACT_SILU ? GV_REF_ACT_SILU :
      c->act == GV_ACT_GELU ? GV_REF_ACT_GELU : GV_REF_ACT_NONE, res);
  gv_assert_close (got, want, n_out, 1e-5);

  gv_cmd_free (cmd);
  gv_tensor_unref (tin);
  gv_tensor_unref (tw);
  g_clear_pointer (&tbias, gv_tensor_unref);
  g_clear_pointer (&tadd, gv_tensor_unref);
  g_clear_pointer (&tres, gv_tensor_unref);
  gv_tensor_unref (out);
  g_free (in);
  g_free (w);
  g_free (bias);
  g_free (add);
  g_free (res);
  g_free (want);
  g_free (got);
}

/* 5 input channels: weight rows of 45, read one float at a time */
static void
test_3x3_odd (void)
{
  Case c = { { .n = 2, .c = 5, .h = 13, .w = 17, .co = 7, .kh = 3, .kw = 3, .stride = 1,
      .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1 }, .bias = TRUE, .seed = 1 };
  check_case (&c);
}

/* the ResNet shape: bias, time embedding per channel, SiLU, residual added in place */
static void
test_3x3_fused (void)
{
  Case c = { { .n = 2, .c = 8, .h = 19, .w = 23, .co = 70, .kh = 3, .kw = 3, .stride = 1,
      .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1 }, .bias = TRUE,
    .add = TRUE, .act = GV_ACT_SILU, .residual = 2, .seed = 2 };
  check_case (&c);
}

/* the VAE encoder's downsampler: stride 2 after padding (0, 1, 0, 1) */
static void
test_stride2_asymmetric (void)
{
  Case c = { { .n = 1, .c = 12, .h = 16, .w = 15, .co = 12, .kh = 3, .kw = 3, .stride = 2,
      .pad_top = 0, .pad_bottom = 1, .pad_left = 0, .pad_right = 1 }, .bias = TRUE, .seed = 3 };
  Case d = { { .n = 2, .c = 3, .h = 11, .w = 10, .co = 5, .kh = 3, .kw = 3, .stride = 2,
      .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1 }, .act = GV_ACT_GELU,
    .residual = 1, .seed = 4 };
  check_case (&c);
  check_case (&d);
}

static void
test_1x1 (void)
{
  Case c = { { .n = 3, .c = 20, .h = 9, .w = 11, .co = 36, .kh = 1, .kw = 1, .stride = 1 },
    .bias = TRUE, .residual = 1, .seed = 5 };
  Case d = { { .n = 1, .c = 7, .h = 6, .w = 5, .co = 3, .kh = 1, .kw = 1, .stride = 1 },
    .seed = 6 };
  check_case (&c);
  check_case (&d);
}

/* CLIP's patch embedding: kernel = stride, no padding, no bias (taps computed on the fly) */
static void
test_patch (void)
{
  Case c = { { .n = 2, .c = 3, .h = 28, .w = 28, .co = 16, .kh = 7, .kw = 7, .stride = 7 },
    .seed = 7 };
  Case d = { { .n = 1, .c = 3, .h = 42, .w = 44, .co = 10, .kh = 14, .kw = 14, .stride = 14 },
    .seed = 8 };
  check_case (&c);
  check_case (&d);
}

/* non-square kernels, uneven padding, large padded kernels */
static void
test_odd_kernels (void)
{
  Case c = { { .n = 1, .c = 4, .h = 10, .w = 12, .co = 9, .kh = 3, .kw = 2, .stride = 1,
      .pad_top = 1, .pad_bottom = 0, .pad_left = 2, .pad_right = 1 }, .bias = TRUE, .seed = 9 };
  Case d = { { .n = 2, .c = 4, .h = 17, .w = 13, .co = 8, .kh = 5, .kw = 5, .stride = 3,
      .pad_top = 2, .pad_bottom = 2, .pad_left = 2, .pad_right = 2 }, .add = TRUE,
    .act = GV_ACT_SILU, .seed = 10 };
  check_case (&c);
  check_case (&d);
}

/* rows a multiple of 8 pixels wide: the row-vector kernel of CPU devices (window of vec4s) */
static void
test_rows (void)
{
  Case c = { { .n = 2, .c = 8, .h = 7, .w = 24, .co = 70, .kh = 3, .kw = 3, .stride = 1,
      .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1 }, .bias = TRUE,
    .add = TRUE, .act = GV_ACT_SILU, .residual = 2, .seed = 20 };
  Case d = { { .n = 1, .c = 12, .h = 5, .w = 16, .co = 9, .kh = 1, .kw = 1, .stride = 1 },
    .bias = TRUE, .act = GV_ACT_GELU, .seed = 21 };
  /* no padding, 5x5 (100 reduction steps per channel block) */
  Case e = { { .n = 1, .c = 4, .h = 9, .w = 20, .co = 13, .kh = 5, .kw = 5, .stride = 1 },
    .residual = 1, .seed = 22 };
  /* padding 2 on every side, and (0, 1, 0, 1) around a 2x2 kernel */
  Case f = { { .n = 1, .c = 8, .h = 6, .w = 16, .co = 20, .kh = 5, .kw = 5, .stride = 1,
      .pad_top = 2, .pad_bottom = 2, .pad_left = 2, .pad_right = 2 }, .bias = TRUE, .seed = 23 };
  Case g = { { .n = 3, .c = 3, .h = 8, .w = 16, .co = 66, .kh = 2, .kw = 2, .stride = 1,
      .pad_top = 0, .pad_bottom = 1, .pad_left = 0, .pad_right = 1 }, .add = TRUE, .seed = 24 };
  /* stride 2: the downsamplers of the UNet (padding 1) and of the VAE encoder (0, 1, 0, 1) */
  Case h = { { .n = 2, .c = 4, .h = 9, .w = 32, .co = 12, .kh = 3, .kw = 3, .stride = 2,
      .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1 }, .bias = TRUE, .seed = 25 };
  Case i = { { .n = 1, .c = 5, .h = 16, .w = 32, .co = 7, .kh = 3, .kw = 3, .stride = 2,
      .pad_top = 0, .pad_bottom = 1, .pad_left = 0, .pad_right = 1 }, .residual = 1, .seed = 26 };
  /* rows not a multiple of 8 wide: the last pixel group of every row is partial */
  Case j = { { .n = 2, .c = 6, .h = 5, .w = 20, .co = 11, .kh = 3, .kw = 3, .stride = 1,
      .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1 }, .bias = TRUE,
    .residual = 2, .seed = 27 };
  Case k = { { .n = 1, .c = 4, .h = 7, .w = 20, .co = 9, .kh = 3, .kw = 3, .stride = 2,
      .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1 }, .act = GV_ACT_GELU,
    .seed = 28 };
  /* fewer than 4 taps (4 channels per loop iteration) over channels not a multiple of 4:
   * the last channels one at a time */
  Case l = { { .n = 1, .c = 7, .h = 5, .w = 16, .co = 9, .kh = 1, .kw = 1, .stride = 1 },
    .seed = 29 };
  Case m = { { .n = 2, .c = 19, .h = 9, .w = 12, .co = 5, .kh = 1, .kw = 3, .stride = 1,
      .pad_left = 1, .pad_right = 1 }, .bias = TRUE, .seed = 30 };
  Case all[] = { c, d, e, f, g, h, i, j, k, l, m };
  for (guint n = 0; n < G_N_ELEMENTS (all); n++)
    check_case (&all[n]);
}

/* a batch of outputs larger than one 128 MiB storage binding: split by images (1x1 kernels
 * keep the reference quick: the split does not depend on the kernel) */
static void
test_big_batch (void)
{
  Case c = { { .n = 3, .c = 4, .h = 300, .w = 300, .co = 132, .kh = 1, .kw = 1, .stride = 1 },
    .bias = TRUE, .seed = 11 };
  check_case (&c);
}

/* one image's output larger than one binding: split by output channels */
static void
test_big_output (void)
{
  Case c = { { .n = 1, .c = 4, .h = 512, .w = 512, .co = 132, .kh = 1, .kw = 1, .stride = 1 },
    .add = TRUE, .residual = 2, .seed = 12 };
  check_case (&c);
}

/* one image's input larger than one storage binding (the GPU family reads it as one): split
 * by input channels, partial sums kept in the output, residual in place */
static void
test_big_input (void)
{
  Case c = { { .n = 1, .c = 132, .h = 510, .w = 520, .co = 4, .kh = 1, .kw = 1, .stride = 1 },
    .bias = TRUE, .act = GV_ACT_SILU, .residual = 2, .seed = 13 };
  check_case (&c);
}

/* every way of splitting at once on small tensors, with the bindings capped at 16 KiB:
 * output channels, input channels (partial sums in the output; the residual is the output, so
 * the op copies it first), images; for the row kernel and the generic one */
static void
test_forced_splits (void)
{
  Case c = { { .n = 2, .c = 20, .h = 16, .w = 16, .co = 70, .kh = 3, .kw = 3, .stride = 2,
      .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1 }, .bias = TRUE,
    .add = TRUE, .act = GV_ACT_SILU, .residual = 2, .seed = 30 };
  Case d = { { .n = 2, .c = 20, .h = 15, .w = 15, .co = 70, .kh = 3, .kw = 3, .stride = 2,
      .pad_top = 0, .pad_bottom = 1, .pad_left = 0, .pad_right = 1 }, .bias = TRUE,
    .act = GV_ACT_GELU, .residual = 1, .seed = 31 };
  g_setenv ("GENVIDEO_GEMM_MAX_BINDING", "16384", TRUE);
  gv_test_reopen_device ();
  check_case (&c);
  check_case (&d);
  g_unsetenv ("GENVIDEO_GEMM_MAX_BINDING");
  gv_test_reopen_device ();
}

static void
test_shape_mismatch (void)
{
  GvTensor *in = GV_TEST_TENSOR (NULL, 1, 3, 8, 8);
  GvTensor *w = GV_TEST_TENSOR (NULL, 5, 4, 3, 3);
  GvTensor *out = GV_TEST_TENSOR (NULL, 1, 5, 8, 8);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  GError *error = NULL;
  GvConvArgs args = { .stride = 1, .pad_top = 1, .pad_bottom = 1, .pad_left = 1,
    .pad_right = 1 };

  gv_op_conv2d (cmd, out, in, w, &args);
  g_assert_false (gv_cmd_finish (cmd, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "5x4x3x3"));
  g_clear_error (&error);
  gv_cmd_free (cmd);
  gv_tensor_unref (in);
  gv_tensor_unref (w);
  gv_tensor_unref (out);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/conv2d/3x3-odd", test_3x3_odd);
  g_test_add_func ("/conv2d/3x3-fused", test_3x3_fused);
  g_test_add_func ("/conv2d/stride2-asymmetric", test_stride2_asymmetric);
  g_test_add_func ("/conv2d/1x1", test_1x1);
  g_test_add_func ("/conv2d/patch", test_patch);
  g_test_add_func ("/conv2d/odd-kernels", test_odd_kernels);
  g_test_add_func ("/conv2d/rows", test_rows);
  g_test_add_func ("/conv2d/forced-splits", test_forced_splits);
  g_test_add_func ("/conv2d/big-batch", test_big_batch);
  g_test_add_func ("/conv2d/big-output", test_big_output);
  g_test_add_func ("/conv2d/big-input", test_big_input);
  g_test_add_func ("/conv2d/shape-mismatch", test_shape_mismatch);
  return g_test_run ();
}
