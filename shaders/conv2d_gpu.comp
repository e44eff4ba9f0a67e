#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "gemm.glsl"

// 2-D convolution of one batch of images as an implicit GEMM, for GPUs: rows are output
// channels (the weights, [Co, C * KH * KW]), columns output pixels, and the input tile is
// gathered into shared memory straight from the image (zero padding in the index math, no
// im2col buffer). A workgroup of 16 x 16 computes 64 channels x 64 pixels, 4 x 4 each.
#define BM 64
#define BN 64
#define BK 16
#define WG 16
#define TM (BM / WG)
#define TN (BN / WG)
layout(local_size_x = WG, local_size_y = WG) in;
layout(constant_id = 0) const uint KH = 3;
layout(constant_id = 1) const uint KW = 3;
layout(constant_id = 2) const uint ACT = 0;
layout(constant_id = 3) const uint HAS_BIAS = 0;
layout(constant_id = 4) const uint HAS_ADD = 0;   // add_per_channel [images, Co]
layout(constant_id = 5) const uint HAS_RES = 0;
layout(constant_id = 6) const uint HAS_PART = 0;  // add the partial sum out holds (split over C)

layout(binding = 0) readonly buffer BufIn { SFLOAT x[]; };
layout(binding = 1) readonly buffer BufW { SFLOAT w[]; };
layout(binding = 2) readonly buffer BufBias { SFLOAT bias[]; };
layout(binding = 3) readonly buffer BufAdd { SFLOAT add[]; };
layout(binding = 4) readonly buffer BufRes { SFLOAT res[]; };
layout(binding = 5) readonly buffer BufPart { SFLOAT part[]; };
layout(binding = 6) writeonly buffer Out { SFLOAT o[]; };

GV_PUSH (GvConv2dParams)

shared AFLOAT As[BK][BM + 1];
shared AFLOAT Bs[BK][BN + 1];

void main ()
{
  uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
  uint tid = ty * WG + tx;
  uint z = gl_WorkGroupID.z;
  uint bm = gl_WorkGroupID.y * BM, bn = gl_WorkGroupID.x * BN;
  uint P = p.ho * p.wo;
  const uint KK = KH * KW;
  uint K = p.c * KK;
  uint in_base = gv_off[0] + z * p.in_img;

  AFLOAT acc[TM][TN];
  [[unroll]] for (uint i = 0; i < TM; i++)
    [[unroll]] for (uint j = 0; j < TN; j++)
      acc[i][j] = AFLOAT (0);

  for (uint k0 = 0; k0 < K; k0 += BK) {
    [[unroll]] for (uint i = 0; i < BM * BK / (WG * WG); i++) {
      uint e = tid + i * WG * WG;
      uint r = e / BK, kk = e % BK;
      uint co = bm + r, k = k0 + kk;
      As[kk][r] = co < p.co && k < K ? TO_A (w[gv_off[1] + co * p.w_row + k]) : AFLOAT (0);
    }
    [[unroll]] for (uint i = 0; i < BN * BK / (WG * WG); i++) {
      uint e = tid + i * WG * WG;
      uint c = e % BN, kk = e / BN;
      uint n = bn + c, k = k0 + kk;
      AFLOAT v = AFLOAT (0);
      if (n < P && k < K) {
        uint ci = k / KK, t = k % KK;
        int ih = int ((n / p.wo) * p.stride + t / KW) - int (p.pad_top);
        int iw = int ((n % p.wo) * p.stride + t % KW) - int (p.pad_left);
        if (ih >= 0 && ih < int (p.h) && iw >= 0 && iw < int (p.w))
          v = TO_A (x[in_base + (ci * p.h + uint (ih)) * p.w + uint (iw)]);
      }
      Bs[kk][c] = v;
    }
    barrier ();
    [[unroll]] for (uint kk = 0; kk < BK; kk++) {
      AFLOAT av[TM], bv[TN];
      [[unroll]] for (uint i = 0; i < TM; i++)
        av[i] = As[kk][ty + i * WG];
      [[unroll]] for (uint j = 0; j < TN; j++)
        bv[j] = Bs[kk][tx + j * WG];
      [[unroll]] for (uint i = 0; i < TM; i++)
        [[unroll]] for (uint j = 0; j < TN; j++)
          acc[i][j] += av[i] * bv[j];
    }
    barrier ();
  }

  [[unroll]] for (uint i = 0; i < TM; i++) {
    uint co = bm + ty + i * WG;
    if (co >= p.co)
      continue;
    AFLOAT a = AFLOAT (0);
    if (HAS_BIAS != 0)
      a += TO_A (bias[gv_off[2] + co]);
    if (HAS_ADD != 0)
      a += TO_A (add[gv_off[3] + z * p.add_row + co]);
    [[unroll]] for (uint j = 0; j < TN; j++) {
      uint n = bn + tx + j * WG;
      if (n >= P)
        continue;
      uint oi = z * p.o_img + co * P + n;
      AFLOAT v = acc[i][j];
      if (HAS_PART != 0)
        v += TO_A (part[gv_off[5] + oi]);
      v = gv_gemm_activate (v + a, ACT);
      if (HAS_RES != 0)
        v += TO_A (res[gv_off[4] + oi]);
      o[gv_off[6] + oi] = TO_S (v);
    }
  }
}
