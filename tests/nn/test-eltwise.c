/* Element-wise ops against the C reference. */
#include <math.h>
#include <string.h>

#include "gv-ref.h"
#include "gv-test-util.h"

typedef struct {
  gint nd;
  gint64 shape[5];
} Shape;

static gint64
numel (const Shape *s)
{
  gint64 n = 1;
  for (gint i = 0; i < s->nd; i++)
    n *= s->shape[i];
  return n;
}

/* runs one element-wise op on the device and the reference and compares */
static void
check (GvRefBinary ref_op, const Shape *so, const Shape *sa, const Shape *sb, const Shape *sm,
    gfloat alpha, gfloat beta, guint seed)
{
  gfloat *a = gv_test_random (numel (sa), seed, -2, 2);
  gfloat *b = gv_test_random (numel (sb), seed + 1, -2, 2);
  gfloat *m = sm ? gv_test_random (numel (sm), seed + 2, 0, 1) : NULL;
  gfloat *want = g_new (gfloat, numel (so));
  GvTensor *ta = gv_test_tensor (sa->nd, sa->shape, a);
  GvTensor *tb = gv_test_tensor (sb->nd, sb->shape, b);
  GvTensor *tm = sm ? gv_test_tensor (sm->nd, sm->shape, m) : NULL;
  GvTensor *out = gv_test_tensor (so->nd, so->shape, NULL);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  if (ref_op == GV_REF_BLEND)
    gv_op_blend (cmd, out, ta, tb, tm);
  else
    gv_op_binary (cmd, out, ta, tb, ref_op == GV_REF_ADD ? GV_BINARY_ADD : GV_BINARY_MUL, alpha,
        beta);
  gv_test_finish (cmd);
  gfloat *got = gv_test_download (out);
  gv_ref_binary (want, so->shape, so->nd, a, sa->shape, sa->nd, b, sb->shape, sb->nd,
      m, sm ? sm->shape : NULL, sm ? sm->nd : 0, ref_op, alpha, beta);
  gv_assert_close (got, want, numel (so), 1e-6);

  gv_cmd_free (cmd);
  gv_tensor_unref (ta);
  gv_tensor_unref (tb);
  if (tm)
    gv_tensor_unref (tm);
  gv_tensor_unref (out);
  g_free (a);
  g_free (b);
  g_free (m);
  g_free (want);
  g_free (got);
}

static void
test_add_same_shape (void)
{
  Shape s = { 3, { 3, 37, 53 } };
  check (GV_REF_ADD, &s, &s, &s, NULL, 0.7f, -1.3f, 1);
}

static void
test_add_broadcast (void)
{
  Shape so = { 4, { 2, 3, 7, 5 } }, sa = { 3, { 3, 1, 5 } }, sb = { 2, { 7, 1 } };
  check (GV_REF_ADD, &so, &sa, &sb, NULL, 1.0f, 1.0f, 2);
  check (GV_REF_ADD, &so, &so, &sb, NULL, 1.0f, 2.5f, 3);
}

static void
test_mul_broadcast (void)
{
  Shape so = { 5, { 2, 3, 4, 5, 6 } }, sa = { 5, { 2, 1, 4, 1, 6 } }, sb = { 1, { 6 } };
  check (GV_REF_MUL, &so, &sa, &sb, NULL, 0.5f, 0.0f, 4);
}

static void
test_blend (void)
{
  Shape so = { 4, { 3, 5, 9, 11 } }, sm = { 4, { 3, 1, 9, 11 } };
  check (GV_REF_BLEND, &so, &so, &so, &sm, 1.0f, 1.0f, 5);
}

/* more elements than one 128 MiB storage binding holds: the op splits its dispatches */
static void
test_add_beyond_one_binding (void)
{
  const GvDeviceLimits *l = gv_device_get_limits (gv_test_device ());
  gint64 n = (gint64) (l->max_storage_range / 4) + 1234567;
  if (n > (1 << 27) - 1) {
    g_test_skip ("the device's storage range is too large to cross here");
    return;
  }
  Shape s = { 2, { n / 1000, 1000 } };
  check (GV_REF_ADD, &s, &s, &s, NULL, 1.0f, -0.5f, 6);
}

static void
unary_case (GvActivation act, gfloat (*ref) (gfloat), gboolean in_place)
{
  gint64 n = 17 * 241;
  gfloat *x = gv_test_random (n, 7, -6, 6);
  gfloat *want = g_new (gfloat, n);
  GvTensor *t = GV_TEST_TENSOR (x, 17, 241);
  GvTensor *out = in_place ? gv_tensor_ref (t) : GV_TEST_TENSOR (NULL, 17, 241);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  for (gint64 i = 0; i < n; i++)
    want[i] = ref (x[i]);
  gv_op_activation (cmd, out, t, act);
  gv_test_finish (cmd);
  gfloat *got = gv_test_download (out);
  gv_assert_close (got, want, n, 1e-6);
  gv_cmd_free (cmd);
  gv_tensor_unref (t);
  gv_tensor_unref (out);
  g_free (x);
  g_free (want);
  g_free (got);
}

static void
test_silu (void)
{
  unary_case (GV_ACT_SILU, gv_ref_silu, FALSE);
}

static void
test_gelu_in_place (void)
{
  unary_case (GV_ACT_GELU, gv_ref_gelu, TRUE);
}

static gfloat
ref_quick_gelu (gfloat x)
{
  return (gfloat) (x / (1.0 + exp (-1.702 * (gdouble) x)));
}

static void
test_quick_gelu (void)
{
  unary_case (GV_ACT_QUICK_GELU, ref_quick_gelu, FALSE);
}

static void
test_scale (void)
{
  gfloat *x = gv_test_random (1001, 8, -3, 3);
  gfloat want[1001];
  GvTensor *t = GV_TEST_TENSOR (x, 7, 11, 13);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  for (int i = 0; i < 1001; i++)
    want[i] = 0.18215f * x[i] - 0.25f;
  gv_op_scale (cmd, t, t, 0.18215f, -0.25f);
  gv_test_finish (cmd);
  gfloat *got = gv_test_download (t);
  gv_assert_close (got, want, 1001, 1e-6);
  gv_cmd_free (cmd);
  gv_tensor_unref (t);
  g_free (x);
  g_free (got);
}

/* a chain of dependent ops in one recording: the barriers must order them */
static void
test_dependent_chain (void)
{
  gint64 n = 3 * 1000;
  gfloat *x = gv_test_random (n, 9, -1, 1);
  gfloat *want = g_new (gfloat, n);
  GvTensor *t = GV_TEST_TENSOR (x, 3, 1000);
  GvTensor *u = GV_TEST_TENSOR (NULL, 3, 1000);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  for (gint64 i = 0; i < n; i++) {
    gdouble v = x[i];
    for (int k = 0; k < 100; k++)
      v = v * 0.99 + 0.01;
    want[i] = (gfloat) v;
  }
  /* ping-pong between two tensors across several batches */
  for (int k = 0; k < 100; k++) {
    if (k % 2 == 0)
      gv_op_scale (cmd, u, t, 0.99f, 0.01f);
    else
      gv_op_scale (cmd, t, u, 0.99f, 0.01f);
  }
  gv_test_finish (cmd);
  gfloat *got = gv_test_download (t);
  gv_assert_close (got, want, n, 1e-5);
  gv_cmd_free (cmd);
  gv_tensor_unref (t);
  gv_tensor_unref (u);
  g_free (x);
  g_free (want);
  g_free (got);
}

static void
test_shape_mismatch_fails_cleanly (void)
{
  GvTensor *a = GV_TEST_TENSOR (NULL, 3, 4);
  GvTensor *b = GV_TEST_TENSOR (NULL, 3, 5);
  GvTensor *out = GV_TEST_TENSOR (NULL, 3, 4);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  GError *error = NULL;

  gv_op_add (cmd, out, a, b);
  gv_op_add (cmd, out, a, a);   /* ignored after the failure */
  g_assert_false (gv_cmd_finish (cmd, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "3x5"));
  g_clear_error (&error);
  /* the command is usable again */
  gv_op_add (cmd, out, a, a);
  g_assert_true (gv_cmd_finish (cmd, &error));
  gv_cmd_free (cmd);
  gv_tensor_unref (a);
  gv_tensor_unref (b);
  gv_tensor_unref (out);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eltwise/add-same-shape", test_add_same_shape);
  g_test_add_func ("/eltwise/add-broadcast", test_add_broadcast);
  g_test_add_func ("/eltwise/mul-broadcast", test_mul_broadcast);
  g_test_add_func ("/eltwise/blend", test_blend);
  g_test_add_func ("/eltwise/add-beyond-one-binding", test_add_beyond_one_binding);
  g_test_add_func ("/eltwise/silu", test_silu);
  g_test_add_func ("/eltwise/gelu-in-place", test_gelu_in_place);
  g_test_add_func ("/eltwise/quick-gelu", test_quick_gelu);
  g_test_add_func ("/eltwise/scale", test_scale);
  g_test_add_func ("/eltwise/dependent-chain", test_dependent_chain);
  g_test_add_func ("/eltwise/shape-mismatch", test_shape_mismatch_fails_cleanly);
  return g_test_run ();
}
