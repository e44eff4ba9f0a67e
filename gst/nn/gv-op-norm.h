/* Normalisations (statistics in fp32 with a two-pass or Welford scheme, never E[x^2]-E[x]^2
 * over large sums without care). Layer norm is a row op: gv-op-rows.h. */
#pragma once

#include "nn/gv-op-eltwise.h"

G_BEGIN_DECLS

/* in [N, C, ...] (everything after C is one spatial dimension S). Statistics per group of
 * C / groups channels, taken over @frames consecutive images together (1: torch GroupNorm;
 * F: Tune-A-Video's 3-D blocks, which normalise across the F frames of a clip; N % frames == 0).
 * out = (x - mean) / sqrt (var + eps) * gamma[c] + beta[c], then SiLU when @silu.
 * gamma and beta ([C]) may be NULL (no affine). */
void gv_op_group_norm (GvCmd *cmd, GvTensor *out, GvTensor *in, GvTensor *gamma,
    GvTensor *beta, gint groups, gint frames, gfloat eps, gboolean silu);

G_END_DECLS
