/* Ops over the last dimension, one row kernel (shaders/rows.comp) and GEGLU
 * (shaders/geglu.comp). */
#pragma once

#include "nn/gv-tensor.h"

G_BEGIN_DECLS

/* Over the last dimension: torch LayerNorm. gamma and beta may be NULL. */
void gv_op_layer_norm (GvCmd *cmd, GvTensor *out, GvTensor *in, GvTensor *gamma,
    GvTensor *beta, gfloat eps);

/* softmax over the last dimension */
void gv_op_softmax (GvCmd *cmd, GvTensor *out, GvTensor *in);

/* in [..., 2N] -> out [..., N]: out = in[..., :N] * gelu (in[..., N:]) (diffusers GEGLU) */
void gv_op_geglu (GvCmd *cmd, GvTensor *out, GvTensor *in);

G_END_DECLS
