#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// Concatenation backward, one part at a time (gv-op-resample-back.c): dpart[r, i] = dy[r,
// start + i] for the rows of dy [rows, row_len]; added to dpart when ACCUM.
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint ACCUM = 0;

layout(binding = 0, r32f) uniform readonly imageBuffer Dy;
layout(binding = 1) buffer Dpart { float o[]; };

GV_PUSH (GvSliceParams)

void main ()
{
  uint r = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;
  uint i = gl_GlobalInvocationID.x;
  if (r >= p.rows || i >= p.len)
    return;
  float g = imageLoad (Dy, int (gv_off[0] + r * p.row_len + p.start + i)).x;
  uint oi = gv_off[1] + r * p.len + i;
  o[oi] = ACCUM != 0 ? o[oi] + g : g;
}
