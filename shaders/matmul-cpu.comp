#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#include "common.glsl"
#include "gemm.glsl"

// out[z] = act (alpha * op(A[z]) @ op(B[z]) + bias) + residual[z], for CPU devices (lavapipe).
//
// Every invocation keeps an 8x8 tile of the output in registers. The 8 lanes of a group share
// the same 8 rows and take 8 columns each: a lane loads one row's slice of A and the others
// get it with subgroupShuffle from a constant lane (cheap there, unlike shared memory).
// Inputs are storage texel buffers (branch-free gathers); A_VEC4 / B_VEC4 builds read them as
// rgba32f along their contiguous dimension. A workgroup covers 64 rows x 64 columns.
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint TRANS_A = 0;   // A stored [K, M]
layout(constant_id = 1) const uint TRANS_B = 0;   // B stored [N, K]
layout(constant_id = 2) const uint ACT = 0;
layout(constant_id = 3) const uint HAS_BIAS = 0;
layout(constant_id = 4) const uint HAS_RES = 0;

#if A_VEC4
layout(binding = 0, rgba32f) uniform readonly imageBuffer A;
#else
layout(binding = 0, r32f) uniform readonly imageBuffer A;
#endif
#if B_VEC4
layout(binding = 1, rgba32f) uniform readonly imageBuffer B;
#else
layout(binding = 1, r32f) uniform readonly imageBuffer B;
#endif
layout(binding = 2, r32f) uniform readonly imageBuffer Bias;
layout(binding = 3, r32f) uniform readonly imageBuffer Res;
layout(binding = 4) writeonly buffer Out { SFLOAT o[]; };

layout(push_constant) uniform Push {
  GV_PUSH_HEADER
  uint M, N, K;       // of this dispatch
  uint lda;           // elements between rows of A's storage (K, or the whole M when transposed)
  uint a_m0;          // column of transposed A's storage that holds row 0 of this dispatch
  uint a_batch, b_batch, o_batch;   // elements between batch entries (0: shared)
  float alpha;
} p;

#define TM 8
#define TN 8

uint lane8;        // which of the 8 lanes sharing rows this is
uint share0;       // subgroup lane of the group's lane 0
uint m0, n0;       // first row and column of this invocation's tile
uint a_base, b_base;

uint a_index (uint m, uint k)
{
  return TRANS_A != 0 ? a_base + k * p.lda + p.a_m0 + m : a_base + m * p.lda + k;
}

uint b_index (uint k, uint n)
{
  return TRANS_B != 0 ? b_base + n * p.K + k : b_base + k * p.N + n;
}

AFLOAT a_fetch (uint e)
{
#if A_VEC4
  return TO_A (imageLoad (A, int (p.gv_off[0] + e / 4))[e % 4]);
#else
  return TO_A (imageLoad (A, int (p.gv_off[0] + e)).x);
#endif
}

AFLOAT b_fetch (uint e)
{
#if B_VEC4
  return TO_A (imageLoad (B, int (p.gv_off[1] + e / 4))[e % 4]);
#else
  return TO_A (imageLoad (B, int (p.gv_off[1] + e)).x);
#endif
}

#define A_LOAD4(e) imageLoad (A, int (p.gv_off[0] + (e) / 4))
#define B_LOAD4(e) imageLoad (B, int (p.gv_off[1] + (e) / 4))
#define SHUFFLE(v, r) subgroupShuffle ((v), share0 + (r))

// a[kk][r] = A (m0 + r, k + kk), for a block of 4 k (k + 3 < K)
void load_a4 (uint k, out AFLOAT a[4][TM])
{
#if A_VEC4
  if (TRANS_A == 0) {
    // lane r loads row m0 + r (along K), then hands it around
    vec4 v = A_LOAD4 (a_index (min (m0 + lane8, p.M - 1), k));
    [[unroll]] for (uint r = 0; r < TM; r++) {
      vec4 s = SHUFFLE (v, r);
      [[unroll]] for (uint kk = 0; kk < 4; kk++)
        a[kk][r] = TO_A (s[kk]);
    }
  } else {
    // lane 2 kk + h loads rows m0 + 4 h .. + 3 of k + kk (along M; M is a multiple of 4, so a
    // clamped start only moves lanes whose rows are all past M)
    vec4 v = A_LOAD4 (a_index (min (m0 + 4 * (lane8 & 1), p.M - 4), k + lane8 / 2));
    [[unroll]] for (uint kk = 0; kk < 4; kk++) {
      vec4 s0 = SHUFFLE (v, 2 * kk), s1 = SHUFFLE (v, 2 * kk + 1);
      [[unroll]] for (uint r = 0; r < 4; r++) {
        a[kk][r] = TO_A (s0[r]);
        a[kk][r + 4] = TO_A (s1[r]);
      }
    }
  }
#else
  // lane r loads row m0 + r, one k at a time
  [[unroll]] for (uint kk = 0; kk < 4; kk++) {
    AFLOAT v = a_fetch (a_index (min (m0 + lane8, p.M - 1), k + kk));
    [[unroll]] for (uint r = 0; r < TM; r++)
      a[kk][r] = SHUFFLE (v, r);
  }
#endif
}

// b[kk][j] = B (k + kk, n0 + j), for a block of 4 k (k + 3 < K)
void load_b4 (uint k, out AFLOAT b[4][TN])
{
#if B_VEC4
  if (TRANS_B == 0) {
    // along N (a multiple of 4): a clamped start only moves columns that are all past N
    uint c0 = min (n0, p.N - 4), c1 = min (n0 + 4, p.N - 4);
    [[unroll]] for (uint kk = 0; kk < 4; kk++) {
      vec4 v0 = B_LOAD4 (b_index (k + kk, c0)), v1 = B_LOAD4 (b_index (k + kk, c1));
      [[unroll]] for (uint j = 0; j < 4; j++) {
        b[kk][j] = TO_A (v0[j]);
        b[kk][j + 4] = TO_A (v1[j]);
      }
    }
  } else {
    // along K
    [[unroll]] for (uint j = 0; j < TN; j++) {
      vec4 v = B_LOAD4 (b_index (k, min (n0 + j, p.N - 1)));
      [[unroll]] for (uint kk = 0; kk < 4; kk++)
        b[kk][j] = TO_A (v[kk]);
    }
  }
#else
  [[unroll]] for (uint kk = 0; kk < 4; kk++)
    [[unroll]] for (uint j = 0; j < TN; j++)
      b[kk][j] = b_fetch (b_index (k + kk, min (n0 + j, p.N - 1)));
#endif
}

void main ()
{
  // groups of 8 lanes of one subgroup share rows; a workgroup is 8 groups along M
  uint lane = gl_SubgroupInvocationID;
  lane8 = lane & 7u;
  share0 = lane & ~7u;
  uint group = gl_SubgroupID * (gl_SubgroupSize / 8) + lane / 8;
  m0 = (gl_WorkGroupID.y * 8 + group) * TM;
  n0 = (gl_WorkGroupID.x * 8 + lane8) * TN;
  uint z = gl_WorkGroupID.z;
  a_base = z * p.a_batch;
  b_base = z * p.b_batch;

  AFLOAT acc[TM][TN];
  [[unroll]] for (uint r = 0; r < TM; r++)
    [[unroll]] for (uint j = 0; j < TN; j++)
      acc[r][j] = AFLOAT (0);

  uint k4 = p.K & ~3u;
  for (uint k = 0; k < k4; k += 4) {
    AFLOAT a[4][TM], b[4][TN];
    load_a4 (k, a);
    load_b4 (k, b);
    [[unroll]] for (uint kk = 0; kk < 4; kk++)
      [[unroll]] for (uint r = 0; r < TM; r++)
        [[unroll]] for (uint j = 0; j < TN; j++)
          acc[r][j] += a[kk][r] * b[kk][j];
  }
  // the last K % 4 (only when neither operand is read as vec4 along K)
  for (uint k = k4; k < p.K; k++) {
    AFLOAT a[TM], b[TN];
    [[unroll]] for (uint r = 0; r < TM; r++)
      a[r] = a_fetch (a_index (min (m0 + r, p.M - 1), k));
    [[unroll]] for (uint j = 0; j < TN; j++)
      b[j] = b_fetch (b_index (k, min (n0 + j, p.N - 1)));
    [[unroll]] for (uint r = 0; r < TM; r++)
      [[unroll]] for (uint j = 0; j < TN; j++)
        acc[r][j] += a[r] * b[j];
  }

  [[unroll]] for (uint j = 0; j < TN; j++) {
    uint n = n0 + j;
    AFLOAT bias = HAS_BIAS != 0 ? TO_A (imageLoad (Bias, int (p.gv_off[2] + min (n, p.N - 1))).x) :
        AFLOAT (0);
    [[unroll]] for (uint r = 0; r < TM; r++) {
      uint m = m0 + r;
      if (m < p.M && n < p.N) {
        uint oi = z * p.o_batch + m * p.N + n;
        AFLOAT v = p.alpha * acc[r][j];
        v = gv_gemm_activate (v + bias, ACT);
        if (HAS_RES != 0)
          v += TO_A (imageLoad (Res, int (p.gv_off[3] + oi)).x);
        o[p.gv_off[4] + oi] = TO_S (v);
      }
    }
  }
}
