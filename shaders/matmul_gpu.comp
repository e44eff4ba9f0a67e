#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "gemm.glsl"

// out[z] = act (alpha * op(A[z]) @ op(B[z]) + bias) + residual[z], for GPUs: a workgroup of
// 16 x 16 invocations computes a 64 x 64 tile of the output, staging 16-deep slices of A and B
// in shared memory; every invocation accumulates 4 x 4 outputs (strided by 16 so that
// neighbouring invocations read neighbouring shared-memory words).
#define BM 64
#define BN 64
#define BK 16
#define WG 16
#define TM (BM / WG)
#define TN (BN / WG)
layout(local_size_x = WG, local_size_y = WG) in;
layout(constant_id = 0) const uint TRANS_A = 0;   // A stored [K, M]
layout(constant_id = 1) const uint TRANS_B = 0;   // B stored [N, K]
layout(constant_id = 2) const uint ACT = 0;
layout(constant_id = 3) const uint HAS_BIAS = 0;
layout(constant_id = 4) const uint HAS_RES = 0;

layout(binding = 0) readonly buffer BufA { SFLOAT a[]; };
layout(binding = 1) readonly buffer BufB { SFLOAT b[]; };
layout(binding = 2) readonly buffer BufBias { SFLOAT bias[]; };
layout(binding = 3) readonly buffer BufRes { SFLOAT res[]; };
layout(binding = 4) writeonly buffer Out { SFLOAT o[]; };

GV_PUSH (GvMatmulParams)

shared AFLOAT As[BK][BM + 1];
shared AFLOAT Bs[BK][BN + 1];

void main ()
{
  uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
  uint tid = ty * WG + tx;
  uint z = gl_WorkGroupID.z;
  uint bm = gl_WorkGroupID.y * BM, bn = gl_WorkGroupID.x * BN;
  uint a_base = gv_off[0] + z * p.a_batch;
  uint b_base = gv_off[1] + z * p.b_batch;

  AFLOAT acc[TM][TN];
  [[unroll]] for (uint i = 0; i < TM; i++)
    [[unroll]] for (uint j = 0; j < TN; j++)
      acc[i][j] = AFLOAT (0);

  for (uint k0 = 0; k0 < p.k; k0 += BK) {
    // stage the slices; consecutive invocations read consecutive addresses of the storage
    [[unroll]] for (uint i = 0; i < BM * BK / (WG * WG); i++) {
      uint e = tid + i * WG * WG;
      uint r = TRANS_A != 0 ? e % BM : e / BK;
      uint kk = TRANS_A != 0 ? e / BM : e % BK;
      uint m = bm + r, k = k0 + kk;
      AFLOAT v = AFLOAT (0);
      if (m < p.m && k < p.k)
        v = TO_A (a[a_base + (TRANS_A != 0 ? k * p.lda + p.a_m0 + m : m * p.lda + k)]);
      As[kk][r] = v;
    }
    [[unroll]] for (uint i = 0; i < BN * BK / (WG * WG); i++) {
      uint e = tid + i * WG * WG;
      uint c = TRANS_B != 0 ? e / BK : e % BN;
      uint kk = TRANS_B != 0 ? e % BK : e / BN;
      uint n = bn + c, k = k0 + kk;
      AFLOAT v = AFLOAT (0);
      if (n < p.n && k < p.k)
        v = TO_A (b[b_base + (TRANS_B != 0 ? n * p.k + k : k * p.n + n)]);
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

  [[unroll]] for (uint j = 0; j < TN; j++) {
    uint n = bn + tx + j * WG;
    if (n >= p.n)
      continue;
    AFLOAT bv = HAS_BIAS != 0 ? TO_A (bias[gv_off[2] + n]) : AFLOAT (0);
    [[unroll]] for (uint i = 0; i < TM; i++) {
      uint m = bm + ty + i * WG;
      if (m >= p.m)
        continue;
      uint oi = z * p.o_batch + m * p.n + n;
      AFLOAT v = p.alpha * acc[i][j];
      v = gv_gemm_activate (v + bv, ACT);
      if (HAS_RES != 0)
        v += TO_A (res[gv_off[3] + oi]);
      o[gv_off[4] + oi] = TO_S (v);
    }
  }
}
