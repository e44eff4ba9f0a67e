#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// Backward of gather (gv-op-attention-back.c): every element of dsrc sums the gradients of the
// copies made of it, in the order of the index (deterministic, no atomics). The index rows are
// short (the sparse-causal gather has two per frame), so each invocation walks all of them.
layout(local_size_x = 64) in;

layout(binding = 0) readonly buffer Dout { float dout[]; };   // [planes, M, D] of this dispatch
layout(binding = 1) readonly buffer Index { int idx[]; };     // [B, M], all of it
layout(binding = 2) buffer Dsrc { float ds[]; };              // [planes, L, D] of this dispatch

GV_PUSH (GvGatherBackParams)

void
main ()
{
  uint e = GV_LINEAR_INDEX;
  if (e >= p.count)
    return;
  uint t = e / p.d, x = e - t * p.d;
  uint pl = t / p.len, l = t - pl * p.len;
  uint b = (p.first_plane + pl) / p.ch;
  float acc = p.accumulate != 0 ? ds[gv_off[2] + e] : 0.0;
  for (uint mi = 0; mi < p.m; mi++) {
    uint i = uint (clamp (idx[gv_off[1] + b * p.m + mi], 0, int (p.len) - 1));
    if (i == l)
      acc += dout[gv_off[0] + (pl * p.m + mi) * p.d + x];
  }
  ds[gv_off[2] + e] = acc;
}
