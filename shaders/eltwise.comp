#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// out = f(a, b, m) element-wise, with numpy broadcasting through per-input strides.
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint OP = 0;         // GV_ELTWISE_* (kernel-params.h)
layout(constant_id = 1) const uint BROADCAST = 1;  // 0: every input has the shape of out

layout(binding = 0, r32f) uniform readonly imageBuffer A;
layout(binding = 1, r32f) uniform readonly imageBuffer B;
layout(binding = 2, r32f) uniform readonly imageBuffer M;
layout(binding = 3) writeonly buffer Out { float o[]; };

GV_PUSH (GvEltwiseParams)



void main ()
{
  uint i = GV_LINEAR_INDEX;
  if (i >= p.count)
    return;
  uint e = p.first + i;
  uint ia = e, ib = e, im = e;
  if (BROADCAST != 0) {
    uint rest = e;
    ia = 0; ib = 0; im = 0;
    [[unroll]] for (int d = 4; d >= 0; d--) {
      uint c = rest % p.shape[d];
      rest /= p.shape[d];
      ia += c * p.sa[d];
      ib += c * p.sb[d];
      im += c * p.sm[d];
    }
  }
  float a = imageLoad (A, int (gv_off[0] + ia)).x;
  float r;
  if (OP == GV_ELTWISE_ADD) {
    r = p.alpha * a + p.beta * imageLoad (B, int (gv_off[1] + ib)).x;
  } else if (OP == GV_ELTWISE_MUL) {
    r = p.alpha * a * imageLoad (B, int (gv_off[1] + ib)).x;
  } else if (OP == GV_ELTWISE_BLEND) {
    float m = imageLoad (M, int (gv_off[2] + im)).x;
    float b = imageLoad (B, int (gv_off[1] + ib)).x;
    r = m * a + (1.0 - m) * b;
  } else if (OP == GV_ELTWISE_AFFINE) {
    r = p.alpha * a + p.beta;
  } else if (OP == GV_ELTWISE_SILU) {
    r = gv_silu (a);
  } else if (OP == GV_ELTWISE_GELU) {
    r = gv_gelu (a);
  } else if (OP == GV_ELTWISE_QUICK_GELU) {
    r = a / (1.0 + exp (-1.702 * a));
  } else {   // GV_ELTWISE_CLAMP
    r = min (max (a, p.alpha), p.beta);
  }
  o[gv_off[3] + i] = r;
}
