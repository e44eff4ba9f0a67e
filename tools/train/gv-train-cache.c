#include <string.h>

#include "gv-train-cache.h"

/* elements per chunk tensor: 4 MiB of floats */
#define CHUNK_ELEMENTS (1 << 20)

struct _GvTrainCache {
  gint n_slots, per_chunk;
  gint ndim;
  gint64 shape[GV_MAX_DIMS];
  gint64 numel;             /* of one slot */
  GvTensor **chunks;
  guint8 *filled;
};

GvTrainCache *
gv_train_cache_new (gint n_slots)
{
  g_return_val_if_fail (n_slots > 0, NULL);
  GvTrainCache *c = g_new0 (GvTrainCache, 1);
  c->n_slots = n_slots;
  c->filled = g_new0 (guint8, n_slots);
  return c;
}

void
gv_train_cache_free (GvTrainCache *c)
{
  if (c == NULL)
    return;
  gint n_chunks = c->per_chunk ? (c->n_slots + c->per_chunk - 1) / c->per_chunk : 0;
  for (gint i = 0; i < n_chunks; i++)
    g_clear_pointer (&c->chunks[i], gv_tensor_unref);
  g_free (c->chunks);
  g_free (c->filled);
  g_free (c);
}

gboolean
gv_train_cache_has (const GvTrainCache *c, gint slot)
{
  return slot >= 0 && slot < c->n_slots && c->filled[slot];
}

/* a view of @slot (allocating its chunk on first use) */
static GvTensor *
slot_view (GvTrainCache *c, GvCmd *cmd, gint slot)
{
  gint chunk = slot / c->per_chunk, within = slot % c->per_chunk;
  if (c->chunks[chunk] == NULL)
    c->chunks[chunk] = GV_TENSOR (cmd, c->per_chunk * c->numel);
  return gv_tensor_view (c->chunks[chunk], within * c->numel, c->ndim, c->shape);
}

/* the slots' shape ([1, ...]), fixed by the first value stored or read */
static void
set_shape (GvTrainCache *c, gint ndim, const gint64 *shape)
{
  c->ndim = ndim;
  memcpy (c->shape, shape, sizeof (gint64) * ndim);
  c->shape[0] = 1;
  c->numel = 1;
  for (gint i = 0; i < ndim; i++)
    c->numel *= c->shape[i];
  c->per_chunk = (gint) CLAMP (CHUNK_ELEMENTS / c->numel, 1, c->n_slots);
  c->chunks = g_new0 (GvTensor *, (c->n_slots + c->per_chunk - 1) / c->per_chunk);
}

void
gv_train_cache_store (GvTrainCache *c, GvCmd *cmd, gint slot, GvTensor *value)
{
  g_return_if_fail (slot >= 0 && slot < c->n_slots && value->shape[0] == 1);
  if (c->chunks == NULL)
    set_shape (c, value->ndim, value->shape);
  g_return_if_fail (value->numel == c->numel);
  GvTensor *dst = slot_view (c, cmd, slot);
  gv_tensor_record_copy (cmd, dst, value);
  gv_tensor_unref (dst);
  c->filled[slot] = 1;
}

void
gv_train_cache_load (GvTrainCache *c, GvCmd *cmd, gint slot, GvTensor *dst)
{
  g_return_if_fail (gv_train_cache_has (c, slot) && dst->numel == c->numel);
  GvTensor *src = slot_view (c, cmd, slot);
  gv_tensor_record_copy (cmd, dst, src);
  gv_tensor_unref (src);
}

GvTensor *
gv_train_cache_gather (GvTrainCache *c, GvCmd *cmd, const gint *slots, gint n)
{
  g_return_val_if_fail (c->chunks != NULL && n > 0, NULL);
  gint64 shape[GV_MAX_DIMS];
  memcpy (shape, c->shape, sizeof shape);
  shape[0] = n;
  GvTensor *out = gv_tensor_alloc (cmd, c->ndim, shape);
  for (gint i = 0; i < n; i++) {
    GvTensor *dst = gv_tensor_view (out, i * c->numel, c->ndim, c->shape);
    gv_train_cache_load (c, cmd, slots[i], dst);
    gv_tensor_unref (dst);
  }
  return out;
}

gint
gv_train_cache_get_n_filled (const GvTrainCache *c)
{
  gint n = 0;
  for (gint i = 0; i < c->n_slots; i++)
    n += c->filled[i];
  return n;
}

gboolean
gv_train_cache_write (GvTrainCache *c, GvStWriter *w, const gchar *name, GError **error)
{
  gint filled = gv_train_cache_get_n_filled (c);
  if (filled == 0)
    return TRUE;
  gfloat *values = g_new (gfloat, (gsize) filled * c->numel);
  gfloat *slots = g_new (gfloat, filled);
  g_autofree gfloat *chunk = g_new (gfloat, (gsize) c->per_chunk * c->numel);
  gint k = 0;
  gboolean ok = TRUE;
  for (gint first = 0; first < c->n_slots && ok; first += c->per_chunk) {
    GvTensor *t = c->chunks[first / c->per_chunk];
    if (t == NULL)
      continue;
    ok = gv_tensor_download (t, chunk, error);
    for (gint i = first; ok && i < MIN (first + c->per_chunk, c->n_slots); i++)
      if (c->filled[i]) {
        memcpy (values + (gsize) k * c->numel, chunk + (gsize) (i - first) * c->numel,
            c->numel * sizeof (gfloat));
        slots[k++] = (gfloat) i;
      }
  }
  if (ok) {
    gint64 shape[GV_MAX_DIMS];
    memcpy (shape, c->shape, sizeof shape);
    shape[0] = filled;
    g_autofree gchar *index_name = g_strconcat (name, ".slots", NULL);
    gv_st_writer_add (w, name, c->ndim, shape, values);
    gv_st_writer_add (w, index_name, 1, shape, slots);
  }
  g_free (values);
  g_free (slots);
  return ok;
}

gboolean
gv_train_cache_read (GvTrainCache *c, GvCmd *cmd, GvSafetensors *st, const gchar *name,
    GError **error)
{
  g_autofree gchar *index_name = g_strconcat (name, ".slots", NULL);
  const GvStTensor *v = gv_safetensors_lookup (st, name);
  const GvStTensor *ix = gv_safetensors_lookup (st, index_name);
  if (v == NULL && ix == NULL)
    return TRUE;
  if (v == NULL || ix == NULL || v->ndim < 2 || ix->ndim != 1 || ix->shape[0] != v->shape[0] ||
      (c->chunks != NULL && v->numel / v->shape[0] != c->numel)) {
    g_set_error (error, GV_ERROR, GV_ERROR_CORRUPT, "%s: the cached %s do not fit the slots",
        gv_safetensors_get_path (st), name);
    return FALSE;
  }
  if (c->chunks == NULL)
    set_shape (c, v->ndim, v->shape);
  g_autofree gfloat *values = gv_safetensors_read_f32 (st, v);
  g_autofree gfloat *slots = gv_safetensors_read_f32 (st, ix);
  gint64 n = ix->shape[0];
  for (gint64 k = 0; k < n; k++)
    if (!(slots[k] >= 0 && slots[k] < c->n_slots && slots[k] == (gint) slots[k])) {
      g_set_error (error, GV_ERROR, GV_ERROR_CORRUPT, "%s: cached slot %g of %s is not one "
          "of the %d slots", gv_safetensors_get_path (st), slots[k], name, c->n_slots);
      return FALSE;
    }
  for (gint64 k = 0; k < n; k++) {
    GvTensor *dst = slot_view (c, cmd, (gint) slots[k]);
    gv_tensor_record_upload (cmd, dst, values + k * c->numel);
    gv_tensor_unref (dst);
    c->filled[(gint) slots[k]] = 1;
    if (k % 256 == 255)
      gv_cmd_flush (cmd);
  }
  return gv_cmd_finish (cmd, error);
}
