#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// The weights of the transposed convolution (gv-op-conv-back.c): a stride-1 conv2d's input
// gradient is the forward conv2d of dy with wt[c, co, ky, kx] = w[co, c, kh-1-ky, kw-1-kx].
layout(local_size_x = 64) in;

layout(binding = 0) readonly buffer W { float w[]; };
layout(binding = 1) writeonly buffer Wt { float wt[]; };

GV_PUSH (GvConvFlipParams)

void main ()
{
  uint i = GV_LINEAR_INDEX;
  uint kk = p.kh * p.kw;
  if (i >= p.c * p.co * kk)
    return;
  uint tap = i % kk, co = (i / kk) % p.co, c = i / (kk * p.co);
  wt[gv_off[1] + i] = w[gv_off[0] + (co * p.c + c) * kk + (kk - 1 - tap)];
}
