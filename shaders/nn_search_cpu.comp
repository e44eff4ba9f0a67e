#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#include "common.glsl"

// Nearest-neighbour search for CPU devices (lavapipe): a GEMM with a running argmax instead of
// an output. A subgroup of 8 lanes owns MP positions of a; per tile, lane l scores NQL
// candidates of b (a register tile of MP x NQL dot products over the channels), scales them by
// the candidates' inverse norms and keeps, per position, its best candidate. The lanes' bests
// are merged with shuffles at the end. No shared memory, no barriers. The positions' features
// are fetched once per 8 channels (lane u fetches channel c0 + u) and shared by shuffles: a
// texel fetch costs a scalar load per lane on lavapipe, a shuffle one permute.
// VEC4=1 (whole-frame search, S a multiple of 4): a and b read as rgba32f texels.
layout(local_size_x = 8, local_size_y_id = 2) in;
layout(constant_id = 0) const uint MP = 16;   // positions of a per subgroup
layout(constant_id = 1) const uint NQL = 16;  // candidates per lane per tile

#if VEC4
#define TEXW 4
layout(binding = 0, rgba32f) uniform readonly imageBuffer A;
layout(binding = 1, rgba32f) uniform readonly imageBuffer B;
#else
#define TEXW 1
layout(binding = 0, r32f) uniform readonly imageBuffer A;
layout(binding = 1, r32f) uniform readonly imageBuffer B;
#endif
layout(binding = 2, r32f) uniform readonly imageBuffer Inv;    // [frames, 2, S]
layout(binding = 3) writeonly buffer Index { int index[]; };
layout(binding = 4) writeonly buffer Score { float score[]; };

#include "nn_search.glsl"

// sc += a[c0 + u, block] x b[c0 + u, candidates]; a comes from lane u
#if VEC4
#define LOAD_B(row) \
  uint bt = gv_off[1] + ((row) + q[0]) / 4; \
  [[unroll]] for (uint v = 0; v < NQL / 4; v++) { \
    vec4 x = imageLoad (B, int (bt + v)); \
    bv[4 * v] = x.x; bv[4 * v + 1] = x.y; bv[4 * v + 2] = x.z; bv[4 * v + 3] = x.w; \
  }
#else
#define LOAD_B(row) \
  [[unroll]] for (uint t = 0; t < NQL; t++) \
    bv[t] = imageLoad (B, int (gv_off[1] + (row) + q[t])).x;
#endif
#define CHANNEL_STEP(u) { \
    float bv[NQL]; \
    LOAD_B (fs + (c0 + (u)) * p.s) \
    [[unroll]] for (uint i = 0; i < MP; i++) { \
      float av = subgroupShuffle (ar[i], (u)); \
      [[unroll]] for (uint t = 0; t < NQL; t++) \
        sc[i][t] += av * bv[t]; \
    } \
  }

void
main ()
{
  uint lane = gl_LocalInvocationID.x;
  uint task = (gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x) * gl_WorkGroupSize.y +
      gl_LocalInvocationID.y;
  if (task >= p.tasks)
    return;
  uint n = task / p.nblocks;
  uint p0 = (task % p.nblocks) * MP;
  uint np = min (MP, p.s - p0);
  Box box = search_box (p0, p0 + np - 1);

  uint fs = n * p.c * p.s;                       // first float of the frame in a and b
  uint ibase = gv_off[2] + 2 * n * p.s;
  float best[MP];
  uint bidx[MP];
  [[unroll]] for (uint i = 0; i < MP; i++) {
    best[i] = NO_SCORE;
    bidx[i] = 0;
  }

  for (uint f0 = 0; f0 < box.count; f0 += 8 * NQL) {
    uint q[NQL];
    [[unroll]] for (uint t = 0; t < NQL; t++)
      q[t] = box_position (box, min (f0 + lane * NQL + t, box.count - 1));
    float sc[MP][NQL];
    [[unroll]] for (uint i = 0; i < MP; i++)
      [[unroll]] for (uint t = 0; t < NQL; t++)
        sc[i][t] = 0.0;

    // Channels in chunks of 8: lane l loads the block's positions of channel c0 + l, and
    // every lane takes them from lane u for channel c0 + u. The last chunk may be partial.
    for (uint c0 = 0; c0 < p.c; c0 += 8) {
      float ar[MP];
      uint arow = fs + min (c0 + lane, p.c - 1) * p.s;
#if VEC4
      [[unroll]] for (uint u = 0; u < MP / 4; u++) {
        vec4 x = imageLoad (A, int (gv_off[0] + (arow + p0) / 4 + u));
        ar[4 * u] = x.x; ar[4 * u + 1] = x.y; ar[4 * u + 2] = x.z; ar[4 * u + 3] = x.w;
      }
#else
      [[unroll]] for (uint i = 0; i < MP; i++)
        ar[i] = imageLoad (A, int (gv_off[0] + arow + min (p0 + i, p.s - 1))).x;
#endif
      // not unrolled: a body of 8 steps is too large for the compiler to schedule well
      [[dont_unroll]] for (uint u = 0; u < min (8, p.c - c0); u++)
        CHANNEL_STEP (u);
    }

    [[unroll]] for (uint t = 0; t < NQL; t++) {
      bool valid = f0 + lane * NQL + t < box.count;
      float inv = imageLoad (Inv, int (ibase + p.s + q[t])).x;
      [[unroll]] for (uint i = 0; i < MP; i++) {
        float v = sc[i][t] * inv;
        // candidates come in increasing order per lane: '>' keeps the smallest index on ties
        if (valid && v > best[i] && in_window (q[t], p0 + i)) {
          best[i] = v;
          bidx[i] = q[t];
        }
      }
    }
  }

  [[unroll]] for (uint i = 0; i < MP; i++) {
    float bv = best[i];
    uint bi = bidx[i];
    [[unroll]] for (uint c = 0; c < 8; c++) {
      float ov = subgroupShuffle (best[i], c);
      uint oi = subgroupShuffle (bidx[i], c);
      if (better (ov, oi, bv, bi)) {
        bv = ov;
        bi = oi;
      }
    }
    if (lane == 0 && i < np) {
      uint pp = p0 + i;
      index[gv_off[3] + n * p.s + pp] = int (bi);
      score[gv_off[4] + n * p.s + pp] = bv * imageLoad (Inv, int (ibase + pp)).x;
    }
  }
}
