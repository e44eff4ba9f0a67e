#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// Backward of the activations (gv-op-eltwise-back.c): dx = dy * act'(x) from the
// pre-activation x, added to what dx holds when ACCUM (a tensor used twice sums its gradients).
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint OP = GV_ELTWISE_BACK_IDENTITY;
layout(constant_id = 1) const uint ACCUM = 0;

layout(binding = 0, r32f) uniform readonly imageBuffer Dy;
layout(binding = 1, r32f) uniform readonly imageBuffer X;
layout(binding = 2) buffer Dx { float o[]; };

GV_PUSH (GvEltwiseBackParams)

float sigmoid (float x) { return 1.0 / (1.0 + exp (-x)); }

void main ()
{
  uint i = GV_LINEAR_INDEX;
  if (i >= p.count)
    return;
  float g = imageLoad (Dy, int (gv_off[0] + i)).x;
  if (OP != GV_ELTWISE_BACK_IDENTITY) {
    float x = imageLoad (X, int (gv_off[1] + i)).x;
    if (OP == GV_ELTWISE_BACK_SILU) {
      float s = sigmoid (x);
      g *= s * (1.0 + x * (1.0 - s));
    } else if (OP == GV_ELTWISE_BACK_GELU) {
      // d/dx x Phi(x) = Phi(x) + x phi(x)
      g *= 0.5 * (1.0 + gv_erf (x * 0.70710678118654752)) +
          x * 0.39894228040143268 * exp (-0.5 * x * x);
    } else {   // GV_ELTWISE_BACK_QUICK_GELU: x sigmoid (1.702 x)
      float s = sigmoid (1.702 * x);
      g *= s * (1.0 + 1.702 * x * (1.0 - s));
    }
  }
  uint o_i = gv_off[2] + i;
  o[o_i] = ACCUM != 0 ? o[o_i] + g : g;
}
