/* Strided sums for the backward ops: one invocation per output, fixed order (no atomics), so
 * gradients are bit-identical run to run. */
#include "nn/gv-op-sum.h"
#include "nn/gv-op-gemm.h"
#include "nn/gv-op-util.h"

#include "kernel-params.h"

/* elements of in one dispatch spans for outputs [0, ni) and outer terms [0, nr1) */
static gint64
span (gint64 ni, gint64 si, gint64 len0, gint64 s0, gint64 nr1, gint64 s1)
{
  return (ni - 1) * si + (nr1 - 1) * s1 + (len0 - 1) * s0 + 1;
}

/* Few outputs of long sums (a bias's gradient: 64 channels, each over batch x pixels) would
 * be a few invocations on one core: below SPLIT_BELOW outputs the inner sums run in parts of
 * at least MIN_CHUNK terms, into a scratch [parts, count], then the parts are summed in order */
#define SPLIT_BELOW 4096
#define MIN_CHUNK 64

static void
sum_in_parts (GvCmd *cmd, GvKernel *k, GvTensor *out, GvTensor *in, gint64 si, gint64 len0,
    gint64 s0, gint64 len1, gint64 s1, gboolean accumulate)
{
  gint64 count = out->numel;
  gint64 parts = MIN ((SPLIT_BELOW + count - 1) / count, len0 / MIN_CHUNK);
  gint64 chunk = (len0 + parts - 1) / parts;
  parts = (len0 + chunk - 1) / chunk;
  GvTensor *part = GV_TENSOR (cmd, parts, count);
  GvSumStridedParams p = {
    .count = count, .si = si, .len0 = len0, .s0 = s0, .len1 = len1, .s1 = s1,
    .parts = parts, .chunk = chunk,
  };
  GvBinding bind[2] = {
    gv_tensor_bind_range (in, 0, span (count, si, len0, s0, len1, s1), FALSE),
    gv_tensor_bind (part, TRUE),
  };
  guint gx, gy;
  gv_op_grid_1d (cmd, parts * count, 64, &gx, &gy);
  gv_cmd_dispatch (cmd, k, bind, &p, gx, gy, 1);

  GvSumStridedParams q = {
    .count = count, .si = 1, .len0 = parts, .s0 = count, .len1 = 1, .s1 = 0,
    .accumulate = accumulate, .parts = 1, .chunk = parts,
  };
  GvBinding bind2[2] = { gv_tensor_bind (part, FALSE), gv_tensor_bind (out, TRUE) };
  gv_op_grid_1d (cmd, count, 64, &gx, &gy);
  gv_cmd_dispatch (cmd, k, bind2, &q, gx, gy, 1);
  gv_tensor_unref (part);
}

void
gv_op_sum_strided (GvCmd *cmd, const gchar *op, GvTensor *out, GvTensor *in, gint64 si,
    gint64 len0, gint64 s0, gint64 len1, gint64 s1, gboolean accumulate)
{
  GvTensor *ts[2] = { out, in };

  if (!gv_tensors_ready (cmd, op, 2, ts) || !gv_op_check_f32 (cmd, op, 2, ts))
    return;
  gint64 count = out->numel;
  if (count == 0)
    return;
  if (len0 * len1 == 0) {
    if (!accumulate)
      gv_tensor_record_fill (cmd, out, 0.0f);
    return;
  }
  if (span (count, si, len0, s0, len1, s1) > in->numel) {
    gv_op_fail_shapes (cmd, op, "the gradient does not fit the sum (internal)", 2, ts);
    return;
  }
  gint64 lim_in = gv_op_gemm_max_floats (cmd, GV_BIND_BUFFER);
  gint64 lim_o = gv_op_gemm_max_floats (cmd, GV_BIND_BUFFER);
  /* one long reduction (a column sum) larger than a binding is split along its terms */
  if (len1 == 1 && span (1, si, len0, s0, 1, s1) > lim_in) {
    len1 = len0;
    s1 = s0;
    len0 = 1;
    s0 = 0;
  }
  gint64 nr1 = len1, ni = MIN (count, lim_o);
  while (nr1 > 1 && span (ni, si, len0, s0, nr1, s1) > lim_in)
    nr1 = (nr1 + 1) / 2;
  while (ni > 1 && span (ni, si, len0, s0, nr1, s1) > lim_in)
    ni = (ni + 1) / 2;
  if (span (ni, si, len0, s0, nr1, s1) > lim_in) {
    gv_op_fail_shapes (cmd, op, "too large to split into bindings", 2, ts);
    return;
  }

  GvKernel *k = gv_op_kernel (cmd, GV_KERNEL_SUM_STRIDED, NULL, 0);
  if (k == NULL)
    return;
  if (nr1 == len1 && ni == count && count < SPLIT_BELOW && len0 >= 2 * MIN_CHUNK) {
    sum_in_parts (cmd, k, out, in, si, len0, s0, len1, s1, accumulate);
    return;
  }
  for (gint64 r0 = 0; r0 < len1; r0 += nr1) {
    gint64 nr = MIN (nr1, len1 - r0);
    for (gint64 i0 = 0; i0 < count; i0 += ni) {
      gint64 nc = MIN (ni, count - i0);
      GvSumStridedParams p = {
        .count = nc, .si = si, .len0 = len0, .s0 = s0, .len1 = nr, .s1 = s1,
        .accumulate = accumulate || r0 > 0, .parts = 1, .chunk = len0,
      };
      GvBinding bind[2] = {
        gv_tensor_bind_range (in, i0 * si + r0 * s1, span (nc, si, len0, s0, nr, s1), FALSE),
        gv_tensor_bind_range (out, i0, nc, TRUE),
      };
      guint gx, gy;
      gv_op_grid_1d (cmd, nc, 64, &gx, &gy);
      gv_cmd_dispatch (cmd, k, bind, &p, gx, gy, 1);
    }
  }
}

void
gv_op_sum_channels (GvCmd *cmd, const gchar *op, GvTensor *dsum, GvTensor *d,
    gboolean accumulate)
{
  GvTensor *ts[2] = { dsum, d };

  if (d->ndim < 2 || dsum->numel != d->shape[1]) {
    gv_op_fail_shapes (cmd, op, "needs d [N, C, ...] and a gradient of C elements", 2, ts);
    return;
  }
  gint64 n = d->shape[0], c = d->shape[1], s = n * c > 0 ? d->numel / (n * c) : 0;
  gv_op_sum_strided (cmd, op, dsum, d, s, s, 1, n, c * s, accumulate);
}
