#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// GEGLU backward (gv-op-eltwise-back.c): x [rows, 2N] = [hidden, gate] as the forward reads
// it (geglu.comp), y = hidden * gelu (gate):
//   dhidden = dy * gelu (gate), dgate = dy * hidden * gelu'(gate); added to dx when ACCUM.
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint ACCUM = 0;

layout(binding = 0, r32f) uniform readonly imageBuffer Dy;
layout(binding = 1, r32f) uniform readonly imageBuffer X;
layout(binding = 2) buffer Dx { float o[]; };

GV_PUSH (GvGegluParams)

void main ()
{
  uint r = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;
  uint j = gl_GlobalInvocationID.x;
  if (r >= p.rows || j >= p.half_len)
    return;
  float dy = imageLoad (Dy, int (gv_off[0] + r * p.half_len + j)).x;
  uint xi = 2 * r * p.half_len + j;
  float h = imageLoad (X, int (gv_off[1] + xi)).x;
  float g = imageLoad (X, int (gv_off[1] + xi + p.half_len)).x;
  float cdf = 0.5 * (1.0 + gv_erf (g * 0.70710678118654752));
  float dgelu = cdf + g * 0.39894228040143268 * exp (-0.5 * g * g);
  float dh = dy * g * cdf, dg = dy * h * dgelu;
  uint oh = gv_off[2] + xi, og = oh + p.half_len;
  o[oh] = ACCUM != 0 ? o[oh] + dh : dh;
  o[og] = ACCUM != 0 ? o[og] + dg : dg;
}
