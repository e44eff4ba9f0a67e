#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#include "common.glsl"
#include "gemm.glsl"

// 2-D convolution of one batch of images as an implicit GEMM, for CPU devices (lavapipe):
// rows are output pixels, columns output channels, the reduction runs over (input channel,
// kernel row, kernel column). No im2col buffer: every lane of a group of 8 gathers the input
// value of its own pixel (zero padding in the index math: a precomputed offset and 0/1 mask per
// kernel tap) and hands it to the 7 others with subgroupShuffle; each lane keeps 8 pixels x 8
// channels in registers. A workgroup covers 64 pixels x 64 output channels.
// W_VEC4 builds read the weights as rgba32f, 4 reduction steps per load.
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint KH = 3;
layout(constant_id = 1) const uint KW = 3;
layout(constant_id = 2) const uint ACT = 0;
layout(constant_id = 3) const uint HAS_BIAS = 0;
layout(constant_id = 4) const uint HAS_ADD = 0;   // add_per_channel [images, Co]
layout(constant_id = 5) const uint HAS_RES = 0;
layout(constant_id = 6) const uint HAS_PART = 0;  // add the partial sum out holds (split over C)

layout(binding = 0, r32f) uniform readonly imageBuffer In;
#if W_VEC4
layout(binding = 1, rgba32f) uniform readonly imageBuffer Wt;
#else
layout(binding = 1, r32f) uniform readonly imageBuffer Wt;
#endif
layout(binding = 2, r32f) uniform readonly imageBuffer Bias;
layout(binding = 3, r32f) uniform readonly imageBuffer Add;
layout(binding = 4, r32f) uniform readonly imageBuffer Res;
layout(binding = 5, r32f) uniform readonly imageBuffer Part;
layout(binding = 6) writeonly buffer Out { SFLOAT o[]; };

GV_PUSH (GvConv2dParams)

#define TM 8
#define TN 8
#define MAX_TAPS 16      // kernels up to 4x4 get precomputed taps; larger ones loop

#define SHUFFLE(v, r) subgroupShuffle ((v), share0 + (r))

uint share0;

AFLOAT w_fetch (uint e)
{
#if W_VEC4
  return TO_A (imageLoad (Wt, int (gv_off[1] + e / 4))[e % 4]);
#else
  return TO_A (imageLoad (Wt, int (gv_off[1] + e)).x);
#endif
}

void main ()
{
  uint lane = gl_SubgroupInvocationID;
  uint lane8 = lane & 7u;
  share0 = lane & ~7u;
  uint group = gl_SubgroupID * (gl_SubgroupSize / 8) + lane / 8;
  uint P = p.ho * p.wo;
  uint m0 = (gl_WorkGroupID.y * 8 + group) * TM;    // first output pixel of the tile
  uint n0 = (gl_WorkGroupID.x * 8 + lane8) * TN;    // first output channel of the tile
  uint z = gl_WorkGroupID.z;
  const uint KK = KH * KW;
  uint HW = p.h * p.w;

  // the pixel this lane gathers for its group
  uint pix = min (m0 + lane8, P - 1);
  int ih0 = int ((pix / p.wo) * p.stride) - int (p.pad_top);
  int iw0 = int ((pix % p.wo) * p.stride) - int (p.pad_left);
  uint in_base = gv_off[0] + z * p.in_img;

  uint wrow[TN];
  [[unroll]] for (uint j = 0; j < TN; j++)
    wrow[j] = min (n0 + j, p.co - 1) * p.w_row;

  AFLOAT acc[TM][TN];
  [[unroll]] for (uint r = 0; r < TM; r++)
    [[unroll]] for (uint j = 0; j < TN; j++)
      acc[r][j] = AFLOAT (0);

  if (KK <= MAX_TAPS) {
    // offset of every tap from the channel's start, and whether it falls inside the image
    int off[MAX_TAPS];
    AFLOAT msk[MAX_TAPS];
    [[unroll]] for (uint t = 0; t < KK; t++) {
      int ih = ih0 + int (t / KW), iw = iw0 + int (t % KW);
      bool inside = ih >= 0 && ih < int (p.h) && iw >= 0 && iw < int (p.w);
      off[t] = inside ? ih * int (p.w) + iw : 0;
      msk[t] = inside ? AFLOAT (1) : AFLOAT (0);
    }
    uint ci = 0;
#if W_VEC4
    // blocks of CB channels span a multiple of 4 reduction steps: one vec4 of weights each
    const uint CB = KK % 4 == 0 ? 1 : KK % 2 == 0 ? 2 : 4;
    for (; ci + CB <= p.c; ci += CB) {
      [[unroll]] for (uint s = 0; s < CB * KK; s += 4) {
        vec4 wv[TN];
        [[unroll]] for (uint j = 0; j < TN; j++)
          wv[j] = imageLoad (Wt, int (gv_off[1] + (wrow[j] + ci * KK + s) / 4));
        [[unroll]] for (uint q = 0; q < 4; q++) {
          uint t = (s + q) % KK, c = ci + (s + q) / KK;
          AFLOAT av = TO_A (imageLoad (In, int (in_base + c * HW + off[t])).x) * msk[t];
          [[unroll]] for (uint r = 0; r < TM; r++) {
            AFLOAT a = SHUFFLE (av, r);
            [[unroll]] for (uint j = 0; j < TN; j++)
              acc[r][j] += a * TO_A (wv[j][q]);
          }
        }
      }
    }
#endif
    // the remaining channels (all of them without vec4 weights), one tap at a time
    for (; ci < p.c; ci++) {
      [[unroll]] for (uint t = 0; t < KK; t++) {
        AFLOAT av = TO_A (imageLoad (In, int (in_base + ci * HW + off[t])).x) * msk[t];
        AFLOAT b[TN];
        [[unroll]] for (uint j = 0; j < TN; j++)
          b[j] = w_fetch (wrow[j] + ci * KK + t);
        [[unroll]] for (uint r = 0; r < TM; r++) {
          AFLOAT a = SHUFFLE (av, r);
          [[unroll]] for (uint j = 0; j < TN; j++)
            acc[r][j] += a * b[j];
        }
      }
    }
  } else {
    // large kernels (patch embeddings): taps computed on the fly
    for (uint ci = 0; ci < p.c; ci++) {
      for (uint kh = 0; kh < KH; kh++) {
        int ih = ih0 + int (kh);
        bool row_in = ih >= 0 && ih < int (p.h);
        for (uint kw = 0; kw < KW; kw++) {
          int iw = iw0 + int (kw);
          bool inside = row_in && iw >= 0 && iw < int (p.w);
          uint e = in_base + ci * HW + uint (inside ? ih * int (p.w) + iw : 0);
          AFLOAT av = inside ? TO_A (imageLoad (In, int (e)).x) : AFLOAT (0);
          uint t = (ci * KH + kh) * KW + kw;
          AFLOAT b[TN];
          [[unroll]] for (uint j = 0; j < TN; j++)
            b[j] = w_fetch (wrow[j] + t);
          [[unroll]] for (uint r = 0; r < TM; r++) {
            AFLOAT a = SHUFFLE (av, r);
            [[unroll]] for (uint j = 0; j < TN; j++)
              acc[r][j] += a * b[j];
          }
        }
      }
    }
  }

  [[unroll]] for (uint j = 0; j < TN; j++) {
    uint co = n0 + j;
    uint cc = min (co, p.co - 1);
    AFLOAT add = AFLOAT (0);
    if (HAS_BIAS != 0)
      add += TO_A (imageLoad (Bias, int (gv_off[2] + cc)).x);
    if (HAS_ADD != 0)
      add += TO_A (imageLoad (Add, int (gv_off[3] + z * p.add_row + cc)).x);
    [[unroll]] for (uint r = 0; r < TM; r++) {
      uint m = m0 + r;
      if (m < P && co < p.co) {
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
