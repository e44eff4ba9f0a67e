#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// Gradient sums of the backward ops (gv-op-sum.c): out[i] = sum over r1 < len1, r0 < len0
// of in[i * si + r1 * s1 + r0 * s0], plus out[i] when accumulating. One invocation per output
// (or per part of its inner sum, kernel-params.h), the terms in a fixed order, so results are
// the same run to run (no atomics).
layout(local_size_x = 64) in;

layout(binding = 0) readonly buffer In { float x[]; };
layout(binding = 1) buffer Out { float o[]; };

GV_PUSH (GvSumStridedParams)

void main ()
{
  uint t = GV_LINEAR_INDEX;
  if (t >= p.count * p.parts)
    return;
  uint q = t / p.count, i = t - q * p.count;
  uint end = min (p.len0, (q + 1) * p.chunk);
  // four partial sums along r0 shorten the dependency chain (and the rounding error)
  float acc = 0.0;
  for (uint r1 = 0; r1 < p.len1; r1++) {
    uint base = gv_off[0] + i * p.si + r1 * p.s1;
    vec4 s = vec4 (0.0);
    uint r0 = q * p.chunk;
    for (; r0 + 4 <= end; r0 += 4)
      s += vec4 (x[base + r0 * p.s0], x[base + (r0 + 1) * p.s0], x[base + (r0 + 2) * p.s0],
          x[base + (r0 + 3) * p.s0]);
    for (; r0 < end; r0++)
      s.x += x[base + r0 * p.s0];
    acc += (s.x + s.y) + (s.z + s.w);
  }
  uint j = gv_off[1] + t;
  o[j] = p.accumulate != 0 ? o[j] + acc : acc;
}
