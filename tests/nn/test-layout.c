/* Data movement ops (concat, permute, resize, gather, timestep embedding) against the C
 * reference. */
#include <math.h>
#include <string.h>

#include "gv-ref.h"
#include "gv-test-util.h"

static gint64
count (const gint64 *shape, gint nd)
{
  gint64 n = 1;
  for (gint d = 0; d < nd; d++)
    n *= shape[d];
  return n;
}

static void
concat_case (gint nd, const gint64 *sa, const gint64 *sb, gint dim, guint32 seed)
{
  gint64 so[5];
  gint pd = dim < 0 ? dim + nd : dim;
  for (gint d = 0; d < nd; d++)
    so[d] = d == pd ? sa[d] + sb[d] : sa[d];
  gint64 na = count (sa, nd), nb = count (sb, nd), no = na + nb;
  gfloat *a = gv_test_random (na, seed, -2, 2), *b = gv_test_random (nb, seed + 1, -2, 2);
  gfloat *want = g_new (gfloat, no);
  GvTensor *ta = gv_test_tensor (nd, sa, a), *tb = gv_test_tensor (nd, sb, b);
  GvTensor *out = gv_test_tensor (nd, so, NULL);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  gv_op_concat (cmd, out, ta, tb, dim);
  gv_test_finish (cmd);
  gfloat *got = gv_test_download (out);
  gv_ref_concat (want, a, sa, b, sb, nd, pd);
  gv_assert_close (got, want, no, 1e-7);

  gv_cmd_free (cmd);
  gv_tensor_unref (ta);
  gv_tensor_unref (tb);
  gv_tensor_unref (out);
  g_free (a);
  g_free (b);
  g_free (want);
  g_free (got);
}

static void
test_concat (void)
{
  /* UNet skip: channel concat of two images (buffer copies) */
  concat_case (4, (gint64[]) { 2, 5, 7, 9 }, (gint64[]) { 2, 3, 7, 9 }, 1, 1);
  /* CLIP vision: class token before the patches (copies) */
  concat_case (3, (gint64[]) { 2, 1, 64 }, (gint64[]) { 2, 19, 64 }, 1, 2);
  /* many short rows: the kernel, scalar and vec4 */
  concat_case (4, (gint64[]) { 3, 4, 5, 7 }, (gint64[]) { 3, 4, 5, 6 }, 3, 3);
  concat_case (2, (gint64[]) { 50, 8 }, (gint64[]) { 50, 12 }, -1, 4);
  concat_case (3, (gint64[]) { 11, 3, 4 }, (gint64[]) { 11, 5, 4 }, 1, 5);
  concat_case (2, (gint64[]) { 3, 5 }, (gint64[]) { 4, 5 }, 0, 6);
}

static void
permute_case (gint nd, const gint64 *shape, const gint *perm, guint32 seed)
{
  gint64 so[5], n = count (shape, nd);
  for (gint d = 0; d < nd; d++)
    so[d] = shape[perm[d]];
  gfloat *x = gv_test_random (n, seed, -2, 2);
  gfloat *want = g_new (gfloat, n);
  GvTensor *tin = gv_test_tensor (nd, shape, x);
  GvTensor *out = gv_test_tensor (nd, so, NULL);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  gv_op_permute (cmd, out, tin, perm);
  gv_test_finish (cmd);
  gfloat *got = gv_test_download (out);
  gv_ref_permute (want, x, shape, nd, perm);
  gv_assert_close (got, want, n, 1e-7);

  gv_cmd_free (cmd);
  gv_tensor_unref (tin);
  gv_tensor_unref (out);
  g_free (x);
  g_free (want);
  g_free (got);
}

static void
test_permute (void)
{
  /* Tune-A-Video temporal attention: (B, F, D, C) -> (B, D, F, C), rows of C (vec4, scalar) */
  permute_case (4, (gint64[]) { 2, 3, 17, 8 }, (gint[]) { 0, 2, 1, 3 }, 11);
  permute_case (4, (gint64[]) { 2, 3, 17, 5 }, (gint[]) { 0, 2, 1, 3 }, 12);
  /* (B, C, HW) -> (B, HW, C): 4x4 tiles, and a gather when sizes are odd */
  permute_case (3, (gint64[]) { 2, 12, 20 }, (gint[]) { 0, 2, 1 }, 13);
  permute_case (3, (gint64[]) { 2, 13, 21 }, (gint[]) { 0, 2, 1 }, 14);
  /* plain transpose: the tiled dim is the outermost */
  permute_case (2, (gint64[]) { 12, 16 }, (gint[]) { 1, 0 }, 15);
  permute_case (3, (gint64[]) { 3, 7, 9 }, (gint[]) { 2, 0, 1 }, 16);
  permute_case (5, (gint64[]) { 2, 3, 4, 5, 6 }, (gint[]) { 4, 2, 0, 3, 1 }, 17);
  permute_case (5, (gint64[]) { 2, 4, 3, 8, 4 }, (gint[]) { 1, 4, 0, 3, 2 }, 18);
  /* size-1 dims and identity */
  permute_case (4, (gint64[]) { 1, 6, 1, 8 }, (gint[]) { 3, 1, 2, 0 }, 19);
  permute_case (3, (gint64[]) { 3, 5, 7 }, (gint[]) { 0, 1, 2 }, 20);
  permute_case (3, (gint64[]) { 3, 1, 7 }, (gint[]) { 1, 0, 2 }, 21);
}

static void gather_case (gint64 b, gint64 c, gint64 l, gint64 m, gint64 d, gint nd,
    guint32 seed);

/* outputs of more than 128 MiB: rows, tiles with the tiled dim outermost, the concat kernel,
 * gathered rows */
static void
test_beyond_one_binding (void)
{
  const GvDeviceLimits *l = gv_device_get_limits (gv_test_device ());
  if (l->max_storage_range > ((guint64) 128 << 20)) {
    g_test_skip ("the device's storage range is too large to cross here");
    return;
  }
  permute_case (4, (gint64[]) { 1, 16, 4096, 520 }, (gint[]) { 0, 2, 1, 3 }, 22);
  permute_case (2, (gint64[]) { 5800, 5800 }, (gint[]) { 1, 0 }, 23);
  concat_case (2, (gint64[]) { 4200, 4000 }, (gint64[]) { 4200, 4000 }, 1, 24);
  /* sparse-causal attention: frames as rows, 6 rows of 5.6 M values out */
  gather_case (1, 1, 3, 6, 5600000, 4, 25);
}

static void
resize_case (gint nd, const gint64 *si, gint64 ho, gint64 wo, guint32 seed)
{
  gint64 so[5];
  memcpy (so, si, nd * sizeof (gint64));
  so[nd - 2] = ho;
  so[nd - 1] = wo;
  gint64 h = si[nd - 2], w = si[nd - 1], n = count (si, nd), no = count (so, nd);
  gfloat *x = gv_test_random (n, seed, -2, 2);
  gfloat *want = g_new (gfloat, no);
  GvTensor *tin = gv_test_tensor (nd, si, x);
  GvTensor *out = gv_test_tensor (nd, so, NULL);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  gv_op_resize_nearest (cmd, out, tin);
  gv_test_finish (cmd);
  gfloat *got = gv_test_download (out);
  gv_ref_resize_nearest (want, x, n / (h * w), h, w, ho, wo);
  gv_assert_close (got, want, no, 1e-7);

  gv_cmd_free (cmd);
  gv_tensor_unref (tin);
  gv_tensor_unref (out);
  g_free (x);
  g_free (want);
  g_free (got);
}

static void
test_resize_nearest (void)
{
  resize_case (4, (gint64[]) { 2, 3, 5, 7 }, 10, 14, 31);       /* 2x, scalar */
  resize_case (4, (gint64[]) { 1, 4, 8, 8 }, 16, 16, 32);       /* 2x, vec4 */
  resize_case (4, (gint64[]) { 2, 2, 13, 17 }, 5, 6, 33);       /* mask downsizing */
  resize_case (4, (gint64[]) { 1, 3, 5, 7 }, 12, 20, 34);       /* non-integer factors */
  resize_case (5, (gint64[]) { 1, 2, 3, 4, 5 }, 8, 10, 35);     /* video latent */
  resize_case (4, (gint64[]) { 1, 1, 64, 64 }, 8, 8, 36);
}

/* src of @nd dims: 2 a table [L, D] (b = c = 1), 3 [B, C, L] (d = 1), 4 [B, C, L, D] */
static void
gather_case (gint64 b, gint64 c, gint64 l, gint64 m, gint64 d, gint nd, guint32 seed)
{
  gboolean table = nd == 2;
  gfloat *src = gv_test_random (b * c * l * d, seed, -2, 2);
  gint32 *index = g_new (gint32, b * m);
  gfloat *want = g_new (gfloat, b * c * m * d);
  GRand *r = g_rand_new_with_seed (seed + 1);
  for (gint64 i = 0; i < b * m; i++)
    index[i] = g_rand_int_range (r, 0, (gint32) l);
  index[0] = (gint32) l - 1;
  g_rand_free (r);

  GError *error = NULL;
  GvTensor *tsrc = table ? GV_TEST_TENSOR (src, l, d) : nd == 3 ?
      GV_TEST_TENSOR (src, b, c, l) : GV_TEST_TENSOR (src, b, c, l, d);
  GvTensor *out = table ? GV_TEST_TENSOR (NULL, m, d) : nd == 3 ?
      GV_TEST_TENSOR (NULL, b, c, m) : GV_TEST_TENSOR (NULL, b, c, m, d);
  GvTensor *tidx = table ?
      gv_tensor_new_typed (gv_test_device (), GV_DTYPE_I32, 1, (gint64[]) { m }, &error) :
      gv_tensor_new_typed (gv_test_device (), GV_DTYPE_I32, 2, (gint64[]) { b, m }, &error);
  g_assert_no_error (error);
  gv_tensor_upload (tidx, index, &error);
  g_assert_no_error (error);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  gv_op_gather (cmd, out, tsrc, tidx);
  gv_test_finish (cmd);
  gfloat *got = gv_test_download (out);
  gv_ref_gather (want, src, index, b, c, l, m, d);
  gv_assert_close (got, want, b * c * m * d, 1e-7);

  gv_cmd_free (cmd);
  gv_tensor_unref (tsrc);
  gv_tensor_unref (tidx);
  gv_tensor_unref (out);
  g_free (src);
  g_free (index);
  g_free (want);
  g_free (got);
}

static void
test_gather (void)
{
  gather_case (1, 1, 1000, 77, 64, 2, 41);        /* embedding lookup, vec4 */
  gather_case (1, 1, 999, 13, 7, 4, 42);
  gather_case (2, 3, 50, 40, 1, 4, 43);           /* latent positions */
  gather_case (3, 5, 61, 59, 1, 3, 45);           /* the same as [B, C, L] */
  gather_case (2, 3, 17, 9, 6, 4, 44);
  gather_case (1, 1, 7, 12, 1000, 4, 46);         /* whole frames as rows (long rows) */
  gather_case (2, 2, 5, 3, 1001, 4, 47);
}

static void
tstep_case (gint64 batch, gint64 dim, gboolean flip, gfloat shift, gfloat max_period,
    const gfloat *t)
{
  gfloat *want = g_new (gfloat, batch * dim);
  GvTensor *tt = GV_TEST_TENSOR (t, batch);
  GvTensor *out = GV_TEST_TENSOR (NULL, batch, dim);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  gv_op_timestep_embedding (cmd, out, tt, flip, shift, max_period);
  gv_test_finish (cmd);
  gfloat *got = gv_test_download (out);
  gv_ref_timestep_embedding (want, t, batch, dim, flip, shift, max_period);
  gv_assert_close (got, want, batch * dim, 1e-5);
  /* and element by element: the large arguments too */
  gdouble worst = 0;
  for (gint64 i = 0; i < batch * dim; i++)
    worst = MAX (worst, fabs ((gdouble) got[i] - want[i]));
  g_test_message ("largest difference %.3g", worst);
  g_assert_cmpfloat (worst, <, 1e-5);

  gv_cmd_free (cmd);
  gv_tensor_unref (tt);
  gv_tensor_unref (out);
  g_free (want);
  g_free (got);
}

static void
test_timestep_embedding (void)
{
  gfloat *t = gv_test_random (64, 51, 0, 1000);
  t[0] = 0;
  t[1] = 999;
  t[2] = 981;
  t[3] = 1;
  tstep_case (64, 320, TRUE, 0, 10000, t);        /* UNet time embedding */
  tstep_case (64, 1024, FALSE, 1, 10000, t);      /* diffusers default shift */
  tstep_case (5, 33, TRUE, 0, 10000, t);          /* odd dim */
  tstep_case (7, 64, FALSE, 0.5f, 100, t);
  g_free (t);
}

/* a view off a 16-byte boundary: the scalar kernels even though sizes allow vec4 */
static void
test_unaligned_view (void)
{
  gint64 shape[3] = { 4, 8, 12 }, n = 4 * 8 * 12;
  gint perm[3] = { 1, 0, 2 };
  gfloat *x = gv_test_random (n + 1, 61, -2, 2);
  gfloat *want = g_new (gfloat, n);
  GvTensor *t = GV_TEST_TENSOR (x, n + 1);
  GvTensor *v = GV_VIEW (t, 1, 4, 8, 12);
  GvTensor *out = GV_TEST_TENSOR (NULL, 8, 4, 12);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());

  gv_op_permute (cmd, out, v, perm);
  gv_test_finish (cmd);
  gfloat *got = gv_test_download (out);
  gv_ref_permute (want, x + 1, shape, 3, perm);
  gv_assert_close (got, want, n, 1e-7);

  gv_cmd_free (cmd);
  gv_tensor_unref (v);
  gv_tensor_unref (t);
  gv_tensor_unref (out);
  g_free (x);
  g_free (want);
  g_free (got);
}

static void
test_shape_errors (void)
{
  GvTensor *a = GV_TEST_TENSOR (NULL, 2, 3, 4);
  GvTensor *b = GV_TEST_TENSOR (NULL, 2, 3, 5);
  GvTensor *o = GV_TEST_TENSOR (NULL, 2, 6, 4);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  GError *error = NULL;

  gv_op_concat (cmd, o, a, b, 1);
  g_assert_false (gv_cmd_finish (cmd, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
  g_clear_error (&error);
  gv_op_permute (cmd, o, a, (gint[]) { 0, 0, 1 });
  g_assert_false (gv_cmd_finish (cmd, &error));
  g_clear_error (&error);
  gv_op_gather (cmd, o, a, a);      /* float index */
  g_assert_false (gv_cmd_finish (cmd, &error));
  g_clear_error (&error);
  gv_op_timestep_embedding (cmd, o, a, TRUE, 0, 10000);
  g_assert_false (gv_cmd_finish (cmd, &error));
  g_clear_error (&error);

  gv_cmd_free (cmd);
  gv_tensor_unref (a);
  gv_tensor_unref (b);
  gv_tensor_unref (o);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/layout/concat", test_concat);
  g_test_add_func ("/layout/permute", test_permute);
  g_test_add_func ("/layout/beyond-one-binding", test_beyond_one_binding);
  g_test_add_func ("/layout/resize-nearest", test_resize_nearest);
  g_test_add_func ("/layout/gather", test_gather);
  g_test_add_func ("/layout/timestep-embedding", test_timestep_embedding);
  g_test_add_func ("/layout/unaligned-view", test_unaligned_view);
  g_test_add_func ("/layout/shape-errors", test_shape_errors);
  return g_test_run ();
}
