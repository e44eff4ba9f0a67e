#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// Backward of repeating each row of x [clips, len] for the frames of its clip (the UNet's
// embedding, one per clip, read by every frame): dx[c, i] = sum over f of dy[c * frames + f, i],
// in frame order (gv-op-resample-back.c). Added to dx when ACCUM.
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint ACCUM = 0;

layout(binding = 0, r32f) uniform readonly imageBuffer Dy;
layout(binding = 1) buffer Dx { float o[]; };

GV_PUSH (GvRepeatBackParams)

void main ()
{
  uint i = GV_LINEAR_INDEX;
  if (i >= p.count)
    return;
  uint c = i / p.len, j = i - c * p.len;
  uint base = gv_off[0] + c * p.frames * p.len + j;
  float s = 0.0;
  for (uint f = 0; f < p.frames; f++)
    s += imageLoad (Dy, int (base + f * p.len)).x;
  uint oi = gv_off[1] + i;
  o[oi] = ACCUM != 0 ? o[oi] + s : s;
}
