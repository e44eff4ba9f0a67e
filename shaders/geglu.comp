#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "texel.glsl"

// GEGLU over the last dimension (gv-op-rows.c): out[r, j] = x[r, j] * gelu (x[r, N + j]).
layout(local_size_x_id = 0) in;

layout(binding = 0, TEXEL) uniform readonly imageBuffer X;
layout(binding = 1) writeonly buffer Out { STORE_T o[]; };

GV_PUSH (GvGegluParams)

void main ()
{
  uint r = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;
  uint j = gl_GlobalInvocationID.x;
  if (r >= p.rows || j >= p.half_len)
    return;
  uint base = gv_off[0] + 2 * r * p.half_len + j;
  VT h = LOAD (X, base);
  VT g = LOAD (X, base + p.half_len);
  VT y;
#if VEC4
  y = vec4 (gv_gelu (g.x), gv_gelu (g.y), gv_gelu (g.z), gv_gelu (g.w));
#else
  y = gv_gelu (g);
#endif
  o[gv_off[1] / VEC + r * p.half_len + j] = STORE_T (h * y);
}
