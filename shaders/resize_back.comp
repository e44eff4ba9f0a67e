#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// Nearest-neighbour resize backward (gv-op-resample-back.c): every
// input position sums the gradients of the outputs that read it. The forward's source index is
// floor (d * in / out), so the outputs of input y are d in [ceil (y out / in), ceil ((y+1) out
// / in)): a 2x2 block for 2x upsampling, any size ratio alike. One invocation per input
// element, sums in a fixed order (no atomics). Added to dx when ACCUM.
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint ACCUM = 0;

layout(binding = 0, r32f) uniform readonly imageBuffer Dy;
layout(binding = 1) buffer Dx { float o[]; };

GV_PUSH (GvResizeParams)   // rows: input rows (planes * h) of this dispatch

void main ()
{
  uint i = GV_LINEAR_INDEX;
  if (i >= p.rows * p.w)
    return;
  uint row = i / p.w, x = i - row * p.w;
  uint plane = row / p.h, y = row - plane * p.h;
  uint y0 = (y * p.ho + p.h - 1) / p.h, y1 = ((y + 1) * p.ho + p.h - 1) / p.h;
  uint x0 = (x * p.wo + p.w - 1) / p.w, x1 = ((x + 1) * p.wo + p.w - 1) / p.w;
  uint base = gv_off[0] + plane * p.ho * p.wo;
  float s = 0.0;
  for (uint yy = y0; yy < y1; yy++)
    for (uint xx = x0; xx < x1; xx++)
      s += imageLoad (Dy, int (base + yy * p.wo + xx)).x;
  uint oi = gv_off[1] + i;
  o[oi] = ACCUM != 0 ? o[oi] + s : s;
}
