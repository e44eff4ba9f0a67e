#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// The column matrix of one image for the conv2d backward GEMMs (gv-op-conv-back.c):
// col[(c * kh + ky) * kw + kx, oy * wo + ox] = x[c, oy * stride + ky - pad_top,
// ox * stride + kx - pad_left], 0 in the padding.
layout(local_size_x = 64) in;

layout(binding = 0) readonly buffer In { float x[]; };
layout(binding = 1) writeonly buffer Col { float col[]; };

GV_PUSH (GvIm2colParams)

void main ()
{
  uint i = GV_LINEAR_INDEX;
  uint pix = p.ho * p.wo;
  if (i >= p.c * p.kh * p.kw * pix)
    return;
  uint q = i % pix, row = i / pix;
  uint kx = row % p.kw, ky = (row / p.kw) % p.kh, c = row / (p.kw * p.kh);
  int y = int ((q / p.wo) * p.stride + ky) - int (p.pad_top);
  int xx = int ((q % p.wo) * p.stride + kx) - int (p.pad_left);
  float v = 0.0;
  if (y >= 0 && y < int (p.h) && xx >= 0 && xx < int (p.w))
    v = x[gv_off[0] + (c * p.h + uint (y)) * p.w + uint (xx)];
  col[gv_off[1] + i] = v;
}
