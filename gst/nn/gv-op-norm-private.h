/* Shared by the group norm forward (gv-op-norm.c) and backward (gv-op-norm-back.c). */
#pragma once

#include "nn/gv-tensor.h"

G_BEGIN_DECLS

/* The argument checks of the forward and the backward (@name in the messages): @out, the
 * output or a gradient of @in's shape; @in [N, C, ...]; gamma, beta [C] or NULL. FALSE with
 * @cmd failed on a mismatch. */
gboolean gv_op_group_norm_check (GvCmd *cmd, const gchar *name, GvTensor *out, GvTensor *in,
    GvTensor *gamma, GvTensor *beta, gint groups, gint frames);

/* The statistics of @in [N, C, ...] (shapes already checked) as a table [N * C, 4] of (K, A,
 * scale, shift) per plane (image, channel): mean = K + A, scale = rstd * gamma, shift = beta
 * (rstd and 0 when gamma and beta are NULL). @vec4: read @in as rgba32f texels (S % 4 == 0,
 * 16-byte aligned). (transfer full), or NULL with @cmd failed. */
GvTensor *gv_op_group_norm_table (GvCmd *cmd, GvTensor *in, GvTensor *gamma, GvTensor *beta,
    gint groups, gint frames, gfloat eps, gboolean vec4);

G_END_DECLS
