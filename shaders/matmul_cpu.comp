#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#include "common.glsl"
#include "gemm.glsl"

// out[z] = act (alpha * op(A[z]) @ op(B[z]) + bias) + residual[z], for CPU devices (lavapipe).
//
// Every invocation keeps a TM x TN tile of the output in registers. The 8 lanes of a group
// share the same TM rows and take TN columns each: the lanes load A's values of the group
// between them and hand them around with subgroupShuffle from constant lanes (cheap there,
// unlike shared memory). Inputs are storage texel buffers (branch-free gathers); A_VEC4 /
// B_VEC4 builds read them as rgba32f along their contiguous dimension. The reduction runs in
// blocks of 4 steps, and each accumulator takes a whole block at once (4 products summed in
// order): spilled accumulators then cost one load and one store per 4 products, and the loop
// body stays small enough for the instruction cache. A workgroup is WGS groups along M.
#ifndef TM
#define TM 16
#endif
#ifndef TN
#define TN 8
#endif
layout(local_size_x_id = 5) in;                   // 8 * WGS
layout(constant_id = 0) const uint TRANS_A = 0;   // A stored [K, M]
layout(constant_id = 1) const uint TRANS_B = 0;   // B stored [N, K]
layout(constant_id = 2) const uint ACT = 0;
layout(constant_id = 3) const uint HAS_BIAS = 0;
layout(constant_id = 4) const uint HAS_RES = 0;

#if A_VEC4
layout(binding = 0, rgba32f) uniform readonly imageBuffer A;
#define AW 4
#else
layout(binding = 0, r32f) uniform readonly imageBuffer A;
#define AW 1
#endif
#if B_VEC4
layout(binding = 1, rgba32f) uniform readonly imageBuffer B;
#else
layout(binding = 1, r32f) uniform readonly imageBuffer B;
#endif
layout(binding = 2, r32f) uniform readonly imageBuffer Bias;
layout(binding = 3, r32f) uniform readonly imageBuffer Res;
layout(binding = 4) writeonly buffer Out { SFLOAT o[]; };

GV_PUSH (GvMatmulParams)

// loads of A per lane and block: the group's 4 x TM values in loads of AW floats
#define NA ((4 * TM / AW + 7) / 8)

uint lane8, share0;  // which of the 8 lanes sharing rows this is; subgroup lane of lane 0
uint m0, n0;         // first row and column of this invocation's tile
uint a_base, b_base; // first float of this batch entry in A / B (binding offsets included)

// A (m, k) and B (k, n) as float indices into their bindings
uint a_index (uint m, uint k)
{
  return a_base + (TRANS_A != 0 ? k * p.lda + p.a_m0 + m : m * p.lda + k);
}

uint b_index (uint k, uint n)
{
  return b_base + (TRANS_B != 0 ? n * p.k + k : k * p.n + n);
}

// this lane's share of A for the block of ks steps from k: value e of the group's block is
// (step e / TM, row e % TM) in scalar builds; vector v is 4 steps of row v along K, or 4 rows
// (v % (TM / 4)) of step v / (TM / 4) along M
void load_a (uint k, uint ks, out vec4 va[NA])
{
  [[unroll]] for (uint i = 0; i < NA; i++) {
    uint v = lane8 + 8 * i;
#if A_VEC4
    if (TRANS_A == 0) {
      v %= TM;
      va[i] = imageLoad (A, int (a_index (min (m0 + v, p.m - 1), k) / 4));
    } else {
      // M is a multiple of 4: a clamped start only moves rows that are all past M
      v %= ks * (TM / 4);
      uint m = min (m0 + 4 * (v % (TM / 4)), p.m - 4);
      va[i] = imageLoad (A, int (a_index (m, k + v / (TM / 4)) / 4));
    }
#else
    v %= ks * TM;
    va[i] = vec4 (imageLoad (A, int (a_index (min (m0 + v % TM, p.m - 1), k + v / TM))).x);
#endif
  }
}

// A (m0 + r, k + kk) from the group's loads
AFLOAT a_value (vec4 va[NA], uint r, uint kk)
{
#if A_VEC4
  if (TRANS_A == 0)
    return TO_A (subgroupShuffle (va[r / 8][kk], share0 + r % 8));
  uint v = kk * (TM / 4) + r / 4;
  return TO_A (subgroupShuffle (va[v / 8][r % 4], share0 + v % 8));
#else
  uint e = kk * TM + r;
  return TO_A (subgroupShuffle (va[e / 8].x, share0 + e % 8));
#endif
}

// b[kk][j] = B (k + kk, n0 + j) for the block of ks steps
void load_b (uint k, uint ks, out AFLOAT b[4][TN])
{
#if B_VEC4
  if (TRANS_B == 0) {
    // along N (a multiple of 4): a clamped start only moves columns that are all past N
    [[unroll]] for (uint kk = 0; kk < ks; kk++)
      [[unroll]] for (uint q = 0; q < TN / 4; q++) {
        vec4 v = imageLoad (B, int (b_index (k + kk, min (n0 + 4 * q, p.n - 4)) / 4));
        [[unroll]] for (uint c = 0; c < 4; c++)
          b[kk][4 * q + c] = TO_A (v[c]);
      }
  } else {
    // along K (ks is 4)
    [[unroll]] for (uint j = 0; j < TN; j++) {
      vec4 v = imageLoad (B, int (b_index (k, min (n0 + j, p.n - 1)) / 4));
      [[unroll]] for (uint kk = 0; kk < 4; kk++)
        b[kk][j] = TO_A (v[kk]);
    }
  }
#else
  [[unroll]] for (uint kk = 0; kk < ks; kk++)
    [[unroll]] for (uint j = 0; j < TN; j++)
      b[kk][j] = TO_A (imageLoad (B, int (b_index (k + kk, min (n0 + j, p.n - 1)))).x);
#endif
}

AFLOAT acc[TM][TN];

// ks (4, or 1 for the last K % 4 steps) reduction steps from k into the accumulators
void block (uint k, uint ks)
{
  vec4 va[NA];
  AFLOAT b[4][TN];
  load_a (k, ks, va);
  load_b (k, ks, b);
  [[unroll]] for (uint r = 0; r < TM; r++) {
    AFLOAT a[4];
    [[unroll]] for (uint kk = 0; kk < ks; kk++)
      a[kk] = a_value (va, r, kk);
    [[unroll]] for (uint j = 0; j < TN; j++) {
      AFLOAT s = acc[r][j];
      [[unroll]] for (uint kk = 0; kk < ks; kk++)
        s += a[kk] * b[kk][j];
      acc[r][j] = s;
    }
  }
}

void main ()
{
  // groups of 8 lanes of one subgroup share rows; a workgroup is WGS groups along M
  uint lane = gl_SubgroupInvocationID;
  lane8 = lane & 7u;
  share0 = lane & ~7u;
  uint group = gl_SubgroupID * (gl_SubgroupSize / 8) + lane / 8;
  m0 = (gl_WorkGroupID.y * (gl_WorkGroupSize.x / 8) + group) * TM;
  n0 = (gl_WorkGroupID.x * 8 + lane8) * TN;
  uint z = gl_WorkGroupID.z;
  a_base = gv_off[0] * AW + z * p.a_batch;
#if B_VEC4
  b_base = gv_off[1] * 4 + z * p.b_batch;
#else
  b_base = gv_off[1] + z * p.b_batch;
#endif

  [[unroll]] for (uint r = 0; r < TM; r++)
    [[unroll]] for (uint j = 0; j < TN; j++)
      acc[r][j] = AFLOAT (0);

  uint k4 = p.k & ~3u;
  for (uint k = 0; k < k4; k += 4)
    block (k, 4);
  // the last K % 4 steps (only when neither operand is read as vec4 along K)
  for (uint k = k4; k < p.k; k++)
    block (k, 1);

  [[unroll]] for (uint j = 0; j < TN; j++) {
    uint n = n0 + j;
    AFLOAT bias = HAS_BIAS != 0 ? TO_A (imageLoad (Bias, int (gv_off[2] + min (n, p.n - 1))).x) :
        AFLOAT (0);
    [[unroll]] for (uint r = 0; r < TM; r++) {
      uint m = m0 + r;
      if (m < p.m && n < p.n) {
        uint oi = z * p.o_batch + m * p.n + n;
        AFLOAT v = p.alpha * acc[r][j];
        v = gv_gemm_activate (v + bias, ACT);
        if (HAS_RES != 0)
          v += TO_A (imageLoad (Res, int (gv_off[3] + oi)).x);
        o[gv_off[4] + oi] = TO_S (v);
      }
    }
  }
}
