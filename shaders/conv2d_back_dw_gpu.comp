#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "gemm.glsl"

// The conv2d weight gradient for GPUs, as an implicit GEMM (no im2col buffer):
// dW [Co, C * kh * kw] = dy [Co, pixels] @ patches [pixels, C * kh * kw], the reduction over
// the images and output pixels of this dispatch. Tiles as matmul_gpu.comp: a workgroup of
// 16 x 16 invocations computes 64 x 64 outputs, staging 16-pixel slices of dy and of the
// patches (gathered from x, zero in the padding) in shared memory. Grid z splits the
// reduction into parts of per_part pixels, written out_part floats apart (summed in order by
// the op).
#define BM 64
#define BN 64
#define BK 16
#define WG 16
#define TM (BM / WG)
#define TN (BN / WG)
layout(local_size_x = WG, local_size_y = WG) in;
layout(constant_id = 0) const uint KH = 3;
layout(constant_id = 1) const uint KW = 3;
layout(constant_id = 2) const uint PAD_STRIDE = 1;  // left padding | stride << 8
layout(constant_id = 3) const uint HAS_RES = 0;   // add what Res holds (accumulate)
const uint PAD_LEFT = PAD_STRIDE & 255u;
const uint STRIDE = PAD_STRIDE >> 8;

layout(binding = 0) readonly buffer BufX { SFLOAT x[]; };
layout(binding = 1) readonly buffer BufDy { SFLOAT dy[]; };
layout(binding = 2) readonly buffer BufRes { SFLOAT res[]; };
layout(binding = 3) writeonly buffer Out { SFLOAT o[]; };

GV_PUSH (GvConvBackWeightParams)

shared AFLOAT As[BK][BM + 1];
shared AFLOAT Bs[BK][BN + 1];

void main ()
{
  uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
  uint tid = ty * WG + tx;
  uint z = gl_WorkGroupID.z;
  uint bm = gl_WorkGroupID.y * BM, bn = gl_WorkGroupID.x * BN;
  const uint KK = KH * KW;
  uint P = p.ho * p.wo, N = p.c * KK;
  uint k_first = z * p.per_part, k_end = min (k_first + p.per_part, p.images * P);

  AFLOAT acc[TM][TN];
  [[unroll]] for (uint i = 0; i < TM; i++)
    [[unroll]] for (uint j = 0; j < TN; j++)
      acc[i][j] = AFLOAT (0);

  for (uint k0 = k_first; k0 < k_end; k0 += BK) {
    // consecutive invocations read consecutive pixels
    [[unroll]] for (uint i = 0; i < BM * BK / (WG * WG); i++) {
      uint e = tid + i * WG * WG;
      uint r = e / BK, kk = e % BK;
      uint m = bm + r, k = k0 + kk;
      AFLOAT v = AFLOAT (0);
      if (m < p.co && k < k_end) {
        uint img = k / P;
        v = TO_A (dy[gv_off[1] + img * p.dy_img + m * P + (k - img * P)]);
      }
      As[kk][r] = v;
    }
    [[unroll]] for (uint i = 0; i < BN * BK / (WG * WG); i++) {
      uint e = tid + i * WG * WG;
      uint cl = e / BK, kk = e % BK;
      uint n = bn + cl, k = k0 + kk;
      AFLOAT v = AFLOAT (0);
      if (n < N && k < k_end) {
        uint img = k / P, q = k - img * P;
        uint oy = q / p.wo, ox = q - oy * p.wo;
        uint ci = n / KK, t = n - ci * KK;
        uint ky = t / KW, kx = t - ky * KW;
        int iy = int (oy * STRIDE + ky) - int (p.pad_top);
        int ix = int (ox * STRIDE + kx) - int (PAD_LEFT);
        if (iy >= 0 && iy < int (p.h) && ix >= 0 && ix < int (p.w))
          v = TO_A (x[gv_off[0] + img * p.in_img + (ci * p.h + uint (iy)) * p.w + uint (ix)]);
      }
      Bs[kk][cl] = v;
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

  [[unroll]] for (uint j = 0; j < TN; j++) {
    uint n = bn + tx + j * WG;
    if (n >= N)
      continue;
    [[unroll]] for (uint i = 0; i < TM; i++) {
      uint m = bm + ty + i * WG;
      if (m >= p.co)
        continue;
      uint oi = z * p.out_part + m * N + n;
      AFLOAT v = acc[i][j];
      if (HAS_RES != 0)
        v += TO_A (res[gv_off[2] + oi]);
      o[gv_off[3] + oi] = TO_S (v);
    }
  }
}
