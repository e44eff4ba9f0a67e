#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#include "common.glsl"
#include "gemm.glsl"

// The conv2d weight gradient for CPU devices (lavapipe), as an implicit GEMM (no im2col):
// dW[co, c, kh, kw] = sum over images and output pixels of dy[co, pixel] x[c, pixel's tap].
// Shapes as the forward row kernel's (conv2d_cpu_row.comp): stride 1 or 2, input rows a
// multiple of 4 wide read as rgba32f, left padding <= 4; kernels up to 3 x 3.
//
// Every lane keeps TM output channels x all taps of one input channel in registers; the 8
// lanes of a group share the output channels and take one input channel each. The reduction
// runs over groups of 8 consecutive output pixels of a row: lane r reads dy of channel
// co0 + r there and the group hands the values around with subgroupShuffle (dy is the shared
// operand, each value used for every tap); each lane reads a window of aligned vec4s of its
// input channel around the 8 pixels once per kernel row and takes every kernel column from it
// by picking components. Each accumulator takes the 8 pixels' products at once (one spill
// load and store per 8 products). Grid z splits the reduction into parts of per_part pixel
// groups, written apart (out_part floats apart) and summed in order by the op.
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint KH = 3;        // <= 3
layout(constant_id = 1) const uint KW = 3;        // <= 3
layout(constant_id = 2) const uint PAD_STRIDE = 1;  // left padding (<= 4) | stride << 8
layout(constant_id = 3) const uint HAS_RES = 0;   // add what Res holds (accumulate)
const uint PAD_LEFT = PAD_STRIDE & 255u;
const uint STRIDE = PAD_STRIDE >> 8;

#ifndef TM
#define TM 8        // output channels per lane (a multiple of 8)
#endif
#define TN 8        // output pixels per reduction step
#define MAXK 3
#define MAXV 6      // window vec4s (the op checks that its shapes fit)

layout(binding = 0, rgba32f) uniform readonly imageBuffer X;
#if DY_VEC4
layout(binding = 1, rgba32f) uniform readonly imageBuffer Dy;   // output rows a multiple of 4
#define DW 4
#else
layout(binding = 1, r32f) uniform readonly imageBuffer Dy;
#define DW 1
#endif
layout(binding = 2, r32f) uniform readonly imageBuffer Res;
layout(binding = 3) writeonly buffer Out { SFLOAT o[]; };

GV_PUSH (GvConvBackWeightParams)

void main ()
{
  uint lane = gl_SubgroupInvocationID;
  uint lane8 = lane & 7u;
  uint share0 = lane & ~7u;
  uint group = gl_SubgroupID * (gl_SubgroupSize / 8) + lane / 8;
  uint co0 = (gl_WorkGroupID.y * 8 + group) * TM;   // first output channel of the group
  uint c = gl_WorkGroupID.x * 8 + lane8;             // this lane's input channel
  uint z = gl_WorkGroupID.z;
  const uint KK = KH * KW;
  const uint PLA = (PAD_LEFT + 3) / 4 * 4;          // window starts PLA columns left
  const uint NV = ((TN - 1) * STRIDE + KW + PLA - PAD_LEFT + 3) / 4;
  uint P = p.ho * p.wo;
  uint GR = (p.wo + TN - 1) / TN;                    // pixel groups per output row
  uint per_img = p.ho * GR;
  uint t0 = z * p.per_part, t1 = min (t0 + p.per_part, p.images * per_img);
  // this lane's dy rows (rows past Co read as zero) and input channel (clamped)
  bool dy_in[TM / 8];
  uint dy_row[TM / 8];
  [[unroll]] for (uint h = 0; h < TM / 8; h++) {
    dy_in[h] = co0 + lane8 + 8 * h < p.co;
    dy_row[h] = gv_off[1] * DW + min (co0 + lane8 + 8 * h, p.co - 1) * P;
  }
  uint x_chan = gv_off[0] * 4 + min (c, p.c - 1) * p.h * p.w;

  AFLOAT acc[TM][MAXK * MAXK];
  [[unroll]] for (uint r = 0; r < TM; r++)
    [[unroll]] for (uint t = 0; t < KK; t++)
      acc[r][t] = AFLOAT (0);

  for (uint t = t0; t < t1; t++) {
    uint img = t / per_img, rem = t - img * per_img;
    uint oy = rem / GR, ox0 = (rem - oy * GR) * TN;
    // the lane's dy values of the 8 pixels (zero past the row's end)
    AFLOAT dl[TM / 8][TN];
    [[unroll]] for (uint h = 0; h < TM / 8; h++) {
      uint drow = dy_row[h] + img * p.dy_img + oy * p.wo;
#if DY_VEC4
      [[unroll]] for (uint q = 0; q < TN / 4; q++) {
        uint ox = ox0 + 4 * q;
        vec4 v = imageLoad (Dy, int ((drow + min (ox, p.wo - 4)) / 4));
        [[unroll]] for (uint e = 0; e < 4; e++)
          dl[h][4 * q + e] = dy_in[h] && ox < p.wo ? TO_A (v[e]) : AFLOAT (0);
      }
#else
      [[unroll]] for (uint j = 0; j < TN; j++) {
        uint ox = ox0 + j;
        AFLOAT v = TO_A (imageLoad (Dy, int (drow + min (ox, p.wo - 1))).x);
        dl[h][j] = dy_in[h] && ox < p.wo ? v : AFLOAT (0);
      }
#endif
    }
    // the windows of every kernel row around the 8 pixels; slots outside the image are zero
    int x0 = int (ox0 * STRIDE) - int (PLA);
    uint xbase = x_chan + img * p.in_img;
    vec4 win[MAXK][MAXV];
    [[unroll]] for (uint kh = 0; kh < KH; kh++) {
      int ih = int (oy * STRIDE + kh) - int (p.pad_top);
      bool row_in = ih >= 0 && ih < int (p.h);
      uint rbase = xbase + uint (clamp (ih, 0, int (p.h) - 1)) * p.w;
      [[unroll]] for (uint i = 0; i < NV; i++) {
        int x = x0 + int (4 * i);
        vec4 v = imageLoad (X, int ((rbase + uint (clamp (x, 0, int (p.w) - 4))) / 4));
        win[kh][i] = row_in && x >= 0 && x < int (p.w) ? v : vec4 (0);
      }
    }
    // every accumulator once per step: acc += sum over the 8 pixels of dy * x
    [[unroll]] for (uint r = 0; r < TM; r++) {
      AFLOAT a[TN];
      [[unroll]] for (uint j = 0; j < TN; j++)
        a[j] = subgroupShuffle (dl[r / 8][j], share0 + r % 8);
      [[unroll]] for (uint kh = 0; kh < KH; kh++)
        [[unroll]] for (uint kw = 0; kw < KW; kw++) {
          AFLOAT sum = acc[r][kh * KW + kw];
          [[unroll]] for (uint j = 0; j < TN; j++) {
            uint e = j * STRIDE + kw + PLA - PAD_LEFT;
            sum += a[j] * TO_A (win[kh][e / 4][e % 4]);
          }
          acc[r][kh * KW + kw] = sum;
        }
    }
  }

  if (c >= p.c)
    return;
  [[unroll]] for (uint r = 0; r < TM; r++) {
    uint co = co0 + r;
    if (co < p.co)
      [[unroll]] for (uint t = 0; t < KK; t++) {
        uint oi = z * p.out_part + (co * p.c + c) * KK + t;
        AFLOAT v = acc[r][t];
        if (HAS_RES != 0)
          v += TO_A (imageLoad (Res, int (gv_off[2] + oi)).x);
        o[gv_off[3] + oi] = TO_S (v);
      }
  }
}
