/* Backward of the normalisations (group norm: gv-op-norm.h; layer norm: gv-op-rows.h).
 *
 * Gradients: when @accumulate is TRUE each op adds its gradients into dx, dgamma and dbeta (a
 * tensor used twice sums its gradients, as the references of tests/ref/gv-ref-back.h do);
 * when FALSE it overwrites them. A NULL gradient is not computed. The statistics are
 * recomputed from the saved input (no state kept by the forward), with the forward's own
 * kernels for group norm, so forward and backward see the same mean and rstd. Every sum runs
 * in a fixed order: the results are bit-identical from run to run. */
#pragma once

#include "nn/gv-tensor.h"

G_BEGIN_DECLS

/* The backward of gv_op_group_norm (cmd, y, x, gamma, beta, groups, frames, eps, silu):
 * dy and dx have x's shape [N, C, ...]; dgamma and dbeta [C] (need gamma, resp. beta; a NULL
 * gamma or beta is the forward without that affine part). With @silu the gradient goes through
 * the fused SiLU first: the output before the SiLU is recomputed from x and the statistics.
 * dx may be dy itself (in place). */
void gv_op_group_norm_backward (GvCmd *cmd, GvTensor *dx, GvTensor *dgamma, GvTensor *dbeta,
    GvTensor *dy, GvTensor *x, GvTensor *gamma, GvTensor *beta, gint groups, gint frames,
    gfloat eps, gboolean silu, gboolean accumulate);

/* The backward of gv_op_layer_norm (cmd, y, x, gamma, beta, eps) over the last dimension:
 * dy and dx have x's shape [..., len]; dgamma and dbeta [len]. The forward's beta is not
 * needed. dx may be NULL (then a scratch tensor takes it); it may be dy itself only when
 * dgamma and dbeta are NULL (they are summed from dy after dx is written). */
void gv_op_layer_norm_backward (GvCmd *cmd, GvTensor *dx, GvTensor *dgamma, GvTensor *dbeta,
    GvTensor *dy, GvTensor *x, GvTensor *gamma, gfloat eps, gboolean accumulate);

G_END_DECLS
