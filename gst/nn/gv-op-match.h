/* Feature matching for latent correction and noise differences for InvEdit masks. */
#pragma once

#include "nn/gv-tensor.h"

G_BEGIN_DECLS

/* a, b [N, C, H, W]: for every position p of a[n], the position q of b[n] (within a
 * (2 radius + 1)^2 window around p when radius > 0, anywhere when radius is 0) whose feature
 * vector has the highest cosine similarity with a[n, :, p]. index [N, H*W] (GV_DTYPE_I32,
 * q = y * W + x; ties go to the smallest q), score [N, H*W] (the cosine; may be NULL).
 * The similarity matrix is never materialised. */
void gv_op_nn_search (GvCmd *cmd, GvTensor *index, GvTensor *score, GvTensor *a, GvTensor *b,
    gint radius);

/* a, b [N, C, S] -> out [N, S] = mean over c of |a - b|; added to out when @accumulate. */
void gv_op_mean_abs_diff (GvCmd *cmd, GvTensor *out, GvTensor *a, GvTensor *b,
    gboolean accumulate);

G_END_DECLS
