/* 2-D convolution, applied per image (video frames are images: (N*F) x C x H x W). */
#pragma once

#include "nn/gv-op-eltwise.h"

G_BEGIN_DECLS

typedef struct {
  gint stride;                 /* 1 or 2 (any positive value works) */
  gint pad_top, pad_bottom, pad_left, pad_right;   /* zero padding */
  GvTensor *bias;              /* [Co] or NULL */
  GvTensor *add_per_channel;   /* [N, Co] added to every pixel of (image, channel), or NULL:
                                  the ResNet time-embedding projection, fused */
  GvActivation act;            /* after bias and add_per_channel */
  GvTensor *residual;          /* [N, Co, Ho, Wo] added last, or NULL; may be @out */
} GvConvArgs;

/* in [N, C, H, W], weight [Co, C, kh, kw] -> out [N, Co, Ho, Wo] with
 * Ho = (H + pad_top + pad_bottom - kh) / stride + 1 (likewise Wo): torch.nn.functional.conv2d
 * with explicit (possibly asymmetric) padding. */
void gv_op_conv2d (GvCmd *cmd, GvTensor *out, GvTensor *in, GvTensor *weight,
    const GvConvArgs *args);

G_END_DECLS
