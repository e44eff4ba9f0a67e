#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#include "common.glsl"
#include "gemm.glsl"

// 2-D convolution with a small stride (1 or 2) for CPU devices, when input rows are a multiple
// of 4 wide and the input is read as rgba32f: the common case of the UNet and the VAE (3x3 and
// 1x1, and the stride-2 downsamplers).
//
// Implicit GEMM with rows = output channels and columns = output pixels. Every lane keeps
// TM channels x 8 consecutive pixels of one output row in registers (the last group of a row
// may have fewer). The weights are the
// shared operand: lane r reads the taps of channel co0 + r and the group's lanes swap them
// with subgroupShuffle. The input comes as a window of aligned vec4s around the lane's 8
// pixels, read once per (input channel, kernel row) and used for every kernel column by
// picking other components (no im2col, no per-tap gathers). Zero padding: window slots outside
// the image are zeroed. The loop runs over input channels with the taps unrolled, and adds a
// whole kernel row into each accumulator at once: small code, few register spills.
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint KH = 3;
layout(constant_id = 1) const uint KW = 3;        // <= 5
layout(constant_id = 2) const uint ACT = 0;
layout(constant_id = 3) const uint HAS_BIAS = 0;
layout(constant_id = 4) const uint HAS_ADD = 0;   // add_per_channel [images, Co]
layout(constant_id = 5) const uint HAS_RES = 0;
layout(constant_id = 6) const uint HAS_PART = 0;  // add the partial sum out holds (split over C)
layout(constant_id = 7) const uint PAD_STRIDE = 1;  // left padding (<= 4) | stride << 8
const uint PAD_LEFT = PAD_STRIDE & 255u;
const uint STRIDE = PAD_STRIDE >> 8;

#ifndef TM
#define TM 8        // output channels per lane (a multiple of 8)
#endif
#define TN 8        // output pixels per lane
#define MAXV 6      // window vec4s (the op checks that its shapes fit)

layout(binding = 0, rgba32f) uniform readonly imageBuffer In;
layout(binding = 1, r32f) uniform readonly imageBuffer Wt;
layout(binding = 2, r32f) uniform readonly imageBuffer Bias;
layout(binding = 3, r32f) uniform readonly imageBuffer Add;
layout(binding = 4, r32f) uniform readonly imageBuffer Res;
layout(binding = 5, r32f) uniform readonly imageBuffer Part;
layout(binding = 6) writeonly buffer Out { SFLOAT o[]; };

GV_PUSH (GvConv2dParams)

void main ()
{
  uint lane = gl_SubgroupInvocationID;
  uint lane8 = lane & 7u;
  uint share0 = lane & ~7u;
  uint group = gl_SubgroupID * (gl_SubgroupSize / 8) + lane / 8;
  uint P = p.ho * p.wo;
  uint co0 = (gl_WorkGroupID.y * 8 + group) * TM;   // first output channel of the tile
  // the tile's pixels: group g of 8 along an output row (the last of a row may be partial)
  uint GR = (p.wo + TN - 1) / TN;
  uint g = min (gl_WorkGroupID.x * 8 + lane8, p.ho * GR - 1);
  uint ow0 = g % GR * TN;
  uint p0 = g / GR * p.wo + ow0;                     // first output pixel of the tile
  uint nvalid = gl_WorkGroupID.x * 8 + lane8 < p.ho * GR ? min (TN, p.wo - ow0) : 0;
  uint z = gl_WorkGroupID.z;
  const uint KK = KH * KW;
  // channels per loop iteration: enough taps to amortise the loop's cost
  const uint CPI = KK >= 4 ? 1 : 4;
  const uint PLA = (PAD_LEFT + 3) / 4 * 4;          // window starts PLA columns left of ow0 S
  const uint NV = ((TN - 1) * STRIDE + KW + PLA - PAD_LEFT + 3) / 4;
  uint HW = p.h * p.w;

  int oh = int (g / GR) * int (STRIDE);              // first input row, before padding
  int x0 = int (ow0 * STRIDE) - int (PLA);           // first input column of the window
  // window slots outside the image read as zero
  bool col_in[MAXV];
  uint col[MAXV];
  [[unroll]] for (uint i = 0; i < NV; i++) {
    int x = x0 + int (4 * i);
    col_in[i] = x >= 0 && x < int (p.w);
    col[i] = uint (clamp (x, 0, int (p.w) - 4));
  }
  uint in_base = gv_off[0] * 4 + z * p.in_img;
  // this lane's weight rows, handed around the group (rows past Co read the last one)
  uint wrow[TM / 8];
  [[unroll]] for (uint h = 0; h < TM / 8; h++)
    wrow[h] = gv_off[1] + min (co0 + lane8 + 8 * h, p.co - 1) * p.w_row;

  AFLOAT acc[TM][TN];
  [[unroll]] for (uint r = 0; r < TM; r++)
    [[unroll]] for (uint j = 0; j < TN; j++)
      acc[r][j] = AFLOAT (0);

  uint c4 = p.c / CPI * CPI;
  for (uint ci = 0; ci < p.c; ci += ci < c4 ? CPI : 1) {
    // the last C % CPI channels one at a time
    uint nc = ci < c4 ? CPI : 1;
    [[unroll]] for (uint cc = 0; cc < CPI; cc++) {
      if (cc >= nc)
        break;
      uint c = ci + cc;
      [[unroll]] for (uint kh = 0; kh < KH; kh++) {
        // the input row of (channel c, kernel row kh) around the lane's pixels
        int ih = oh + int (kh) - int (p.pad_top);
        bool row_in = ih >= 0 && ih < int (p.h);
        uint rbase = in_base + c * HW + uint (clamp (ih, 0, int (p.h) - 1)) * p.w;
        vec4 win[MAXV];
        [[unroll]] for (uint i = 0; i < NV; i++) {
          vec4 v = imageLoad (In, int ((rbase + col[i]) / 4));
          win[i] = row_in && col_in[i] ? v : vec4 (0);
        }
        // the lane's weights of this kernel row
        AFLOAT wl[TM / 8][KW];
        [[unroll]] for (uint h = 0; h < TM / 8; h++)
          [[unroll]] for (uint kw = 0; kw < KW; kw++)
            wl[h][kw] = TO_A (imageLoad (Wt, int (wrow[h] + c * KK + kh * KW + kw)).x);
        // every accumulator once per kernel row: acc += sum over kw of w * x
        [[unroll]] for (uint r = 0; r < TM; r++) {
          AFLOAT a[KW];
          [[unroll]] for (uint kw = 0; kw < KW; kw++)
            a[kw] = subgroupShuffle (wl[r / 8][kw], share0 + r % 8);
          [[unroll]] for (uint j = 0; j < TN; j++) {
            AFLOAT sum = acc[r][j];
            [[unroll]] for (uint kw = 0; kw < KW; kw++) {
              uint e = j * STRIDE + kw + PLA - PAD_LEFT;
              sum += a[kw] * TO_A (win[e / 4][e % 4]);
            }
            acc[r][j] = sum;
          }
        }
      }
    }
  }

  [[unroll]] for (uint r = 0; r < TM; r++) {
    uint co = co0 + r;
    uint cc = min (co, p.co - 1);
    AFLOAT add = AFLOAT (0);
    if (HAS_BIAS != 0)
      add += TO_A (imageLoad (Bias, int (gv_off[2] + cc)).x);
    if (HAS_ADD != 0)
      add += TO_A (imageLoad (Add, int (gv_off[3] + z * p.add_row + cc)).x);
    [[unroll]] for (uint j = 0; j < TN; j++) {
      uint m = p0 + j;
      if (j < nvalid && co < p.co) {
        uint oi = z * p.o_img + co * P + m;
        AFLOAT v = acc[r][j];
        if (HAS_PART != 0)
          v += TO_A (imageLoad (Part, int (gv_off[5] + oi)).x);
        v = gv_gemm_activate (v + add, ACT);
        if (HAS_RES != 0)
          v += TO_A (imageLoad (Res, int (gv_off[4] + oi)).x);
        o[gv_off[6] + oi] = TO_S (v);
      }
    }
  }
}
