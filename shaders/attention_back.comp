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
// S and dP are read through texel bindings and written through storage bindings of the same
// ranges (each element by the invocation that read it); VEC4 = 1: four keys an invocation
// (rgba32f texels; the host checks that rows are a multiple of 4 keys)
#if VEC4
#define VT vec4
#define TEXEL rgba32f
#define LOAD(img, i) imageLoad (img, int (i))
#define VEC 4u
#else
#define VT float
#define TEXEL r32f
#define LOAD(img, i) imageLoad (img, int (i)).x
#define VEC 1u
#endif
layout(binding = 0, TEXEL) uniform readonly imageBuffer SIn;    // scale q k^T
layout(binding = 1, TEXEL) uniform readonly imageBuffer DpIn;   // dout v^T
layout(binding = 2, r32f) uniform readonly imageBuffer Lse;     // [B, H, Lq], all of it
layout(binding = 3, r32f) uniform readonly imageBuffer Delta;   // likewise
layout(binding = 4) writeonly buffer S { VT s[]; };             // P
layout(binding = 5) writeonly buffer Dp { VT dp[]; };           // dS

// A group per 64 * VEC keys of one query row: x runs over the keys, y over the block's query
// rows, z over its (batch, head) pairs (no index needs a division)
void
main ()
{
  uint x = gl_GlobalInvocationID.x, nx = p.nk / VEC;
  if (x >= nx)
    return;
  uint t = gl_WorkGroupID.y + p.t0, g = gl_WorkGroupID.z + p.g0;
  uint e = (g * p.nq + t) * nx + x;
  uint i = p.i0 + t;
  uint row = (p.bh0 + g) * p.lq + i;
  float lse = imageLoad (Lse, int (gv_off[2] + row)).x;
  float delta = imageLoad (Delta, int (gv_off[3] + row)).x;
  VT pv = exp (LOAD (SIn, gv_off[0] + e) - lse);
  // keys the forward masked (causal: j > i) have P = 0
  if (p.causal != 0) {
#if VEC4
    [[unroll]] for (uint c = 0; c < 4; c++)
      if (x * 4 + c > i)
        pv[c] = 0.0;
#else
    if (x > i)
      pv = 0.0;
#endif
  }
  s[gv_off[4] / VEC + e] = pv;
  dp[gv_off[5] / VEC + e] = p.scale * pv * (LOAD (DpIn, gv_off[1] + e) - delta);
}
#endif
