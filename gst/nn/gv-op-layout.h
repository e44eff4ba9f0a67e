/* Ops that move data: concatenation, permutation, resizing, gathering, embeddings. */
#pragma once

#include "nn/gv-tensor.h"

G_BEGIN_DECLS

/* out = torch.cat ([a, b], dim); a negative dim counts from the end */
void gv_op_concat (GvCmd *cmd, GvTensor *out, GvTensor *a, GvTensor *b, gint dim);

/* out = in.permute (perm) (contiguous); perm has in->ndim entries */
void gv_op_permute (GvCmd *cmd, GvTensor *out, GvTensor *in, const gint *perm);

/* in [N, C, H, W] -> out [N, C, Ho, Wo], nearest neighbour as torch.nn.functional.interpolate
 * (mode='nearest'): source index = floor (dst * in_size / out_size). 2x upsampling and mask
 * resizing are both this. Any number of leading dims (e.g. [N, C, F, H, W]) is accepted. */
void gv_op_resize_nearest (GvCmd *cmd, GvTensor *out, GvTensor *in);

/* src [B, C, L, D], index [B, M] (GV_DTYPE_I32, values in [0, L)) -> out [B, C, M, D] with
 * out[b, c, m, :] = src[b, c, index[b, m], :]. An embedding lookup is B = C = 1 (src [L, D],
 * index [M], out [M, D] is accepted too); gathering positions of a channel-major latent
 * [N, C, H*W] is D = 1 (src [B, C, L], index [B, M], out [B, C, M] is accepted too).
 * Indices outside [0, L) are clamped into it. */
void gv_op_gather (GvCmd *cmd, GvTensor *out, GvTensor *src, GvTensor *index);

/* timesteps [B] -> out [B, dim]: diffusers get_timestep_embedding: exponent
 * = -ln(max_period) * i / (dim/2 - shift), emb = t * exp (exponent); [sin, cos] halves, swapped
 * to [cos, sin] when flip_sin_to_cos (odd dim: a zero column is appended). */
void gv_op_timestep_embedding (GvCmd *cmd, GvTensor *out, GvTensor *timesteps,
    gboolean flip_sin_to_cos, gfloat shift, gfloat max_period);

G_END_DECLS
