/* Normalisations and row ops (group norm, layer norm, softmax, GEGLU) against the C reference. */
#include <math.h>
#include <string.h>

#include "gv-ref.h"
#include "gv-test-util.h"

/* @offset + N(0, @sigma) (Box-Muller), for the large-mean cases */
static gfloat *
gaussian (gsize n, guint32 seed, gfloat offset, gfloat sigma)
{
  GRand *r = g_rand_new_with_seed (seed);
  gfloat *x = g_new (gfloat, n);
  for (gsize i = 0; i < n; i++) {
    gdouble u = g_rand_double_range (r, 1e-12, 1.0), v = g_rand_double (r);
    x[i] = (gfloat) (offset + sigma * sqrt (-2.0 * log (u)) * cos (2.0 * G_PI * v));
  }
  g_rand_free (r);
  return x;
}

typedef struct {
  gint64 n, c, h, w;
  gint groups, frames;
  gboolean gamma, beta, silu, in_place;
  gfloat offset;     /* 0: uniform in [-2, 2); else offset + N(0, 1) */
} GroupNormCase;

static void
group_norm_case (const GroupNormCase *k, guint32 seed)
{
  gint64 s = k->h * k->w, numel = k->n * k->c * s;
  gfloat *x = k->offset != 0 ? gaussian (numel, seed, k->offset, 1.0f) :
      gv_test_random (numel, seed, -2, 2);
  gfloat *gamma = k->gamma ? gv_test_random (k->c, seed + 1, 0.5f, 1.5f) : NULL;
  gfloat *beta = k->beta ? gv_test_random (k->c, seed + 2, -1, 1) : NULL;
  gfloat *want = g_new (gfloat, numel);
  GvTensor *tin = GV_TEST_TENSOR (x, k->n, k->c, k->h, k->w);
  GvTensor *tg = gamma ? GV_TEST_TENSOR (gamma, k->c) : NULL;
  GvTensor *tb = beta ? GV_TEST_TENSOR (beta, k->c) : NULL;
  GvTensor *out = k->in_place ? gv_tensor_ref (tin) : GV_TEST_TENSOR (NULL, k->n, k->c, k->h, k->w);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  gv_op_group_norm (cmd, out, tin, tg, tb, k->groups, k->frames, 1e-5f, k->silu);
  gv_test_finish (cmd);
  gfloat *got = gv_test_download (out);
  gv_ref_group_norm (want, x, k->n, k->c, s, gamma, beta, k->groups, k->frames, 1e-5f, k->silu);
  gv_assert_close (got, want, numel, 1e-5);

  gv_cmd_free (cmd);
  gv_tensor_unref (tin);
  gv_tensor_unref (out);
  if (tg)
    gv_tensor_unref (tg);
  if (tb)
    gv_tensor_unref (tb);
  g_free (x);
  g_free (gamma);
  g_free (beta);
  g_free (want);
  g_free (got);
}

/* plane of 63: scalar loads */
static void
test_group_norm_odd (void)
{
  GroupNormCase k = { 3, 12, 7, 9, 4, 1, TRUE, TRUE, FALSE, FALSE, 0 };
  group_norm_case (&k, 1);
}

/* plane of 80: vec4 loads, SiLU fused */
static void
test_group_norm_vec4_silu (void)
{
  GroupNormCase k = { 2, 10, 8, 10, 5, 1, TRUE, TRUE, TRUE, FALSE, 0 };
  group_norm_case (&k, 2);
}

/* statistics across the frames of a clip (Tune-A-Video), odd plane */
static void
test_group_norm_frames (void)
{
  GroupNormCase k = { 6, 8, 5, 7, 2, 3, TRUE, TRUE, TRUE, FALSE, 0 };
  group_norm_case (&k, 3);
}

static void
test_group_norm_no_affine (void)
{
  GroupNormCase a = { 2, 6, 11, 13, 3, 1, FALSE, FALSE, FALSE, FALSE, 0 };
  GroupNormCase b = { 2, 6, 4, 6, 2, 2, FALSE, TRUE, TRUE, FALSE, 0 };
  GroupNormCase flat = { 4, 6, 1, 1, 3, 1, TRUE, FALSE, FALSE, FALSE, 0 };   /* [N, C] */
  group_norm_case (&a, 4);
  group_norm_case (&b, 5);
  group_norm_case (&flat, 10);
}

static void
test_group_norm_in_place (void)
{
  GroupNormCase k = { 1, 9, 17, 19, 3, 1, TRUE, TRUE, TRUE, TRUE, 0 };
  group_norm_case (&k, 6);
}

/* a large mean against a unit deviation, over the real UNet size with 8 frames:
 * 8 x 10 x 4096 = 327680 values per statistic */
static void
test_group_norm_offset_frames (void)
{
  GroupNormCase k = { 8, 320, 64, 64, 32, 8, TRUE, TRUE, TRUE, FALSE, 100.0f };
  GroupNormCase odd = { 2, 6, 37, 41, 2, 1, FALSE, FALSE, FALSE, FALSE, 1000.0f };
  group_norm_case (&k, 7);
  group_norm_case (&odd, 8);
}

/* the VAE decoder at full size (512 x 512) holds up to 256 MiB in one image: 136 channels
 * (136 MiB, 17 per group) are enough to need more than one 128 MiB binding */
static void
test_group_norm_beyond_one_binding (void)
{
  GroupNormCase k = { 1, 136, 512, 512, 8, 1, TRUE, TRUE, TRUE, FALSE, 0 };
  group_norm_case (&k, 9);
}

typedef enum { ROWS_LN, ROWS_SOFTMAX, ROWS_GEGLU } RowsOp;

static void
rows_case (RowsOp op, gint64 rows, gint64 len, gboolean gamma_on, gboolean beta_on,
    gfloat offset, guint32 seed)
{
  gint64 numel = rows * len, out_len = op == ROWS_GEGLU ? len / 2 : len;
  gfloat *x = offset != 0 ? gaussian (numel, seed, offset, 1.0f) :
      gv_test_random (numel, seed, op == ROWS_SOFTMAX ? -20 : -3, op == ROWS_SOFTMAX ? 20 : 3);
  gfloat *gamma = gamma_on ? gv_test_random (len, seed + 1, 0.5f, 1.5f) : NULL;
  gfloat *beta = beta_on ? gv_test_random (len, seed + 2, -1, 1) : NULL;
  gfloat *want = g_new (gfloat, rows * out_len);
  GvTensor *tin = GV_TEST_TENSOR (x, rows, len);
  GvTensor *tg = gamma ? GV_TEST_TENSOR (gamma, len) : NULL;
  GvTensor *tb = beta ? GV_TEST_TENSOR (beta, len) : NULL;
  GvTensor *out = GV_TEST_TENSOR (NULL, rows, out_len);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  if (op == ROWS_LN) {
    gv_op_layer_norm (cmd, out, tin, tg, tb, 1e-5f);
    gv_ref_layer_norm (want, x, rows, len, gamma, beta, 1e-5f);
  } else if (op == ROWS_SOFTMAX) {
    gv_op_softmax (cmd, out, tin);
    gv_ref_softmax (want, x, rows, len);
  } else {
    gv_op_geglu (cmd, out, tin);
    gv_ref_geglu (want, x, rows, out_len);
  }
  gv_test_finish (cmd);
  gfloat *got = gv_test_download (out);
  gv_assert_close (got, want, rows * out_len, 1e-5);

  gv_cmd_free (cmd);
  gv_tensor_unref (tin);
  gv_tensor_unref (out);
  if (tg)
    gv_tensor_unref (tg);
  if (tb)
    gv_tensor_unref (tb);
  g_free (x);
  g_free (gamma);
  g_free (beta);
  g_free (want);
  g_free (got);
}

static void
test_layer_norm (void)
{
  rows_case (ROWS_LN, 77, 1024, TRUE, TRUE, 0, 11);     /* CLIP text, vec4 */
  rows_case (ROWS_LN, 13, 333, TRUE, TRUE, 0, 12);      /* scalar */
  rows_case (ROWS_LN, 5, 7, FALSE, FALSE, 0, 13);       /* shorter than a subgroup */
  rows_case (ROWS_LN, 31, 1280, TRUE, FALSE, 0, 14);
}

static void
test_layer_norm_offset (void)
{
  rows_case (ROWS_LN, 9, 1280, TRUE, TRUE, 100.0f, 15);
  rows_case (ROWS_LN, 7, 2997, FALSE, TRUE, 1000.0f, 16);
}

static void
test_softmax (void)
{
  rows_case (ROWS_SOFTMAX, 37, 77, FALSE, FALSE, 0, 21);
  rows_case (ROWS_SOFTMAX, 19, 4096, FALSE, FALSE, 0, 22);
  rows_case (ROWS_SOFTMAX, 3, 1, FALSE, FALSE, 0, 23);
  rows_case (ROWS_SOFTMAX, 5, 1003, FALSE, FALSE, 500.0f, 24);
}

/* masked logits: -inf entries get probability 0 */
static void
test_softmax_masked (void)
{
  gint64 rows = 11, len = 77;
  gfloat *x = gv_test_random (rows * len, 25, -5, 5);
  gfloat *want = g_new (gfloat, rows * len);
  for (gint64 r = 0; r < rows; r++)
    for (gint64 i = r + 1; i < len; i++)
      x[r * len + i] = -INFINITY;   /* causal */
  GvTensor *tin = GV_TEST_TENSOR (x, rows, len);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  gv_op_softmax (cmd, tin, tin);
  gv_test_finish (cmd);
  gfloat *got = gv_test_download (tin);
  gv_ref_softmax (want, x, rows, len);
  gv_assert_close (got, want, rows * len, 1e-5);
  gv_cmd_free (cmd);
  gv_tensor_unref (tin);
  g_free (x);
  g_free (want);
  g_free (got);
}

static void
test_geglu (void)
{
  rows_case (ROWS_GEGLU, 2 * 77, 2 * 320, FALSE, FALSE, 0, 31);    /* vec4 */
  rows_case (ROWS_GEGLU, 15, 2 * 37, FALSE, FALSE, 0, 32);         /* scalar */
  rows_case (ROWS_GEGLU, 3, 2, FALSE, FALSE, 0, 33);
}

/* views that start off a 16-byte boundary take the scalar kernels even when sizes allow vec4 */
static void
test_unaligned_views (void)
{
  gint64 rows = 6, len = 64, n = rows * len + 1;
  gfloat *x = gv_test_random (n, 41, -2, 2);
  gfloat *gamma = gv_test_random (len, 42, 0.5f, 1.5f);
  gfloat *want = g_new (gfloat, n);
  GvTensor *t = GV_TEST_TENSOR (x, n);
  GvTensor *tg = GV_TEST_TENSOR (gamma, len);
  GvTensor *out = GV_TEST_TENSOR (NULL, n);
  GvTensor *vin = GV_VIEW (t, 1, rows, len);
  GvTensor *vout = GV_VIEW (out, 1, rows, len);
  GvTensor *gin = GV_VIEW (t, 1, 2, 4, 8, 6);
  GvTensor *gout = GV_VIEW (out, 1, 2, 4, 8, 6);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  gv_op_layer_norm (cmd, vout, vin, tg, NULL, 1e-5f);
  gv_test_finish (cmd);
  gfloat *got = gv_test_download (out);
  gv_ref_layer_norm (want, x + 1, rows, len, gamma, NULL, 1e-5f);
  gv_assert_close (got + 1, want, rows * len, 1e-5);
  g_free (got);

  gv_op_group_norm (cmd, gout, gin, NULL, NULL, 2, 1, 1e-5f, TRUE);
  gv_test_finish (cmd);
  got = gv_test_download (out);
  gv_ref_group_norm (want, x + 1, 2, 4, 48, NULL, NULL, 2, 1, 1e-5f, TRUE);
  gv_assert_close (got + 1, want, rows * len, 1e-5);
  g_free (got);

  gv_cmd_free (cmd);
  gv_tensor_unref (vin);
  gv_tensor_unref (vout);
  gv_tensor_unref (gin);
  gv_tensor_unref (gout);
  gv_tensor_unref (t);
  gv_tensor_unref (tg);
  gv_tensor_unref (out);
  g_free (x);
  g_free (gamma);
  g_free (want);
}

static void
test_shape_errors (void)
{
  GvTensor *a = GV_TEST_TENSOR (NULL, 2, 6, 5, 5);
  GvTensor *g = GV_TEST_TENSOR (NULL, 5);
  GvTensor *r = GV_TEST_TENSOR (NULL, 3, 7);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  GError *error = NULL;

  gv_op_group_norm (cmd, a, a, NULL, NULL, 4, 1, 1e-5f, FALSE);   /* 6 % 4 */
  g_assert_false (gv_cmd_finish (cmd, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
  g_clear_error (&error);
  gv_op_group_norm (cmd, a, a, g, NULL, 3, 1, 1e-5f, FALSE);      /* gamma of 5 */
  g_assert_false (gv_cmd_finish (cmd, &error));
  g_clear_error (&error);
  gv_op_group_norm (cmd, a, a, NULL, NULL, 3, 3, 1e-5f, FALSE);   /* 2 images, clips of 3 */
  g_assert_false (gv_cmd_finish (cmd, &error));
  g_clear_error (&error);
  gv_op_geglu (cmd, r, r);
  g_assert_false (gv_cmd_finish (cmd, &error));
  g_assert_nonnull (strstr (error->message, "3x7"));
  g_clear_error (&error);
  gv_op_layer_norm (cmd, r, r, g, NULL, 1e-5f);
  g_assert_false (gv_cmd_finish (cmd, &error));
  g_clear_error (&error);

  gv_cmd_free (cmd);
  gv_tensor_unref (a);
  gv_tensor_unref (g);
  gv_tensor_unref (r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/norm/group-norm-odd", test_group_norm_odd);
  g_test_add_func ("/norm/group-norm-vec4-silu", test_group_norm_vec4_silu);
  g_test_add_func ("/norm/group-norm-frames", test_group_norm_frames);
  g_test_add_func ("/norm/group-norm-no-affine", test_group_norm_no_affine);
  g_test_add_func ("/norm/group-norm-in-place", test_group_norm_in_place);
  g_test_add_func ("/norm/group-norm-offset-frames", test_group_norm_offset_frames);
  g_test_add_func ("/norm/group-norm-beyond-one-binding", test_group_norm_beyond_one_binding);
  g_test_add_func ("/norm/layer-norm", test_layer_norm);
  g_test_add_func ("/norm/layer-norm-offset", test_layer_norm_offset);
  g_test_add_func ("/norm/softmax", test_softmax);
  g_test_add_func ("/norm/softmax-masked", test_softmax_masked);
  g_test_add_func ("/norm/geglu", test_geglu);
  g_test_add_func ("/norm/unaligned-views", test_unaligned_views);
  g_test_add_func ("/norm/shape-errors", test_shape_errors);
  return g_test_run ();
}
