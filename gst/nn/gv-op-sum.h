/* Internal to the backward ops: deterministic strided sums (bias and per-channel gradients). */
#pragma once

#include "nn/gv-tensor.h"

G_BEGIN_DECLS

/* out[i] (+)= sum over r1 < len1, r0 < len0 of in[i * si + r1 * s1 + r0 * s0], i < out->numel,
 * in a fixed order (shaders/sum_strided.comp). Work larger than one binding is split over r1
 * (later parts add to the first), then over i. @op names the caller in errors. */
void gv_op_sum_strided (GvCmd *cmd, const gchar *op, GvTensor *out, GvTensor *in, gint64 si,
    gint64 len0, gint64 s0, gint64 len1, gint64 s1, gboolean accumulate);

/* dsum[co] (+)= sum over n, s of d[n, co, s], d given as [N, Co, ...]: the gradient of a
 * per-channel bias on an NCHW tensor */
void gv_op_sum_channels (GvCmd *cmd, const gchar *op, GvTensor *dsum, GvTensor *d,
    gboolean accumulate);

G_END_DECLS
