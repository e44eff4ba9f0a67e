#include <string.h>

#include "nn/gv-tensor.h"

static gboolean
set_shape (GvTensor *t, gint ndim, const gint64 *shape, GError **error)
{
  if (ndim < 1 || ndim > GV_MAX_DIMS) {
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "a tensor has 1 to %d dimensions, not %d",
        GV_MAX_DIMS, ndim);
    return FALSE;
  }
  t->ndim = ndim;
  t->numel = 1;
  for (gint i = 0; i < ndim; i++) {
    if (shape[i] <= 0) {
      g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "dimension %d of a tensor is %"
          G_GINT64_FORMAT, i, shape[i]);
      return FALSE;
    }
    t->shape[i] = shape[i];
    t->numel *= shape[i];
  }
  for (gint i = ndim; i < GV_MAX_DIMS; i++)
    t->shape[i] = 1;
  return TRUE;
}

static GvTensor *
tensor_struct (GvDevice *dev, GvDType dtype, gint ndim, const gint64 *shape, GError **error)
{
  GvTensor *t = g_new0 (GvTensor, 1);
  t->ref = 1;
  t->dev = gv_device_ref (dev);
  t->dtype = dtype;
  if (!set_shape (t, ndim, shape, error)) {
    gv_tensor_unref (t);
    return NULL;
  }
  return t;
}

GvTensor *
gv_tensor_new (GvDevice *dev, gint ndim, const gint64 *shape, GError **error)
{
  return gv_tensor_new_typed (dev, GV_DTYPE_F32, ndim, shape, error);
}

GvTensor *
gv_tensor_new_typed (GvDevice *dev, GvDType dtype, gint ndim, const gint64 *shape,
    GError **error)
{
  GvTensor *t = tensor_struct (dev, dtype, ndim, shape, error);
  if (t == NULL)
    return NULL;
  t->mem = gv_memory_new (dev, GV_MEMORY_DEVICE, gv_tensor_nbytes (t), error);
  if (t->mem == NULL) {
    gv_tensor_unref (t);
    return NULL;
  }
  return t;
}

GvTensor *
gv_tensor_alloc (GvCmd *cmd, gint ndim, const gint64 *shape)
{
  return gv_tensor_alloc_typed (cmd, GV_DTYPE_F32, ndim, shape);
}

GvTensor *
gv_tensor_alloc_typed (GvCmd *cmd, GvDType dtype, gint ndim, const gint64 *shape)
{
  GvDevice *dev = gv_cmd_get_device (cmd);
  GError *error = NULL;
  GvTensor *t = tensor_struct (dev, dtype, ndim, shape, &error);

  if (t == NULL) {
    static const gint64 one = 1;
    gv_cmd_fail (cmd, error);
    return tensor_struct (dev, dtype, 1, &one, NULL);
  }
  if (gv_cmd_failed (cmd))
    return t;
  t->mem = gv_memory_new (dev, GV_MEMORY_DEVICE, gv_tensor_nbytes (t), &error);
  if (t->mem == NULL) {
    /* memory freed by the host returns when the batches holding it finish */
    g_clear_error (&error);
    gv_cmd_drain (cmd);
    t->mem = gv_memory_new (dev, GV_MEMORY_DEVICE, gv_tensor_nbytes (t), &error);
    if (t->mem == NULL)
      gv_cmd_fail (cmd, error);
  }
  return t;
}

GvTensor *
gv_tensor_view (GvTensor *t, gint64 first, gint ndim, const gint64 *shape)
{
  GvTensor *v = tensor_struct (t->dev, t->dtype, ndim, shape, NULL);
  g_return_val_if_fail (v != NULL, NULL);
  /* unwinding after a failed command (cancelled, out of memory): sizes mean nothing there */
  if (t->mem == NULL)
    return v;
  g_return_val_if_fail (first >= 0 && first + v->numel <= t->numel, (gv_tensor_unref (v), NULL));
  v->mem = t->mem ? gv_memory_ref (t->mem) : NULL;
  v->offset = t->offset + (guint64) first * gv_tensor_elem_size (t);
  return v;
}

GvTensor *
gv_tensor_ref (GvTensor *t)
{
  g_atomic_int_inc (&t->ref);
  return t;
}

void
gv_tensor_unref (GvTensor *t)
{
  if (t == NULL || !g_atomic_int_dec_and_test (&t->ref))
    return;
  if (t->mem)
    gv_memory_unref (t->mem);
  gv_device_unref (t->dev);
  g_free (t);
}

gsize
gv_tensor_elem_size (const GvTensor *t)
{
  return t->dtype == GV_DTYPE_F16 ? 2 : 4;   /* F32 and I32: 4 */
}

gsize
gv_tensor_nbytes (const GvTensor *t)
{
  return (gsize) t->numel * gv_tensor_elem_size (t);
}

gboolean
gv_tensor_same_shape (const GvTensor *a, const GvTensor *b)
{
  if (a->ndim != b->ndim)
    return FALSE;
  for (gint i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i])
      return FALSE;
  return TRUE;
}

gchar *
gv_tensor_shape_string (const GvTensor *t)
{
  GString *s = g_string_new (NULL);
  for (gint i = 0; i < t->ndim; i++)
    g_string_append_printf (s, i ? "x%" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, t->shape[i]);
  return g_string_free (s, FALSE);
}

GvBinding
gv_tensor_bind_range (const GvTensor *t, gint64 first, gint64 count, gboolean write)
{
  gsize es = gv_tensor_elem_size (t);
  return (GvBinding) { t->mem, t->offset + (guint64) first * es, (guint64) count * es, write };
}

GvBinding
gv_tensor_bind (const GvTensor *t, gboolean write)
{
  return gv_tensor_bind_range (t, 0, t->numel, write);
}

gboolean
gv_tensors_ready (GvCmd *cmd, const gchar *op, guint n, GvTensor *const *tensors)
{
  if (gv_cmd_failed (cmd))
    return FALSE;
  for (guint i = 0; i < n; i++) {
    if (tensors[i] == NULL || tensors[i]->mem == NULL) {
      gv_cmd_failf (cmd, GV_ERROR_INVALID, "%s: tensor argument %u is %s", op, i,
          tensors[i] == NULL ? "missing" : "not allocated");
      return FALSE;
    }
    if (tensors[i]->dev != gv_cmd_get_device (cmd)) {
      gv_cmd_failf (cmd, GV_ERROR_INVALID, "%s: tensor argument %u lives on another device",
          op, i);
      return FALSE;
    }
  }
  return TRUE;
}

void
gv_tensor_record_upload (GvCmd *cmd, GvTensor *t, gconstpointer data)
{
  if (gv_tensors_ready (cmd, "upload", 1, &t))
    gv_cmd_upload (cmd, t->mem, t->offset, data, gv_tensor_nbytes (t));
}

void
gv_tensor_record_download (GvCmd *cmd, GvTensor *t, gpointer data)
{
  if (gv_tensors_ready (cmd, "download", 1, &t))
    gv_cmd_download (cmd, t->mem, t->offset, data, gv_tensor_nbytes (t));
}

void
gv_tensor_record_copy (GvCmd *cmd, GvTensor *dst, GvTensor *src)
{
  GvTensor *ts[2] = { dst, src };
  if (!gv_tensors_ready (cmd, "copy", 2, ts))
    return;
  if (dst->numel != src->numel || dst->dtype != src->dtype) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "copy: %" G_GINT64_FORMAT " elements into %"
        G_GINT64_FORMAT, src->numel, dst->numel);
    return;
  }
  gv_cmd_copy (cmd, src->mem, src->offset, dst->mem, dst->offset, gv_tensor_nbytes (src));
}

void
gv_tensor_record_fill (GvCmd *cmd, GvTensor *t, gfloat value)
{
  guint32 bits;
  if (!gv_tensors_ready (cmd, "fill", 1, &t))
    return;
  memcpy (&bits, &value, 4);
  gv_cmd_fill (cmd, t->mem, t->offset, gv_tensor_nbytes (t), bits);
}

gboolean
gv_tensor_upload (GvTensor *t, gconstpointer data, GError **error)
{
  GvCmd *cmd = gv_cmd_new (t->dev);
  gv_tensor_record_upload (cmd, t, data);
  gboolean ok = gv_cmd_finish (cmd, error);
  gv_cmd_free (cmd);
  return ok;
}

gboolean
gv_tensor_download (GvTensor *t, gpointer data, GError **error)
{
  GvCmd *cmd = gv_cmd_new (t->dev);
  gv_tensor_record_download (cmd, t, data);
  gboolean ok = gv_cmd_finish (cmd, error);
  gv_cmd_free (cmd);
  return ok;
}

GvTensor *
gv_tensor_new_from_data (GvDevice *dev, gint ndim, const gint64 *shape, const gfloat *data,
    GError **error)
{
  GvTensor *t = gv_tensor_new (dev, ndim, shape, error);
  if (t != NULL && !gv_tensor_upload (t, data, error)) {
    gv_tensor_unref (t);
    return NULL;
  }
  return t;
}
