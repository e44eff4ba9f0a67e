#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// The input gradient of conv2d from the column gradient of one image (gv-op-conv-back.c):
// dx[c, y, x] = sum over the taps (ky, kx) that read (y, x) of
// dcol[(c * kh + ky) * kw + kx, oy * wo + ox], with y = oy * stride + ky - pad_top (likewise x).
// A gather over the taps, one invocation per input pixel: fixed order, no atomics.
layout(local_size_x = 64) in;

layout(binding = 0) readonly buffer Col { float dcol[]; };
layout(binding = 1) buffer Dx { float dx[]; };

GV_PUSH (GvIm2colParams)

void main ()
{
  uint i = GV_LINEAR_INDEX;
  if (i >= p.c * p.h * p.w)
    return;
  uint xx = i % p.w, y = (i / p.w) % p.h, c = i / (p.w * p.h);
  uint pix = p.ho * p.wo;
  float acc = 0.0;
  for (uint ky = 0; ky < p.kh; ky++) {
    int ty = int (y + p.pad_top) - int (ky);
    if (ty < 0 || ty % int (p.stride) != 0 || uint (ty) / p.stride >= p.ho)
      continue;
    uint oy = uint (ty) / p.stride;
    for (uint kx = 0; kx < p.kw; kx++) {
      int tx = int (xx + p.pad_left) - int (kx);
      if (tx < 0 || tx % int (p.stride) != 0 || uint (tx) / p.stride >= p.wo)
        continue;
      uint ox = uint (tx) / p.stride;
      acc += dcol[gv_off[0] + ((c * p.kh + ky) * p.kw + kx) * pix + oy * p.wo + ox];
    }
  }
  uint j = gv_off[1] + i;
  dx[j] = p.accumulate != 0 ? dx[j] + acc : acc;
}
