#include "nn/gv-op-util.h"

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
