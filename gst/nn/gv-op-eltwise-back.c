/* Element-wise backward (shaders/eltwise_back.comp, geglu_back.comp): one invocation per
 * element, the output split into dispatches that each fit a binding. */
#include "nn/gv-op-eltwise-back.h"
#include "nn/gv-op-util.h"

#include "kernel-params.h"

static guint32
back_op (GvActivation act)
{
  switch (act) {
    case GV_ACT_SILU:
      return GV_ELTWISE_BACK_SILU;
    case GV_ACT_GELU:
      return GV_ELTWISE_BACK_GELU;
    case GV_ACT_QUICK_GELU:
      return GV_ELTWISE_BACK_QUICK_GELU;
    default:
      return GV_ELTWISE_BACK_IDENTITY;
  }
}

static void
record_eltwise_back (GvCmd *cmd, const gchar *name, GvTensor *dx, GvTensor *dy, GvTensor *x,
    guint32 op, gboolean accumulate)
{
  GvTensor *ts[3] = { dx, dy, x };
  if (!gv_tensors_ready (cmd, name, 3, ts) || !gv_op_check_f32 (cmd, name, 3, ts))
    return;
  if (dx->numel != dy->numel || x->numel != dy->numel) {
    gv_op_fail_shapes (cmd, name, "dx, dy and x must have as many elements", 3, ts);
    return;
  }
  guint32 spec[2] = { op, accumulate ? 1 : 0 };
  GvKernel *k = gv_op_kernel (cmd, GV_KERNEL_ELTWISE_BACK, spec, 2);
  if (k == NULL)
    return;
  gint64 chunk = MIN (gv_op_max_elements (cmd, GV_BIND_BUFFER, 4),
      gv_op_max_elements (cmd, GV_BIND_TEXEL_R32F, 4));
  for (gint64 first = 0; first < dx->numel; first += chunk) {
    gint64 count = MIN (chunk, dx->numel - first);
    GvBinding b[3] = {
      gv_tensor_bind_range (dy, first, count, FALSE),
      gv_tensor_bind_range (x, first, count, FALSE),
      gv_tensor_bind_range (dx, first, count, TRUE),
    };
    GvEltwiseBackParams p = { (guint32) count };
    guint gx, gy;
    gv_op_grid_1d (cmd, count, 64, &gx, &gy);
    gv_cmd_dispatch (cmd, k, b, &p, gx, gy, 1);
  }
}

void
gv_op_activation_backward (GvCmd *cmd, GvTensor *dx, GvTensor *dy, GvTensor *x,
    GvActivation act, gboolean accumulate)
{
  record_eltwise_back (cmd, "activation_backward", dx, dy, x, back_op (act), accumulate);
}

void
gv_op_add_backward (GvCmd *cmd, GvTensor *da, GvTensor *db, GvTensor *dy, gboolean accumulate)
{
  GvTensor *grads[2] = { da, db };
  for (guint i = 0; i < 2; i++) {
    if (grads[i] == NULL || (!accumulate && grads[i] == dy))
      continue;
    record_eltwise_back (cmd, "add_backward", grads[i], dy, dy, GV_ELTWISE_BACK_IDENTITY,
        accumulate);
  }
}

void
gv_op_geglu_backward (GvCmd *cmd, GvTensor *dx, GvTensor *dy, GvTensor *x,
    gboolean accumulate)
{
  const gchar *name = "geglu_backward";
  GvTensor *ts[3] = { dx, dy, x };
  if (!gv_tensors_ready (cmd, name, 3, ts) || !gv_op_check_f32 (cmd, name, 3, ts))
    return;
  gint64 two_n = x->ndim >= 1 ? x->shape[x->ndim - 1] : 0;
  if (two_n < 2 || two_n % 2 != 0 || dx->numel != x->numel || dy->numel * 2 != x->numel) {
    gv_op_fail_shapes (cmd, name, "x and dx must be [..., 2N] and dy [..., N]", 3, ts);
    return;
  }
  gint64 half = two_n / 2, rows = dy->numel / half;
  guint32 spec[1] = { accumulate ? 1 : 0 };
  GvKernel *k = gv_op_kernel (cmd, GV_KERNEL_GEGLU_BACK, spec, 1);
  if (k == NULL)
    return;
  gint64 per = MIN (gv_op_max_elements (cmd, GV_BIND_BUFFER, 4),
      gv_op_max_elements (cmd, GV_BIND_TEXEL_R32F, 4)) / two_n;
  if (per < 1 || gv_div_up (half, 64) > gv_op_max_groups (cmd, 0)) {
    gv_op_fail_shapes (cmd, name, "one row exceeds a binding", 3, ts);
    return;
  }
  for (gint64 first = 0; first < rows; first += per) {
    gint64 n = MIN (per, rows - first);
    GvBinding b[3] = {
      gv_tensor_bind_range (dy, first * half, n * half, FALSE),
      gv_tensor_bind_range (x, first * two_n, n * two_n, FALSE),
      gv_tensor_bind_range (dx, first * two_n, n * two_n, TRUE),
    };
    GvGegluParams p = { (guint32) half, (guint32) n };
    guint gy, gz;
    gv_op_grid_yz (cmd, n, &gy, &gz);
    gv_cmd_dispatch (cmd, k, b, &p, (guint) gv_div_up (half, 64), gy, gz);
  }
}
