/* What a trained checkpoint makes of a few world examples, as one PNG contact sheet: per row a
 * frame, its object-only image, the VAE's reconstruction of the frame, then samples (DDIM with
 * classifier-free guidance from seeded noise) conditioned on the caption and the object image's
 * embedding (as the edit conditions the target), on the caption alone, and on the object image
 * alone. */
#pragma once

#include "models/gv-model.h"

G_BEGIN_DECLS

#define GV_TRAIN_STREAM_SAMPLES 201

/* @n rows, examples of @seed at @size x @size, @steps DDIM steps, @guidance. */
gboolean gv_train_samples_write (GvModel *model, guint64 seed, gint size, gint n, gint steps,
    gfloat guidance, const gchar *path, GError **error);

G_END_DECLS
