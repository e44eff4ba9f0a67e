#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// The column matrix of one image for the conv2d weight gradient (gv-op-conv-back.c):
// col[(c * kh + ky) * kw + kx, oy * wo + ox] = x[c, oy * stride + ky - pad_top,
// ox * stride + kx - pad_left], 0 in the padding. An invocation writes one output pixel's
// taps of one input channel; pixels along grid x, channels (from c0) on grid y/z. (One
// element per invocation spent most of its time starting workgroups on lavapipe.)
layout(local_size_x = 64) in;

#define CHANNEL (gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y)

layout(binding = 0) readonly buffer In { float x[]; };
layout(binding = 1) writeonly buffer Col { float col[]; };

GV_PUSH (GvIm2colParams)

void main ()
{
  uint q = gl_GlobalInvocationID.x, cl = CHANNEL;
  uint pix = p.ho * p.wo;
  if (q >= pix || cl >= p.channels)
    return;
  uint c = p.c0 + cl;
  uint oy = q / p.wo, ox = q - oy * p.wo;
  int y0 = int (oy * p.stride) - int (p.pad_top), x0 = int (ox * p.stride) - int (p.pad_left);
  uint dst = gv_off[1] + cl * p.kh * p.kw * pix + q;
  for (uint ky = 0; ky < p.kh; ky++) {
    int y = y0 + int (ky);
    bool row_in = y >= 0 && y < int (p.h);
    uint src = gv_off[0] + (c * p.h + uint (max (y, 0))) * p.w;
    for (uint kx = 0; kx < p.kw; kx++) {
      int xx = x0 + int (kx);
      float v = 0.0;
      if (row_in && xx >= 0 && xx < int (p.w))
        v = x[src + uint (xx)];
      col[dst] = v;
      dst += pix;
    }
  }
}
