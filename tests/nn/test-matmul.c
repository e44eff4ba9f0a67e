/* matmul and linear against the C reference. Registered twice in meson: with the device's own
 * kernel family and with GENVIDEO_KERNELS=gpu (the shared-memory family, on lavapipe too). */
#include <string.h>

#include "gv-ref.h"
#include "gv-test-util.h"

typedef struct {
  gint64 batch, m, n, k;
  gboolean a_shared, b_shared;
  gboolean trans_a, trans_b;
  gfloat alpha;                  /* 0 means 1 */
  gboolean bias;
  GvActivation act;
  gint residual;                 /* 0: none, 1: its own tensor, 2: out itself (in place) */
  guint seed;
} Case;

static GvRefAct
ref_act (GvActivation act)
{
  return act == GV_ACT_SILU ? GV_REF_ACT_SILU : act == GV_ACT_GELU ? GV_REF_ACT_GELU :
      GV_REF_ACT_NONE;
}

static GvTensor *
operand (gboolean shared, gint64 batch, gint64 rows, gint64 cols, const gfloat *data)
{
  if (shared)
    return GV_TEST_TENSOR (data, rows, cols);
  return GV_TEST_TENSOR (data, batch, rows, cols);
}

static void
check_case (const Case *c)
{
  gint64 na = (c->a_shared ? 1 : c->batch) * c->m * c->k;
  gint64 nb = (c->b_shared ? 1 : c->batch) * c->k * c->n;
  gint64 no = c->batch * c->m * c->n;
  g_autofree gfloat *a = gv_test_random (na, c->seed, -1, 1);
  g_autofree gfloat *b = gv_test_random (nb, c->seed + 1, -1, 1);
  g_autofree gfloat *bias = c->bias ? gv_test_random (c->n, c->seed + 2, -1, 1) : NULL;
  g_autofree gfloat *res = c->residual ? gv_test_random (no, c->seed + 3, -1, 1) : NULL;
  g_autofree gfloat *want = g_new (gfloat, no);
  g_autoptr (GvTensor) ta = c->trans_a ? operand (c->a_shared, c->batch, c->k, c->m, a) :
      operand (c->a_shared, c->batch, c->m, c->k, a);
  g_autoptr (GvTensor) tb = c->trans_b ? operand (c->b_shared, c->batch, c->n, c->k, b) :
      operand (c->b_shared, c->batch, c->k, c->n, b);
  g_autoptr (GvTensor) tbias = bias ? GV_TEST_TENSOR (bias, c->n) : NULL;
  g_autoptr (GvTensor) out = GV_TEST_TENSOR (c->residual == 2 ? res : NULL, c->batch, c->m,
      c->n);
  g_autoptr (GvTensor) tres = c->residual == 1 ? GV_TEST_TENSOR (res, c->batch, c->m, c->n) :
      c->residual == 2 ? gv_tensor_ref (out) : NULL;
  g_autoptr (GvCmd) cmd = gv_cmd_new (gv_test_device ());
  GvMatmulArgs args = {
    .trans_a = c->trans_a, .trans_b = c->trans_b, .alpha = c->alpha, .bias = tbias,
    .act = c->act, .residual = tres,
  };

  gv_op_matmul (cmd, out, ta, tb, &args);
  gv_test_finish (cmd);
  g_autofree gfloat *got = gv_test_download (out);
  gv_ref_matmul (want, a, b, c->batch, c->m, c->n, c->k, c->a_shared, c->b_shared, c->trans_a,
      c->trans_b, c->alpha == 0 ? 1 : c->alpha, bias, ref_act (c->act), res);
  gv_assert_close (got, want, no, 1e-5);
}

static void
test_odd (void)
{
  Case c = { .batch = 1, .m = 37, .n = 53, .k = 29, .a_shared = TRUE, .b_shared = TRUE, .seed = 1 };
  check_case (&c);
}

/* rows of a multiple of 4 (vec4 loads) but sizes off the 64-wide tiles */
static void
test_aligned (void)
{
  Case c = { .batch = 1, .m = 68, .n = 100, .k = 132, .a_shared = TRUE, .b_shared = TRUE,
    .seed = 2 };
  check_case (&c);
}

static void
test_transposes (void)
{
  const gint64 sizes[2][3] = { { 45, 51, 23 }, { 72, 36, 44 } };
  for (int s = 0; s < 2; s++) {
    for (int t = 0; t < 4; t++) {
      Case c = { .batch = 2, .m = sizes[s][0], .n = sizes[s][1], .k = sizes[s][2],
        .trans_a = t & 1, .trans_b = t >> 1, .seed = 10 + 4 * s + t };
      check_case (&c);
    }
  }
}

/* one operand read as vec4, the other as floats, in each layout */
static void
test_mixed (void)
{
  Case c[4] = {
    { .batch = 2, .m = 30, .n = 45, .k = 36, .seed = 40 },
    { .batch = 1, .m = 33, .n = 40, .k = 27, .seed = 41 },
    { .batch = 2, .m = 33, .n = 20, .k = 36, .trans_a = TRUE, .trans_b = TRUE, .seed = 42 },
    { .batch = 1, .m = 36, .n = 20, .k = 27, .trans_a = TRUE, .trans_b = TRUE, .seed = 43 },
  };
  for (int i = 0; i < 4; i++)
    check_case (&c[i]);
}

/* K % 4 != 0 while A (transposed) and B are read as vec4 along M and N */
static void
test_k_tail (void)
{
  for (gint64 k = 5; k <= 7; k++) {
    Case c = { .batch = 1, .m = 20, .n = 12, .k = k, .a_shared = TRUE, .b_shared = TRUE,
      .trans_a = TRUE, .seed = 20 + k };
    check_case (&c);
  }
}

static void
test_tiny (void)
{
  const gint64 sizes[4][3] = { { 1, 1, 1 }, { 1, 5, 3 }, { 3, 1, 4 }, { 9, 2, 1 } };
  for (int s = 0; s < 4; s++) {
    for (int t = 0; t < 4; t++) {
      Case c = { .batch = 1, .m = sizes[s][0], .n = sizes[s][1], .k = sizes[s][2],
        .a_shared = TRUE, .b_shared = TRUE, .trans_a = t & 1, .trans_b = t >> 1,
        .bias = TRUE, .seed = 30 + 4 * s + t };
      check_case (&c);
    }
  }
}

/* weights shared by every batch entry, on either side */
static void
test_broadcast (void)
{
  Case c1 = { .batch = 3, .m = 33, .n = 47, .k = 40, .b_shared = TRUE, .seed = 50 };
  Case c2 = { .batch = 4, .m = 29, .n = 64, .k = 31, .a_shared = TRUE, .trans_b = TRUE,
    .seed = 51 };
  check_case (&c1);
  check_case (&c2);
}

static void
test_epilogue (void)
{
  Case c1 = { .batch = 2, .m = 70, .n = 36, .k = 48, .b_shared = TRUE, .trans_b = TRUE,
    .alpha = 0.125f, .bias = TRUE, .act = GV_ACT_SILU, .residual = 1, .seed = 60 };
  Case c2 = { .batch = 1, .m = 41, .n = 67, .k = 19, .a_shared = TRUE, .b_shared = TRUE,
    .bias = TRUE, .act = GV_ACT_GELU, .residual = 2, .seed = 61 };
  check_case (&c1);
  check_case (&c2);
}

/* output larger than one 128 MiB storage binding: the op splits by rows */
static void
test_big_output (void)
{
  Case c = { .batch = 1, .m = 8300, .n = 4100, .k = 12, .a_shared = TRUE, .b_shared = TRUE,
    .bias = TRUE, .seed = 70 };
  check_case (&c);
}

/* batched output larger than one binding: split by batch entries */
static void
test_big_batched (void)
{
  Case c = { .batch = 3, .m = 2900, .n = 4100, .k = 8, .b_shared = TRUE, .residual = 2,
    .seed = 71 };
  check_case (&c);
}

/* A operand larger than one storage binding (the GPU family reads it as one) */
static void
test_big_a (void)
{
  Case c = { .batch = 1, .m = 34000, .n = 9, .k = 1000, .a_shared = TRUE, .b_shared = TRUE,
    .trans_b = TRUE, .seed = 72 };
  check_case (&c);
}

/* splits on small tensors, with the bindings capped at 64 KiB: by rows (one batch entry
 * larger than a binding; 256 rows at a time), by batch entries */
static void
test_forced_splits (void)
{
  Case rows = { .batch = 2, .m = 600, .n = 40, .k = 36, .b_shared = TRUE, .bias = TRUE,
    .residual = 2, .seed = 73 };
  Case rows_t = { .batch = 1, .m = 600, .n = 40, .k = 24, .a_shared = TRUE, .b_shared = TRUE,
    .trans_a = TRUE, .trans_b = TRUE, .act = GV_ACT_SILU, .seed = 74 };
  Case batches = { .batch = 5, .m = 100, .n = 40, .k = 20, .residual = 1, .seed = 75 };
  g_setenv ("GENVIDEO_GEMM_MAX_BINDING", "65536", TRUE);
  gv_test_reopen_device ();
  check_case (&rows);
  check_case (&rows_t);
  check_case (&batches);
  g_unsetenv ("GENVIDEO_GEMM_MAX_BINDING");
  gv_test_reopen_device ();
}

static void
linear_case (const gint64 *xshape, gint xnd, gint64 n, gboolean bias, GvActivation act,
    gint residual, gint64 first, guint seed)
{
  gint64 k = xshape[xnd - 1], rows = 1;
  for (gint d = 0; d < xnd - 1; d++)
    rows *= xshape[d];
  gint64 oshape[GV_MAX_DIMS];
  memcpy (oshape, xshape, sizeof (gint64) * xnd);
  oshape[xnd - 1] = n;
  gfloat *x = gv_test_random (first + rows * k, seed, -1, 1);
  gfloat *w = gv_test_random (n * k, seed + 1, -1, 1);
  gfloat *bv = bias ? gv_test_random (n, seed + 2, -1, 1) : NULL;
  gfloat *res = residual ? gv_test_random (rows * n, seed + 3, -1, 1) : NULL;
  gfloat *want = g_new (gfloat, rows * n);
  /* x may be a view that starts @first elements into its memory (unaligned) */
  GvTensor *xall = GV_TEST_TENSOR (x, first + rows * k);
  GvTensor *tx = gv_tensor_view (xall, first, xnd, xshape);
  GvTensor *tw = GV_TEST_TENSOR (w, n, k);
  GvTensor *tb = bv ? GV_TEST_TENSOR (bv, n) : NULL;
  GvTensor *out = gv_test_tensor (xnd, oshape, residual == 2 ? res : NULL);
  GvTensor *tres = residual == 1 ? gv_test_tensor (xnd, oshape, res) :
      residual == 2 ? gv_tensor_ref (out) : NULL;
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  gv_op_linear (cmd, out, tx, tw, tb, act, tres);
  gv_test_finish (cmd);
  gfloat *got = gv_test_download (out);
  gv_ref_matmul (want, x + first, w, 1, rows, n, k, TRUE, TRUE, FALSE, TRUE, 1.0f, bv,
      ref_act (act), res);
  gv_assert_close (got, want, rows * n, 1e-5);

  gv_cmd_free (cmd);
  gv_tensor_unref (xall);
  gv_tensor_unref (tx);
  gv_tensor_unref (tw);
  g_clear_pointer (&tb, gv_tensor_unref);
  g_clear_pointer (&tres, gv_tensor_unref);
  gv_tensor_unref (out);
  g_free (x);
  g_free (w);
  g_free (bv);
  g_free (res);
  g_free (want);
  g_free (got);
}

static void
test_linear (void)
{
  const gint64 s1[] = { 2, 5, 77, 40 };
  const gint64 s2[] = { 131, 96 };
  linear_case (s1, 4, 24, TRUE, GV_ACT_GELU, 0, 0, 80);
  linear_case (s2, 2, 130, FALSE, GV_ACT_NONE, 1, 0, 81);
  linear_case (s2, 2, 64, TRUE, GV_ACT_SILU, 2, 0, 82);
}

/* a view that starts off the 16-byte grid falls back to scalar loads */
static void
test_linear_unaligned_view (void)
{
  const gint64 s[] = { 3, 19, 36 };
  linear_case (s, 3, 20, TRUE, GV_ACT_NONE, 1, 3, 90);
}

/* runs matmul (and linear with @linear) on a [m, k] @ [k2, n] -> [m, n] that must fail with
 * GV_ERROR_INVALID, its message naming @shape (may be NULL) */
static void
expect_invalid (gint64 m, gint64 k, gint64 k2, gint64 n, gboolean linear, const gchar *shape)
{
  GvTensor *a = GV_TEST_TENSOR (NULL, m, k);
  GvTensor *b = GV_TEST_TENSOR (NULL, k2, n);
  GvTensor *out = GV_TEST_TENSOR (NULL, m, n);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  GError *error = NULL;

  for (int i = 0; i < (linear ? 2 : 1); i++) {
    if (i == 0)
      gv_op_matmul (cmd, out, a, b, NULL);
    else
      gv_op_linear (cmd, out, a, b, NULL, GV_ACT_NONE, NULL);
    g_assert_false (gv_cmd_finish (cmd, &error));
    g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
    if (shape)
      g_assert_nonnull (strstr (error->message, shape));
    g_clear_error (&error);
  }
  gv_cmd_free (cmd);
  gv_tensor_unref (a);
  gv_tensor_unref (b);
  gv_tensor_unref (out);
}

/* rows longer than a binding allows 256 of fail cleanly (no endless loop) */
static void
test_rows_too_long (void)
{
  g_setenv ("GENVIDEO_GEMM_MAX_BINDING", "65536", TRUE);
  gv_test_reopen_device ();
  expect_invalid (300, 8, 8, 100, FALSE, NULL);
  g_unsetenv ("GENVIDEO_GEMM_MAX_BINDING");
  gv_test_reopen_device ();
}

static void
test_shape_mismatch (void)
{
  expect_invalid (5, 7, 6, 3, TRUE, "6x3");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/matmul/odd", test_odd);
  g_test_add_func ("/matmul/aligned", test_aligned);
  g_test_add_func ("/matmul/transposes", test_transposes);
  g_test_add_func ("/matmul/mixed", test_mixed);
  g_test_add_func ("/matmul/k-tail", test_k_tail);
  g_test_add_func ("/matmul/tiny", test_tiny);
  g_test_add_func ("/matmul/broadcast", test_broadcast);
  g_test_add_func ("/matmul/epilogue", test_epilogue);
  g_test_add_func ("/matmul/forced-splits", test_forced_splits);
  g_test_add_func ("/matmul/big-output", test_big_output);
  g_test_add_func ("/matmul/big-batched", test_big_batched);
  g_test_add_func ("/matmul/big-a", test_big_a);
  g_test_add_func ("/linear/basic", test_linear);
  g_test_add_func ("/linear/unaligned-view", test_linear_unaligned_view);
  g_test_add_func ("/matmul/rows-too-long", test_rows_too_long);
  g_test_add_func ("/matmul/shape-mismatch", test_shape_mismatch);
  return g_test_run ();
}
