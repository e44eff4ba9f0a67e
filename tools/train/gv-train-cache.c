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

void
gv_train_cache_store (GvTrainCache *c, GvCmd *cmd, gint slot, GvTensor *value)
{
  g_return_if_fail (slot >= 0 && slot < c->n_slots && value->shape[0] == 1);
  if (c->chunks == NULL) {
    c->ndim = value->ndim;
    memcpy (c->shape, value->shape, sizeof (gint64) * value->ndim);
    c->numel = value->numel;
    c->per_chunk = (gint) CLAMP (CHUNK_ELEMENTS / value->numel, 1, c->n_slots);
    c->chunks = g_new0 (GvTensor *, (c->n_slots + c->per_chunk - 1) / c->per_chunk);
  }
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
