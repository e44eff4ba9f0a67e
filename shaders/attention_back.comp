#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// The two elementwise passes of the attention backward (gv-op-attention-back.c); its products
// (the recomputed scores, dO V^T, dS K, dS^T Q, P^T dO) run on the matmul kernels of either
// family. DELTA=1: delta = rowsum (dout * out) per head; DELTA=0: P and dS of a block of scores.
layout(local_size_x = 64) in;

GV_PUSH (GvAttentionBackParams)

#if DELTA
layout(binding = 0) readonly buffer Dout { float dout[]; };   // [rows, H * D] of this dispatch
layout(binding = 1) readonly buffer Out { float o[]; };
layout(binding = 2) writeonly buffer Delta { float delta[]; };   // [B, H, Lq], all of it

void
main ()
{
  uint e = GV_LINEAR_INDEX;      // (row, head) of this dispatch
  if (e >= p.count)
    return;
  uint r = e / p.heads, h = e - r * p.heads;
  uint base = e * p.d;
  float s = 0.0;
  for (uint x = 0; x < p.d; x++)
    s += dout[gv_off[0] + base + x] * o[gv_off[1] + base + x];
  uint row = p.r0 + r, b = row / p.lq, i = row - b * p.lq;
  delta[gv_off[2] + (b * p.heads + h) * p.lq + i] = s;
}

#else
layout(binding = 0) buffer S { float s[]; };       // scale q k^T in, P out
layout(binding = 1) buffer Dp { float dp[]; };     // dout v^T in, dS out
layout(binding = 2) readonly buffer Lse { float lse[]; };       // [B, H, Lq], all of it
layout(binding = 3) readonly buffer Delta { float delta[]; };   // likewise

// One row of keys per group row: x runs over the keys, y and z over the block's query rows, so
// the row's indices are the same in every lane (no per-score division: on CPU devices a vector
// integer division is a loop over the lanes, and it was most of this pass's time).
void
main ()
{
  uint j = gl_GlobalInvocationID.x;
  uint r = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;   // of n * nq rows
  if (j >= p.nk || r >= p.count)
    return;
  uint e = r * p.nk + j;
  uint g = r / p.nq, i = p.i0 + r - g * p.nq;
  uint row = (p.bh0 + g) * p.lq + i;
  // keys the forward masked (causal: j > i) have P = 0
  float pv = p.causal == 0 || j <= i ? exp (s[gv_off[0] + e] - lse[gv_off[2] + row]) : 0.0;
  s[gv_off[0] + e] = pv;
  dp[gv_off[1] + e] = p.scale * pv * (dp[gv_off[1] + e] - delta[gv_off[3] + row]);
}
#endif
