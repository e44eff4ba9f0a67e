#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "texel.glsl"

// Concatenation along the last dimension (gv-op-layout.c): out row = [a row ; b row], rows of
// the outer dimensions on grid y/z.
layout(local_size_x_id = 0) in;

#define ROW (gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y)

layout(binding = 0, TEXEL) uniform readonly imageBuffer A;
layout(binding = 1, TEXEL) uniform readonly imageBuffer B;
layout(binding = 2) writeonly buffer Out { STORE_T o[]; };

GV_PUSH (GvConcatParams)

void main ()
{
  uint r = ROW, j = gl_GlobalInvocationID.x;
  uint len = p.len_a + p.len_b;
  if (r >= p.rows || j >= len)
    return;
  VT v = j < p.len_a ? LOAD (A, gv_off[0] + r * p.len_a + j) :
      LOAD (B, gv_off[1] + r * p.len_b + (j - p.len_a));
  o[gv_off[2] / VEC + r * len + j] = v;
}
