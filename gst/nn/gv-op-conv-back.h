/* Backward of conv2d (gv-op-conv.h), per image.
 *
 * dy [N, Co, Ho, Wo] is the gradient with respect to the convolution's result before the
 * activation (the activation's backward is an op of its own; the residual's gradient is dy
 * itself). @args gives the geometry of the forward (stride, padding); its bias, add, act and
 * residual fields are not read. Every function writes its gradient, or adds it to what the
 * gradient tensor holds when @accumulate is TRUE (a tensor used twice gets the sum of its
 * gradients). Deterministic: fixed summation orders, no atomics.
 *
 * How they run (both kernel families): dx at stride 1 (padding < kernel size) is the forward
 * gv_op_conv2d of dy with flipped weights (scratch: one weight tensor); dx at other strides is
 * a GEMM (gv_op_matmul) over the column matrix of one image at a time (scratch: up to
 * C * kh * kw x Ho * Wo floats). dweight has implicit-GEMM kernels of its own (no column
 * matrix; scratch: up to 8 partial sums of Co * C * kh * kw floats when the channels are few);
 * on CPU devices they take the forward row kernel's shapes (stride 1 or 2, input rows a
 * multiple of 4 wide, left padding <= 4) with kernels up to 3 x 3, other shapes there go
 * through the column matrix and the GEMM (scratch as dx's plus Co * C * kh * kw). A 1x1
 * convolution with stride 1 and no padding is a GEMM on the images themselves. */
#pragma once

#include "nn/gv-op-conv.h"

G_BEGIN_DECLS

/* dx [N, C, H, W] (+)= conv2d_transpose (dy, weight [Co, C, kh, kw]), any stride and padding */
void gv_op_conv2d_backward_input (GvCmd *cmd, GvTensor *dx, GvTensor *dy, GvTensor *weight,
    const GvConvArgs *args, gboolean accumulate);
/* dweight [Co, C, kh, kw] (+)= sum over images and output pixels of dy times the input x
 * [N, C, H, W] under the tap */
void gv_op_conv2d_backward_weight (GvCmd *cmd, GvTensor *dweight, GvTensor *dy, GvTensor *x,
    const GvConvArgs *args, gboolean accumulate);
/* dbias [Co] (+)= sum of dy over N, Ho, Wo */
void gv_op_conv2d_backward_bias (GvCmd *cmd, GvTensor *dbias, GvTensor *dy,
    gboolean accumulate);
/* dadd [N, Co] (+)= sum of dy over Ho, Wo: the gradient of GvConvArgs.add_per_channel */
void gv_op_conv2d_backward_add (GvCmd *cmd, GvTensor *dadd, GvTensor *dy, gboolean accumulate);

G_END_DECLS
