/* Seeded random numbers on the host (noise for latents and embeddings): the same seed gives
 * the same numbers on every machine. */
#pragma once

#include <glib.h>

#include "nn/gv-tensor.h"

G_BEGIN_DECLS

/* @n standard normal floats from @seed (counter-based: splitmix64 + Box-Muller) */
void gv_random_normal (gfloat *out, gsize n, guint64 seed);
/* a uniform integer in [0, @bound) from @seed and a stream index */
guint32 gv_random_below (guint64 seed, guint64 stream, guint32 bound);

/* A new tensor of @shape holding gv_random_normal () numbers from @seed, recorded as an upload
 * on @cmd. (transfer full) */
GvTensor *gv_random_normal_tensor (GvCmd *cmd, gint ndim, const gint64 *shape, guint64 seed);

G_END_DECLS
