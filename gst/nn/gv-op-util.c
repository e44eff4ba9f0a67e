#include "nn/gv-op-util.h"

gboolean
gv_op_aligned16 (const GvTensor *t)
{
  return t == NULL || (gv_memory_get_offset (t->mem) + t->offset) % 16 == 0;
}

gboolean
gv_op_check_f32 (GvCmd *cmd, const gchar *op, guint n, GvTensor *const *tensors)
{
  for (guint i = 0; i < n; i++) {
    if (tensors[i] != NULL && tensors[i]->dtype != GV_DTYPE_F32) {
      gv_cmd_failf (cmd, GV_ERROR_INVALID, "%s: tensor argument %u is not float32", op, i);
      return FALSE;
    }
  }
  return TRUE;
}

void
gv_op_fail_shapes (GvCmd *cmd, const gchar *op, const gchar *why, guint n,
    GvTensor *const *tensors)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < n; i++) {
    gchar *shape = tensors[i] ? gv_tensor_shape_string (tensors[i]) : g_strdup ("none");
    g_string_append_printf (s, i ? ", %s" : "%s", shape);
    g_free (shape);
  }
  gv_cmd_failf (cmd, GV_ERROR_INVALID, "%s: %s (shapes: %s)", op, why, s->str);
  g_string_free (s, TRUE);
}

GvKernel *
gv_op_kernel (GvCmd *cmd, GvKernelId id, const guint32 *spec, guint n_spec)
{
  GError *error = NULL;
  GvKernel *k = gv_device_get_kernel (gv_cmd_get_device (cmd), &gv_kernels[id], spec, n_spec,
      &error);
  if (k == NULL)
    gv_cmd_fail (cmd, error);
  return k;
}

gint64
gv_op_max_elements (GvCmd *cmd, GvBindKind kind, guint elem_bytes)
{
  const GvDeviceLimits *l = gv_device_get_limits (gv_cmd_get_device (cmd));
  /* leave room for the offset alignment of the binding's start */
  guint64 align = MAX (l->storage_offset_align, l->texel_offset_align);
  guint64 bytes = kind == GV_BIND_BUFFER ? l->max_storage_range :
      l->max_texel_elements * (kind == GV_BIND_TEXEL_RGBA32F ? 16 : 4);
  bytes = MIN (bytes, (guint64) G_MAXUINT32);
  return (gint64) ((bytes - align) / elem_bytes);
}

gint64
gv_op_max_groups (GvCmd *cmd, guint axis)
{
  g_return_val_if_fail (axis < 3, 1);
  return gv_device_get_limits (gv_cmd_get_device (cmd))->max_group_count[axis];
}

void
gv_op_grid_1d (GvCmd *cmd, gint64 count, guint local, guint *gx, guint *gy)
{
  gint64 groups = gv_div_up (count, local);
  gint64 x = MIN (groups, gv_op_max_groups (cmd, 0));
  *gx = (guint) MAX (x, 1);
  *gy = (guint) gv_div_up (groups, *gx);
}

void
gv_op_grid_yz (GvCmd *cmd, gint64 n, guint *gy, guint *gz)
{
  gint64 y = MIN (n, gv_op_max_groups (cmd, 1));
  *gy = (guint) MAX (y, 1);
  *gz = (guint) gv_div_up (n, *gy);
}

gboolean
gv_op_gather_check (GvCmd *cmd, const gchar *op, GvTensor *out, GvTensor *src,
    GvTensor *index, GvGatherShape *shape)
{
  GvTensor *ts[3] = { out, src, index };
  GvTensor *fs[2] = { out, src };
  if (!gv_tensors_ready (cmd, op, 3, ts) || !gv_op_check_f32 (cmd, op, 2, fs))
    return FALSE;
  if (index->dtype != GV_DTYPE_I32) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "%s: the index tensor is not int32", op);
    return FALSE;
  }
  /* [B, C, L, D] with [B, M]; [B, C, L] (D = 1) with [B, M]; a table [L, D] with [M] */
  gint64 bs = 1, ch = 1, len = 0, d = 1, m = index->shape[index->ndim - 1];
  gboolean ok = src->ndim >= 2 && src->ndim <= 4 && out->ndim == src->ndim;
  if (ok && src->ndim == 2) {
    len = src->shape[0];
    d = src->shape[1];
    ok = index->numel == m && out->shape[0] == m && out->shape[1] == d;
  } else if (ok) {
    bs = src->shape[0];
    ch = src->shape[1];
    len = src->shape[2];
    d = src->ndim == 4 ? src->shape[3] : 1;
    ok = index->ndim == 2 && index->shape[0] == bs && out->shape[0] == bs &&
        out->shape[1] == ch && out->shape[2] == m && (src->ndim == 3 || out->shape[3] == d);
  }
  if (!ok) {
    gv_op_fail_shapes (cmd, op, "want src [B, C, L, D], index [B, M], out [B, C, M, D]", 3,
        ts);
    return FALSE;
  }
  *shape = (GvGatherShape) { .b = bs, .c = ch, .l = len, .m = m, .d = d };
  return TRUE;
}
