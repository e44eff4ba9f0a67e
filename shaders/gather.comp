#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "texel.glsl"

// Gather by index (gv-op-layout.c): out[p, m, :] = src[p, index[b, m], :] (p = b * C + c).
layout(local_size_x_id = 0) in;

layout(binding = 0, TEXEL) uniform readonly imageBuffer Src;
layout(binding = 1) readonly buffer Index { int idx[]; };
layout(binding = 2) writeonly buffer Out { STORE_T o[]; };

GV_PUSH (GvGatherParams)

// long rows: texels each invocation copies, a workgroup width apart (the index load and the
// batch division are paid once for them)
#define GATHER_PER GV_GATHER_TEXELS_PER_INVOCATION

void main ()
{
  uint pl = gl_WorkGroupID.z, mi, x, n = 1, step = gl_WorkGroupSize.x;
  if (p.flattened != 0) {
    uint e = GV_LINEAR_INDEX;
    mi = e / p.d;
    x = e - mi * p.d;
  } else {
    mi = gl_WorkGroupID.y;
    x = gl_WorkGroupID.x * GATHER_PER * step + gl_LocalInvocationID.x;
    n = GATHER_PER;
  }
  if (mi >= p.m_count || x >= p.d || pl >= p.planes)
    return;
  uint b = (p.first_plane + pl) / p.ch;
  // out-of-range indices are clamped (never a read outside the source)
  uint i = uint (clamp (idx[gv_off[1] + b * p.m + p.m_first + mi], 0, int (p.len) - 1));
  uint ob = gv_off[2] / VEC + (pl * p.m_count + mi) * p.d;
  uint ib = gv_off[0] + (pl * p.len + i) * p.d;
  uint end = min (x + n * step, p.d);
  for (; x < end; x += step)
    o[ob + x] = LOAD (Src, ib + x);
}
