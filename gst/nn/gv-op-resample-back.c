/* Backward of concatenation, nearest resize and the per-frame repeat (shaders/concat_back.comp,
 * resize_back.comp, repeat_back.comp): one invocation per gradient element, gradients split
 * into dispatches that fit a binding. */
#include "nn/gv-op-resample-back.h"
#include "nn/gv-op-util.h"

#include "kernel-params.h"

static gint64
max_chunk (GvCmd *cmd)
{
  return MIN (gv_op_max_elements (cmd, GV_BIND_BUFFER, 4),
      gv_op_max_elements (cmd, GV_BIND_TEXEL_R32F, 4));
}

/* dpart [outer, len] (+)= dy [outer, row_len][:, start:start + len] */
static void
record_slice (GvCmd *cmd, GvTensor *dpart, GvTensor *dy, gint64 outer, gint64 row_len,
    gint64 start, gint64 len, gboolean accumulate)
{
  guint32 spec[1] = { accumulate ? 1 : 0 };
  GvKernel *k = gv_op_kernel (cmd, GV_KERNEL_CONCAT_BACK, spec, 1);
  if (k == NULL)
    return;
  gint64 per = max_chunk (cmd) / row_len;
  if (per < 1 || gv_div_up (len, 64) > gv_op_max_groups (cmd, 0)) {
    gv_op_fail_shapes (cmd, "concat_backward", "one row exceeds a binding", 1, &dy);
    return;
  }
  for (gint64 first = 0; first < outer; first += per) {
    gint64 n = MIN (per, outer - first);
    GvBinding b[2] = {
      gv_tensor_bind_range (dy, first * row_len, n * row_len, FALSE),
      gv_tensor_bind_range (dpart, first * len, n * len, TRUE),
    };
    GvSliceParams p = { (guint32) row_len, (guint32) start, (guint32) len, (guint32) n };
    guint gy, gz;
    gv_op_grid_yz (cmd, n, &gy, &gz);
    gv_cmd_dispatch (cmd, k, b, &p, (guint) gv_div_up (len, 64), gy, gz);
  }
}

void
gv_op_concat_backward (GvCmd *cmd, GvTensor *da, GvTensor *db, GvTensor *dy, gint dim,
    gboolean accumulate)
{
  const gchar *name = "concat_backward";
  GvTensor *all[3] = { dy, da, db };
  GvTensor *ts[3];
  guint n_ts = 0;
  for (guint i = 0; i < 3; i++)
    if (all[i])
      ts[n_ts++] = all[i];
  if (!gv_tensors_ready (cmd, name, n_ts, ts) || !gv_op_check_f32 (cmd, name, n_ts, ts))
    return;
  if (dim < 0)
    dim += dy->ndim;
  GvTensor *one = da ? da : db;
  gboolean ok = one != NULL && dim >= 0 && dim < dy->ndim;
  for (gint i = 1; ok && i < 3; i++)
    if (all[i]) {
      ok = all[i]->ndim == dy->ndim && all[i]->shape[dim] <= dy->shape[dim];
      for (gint d = 0; ok && d < dy->ndim; d++)
        ok = d == dim || all[i]->shape[d] == dy->shape[d];
    }
  if (ok && da && db)
    ok = da->shape[dim] + db->shape[dim] == dy->shape[dim];
  if (!ok) {
    gv_op_fail_shapes (cmd, name, "da and db must match dy except along dim (one may be "
        "NULL)", 3, all);
    return;
  }
  gint64 outer = 1, inner = 1;
  for (gint d = 0; d < dim; d++)
    outer *= dy->shape[d];
  for (gint d = dim + 1; d < dy->ndim; d++)
    inner *= dy->shape[d];
  gint64 na = da ? da->shape[dim] : dy->shape[dim] - db->shape[dim];
  gint64 row_len = dy->shape[dim] * inner, la = na * inner;
  if (da)
    record_slice (cmd, da, dy, outer, row_len, 0, la, accumulate);
  if (db)
    record_slice (cmd, db, dy, outer, row_len, la, row_len - la, accumulate);
}

void
gv_op_resize_nearest_backward (GvCmd *cmd, GvTensor *dx, GvTensor *dy, gboolean accumulate)
{
  const gchar *name = "resize_nearest_backward";
  GvTensor *ts[2] = { dx, dy };
  if (!gv_tensors_ready (cmd, name, 2, ts) || !gv_op_check_f32 (cmd, name, 2, ts))
    return;
  gint nd = dx->ndim;
  gboolean ok = nd >= 2 && dy->ndim == nd;
  for (gint d = 0; ok && d < nd - 2; d++)
    ok = dy->shape[d] == dx->shape[d];
  if (!ok) {
    gv_op_fail_shapes (cmd, name, "dx must be [..., H, W] and dy [..., Ho, Wo]", 2, ts);
    return;
  }
  gint64 h = dx->shape[nd - 2], w = dx->shape[nd - 1];
  gint64 ho = dy->shape[nd - 2], wo = dy->shape[nd - 1];
  gint64 planes = dx->numel / (h * w);
  guint32 spec[1] = { accumulate ? 1 : 0 };
  GvKernel *k = gv_op_kernel (cmd, GV_KERNEL_RESIZE_BACK, spec, 1);
  if (k == NULL)
    return;
  gint64 per = max_chunk (cmd) / MAX (h * w, ho * wo);
  if (per < 1 || (ho + 1) * h > G_MAXUINT32 || (wo + 1) * w > G_MAXUINT32) {
    gv_op_fail_shapes (cmd, name, "a plane is too large", 2, ts);
    return;
  }
  for (gint64 first = 0; first < planes; first += per) {
    gint64 n = MIN (per, planes - first);
    GvBinding b[2] = {
      gv_tensor_bind_range (dy, first * ho * wo, n * ho * wo, FALSE),
      gv_tensor_bind_range (dx, first * h * w, n * h * w, TRUE),
    };
    GvResizeParams p = { (guint32) h, (guint32) w, (guint32) ho, (guint32) wo,
      (guint32) (n * h) };
    guint gx, gy;
    gv_op_grid_1d (cmd, n * h * w, 64, &gx, &gy);
    gv_cmd_dispatch (cmd, k, b, &p, gx, gy, 1);
  }
}

void
gv_op_repeat_frames_backward (GvCmd *cmd, GvTensor *dx, GvTensor *dy, gint frames,
    gboolean accumulate)
{
  const gchar *name = "repeat_frames_backward";
  GvTensor *ts[2] = { dx, dy };
  if (!gv_tensors_ready (cmd, name, 2, ts) || !gv_op_check_f32 (cmd, name, 2, ts))
    return;
  if (frames < 1 || dx->ndim < 1 || dx->numel * frames != dy->numel ||
      dy->shape[0] != dx->shape[0] * frames) {
    gv_op_fail_shapes (cmd, name, "dx must be [clips, ...] and dy [clips * frames, ...]", 2,
        ts);
    return;
  }
  gint64 clips = dx->shape[0], len = dx->numel / MAX (clips, 1);
  guint32 spec[1] = { accumulate ? 1 : 0 };
  GvKernel *k = gv_op_kernel (cmd, GV_KERNEL_REPEAT_BACK, spec, 1);
  if (k == NULL || clips == 0)
    return;
  gint64 per = max_chunk (cmd) / (len * frames);
  if (per < 1) {
    gv_op_fail_shapes (cmd, name, "one clip exceeds a binding", 2, ts);
    return;
  }
  for (gint64 first = 0; first < clips; first += per) {
    gint64 n = MIN (per, clips - first);
    GvBinding b[2] = {
      gv_tensor_bind_range (dy, first * frames * len, n * frames * len, FALSE),
      gv_tensor_bind_range (dx, first * len, n * len, TRUE),
    };
    GvRepeatBackParams p = { (guint32) len, (guint32) frames, (guint32) (n * len) };
    guint gx, gy;
    gv_op_grid_1d (cmd, n * len, 64, &gx, &gy);
    gv_cmd_dispatch (cmd, k, b, &p, gx, gy, 1);
  }
}
