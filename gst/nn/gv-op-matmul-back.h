/* Backward of the matrix-product ops (gv-op-matmul.h): gradients of gv_op_linear and of the
 * transformer's pixel forms (gv_linear_apply_pixels, gv_linear_apply_to_pixels in
 * models/gv-layers.c).
 *
 * dy is the gradient with respect to the product plus bias, before the activation (the
 * activation's backward is an op of its own) and before a residual (whose gradient is dy
 * itself). Every function writes its gradient, or adds it to what the gradient tensor holds
 * when @accumulate is TRUE (a tensor used twice gets the sum of its gradients). The products
 * run on the GEMM (gv_op_matmul, both kernel families); the sums are deterministic (a fixed
 * order, no atomics).
 *
 * The backward of a general gv_op_matmul (out = a @ b) is two more products with the same op:
 * da = dout @ b^T, db = a^T @ dout (trans_a / trans_b, alpha and residual = da to accumulate). */
#pragma once

#include "nn/gv-op-matmul.h"

G_BEGIN_DECLS

/* gv_op_linear: x [..., K], weight [N, K], dy [..., N].
 * dx [..., K] (+)= dy @ weight */
void gv_op_linear_backward_input (GvCmd *cmd, GvTensor *dx, GvTensor *dy, GvTensor *weight,
    gboolean accumulate);
/* dweight [N, K] (+)= dy^T @ x, summed over every leading (batch, token) row */
void gv_op_linear_backward_weight (GvCmd *cmd, GvTensor *dweight, GvTensor *dy, GvTensor *x,
    gboolean accumulate);
/* dbias [N] (+)= column sums of dy over every leading row */
void gv_op_linear_backward_bias (GvCmd *cmd, GvTensor *dbias, GvTensor *dy,
    gboolean accumulate);

/* gv_linear_apply_pixels (proj_in: pixels to tokens): x [B, C, H, W] (or [B, C, H*W]),
 * weight [N, C], dy [B, H*W, N]. dx [like x] (+)= weight^T applied to every pixel,
 * dweight [N, C] (+)= sum over b of dy[b]^T @ x[b]^T, dbias [N] (+)= column sums of dy.
 * Any of dx, dweight, dbias may be NULL (not computed). */
void gv_op_linear_apply_pixels_backward (GvCmd *cmd, GvTensor *dx, GvTensor *dweight,
    GvTensor *dbias, GvTensor *dy, GvTensor *x, GvTensor *weight, gboolean accumulate);

/* gv_linear_apply_to_pixels (proj_out: tokens to pixels): h [B, H*W, C], weight [N, C],
 * dy [B, N, H, W] (or [B, N, H*W]). dh [B, H*W, C] (+)= dy[b]^T @ weight,
 * dweight [N, C] (+)= sum over b of dy[b] @ h[b], dbias [N] (+)= sum of dy over b and pixels.
 * The residual's gradient is dy. Any of dh, dweight, dbias may be NULL. */
void gv_op_linear_apply_to_pixels_backward (GvCmd *cmd, GvTensor *dh, GvTensor *dweight,
    GvTensor *dbias, GvTensor *dy, GvTensor *h, GvTensor *weight, gboolean accumulate);

G_END_DECLS
