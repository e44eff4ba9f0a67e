/* Backward of the element-wise ops (gv-op-eltwise.h) and of GEGLU (gv-op-rows.h).
 *
 * Gradients: with @accumulate TRUE an op adds into its gradient tensors (a tensor used twice
 * sums its gradients, as the references of tests/ref/gv-ref-back.h do); with FALSE it
 * overwrites them. A gradient may be the same tensor as @dy (in place, without @accumulate). */
#pragma once

#include "nn/gv-op-eltwise.h"

G_BEGIN_DECLS

/* The backward of y = act (x) (gv_op_activation, and the activations that matmul and conv2d
 * fuse into their outputs): dx = dy * act'(x), from the pre-activation x (the forward's
 * input, or the fused op's output before its activation). GV_ACT_NONE passes dy on.
 * dx, dy and x have one number of elements. */
void gv_op_activation_backward (GvCmd *cmd, GvTensor *dx, GvTensor *dy, GvTensor *x,
    GvActivation act, gboolean accumulate);

/* The backward of gv_op_geglu (cmd, y, x): x [..., 2N] = [hidden, gate] in the forward's
 * order, dy [..., N] -> dx [..., 2N]: dhidden = dy gelu (gate), dgate = dy hidden gelu'(gate). */
void gv_op_geglu_backward (GvCmd *cmd, GvTensor *dx, GvTensor *dy, GvTensor *x,
    gboolean accumulate);

/* The backward of out = a + b (same shapes: the residuals): dy goes to both; da or db may be
 * NULL (an input that needs no gradient). With @accumulate FALSE, a gradient that is @dy
 * itself is left as it is (no copy). */
void gv_op_add_backward (GvCmd *cmd, GvTensor *da, GvTensor *db, GvTensor *dy,
    gboolean accumulate);

G_END_DECLS
