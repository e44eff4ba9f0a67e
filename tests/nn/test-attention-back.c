/* Attention backward and the layouts around it against the double references of
 * tests/ref/gv-ref-back.h: the forward that keeps the log-sum-exp, dq, dk, dv (self, cross with
 * shared key/value batches, causal, odd sizes, heads up to 512, temporal shapes, several blocks
 * of query rows, a long sequence), overwrite and accumulate; the sparse-causal gather backward;
 * the permute backward of temporal attention. */
#include <math.h>
#include <string.h>

#include "gv-test-back.h"
#include "gv-test-files.h"
#include "gv-test-util.h"
#include "models/gv-transformer.h"

typedef struct {
  gint B, Bk, Lq, Lk, H, D;
  gboolean causal;
  gfloat scale;
} Case;

/* forward with lse, then the backward (overwriting, or adding to random gradients) */
static void
check (const Case *c, guint seed, gboolean accumulate)
{
  gint64 C = (gint64) c->H * c->D;
  gint64 nq = (gint64) c->B * c->Lq * C, nk = (gint64) c->Bk * c->Lk * C;
  gint64 nl = (gint64) c->B * c->H * c->Lq;
  gfloat *q = gv_test_random (nq, seed, -1.5, 1.5);
  gfloat *k = gv_test_random (nk, seed + 1, -1.5, 1.5);
  gfloat *v = gv_test_random (nk, seed + 2, -1, 1);
  gfloat *dout = gv_test_random (nq, seed + 3, -1, 1);
  gfloat *gq0 = gv_test_random (nq, seed + 4, -1, 1);
  gfloat *gk0 = gv_test_random (nk, seed + 5, -1, 1);
  gfloat *gv0 = gv_test_random (nk, seed + 6, -1, 1);
  GvTensor *tq = GV_TEST_TENSOR (q, c->B, c->Lq, C);
  GvTensor *tk = GV_TEST_TENSOR (k, c->Bk, c->Lk, C);
  GvTensor *tv = GV_TEST_TENSOR (v, c->Bk, c->Lk, C);
  GvTensor *tdo = GV_TEST_TENSOR (dout, c->B, c->Lq, C);
  GvTensor *to = GV_TEST_TENSOR (NULL, c->B, c->Lq, C);
  GvTensor *tl = GV_TEST_TENSOR (NULL, c->B, c->H, c->Lq);
  /* random contents either way: overwriting must not read them */
  GvTensor *tdq = GV_TEST_TENSOR (gq0, c->B, c->Lq, C);
  GvTensor *tdk = GV_TEST_TENSOR (gk0, c->Bk, c->Lk, C);
  GvTensor *tdv = GV_TEST_TENSOR (gv0, c->Bk, c->Lk, C);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  GvAttentionArgs args = { .heads = c->H, .scale = c->scale, .causal = c->causal };

  gv_op_attention_lse (cmd, to, tl, tq, tk, tv, &args);
  gv_op_attention_backward (cmd, tdq, tdk, tdv, tdo, tq, tk, tv, to, tl, &args, accumulate);
  gv_test_finish (cmd);

  GvRefAttn a = {
    .B = c->B, .Bk = c->Bk, .Lq = c->Lq, .Lk = c->Lk, .heads = c->H, .head_dim = c->D,
    .scale = c->scale, .causal = c->causal,
  };
  gdouble *dq_ = gv_test_to_double (q, nq), *dk_ = gv_test_to_double (k, nk);
  gdouble *dv_ = gv_test_to_double (v, nk);
  gdouble *ddo = gv_test_to_double (dout, nq);
  gdouble *o = g_new0 (gdouble, nq), *lse = g_new0 (gdouble, nl);
  gdouble *gq = gv_test_to_double (accumulate ? gq0 : NULL, nq);
  gdouble *gk = gv_test_to_double (accumulate ? gk0 : NULL, nk);
  gdouble *gvv = gv_test_to_double (accumulate ? gv0 : NULL, nk);
  gv_ref_attention_forward (o, lse, dq_, dk_, dv_, &a);
  gv_ref_attention_backward (gq, gk, gvv, ddo, dq_, dk_, dv_, o, lse, &a);

  gv_assert_grad_all (to, o, 1e-5);
  gv_assert_grad_all (tl, lse, 1e-6);
  gv_assert_grad_all (tdq, gq, 1e-4);
  gv_assert_grad_all (tdk, gk, 1e-4);
  gv_assert_grad_all (tdv, gvv, 1e-4);
  g_assert_cmpuint (gv_validation_error_count (), ==, 0);

  gv_cmd_free (cmd);
  GvTensor *ts[] = { tq, tk, tv, tdo, to, tl, tdq, tdk, tdv };
  for (guint i = 0; i < G_N_ELEMENTS (ts); i++)
    gv_tensor_unref (ts[i]);
  gpointer bufs[] = { q, k, v, dout, gq0, gk0, gv0, dq_, dk_, dv_, ddo, o, lse, gq, gk, gvv };
  for (guint i = 0; i < G_N_ELEMENTS (bufs); i++)
    g_free (bufs[i]);
}

static void
test_self (void)
{
  Case c = { .B = 3, .Bk = 3, .Lq = 37, .Lk = 37, .H = 3, .D = 20 };
  check (&c, 1, FALSE);
  check (&c, 11, TRUE);
}

static void
test_odd_head_size (void)
{
  Case c = { .B = 2, .Bk = 2, .Lq = 29, .Lk = 41, .H = 2, .D = 13 };
  check (&c, 2, FALSE);
}

/* text embeddings shared by the frames of a clip: dk and dv sum over the query batches */
static void
test_cross_shared_kv (void)
{
  Case c = { .B = 6, .Bk = 2, .Lq = 45, .Lk = 77, .H = 5, .D = 16 };
  check (&c, 3, FALSE);
  check (&c, 13, TRUE);
}

static void
test_causal (void)
{
  Case c = { .B = 2, .Bk = 2, .Lq = 77, .Lk = 77, .H = 3, .D = 64, .causal = TRUE };
  check (&c, 4, FALSE);
}

/* causal with more keys than queries, and with fewer */
static void
test_causal_odd (void)
{
  Case c1 = { .B = 2, .Bk = 1, .Lq = 33, .Lk = 41, .H = 1, .D = 9, .causal = TRUE };
  Case c2 = { .B = 1, .Bk = 1, .Lq = 43, .Lk = 31, .H = 2, .D = 8, .causal = TRUE };
  /* several (batch, head) pairs per block, fewer queries than keys */
  Case c3 = { .B = 3, .Bk = 3, .Lq = 20, .Lk = 33, .H = 2, .D = 10, .causal = TRUE };
  /* rows of a multiple of 4 keys: the scores pass four keys an invocation */
  Case c4 = { .B = 2, .Bk = 2, .Lq = 24, .Lk = 64, .H = 2, .D = 8, .causal = TRUE };
  check (&c1, 5, TRUE);
  check (&c2, 15, FALSE);
  check (&c3, 25, FALSE);
  check (&c4, 35, TRUE);
}

static void
test_explicit_scale (void)
{
  Case c = { .B = 2, .Bk = 1, .Lq = 19, .Lk = 23, .H = 4, .D = 8, .scale = 0.37f };
  check (&c, 6, FALSE);
}

/* the VAE's single head of 512 channels */
static void
test_head_512 (void)
{
  Case c = { .B = 1, .Bk = 1, .Lq = 37, .Lk = 29, .H = 1, .D = 512 };
  check (&c, 7, FALSE);
}

/* temporal attention: many short sequences (several (batch, head) pairs per block) */
static void
test_temporal_shape (void)
{
  Case c = { .B = 45, .Bk = 45, .Lq = 7, .Lk = 7, .H = 2, .D = 24 };
  check (&c, 8, FALSE);
}

/* blocks of more than 65535 query rows, and of more than 65535 (batch, head) pairs (temporal
 * attention of 4 frames over a 64x64 latent has 80000): the score pass in several
 * dispatches. The pass is the same in both kernel families; the GPU family's batched matmuls
 * run 70000 tiny products for minutes on lavapipe, so only the device's own family runs it. */
static void
test_large_grids (void)
{
  if (g_strcmp0 (g_getenv ("GENVIDEO_KERNELS"), "gpu") == 0) {
    g_test_skip ("the score pass's dispatch split is the same in both families");
    return;
  }
  Case rows = { .B = 1, .Bk = 1, .Lq = 70000, .Lk = 5, .H = 1, .D = 4 };
  Case pairs = { .B = 17500, .Bk = 17500, .Lq = 4, .Lk = 4, .H = 4, .D = 4 };
  check (&rows, 28, FALSE);
  check (&pairs, 29, FALSE);
}

/* several blocks of query rows per (batch, head), causal and not, shared key/value batches */
static void
test_row_blocks (void)
{
  Case c1 = { .B = 2, .Bk = 1, .Lq = 1501, .Lk = 1503, .H = 1, .D = 8 };
  Case c2 = { .B = 1, .Bk = 1, .Lq = 1601, .Lk = 1601, .H = 1, .D = 16, .causal = TRUE };
  check (&c1, 9, TRUE);
  check (&c2, 19, FALSE);
}

/* 4096 tokens, as a 64x64 latent's self-attention (one small head to keep the reference fast) */
static void
test_long (void)
{
  Case c = { .B = 1, .Bk = 1, .Lq = 4096, .Lk = 4096, .H = 1, .D = 8 };
  check (&c, 10, FALSE);
}

static void
expect_error (GvCmd *cmd, const gchar *what)
{
  GError *error = NULL;
  g_assert_false (gv_cmd_finish (cmd, &error));
  gv_test_assert_error (error, GV_ERROR_INVALID, what, NULL);
  g_error_free (error);
}

static void
test_bad_args (void)
{
  g_autoptr (GvTensor) q = GV_TEST_TENSOR (NULL, 2, 5, 8);
  g_autoptr (GvTensor) k = GV_TEST_TENSOR (NULL, 2, 6, 8);
  g_autoptr (GvTensor) lse = GV_TEST_TENSOR (NULL, 2, 2, 5);
  g_autoptr (GvTensor) bad_lse = GV_TEST_TENSOR (NULL, 2, 2, 6);
  g_autoptr (GvTensor) dq = GV_TEST_TENSOR (NULL, 2, 5, 8);
  g_autoptr (GvTensor) dk = GV_TEST_TENSOR (NULL, 2, 6, 8);
  GvAttentionArgs args = { .heads = 2 };
  g_autoptr (GvCmd) cmd = gv_cmd_new (gv_test_device ());

  gv_op_attention_lse (cmd, q, bad_lse, q, k, k, &args);
  expect_error (cmd, "lse [B, heads, Lq]");
  gv_op_attention_backward (cmd, dq, dk, NULL, q, q, k, k, q, bad_lse, &args, FALSE);
  expect_error (cmd, "attention backward");
  gv_op_attention_backward (cmd, dk, dq, NULL, q, q, k, k, q, lse, &args, FALSE);
  expect_error (cmd, "gradients shaped as their inputs");

  g_autoptr (GvTensor) src = GV_TEST_TENSOR (NULL, 1, 1, 4, 3);
  g_autoptr (GvTensor) out = GV_TEST_TENSOR (NULL, 1, 1, 5, 3);
  gv_op_gather_backward (cmd, src, out, out, FALSE);
  expect_error (cmd, "not int32");
  GError *error = NULL;
  g_autoptr (GvTensor) idx = gv_tensor_new_typed (gv_test_device (), GV_DTYPE_I32, 2,
      (gint64[]) { 1, 4 }, &error);
  g_assert_no_error (error);
  gv_op_gather_backward (cmd, src, out, idx, FALSE);     /* 4 indices, 5 output rows */
  expect_error (cmd, "want src [B, C, L, D]");
  gv_op_permute_backward (cmd, src, out, (const gint[]) { 0, 1, 1, 3 }, FALSE);
  expect_error (cmd, "not a permutation");
}

/* dsrc of a gather, against the reference: the sparse-causal index of gv-transformer.c (frames
 * 0 and i-1 of each clip) on rows of one image each, and a random index */
static void
check_gather (gint b, gint ch, gint l, gint m, gint d, const gint32 *index, guint seed,
    gboolean accumulate)
{
  gint64 ns = (gint64) b * ch * l * d, no = (gint64) b * ch * m * d;
  gfloat *dout = gv_test_random (no, seed, -1, 1);
  gfloat *g0 = gv_test_random (ns, seed + 1, -1, 1);
  GError *error = NULL;
  GvTensor *ti = gv_tensor_new_typed (gv_test_device (), GV_DTYPE_I32, 2,
      (gint64[]) { b, m }, &error);
  g_assert_no_error (error);
  g_assert_true (gv_tensor_upload (ti, index, &error));
  GvTensor *tdo = GV_TEST_TENSOR (dout, b, ch, m, d);
  GvTensor *tds = GV_TEST_TENSOR (g0, b, ch, l, d);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  gv_op_gather_backward (cmd, tds, tdo, ti, accumulate);
  gv_test_finish (cmd);

  gdouble *want = gv_test_to_double (accumulate ? g0 : NULL, ns);
  gdouble *ddo = gv_test_to_double (dout, no);
  gv_ref_gather_backward (want, ddo, index, b, ch, l, m, d);
  gv_assert_grad_all (tds, want, 1e-6);
  g_assert_cmpuint (gv_validation_error_count (), ==, 0);

  gv_cmd_free (cmd);
  gv_tensor_unref (ti);
  gv_tensor_unref (tdo);
  gv_tensor_unref (tds);
  gpointer bufs[] = { dout, g0, want, ddo };
  for (guint i = 0; i < G_N_ELEMENTS (bufs); i++)
    g_free (bufs[i]);
}

static void
test_gather_sparse_causal (void)
{
  const gint clips = 2, frames = 5, L = 7, C = 12, n = clips * frames;
  gint32 *index = g_new (gint32, 2 * n), *model = g_new (gint32, 2 * n);
  gv_ref_sparse_causal_index (index, clips, frames);
  /* the model's index is the reference's */
  g_autoptr (GvCmd) cmd = gv_cmd_new (gv_test_device ());
  g_autoptr (GvTensor) ti = gv_sparse_causal_index (cmd, clips, frames);
  gv_test_finish (cmd);
  GError *error = NULL;
  g_assert_true (gv_tensor_download (ti, model, &error));
  g_assert_cmpmem (index, 2 * n * sizeof (gint32), model, 2 * n * sizeof (gint32));

  check_gather (1, 1, n, 2 * n, L * C, index, 21, FALSE);
  check_gather (1, 1, n, 2 * n, L * C, index, 22, TRUE);
  g_free (index);
  g_free (model);
}

static void
test_gather_random (void)
{
  const gint b = 2, ch = 3, l = 5, m = 11, d = 9;
  gint32 index[2 * 11];
  GRand *r = g_rand_new_with_seed (23);
  for (gint i = 0; i < b * m; i++)
    index[i] = g_rand_int_range (r, 0, l);
  g_rand_free (r);
  check_gather (b, ch, l, m, d, index, 24, TRUE);
  check_gather (b, ch, l, m, d, index, 25, FALSE);
}

/* temporal attention's [n, F, L, C] <-> [n, L, F, C]: the permute backward against the
 * reference, then attention across frames with q = k = v = the regrouped input, whose three
 * gradients go back through the permute backward into one tensor (overwrite, then add) */
static void
test_temporal_permute_attention (void)
{
  const gint n = 2, F = 5, L = 9, H = 2, D = 12, C = H * D;
  gint64 N = (gint64) n * F * L * C;
  gfloat *h = gv_test_random (N, 31, -1.5, 1.5);
  gfloat *dy = gv_test_random (N, 32, -1, 1);
  GvTensor *th = GV_TEST_TENSOR (h, n, F, L, C);
  GvTensor *tdy = GV_TEST_TENSOR (dy, n * L, F, C);
  GvTensor *seq = GV_TEST_TENSOR (NULL, n, L, F, C);
  GvTensor *att = GV_TEST_TENSOR (NULL, n * L, F, C);
  GvTensor *lse = GV_TEST_TENSOR (NULL, n * L, H, F);
  GvTensor *g[3], *dh = GV_TEST_TENSOR (NULL, n, F, L, C);
  GvTensor *dperm = GV_TEST_TENSOR (NULL, n, F, L, C);
  for (gint i = 0; i < 3; i++)
    g[i] = GV_TEST_TENSOR (NULL, n * L, F, C);
  const gint perm[4] = { 0, 2, 1, 3 };
  GvAttentionArgs args = { .heads = H };
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  gv_op_permute (cmd, seq, th, perm);
  GvTensor *s3 = GV_VIEW (seq, 0, n * L, F, C);
  gv_op_attention_lse (cmd, att, lse, s3, s3, s3, &args);
  gv_op_attention_backward (cmd, g[0], g[1], g[2], tdy, s3, s3, s3, att, lse, &args, FALSE);
  for (gint i = 0; i < 3; i++) {
    GvTensor *g4 = GV_VIEW (g[i], 0, n, L, F, C);
    gv_op_permute_backward (cmd, dh, g4, perm, i > 0);
    gv_tensor_unref (g4);
  }
  GvTensor *dy4 = GV_VIEW (tdy, 0, n, L, F, C);
  gv_op_permute_backward (cmd, dperm, dy4, perm, FALSE);
  gv_test_finish (cmd);

  gdouble *xh = gv_test_to_double (h, N), *xdy = gv_test_to_double (dy, N);
  gdouble *xseq = g_new0 (gdouble, N), *xo = g_new0 (gdouble, N);
  gdouble *xl = g_new0 (gdouble, (gint64) n * L * H * F), *xg = g_new0 (gdouble, N);
  gdouble *want = g_new0 (gdouble, N), *wperm = g_new0 (gdouble, N);
  GvRefAttn a = { .B = n * L, .Bk = n * L, .Lq = F, .Lk = F, .heads = H, .head_dim = D };
  gv_ref_swap_axes_forward (xseq, xh, n, F, L, C);
  gv_ref_attention_forward (xo, xl, xseq, xseq, xseq, &a);
  gv_ref_attention_backward (xg, xg, xg, xdy, xseq, xseq, xseq, xo, xl, &a);
  gv_ref_swap_axes_backward (want, xg, n, F, L, C);
  gv_ref_swap_axes_backward (wperm, xdy, n, F, L, C);

  gv_assert_grad_all (dh, want, 1e-4);
  gv_assert_grad_all (dperm, wperm, 1e-7);
  g_assert_cmpuint (gv_validation_error_count (), ==, 0);

  gv_cmd_free (cmd);
  GvTensor *ts[] = { th, tdy, seq, att, lse, g[0], g[1], g[2], dh, dperm, s3, dy4 };
  for (guint i = 0; i < G_N_ELEMENTS (ts); i++)
    gv_tensor_unref (ts[i]);
  gpointer bufs[] = { h, dy, xh, xdy, xseq, xo, xl, xg, want, wperm };
  for (guint i = 0; i < G_N_ELEMENTS (bufs); i++)
    g_free (bufs[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/attention-back/self", test_self);
  g_test_add_func ("/attention-back/odd-head-size", test_odd_head_size);
  g_test_add_func ("/attention-back/cross-shared-kv", test_cross_shared_kv);
  g_test_add_func ("/attention-back/causal", test_causal);
  g_test_add_func ("/attention-back/causal-odd", test_causal_odd);
  g_test_add_func ("/attention-back/explicit-scale", test_explicit_scale);
  g_test_add_func ("/attention-back/head-512", test_head_512);
  g_test_add_func ("/attention-back/temporal-shape", test_temporal_shape);
  g_test_add_func ("/attention-back/large-grids", test_large_grids);
  g_test_add_func ("/attention-back/row-blocks", test_row_blocks);
  g_test_add_func ("/attention-back/long", test_long);
  g_test_add_func ("/attention-back/bad-args", test_bad_args);
  g_test_add_func ("/gather-back/sparse-causal", test_gather_sparse_causal);
  g_test_add_func ("/gather-back/random", test_gather_random);
  g_test_add_func ("/permute-back/temporal-attention", test_temporal_permute_attention);
  return g_test_run ();
}
