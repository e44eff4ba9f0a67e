/* Element-wise ops with broadcasting: one kernel, the function chosen by a specialization
 * constant, inputs read through texel buffers, the output split into dispatches that each fit
 * one storage-buffer binding. */
#include "nn/gv-op-eltwise.h"
#include "nn/gv-op-util.h"

#include "kernel-params.h"

/* Strides of @in broadcast to the 5-D right-aligned shape of @out; FALSE if incompatible. */
static gboolean
broadcast_strides (const GvTensor *out, const GvTensor *in, guint32 *strides, gboolean *same)
{
  gint64 stride = 1;
  for (gint d = 4, di = in->ndim - 1, dout = out->ndim - 1; d >= 0; d--, di--, dout--) {
    gint64 n_out = dout >= 0 ? out->shape[dout] : 1;
    gint64 n_in = di >= 0 ? in->shape[di] : 1;
    if (n_in == n_out) {
      strides[d] = (guint32) stride;
    } else if (n_in == 1) {
      strides[d] = 0;
      *same = FALSE;
    } else {
      return FALSE;
    }
    stride *= n_in;
  }
  if (in->numel != out->numel)
    *same = FALSE;
  return TRUE;
}

static void
eltwise (GvCmd *cmd, const gchar *name, guint32 op, GvTensor *out, GvTensor *a, GvTensor *b,
    GvTensor *m, gfloat alpha, gfloat beta)
{
  GvTensor *ts[4] = { out, a, b ? b : a, m ? m : a };
  GvEltwiseParams p = { .alpha = alpha, .beta = beta };
  gboolean same = TRUE;

  if (!gv_tensors_ready (cmd, name, 4, ts))
    return;
  if (out->ndim > 5 || !gv_op_check_f32 (cmd, name, 4, ts))
    return;
  for (gint d = 4, dout = out->ndim - 1; d >= 0; d--, dout--)
    p.shape[d] = dout >= 0 ? (guint32) out->shape[dout] : 1;
  if (!broadcast_strides (out, a, p.sa, &same) ||
      (b && !broadcast_strides (out, b, p.sb, &same)) ||
      (m && !broadcast_strides (out, m, p.sm, &same))) {
    gv_op_fail_shapes (cmd, name, "inputs do not broadcast to the output", 4, ts);
    return;
  }

  guint32 spec[2] = { op, same ? 0 : 1 };
  GvKernel *k = gv_op_kernel (cmd, GV_KERNEL_ELTWISE, spec, 2);
  if (k == NULL)
    return;

  gint64 chunk = gv_op_max_elements (cmd, GV_BIND_BUFFER, 4);
  for (gint64 first = 0; first < out->numel; first += chunk) {
    gint64 count = MIN (chunk, out->numel - first);
    GvBinding bind[4];
    for (int i = 0; i < 3; i++) {
      /* same-shape inputs follow the output's chunks; broadcast ones are bound whole */
      bind[i] = same ? gv_tensor_bind_range (ts[i + 1], first, count, FALSE) :
          gv_tensor_bind (ts[i + 1], FALSE);
    }
    bind[3] = gv_tensor_bind_range (out, first, count, TRUE);
    p.first = same ? 0 : (guint32) first;
    p.count = (guint32) count;
    guint gx, gy;
    gv_op_grid_1d (cmd, count, 64, &gx, &gy);
    gv_cmd_dispatch (cmd, k, bind, &p, gx, gy, 1);
  }
}

void
gv_op_binary (GvCmd *cmd, GvTensor *out, GvTensor *a, GvTensor *b, GvBinaryOp op, gfloat alpha,
    gfloat beta)
{
  if (op == GV_BINARY_ADD)
    eltwise (cmd, "add", GV_ELTWISE_ADD, out, a, b, NULL, alpha, beta);
  else
    eltwise (cmd, "mul", GV_ELTWISE_MUL, out, a, b, NULL, alpha, beta);
}

void
gv_op_add (GvCmd *cmd, GvTensor *out, GvTensor *a, GvTensor *b)
{
  eltwise (cmd, "add", GV_ELTWISE_ADD, out, a, b, NULL, 1.0f, 1.0f);
}

void
gv_op_mul (GvCmd *cmd, GvTensor *out, GvTensor *a, GvTensor *b)
{
  eltwise (cmd, "mul", GV_ELTWISE_MUL, out, a, b, NULL, 1.0f, 0.0f);
}

void
gv_op_scale (GvCmd *cmd, GvTensor *out, GvTensor *in, gfloat alpha, gfloat beta)
{
  eltwise (cmd, "scale", GV_ELTWISE_AFFINE, out, in, NULL, NULL, alpha, beta);
}

void
gv_op_clamp (GvCmd *cmd, GvTensor *out, GvTensor *in, gfloat lo, gfloat hi)
{
  eltwise (cmd, "clamp", GV_ELTWISE_CLAMP, out, in, NULL, NULL, lo, hi);
}

void
gv_op_blend (GvCmd *cmd, GvTensor *out, GvTensor *a, GvTensor *b, GvTensor *mask)
{
  eltwise (cmd, "blend", GV_ELTWISE_BLEND, out, a, b, mask, 1.0f, 1.0f);
}

void
gv_op_activation (GvCmd *cmd, GvTensor *out, GvTensor *in, GvActivation act)
{
  switch (act) {
    case GV_ACT_SILU:
      eltwise (cmd, "silu", GV_ELTWISE_SILU, out, in, NULL, NULL, 1.0f, 0.0f);
      break;
    case GV_ACT_GELU:
      eltwise (cmd, "gelu", GV_ELTWISE_GELU, out, in, NULL, NULL, 1.0f, 0.0f);
      break;
    case GV_ACT_QUICK_GELU:
      eltwise (cmd, "quick_gelu", GV_ELTWISE_QUICK_GELU, out, in, NULL, NULL, 1.0f, 0.0f);
      break;
    default:
      eltwise (cmd, "identity", GV_ELTWISE_AFFINE, out, in, NULL, NULL, 1.0f, 0.0f);
      break;
  }
}
