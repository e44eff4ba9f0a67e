/* Group norm and layer norm backward (shaders/group_norm_back.comp, layer_norm_back.comp: the
 * stages and their numerics are explained there). */
#include "nn/gv-op-norm-back.h"
#include "nn/gv-op-norm-private.h"
#include "nn/gv-op-util.h"

#include "kernel-params.h"

#define CPU_GROUP 64
#define GPU_GROUP 256
#define CPU_ROWS_PER_GROUP 8
#define CPU_PLANES_PER_GROUP 8

static gboolean
is_gpu (GvCmd *cmd)
{
  return gv_device_get_kernel_path (gv_cmd_get_device (cmd)) == GV_KERNEL_PATH_GPU;
}

/* NULL, or a tensor of @numel elements */
static gboolean
size_ok (const GvTensor *t, gint64 numel)
{
  return t == NULL || t->numel == numel;
}

/* stages 1 and 3 over the planes, as many per dispatch as a binding holds */
static void
record_planes (GvCmd *cmd, GvKernel *k, gboolean sums, GvTensor *x, GvTensor *dy,
    GvTensor *table, GvTensor *gamma, GvTensor *beta, GvTensor *coef, GvTensor *out,
    gint64 n_planes, gint64 plane, guint32 channels, gboolean gpu)
{
  guint wg = gpu ? GPU_GROUP : CPU_GROUP;
  gint64 planes_per = MIN (gv_op_max_elements (cmd, GV_BIND_BUFFER, 4),
      gv_op_max_elements (cmd, GV_BIND_TEXEL_R32F, 4)) / plane;
  if (planes_per < 1) {
    gv_op_fail_shapes (cmd, "group_norm_backward", "one channel plane exceeds a binding", 1,
        &x);
    return;
  }
  for (gint64 first = 0; first < n_planes; first += planes_per) {
    gint64 n = MIN (planes_per, n_planes - first);
    GvBinding xb = gv_tensor_bind_range (x, first * plane, n * plane, FALSE);
    GvBinding b[7] = {
      xb,
      gv_tensor_bind_range (dy, first * plane, n * plane, FALSE),
      gv_tensor_bind (table, FALSE),
      gamma ? gv_tensor_bind (gamma, FALSE) : xb,
      beta ? gv_tensor_bind (beta, FALSE) : xb,
    };
    GvGroupNormBackParams p = { (guint32) plane, (guint32) first, (guint32) n, channels };
    guint gx, gy, gz = 1;
    if (sums) {
      b[5] = gv_tensor_bind (out, TRUE);
      gv_op_grid_1d (cmd, n, gpu ? 1 : CPU_PLANES_PER_GROUP, &gx, &gy);
    } else {
      b[5] = gv_tensor_bind (coef, FALSE);
      b[6] = gv_tensor_bind_range (out, first * plane, n * plane, TRUE);
      gx = (guint) gv_div_up (plane, wg * 4);
      gv_op_grid_yz (cmd, n, &gy, &gz);
    }
    gv_cmd_dispatch (cmd, k, b, &p, gx, gy, gz);
  }
}

void
gv_op_group_norm_backward (GvCmd *cmd, GvTensor *dx, GvTensor *dgamma, GvTensor *dbeta,
    GvTensor *dy, GvTensor *x, GvTensor *gamma, GvTensor *beta, gint groups, gint frames,
    gfloat eps, gboolean silu, gboolean accumulate)
{
  const gchar *name = "group_norm_backward";
  if (!gv_op_group_norm_check (cmd, name, dy, x, gamma, beta, groups, frames))
    return;
  GvTensor *grads[3] = { dx, dgamma, dbeta };
  for (guint i = 0; i < 3; i++)
    if (grads[i] && (!gv_tensors_ready (cmd, name, 1, &grads[i]) ||
        !gv_op_check_f32 (cmd, name, 1, &grads[i])))
      return;
  gint64 n_img = x->shape[0], channels = x->shape[1];
  gint64 plane = x->numel / (n_img * channels), n_planes = n_img * channels;
  if (!size_ok (dx, x->numel) || !size_ok (dgamma, channels) || !size_ok (dbeta, channels) ||
      (dgamma && !gamma) || (dbeta && !beta)) {
    GvTensor *all[6] = { dx, dgamma, dbeta, dy, x, gamma };
    gv_op_fail_shapes (cmd, name, "dx must have x's size, dgamma and dbeta C elements (and "
        "their gamma and beta)", 6, all);
    return;
  }
  if (dx == NULL && dgamma == NULL && dbeta == NULL)
    return;

  gboolean gpu = is_gpu (cmd);
  guint wg = gpu ? GPU_GROUP : CPU_GROUP;
  guint32 affine = (gamma ? 1 : 0) | (beta ? 2 : 0);
  GvTensor *table = gv_op_group_norm_table (cmd, x, NULL, NULL, groups, frames, eps,
      plane % 4 == 0 && gv_op_aligned16 (x));
  GvTensor *sums = GV_TENSOR (cmd, n_planes * 2);
  GvTensor *coef = dx ? GV_TENSOR (cmd, n_planes * 4) : NULL;
  if (table == NULL || gv_cmd_failed (cmd))
    goto done;

  guint32 spec[6] = {
    wg, gpu ? 1 : 0, affine, silu ? 1 : 0, accumulate ? 1 : 0, CPU_PLANES_PER_GROUP,
  };
  GvKernel *k = gv_op_kernel (cmd, GV_KERNEL_GROUP_NORM_BACK_SUMS, spec, 6);
  if (k == NULL)
    goto done;
  record_planes (cmd, k, TRUE, x, dy, table, gamma, beta, NULL, sums, n_planes, plane,
      (guint32) channels, gpu);

  GvGroupNormBackFinalParams fp = {
    (guint32) (n_img / frames * groups), (guint32) groups, (guint32) frames,
    (guint32) (channels / groups), (guint32) plane, (guint32) n_img,
  };
  guint gx, gy;
  if (dx) {
    guint32 spec_final[5] = { 64, 0, affine, 0, 0 };
    GvKernel *kf = gv_op_kernel (cmd, GV_KERNEL_GROUP_NORM_BACK_FINAL, spec_final, 5);
    if (kf == NULL)
      goto done;
    GvBinding bf[4] = {
      gv_tensor_bind (sums, FALSE),
      gv_tensor_bind (table, FALSE),
      gv_tensor_bind (gamma ? gamma : sums, FALSE),
      gv_tensor_bind (coef, TRUE),
    };
    gv_op_grid_1d (cmd, fp.n_stats, 64, &gx, &gy);
    gv_cmd_dispatch (cmd, kf, bf, &fp, gx, gy, 1);

    GvKernel *ka = gv_op_kernel (cmd, GV_KERNEL_GROUP_NORM_BACK_APPLY, spec, 6);
    if (ka == NULL)
      goto done;
    if (gv_div_up (plane, wg * 4) > gv_op_max_groups (cmd, 0)) {
      gv_op_fail_shapes (cmd, name, "one channel plane is too large", 1, &x);
      goto done;
    }
    record_planes (cmd, ka, FALSE, x, dy, table, gamma, beta, coef, dx, n_planes, plane,
        (guint32) channels, gpu);
  }

  if (dgamma || dbeta) {
    guint32 spec_par[5] = {
      64, 1, (dgamma ? 1 : 0) | (dbeta ? 2 : 0), 0, accumulate ? 1 : 0,
    };
    GvKernel *kp = gv_op_kernel (cmd, GV_KERNEL_GROUP_NORM_BACK_PARAMS, spec_par, 5);
    if (kp == NULL)
      goto done;
    /* an absent gradient's slot takes the other's binding (never written) */
    GvBinding bp[3] = {
      gv_tensor_bind (sums, FALSE),
      gv_tensor_bind (dgamma ? dgamma : dbeta, TRUE),
      gv_tensor_bind (dbeta ? dbeta : dgamma, TRUE),
    };
    gv_op_grid_1d (cmd, channels, 64, &gx, &gy);
    gv_cmd_dispatch (cmd, kp, bp, &fp, gx, gy, 1);
  }

done:
  g_clear_pointer (&table, gv_tensor_unref);
  g_clear_pointer (&coef, gv_tensor_unref);
  gv_tensor_unref (sums);
}

void
gv_op_layer_norm_backward (GvCmd *cmd, GvTensor *dx, GvTensor *dgamma, GvTensor *dbeta,
    GvTensor *dy, GvTensor *x, GvTensor *gamma, gfloat eps, gboolean accumulate)
{
  const gchar *name = "layer_norm_backward";
  GvTensor *all[6] = { dy, x, dx, dgamma, dbeta, gamma };
  GvTensor *ts[6];
  guint n_ts = 0;
  for (guint i = 0; i < 6; i++)
    if (all[i] != NULL)
      ts[n_ts++] = all[i];
  if (!gv_tensors_ready (cmd, name, n_ts, ts) || !gv_op_check_f32 (cmd, name, n_ts, ts))
    return;
  gint64 len = x->ndim >= 1 ? x->shape[x->ndim - 1] : 0;
  if (len < 1 || !gv_tensor_same_shape (dy, x) || !size_ok (dx, x->numel) ||
      !size_ok (gamma, len) || !size_ok (dgamma, len) || !size_ok (dbeta, len)) {
    gv_op_fail_shapes (cmd, name, "dy and dx must have x's shape [..., len], gamma, dgamma "
        "and dbeta len elements", 6, all);
    return;
  }
  gint64 rows = x->numel / len;
  if (x->numel > MIN (gv_op_max_elements (cmd, GV_BIND_BUFFER, 4),
          gv_op_max_elements (cmd, GV_BIND_TEXEL_R32F, 4))) {
    gv_op_fail_shapes (cmd, name, "x exceeds one binding", 6, all);
    return;
  }

  gboolean gpu = is_gpu (cmd);
  guint wg = !gpu ? CPU_GROUP : len <= 64 ? 64 : len <= 512 ? 128 : 256;
  GvTensor *dx_own = dx ? gv_tensor_ref (dx) : GV_TENSOR (cmd, x->numel);
  GvTensor *stats = GV_TENSOR (cmd, rows * 4);
  if (gv_cmd_failed (cmd))
    goto done;

  guint32 spec[5] = {
    wg, gpu ? 1 : 0, gamma ? 1 : 0, CPU_ROWS_PER_GROUP, accumulate && dx ? 1 : 0,
  };
  GvKernel *k = gv_op_kernel (cmd, GV_KERNEL_LAYER_NORM_BACK_ROWS, spec, 5);
  if (k == NULL)
    goto done;
  GvBinding xb = gv_tensor_bind (x, FALSE);
  GvBinding b[5] = {
    xb, gv_tensor_bind (dy, FALSE), gamma ? gv_tensor_bind (gamma, FALSE) : xb,
    gv_tensor_bind (dx_own, TRUE), gv_tensor_bind (stats, TRUE),
  };
  GvRowsParams p = { (guint32) len, (guint32) rows, eps };
  guint gx, gy;
  gv_op_grid_1d (cmd, rows, gpu ? 1 : CPU_ROWS_PER_GROUP, &gx, &gy);
  gv_cmd_dispatch (cmd, k, b, &p, gx, gy, 1);

  if (dgamma || dbeta) {
    guint32 spec_col[5] = {
      64, 0, (dgamma ? 1 : 0) | (dbeta ? 2 : 0), 1, accumulate ? 1 : 0,
    };
    GvKernel *kc = gv_op_kernel (cmd, GV_KERNEL_LAYER_NORM_BACK_COLUMNS, spec_col, 5);
    if (kc == NULL)
      goto done;
    GvBinding bc[5] = {
      xb, gv_tensor_bind (dy, FALSE), gv_tensor_bind (stats, FALSE),
      gv_tensor_bind (dgamma ? dgamma : dbeta, TRUE),
      gv_tensor_bind (dbeta ? dbeta : dgamma, TRUE),
    };
    gv_op_grid_1d (cmd, len, 64, &gx, &gy);
    gv_cmd_dispatch (cmd, kc, bc, &p, gx, gy, 1);
  }

done:
  gv_tensor_unref (dx_own);
  gv_tensor_unref (stats);
}
