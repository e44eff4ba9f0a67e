#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// Reductions over the channels of [N, C, S] tensors, one invocation per (n, s), the channel
// loop strided by S (neighbouring invocations read neighbouring floats):
//   GV_MATCH_INV_NORMS: inverse norms for the nearest-neighbour search, out [N, 2, S]:
//         out[n, 0, s] = 1 / max (|a[n, :, s]|, eps), out[n, 1, s] the same of b
//   GV_MATCH_NOISE_DIFF: out[n, s] = (accumulate ? out[n, s] : 0)
//         + mean_c |a[n, c, s] - b[n, c, s]|
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint OP = GV_MATCH_INV_NORMS;

layout(binding = 0, r32f) uniform readonly imageBuffer A;
layout(binding = 1, r32f) uniform readonly imageBuffer B;
layout(binding = 2) buffer Out { float o[]; };

GV_PUSH (GvMatchReduceParams)

void
main ()
{
  uint i = GV_LINEAR_INDEX;
  if (i >= p.count)
    return;
  uint n = i / p.s, s = i % p.s;
  uint base = n * p.c * p.s + s;
  if (OP == GV_MATCH_INV_NORMS) {
    float na = 0.0, nb = 0.0;
    for (uint c = 0; c < p.c; c++) {
      float a = imageLoad (A, int (gv_off[0] + base + c * p.s)).x;
      float b = imageLoad (B, int (gv_off[1] + base + c * p.s)).x;
      na += a * a;
      nb += b * b;
    }
    uint ob = gv_off[2] + 2 * n * p.s + s;
    o[ob] = 1.0 / max (sqrt (na), p.eps);
    o[ob + p.s] = 1.0 / max (sqrt (nb), p.eps);
  } else {
    float sum = 0.0;
    for (uint c = 0; c < p.c; c++) {
      float a = imageLoad (A, int (gv_off[0] + base + c * p.s)).x;
      float b = imageLoad (B, int (gv_off[1] + base + c * p.s)).x;
      sum += abs (a - b);
    }
    uint oi = gv_off[2] + i;
    float m = sum / float (p.c);
    o[oi] = p.accumulate != 0 ? o[oi] + m : m;
  }
}
