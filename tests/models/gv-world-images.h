/* World images and their reconstruction, for the VAE's learning test and benchmark. */
#pragma once

#include "models/gv-vae.h"

/* the first frame of clips first .. first + count - 1 of @seed, as [count, 3, size, size]
 * floats in [-1, 1] */
gfloat *gv_world_images (guint64 seed, guint first, gint count, gint size);
/* PSNR in dB of @a against @b (n values in [-1, 1]; peak 2) */
gdouble gv_world_images_psnr (const gfloat *a, const gfloat *b, gsize n);
/* decode (mean of encode (@images)) on the host (g_free it) */
gfloat *gv_world_images_reconstruct (GvVae *vae, GvTensor *images);
