/* Multi-head attention against the C reference: self, cross (shared key/value batches),
 * causal, odd head sizes, heads up to 512 channels, temporal shapes (many short sequences),
 * a long sequence, and tensors larger than one storage binding. */
#include <math.h>
#include <string.h>

#include "gv-ref.h"
#include "gv-test-util.h"

typedef struct {
  gint B, Bk, Lq, Lk, H, D;
  gboolean causal;
  gfloat scale;
  gint row_step;      /* check every row_step-th query row only (long sequences) */
  gint64 view_first;  /* > 0: q, k, v and out are views starting this many floats in */
} Case;

static GvTensor *
make (gint64 first, gint64 d0, gint64 d1, gint64 d2, const gfloat *data)
{
  if (first == 0)
    return GV_TEST_TENSOR (data, d0, d1, d2);
  /* a view at an unaligned offset of a larger tensor */
  gint64 n = d0 * d1 * d2;
  gfloat *buf = g_new0 (gfloat, n + first);
  if (data)
    memcpy (buf + first, data, n * sizeof (gfloat));
  GvTensor *parent = GV_TEST_TENSOR (buf, n + first);
  GvTensor *view = GV_VIEW (parent, first, d0, d1, d2);
  gv_tensor_unref (parent);
  g_free (buf);
  return view;
}

static void
check (const Case *c, guint seed)
{
  gint64 C = (gint64) c->H * c->D;
  gint64 nq = (gint64) c->B * c->Lq * C, nk = (gint64) c->Bk * c->Lk * C;
  gfloat *q = gv_test_random (nq, seed, -1.5, 1.5);
  gfloat *k = gv_test_random (nk, seed + 1, -1.5, 1.5);
  gfloat *v = gv_test_random (nk, seed + 2, -1, 1);
  GvTensor *tq = make (c->view_first, c->B, c->Lq, C, q);
  GvTensor *tk = make (c->view_first, c->Bk, c->Lk, C, k);
  GvTensor *tv = make (c->view_first, c->Bk, c->Lk, C, v);
  GvTensor *to = make (c->view_first, c->B, c->Lq, C, NULL);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  GvAttentionArgs args = { .heads = c->H, .scale = c->scale, .causal = c->causal };

  gv_op_attention (cmd, to, tq, tk, tv, &args);
  gv_test_finish (cmd);
  gfloat *got = gv_test_download (to);
  gfloat *want = g_new0 (gfloat, nq);
  gv_ref_attention (want, q, k, v, c->B, c->Bk, c->Lq, c->Lk, c->H, c->D, c->scale, c->causal,
      c->row_step);
  if (c->row_step > 1) {
    /* compare the reference rows only */
    gint64 rows = 0;
    for (gint64 r = 0; r < (gint64) c->B * c->Lq; r++) {
      if ((r % c->Lq) % c->row_step != 0)
        continue;
      memmove (got + rows * C, got + r * C, C * sizeof (gfloat));
      memmove (want + rows * C, want + r * C, C * sizeof (gfloat));
      rows++;
    }
    nq = rows * C;
  }
  gv_assert_close (got, want, nq, 1e-5);
  g_assert_cmpuint (gv_validation_error_count (), ==, 0);

  gv_cmd_free (cmd);
  gv_tensor_unref (tq);
  gv_tensor_unref (tk);
  gv_tensor_unref (tv);
  gv_tensor_unref (to);
  g_free (q);
  g_free (k);
  g_free (v);
  g_free (got);
  g_free (want);
}

static void
test_self (void)
{
  Case c = { .B = 3, .Bk = 3, .Lq = 37, .Lk = 37, .H = 3, .D = 20 };
  check (&c, 1);
}

static void
test_odd_head_size (void)
{
  Case c = { .B = 2, .Bk = 2, .Lq = 29, .Lk = 41, .H = 2, .D = 13 };
  check (&c, 2);
}

/* text embeddings shared by the frames of a clip: Bk divides B */
static void
test_cross_shared_kv (void)
{
  Case c = { .B = 6, .Bk = 2, .Lq = 45, .Lk = 77, .H = 5, .D = 16 };
  check (&c, 3);
}

/* Tune-A-Video's sparse-causal attention: keys from two frames */
static void
test_sparse_causal_shape (void)
{
  Case c = { .B = 3, .Bk = 3, .Lq = 63, .Lk = 126, .H = 2, .D = 24 };
  check (&c, 4);
}

/* CLIP text: causal, 77 tokens, heads of 64 */
static void
test_causal (void)
{
  Case c = { .B = 2, .Bk = 2, .Lq = 77, .Lk = 77, .H = 3, .D = 64, .causal = TRUE };
  check (&c, 5);
}

static void
test_causal_odd (void)
{
  Case c = { .B = 1, .Bk = 1, .Lq = 133, .Lk = 133, .H = 1, .D = 7, .causal = TRUE };
  check (&c, 6);
}

static void
test_explicit_scale (void)
{
  Case c = { .B = 2, .Bk = 1, .Lq = 19, .Lk = 23, .H = 4, .D = 8, .scale = 0.37f };
  check (&c, 7);
}

/* the VAE's single-head attention: D = 512 (several chunks of the head per query block) */
static void
test_head_512 (void)
{
  Case c = { .B = 1, .Bk = 1, .Lq = 70, .Lk = 83, .H = 1, .D = 512 };
  check (&c, 8);
}

/* a head size that leaves a partial last chunk */
static void
test_head_odd_large (void)
{
  Case c = { .B = 2, .Bk = 2, .Lq = 21, .Lk = 35, .H = 2, .D = 147 };
  check (&c, 9);
}

/* temporal attention: many batches of a few frames */
static void
test_temporal (void)
{
  Case c = { .B = 517, .Bk = 517, .Lq = 7, .Lk = 7, .H = 2, .D = 24 };
  check (&c, 10);
}

static void
test_single_key_and_query (void)
{
  Case a = { .B = 3, .Bk = 3, .Lq = 1, .Lk = 1, .H = 2, .D = 4 };
  Case b = { .B = 2, .Bk = 2, .Lq = 5, .Lk = 1, .H = 1, .D = 9 };
  check (&a, 11);
  check (&b, 12);
}

/* views at offsets that are not 16-byte aligned */
static void
test_unaligned_views (void)
{
  Case c = { .B = 2, .Bk = 1, .Lq = 31, .Lk = 50, .H = 2, .D = 32, .view_first = 3 };
  check (&c, 13);
}

/* 4096 queries x 4096 keys, as the UNet's self-attention at 64x64 latents (two heads here to
 * keep the suite short); the reference checks every 61st query row */
static void
test_long_sequence (void)
{
  Case c = { .B = 1, .Bk = 1, .Lq = 4096, .Lk = 4096, .H = 2, .D = 64, .row_step = 61 };
  check (&c, 14);
}

/* q and out larger than one 128 MiB storage binding, with few keys (cross-attention shaped, so
 * that the case stays cheap): the op splits its dispatches by batch, and by query rows when one
 * batch alone is too large */
static void
binding_case (gint B, gint Bk, gint64 rows_per_binding_times_1000, guint seed)
{
  const GvDeviceLimits *l = gv_device_get_limits (gv_test_device ());
  gint64 C = 128;
  gint64 rows = (gint64) (l->max_storage_range / 4) / C;   /* rows one binding holds */
  gint64 Lq = rows * rows_per_binding_times_1000 / 1000 + 13;
  if (B * Lq * C > ((gint64) 1 << 27) - 1) {
    g_test_skip ("the device's storage range is too large to cross here");
    return;
  }
  Case c = { .B = B, .Bk = Bk, .Lq = (gint) Lq, .Lk = 5, .H = 2, .D = (gint) C / 2 };
  check (&c, seed);
}

static void
test_beyond_one_binding_batches (void)
{
  /* 4 batches of 0.27 bindings: 3 in the first dispatch, 1 in the second */
  binding_case (4, 2, 270, 15);
}

static void
test_beyond_one_binding_rows (void)
{
  /* one batch of 1.01 bindings: two dispatches over its rows */
  binding_case (1, 1, 1010, 16);
}

static void
test_bad_shapes_fail (void)
{
  GvTensor *q = GV_TEST_TENSOR (NULL, 3, 5, 8);
  GvTensor *k = GV_TEST_TENSOR (NULL, 2, 5, 8);
  GvTensor *out = GV_TEST_TENSOR (NULL, 3, 5, 8);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  GvAttentionArgs args = { .heads = 2 };
  GError *error = NULL;

  gv_op_attention (cmd, out, q, k, k, &args);    /* 2 does not divide 3 */
  g_assert_false (gv_cmd_finish (cmd, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
  g_clear_error (&error);
  args.heads = 3;                                /* 3 does not divide 8 channels */
  gv_op_attention (cmd, out, q, q, q, &args);
  g_assert_false (gv_cmd_finish (cmd, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
  g_clear_error (&error);
  gv_cmd_free (cmd);
  gv_tensor_unref (q);
  gv_tensor_unref (k);
  gv_tensor_unref (out);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/attention/self", test_self);
  g_test_add_func ("/attention/odd-head-size", test_odd_head_size);
  g_test_add_func ("/attention/cross-shared-kv", test_cross_shared_kv);
  g_test_add_func ("/attention/sparse-causal-shape", test_sparse_causal_shape);
  g_test_add_func ("/attention/causal", test_causal);
  g_test_add_func ("/attention/causal-odd", test_causal_odd);
  g_test_add_func ("/attention/explicit-scale", test_explicit_scale);
  g_test_add_func ("/attention/head-512", test_head_512);
  g_test_add_func ("/attention/head-odd-large", test_head_odd_large);
  g_test_add_func ("/attention/temporal", test_temporal);
  g_test_add_func ("/attention/single-key-and-query", test_single_key_and_query);
  g_test_add_func ("/attention/unaligned-views", test_unaligned_views);
  g_test_add_func ("/attention/long-sequence", test_long_sequence);
  g_test_add_func ("/attention/beyond-one-binding-batches", test_beyond_one_binding_batches);
  g_test_add_func ("/attention/beyond-one-binding-rows", test_beyond_one_binding_rows);
  g_test_add_func ("/attention/bad-shapes", test_bad_shapes_fail);
  return g_test_run ();
}
