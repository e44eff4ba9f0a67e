/* Per-example results kept across the passes of a stage over a fixed set of examples: the
 * UNet stage's latents and condition embeddings, which cost as much to compute as the UNet
 * step itself once the latents are small (VAE factor 8). Each kind is a set of slots of one
 * shape, filled on first use; the slots live in device tensors of a few MiB each, so that no
 * single buffer outgrows what a device binds. */
#pragma once

#include "models/gv-safetensors.h"
#include "models/gv-safetensors-write.h"
#include "nn/gv-tensor.h"

G_BEGIN_DECLS

typedef struct _GvTrainCache GvTrainCache;

/* @n_slots slots, of a shape given at the first store */
GvTrainCache *gv_train_cache_new (gint n_slots);
void gv_train_cache_free (GvTrainCache *c);

gboolean gv_train_cache_has (const GvTrainCache *c, gint slot);
/* Records the copy of @value (leading size 1, the same shape at every store) into @slot. */
void gv_train_cache_store (GvTrainCache *c, GvCmd *cmd, gint slot, GvTensor *value);
/* Records the copy of @slot's value into @dst (its number of elements). */
void gv_train_cache_load (GvTrainCache *c, GvCmd *cmd, gint slot, GvTensor *dst);
/* A new tensor [@n, ...] of the values of @slots (all filled). */
GvTensor *gv_train_cache_gather (GvTrainCache *c, GvCmd *cmd, const gint *slots, gint n);

gint gv_train_cache_get_n_filled (const GvTrainCache *c);

/* Adds the filled slots to @w, so that a resumed run need not compute them again: @name
 * [filled, ...] their values, @name.slots their indices (floats, exact below 2^24). Nothing
 * when none is filled. Downloads: the recorded stores must have been submitted. */
gboolean gv_train_cache_write (GvTrainCache *c, GvStWriter *w, const gchar *name,
    GError **error);
/* Fills the slots that @st holds under @name (gv_train_cache_write ()); a slot index out of
 * range or a shape that disagrees with the slots already filled is GV_ERROR_CORRUPT. */
gboolean gv_train_cache_read (GvTrainCache *c, GvCmd *cmd, GvSafetensors *st,
    const gchar *name, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvTrainCache, gv_train_cache_free)

G_END_DECLS
