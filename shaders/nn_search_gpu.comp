#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// Nearest-neighbour search for GPUs: a shared-memory tiled GEMM with a running argmax. A
// workgroup of 8 x 8 invocations owns BP = 64 positions of a (8 per invocation row y) and walks
// the candidates in tiles of BQ = 64 (8 per invocation column x), the channels in chunks of DK
// through shared memory. Each invocation keeps the best of its candidates for its 8 positions;
// the 8 columns are merged through shared memory at the end.
layout(local_size_x = 8, local_size_y = 8) in;

layout(binding = 0, r32f) uniform readonly imageBuffer A;
layout(binding = 1, r32f) uniform readonly imageBuffer B;
layout(binding = 2, r32f) uniform readonly imageBuffer Inv;    // [frames, 2, S]
layout(binding = 3) writeonly buffer Index { int index[]; };
layout(binding = 4) writeonly buffer Score { float score[]; };

#include "nn_search.glsl"

const uint BP = 64;
const uint BQ = 64;
const uint DK = 16;

shared float as_[DK][BP];
shared float bs_[DK][BQ];
shared uint qs_[BQ];
shared float red_v[BP][8];
shared uint red_i[BP][8];

void
main ()
{
  uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
  uint tid = ty * 8 + tx;
  uint task = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (task >= p.tasks)
    return;     // uniform for the workgroup
  uint n = task / p.nblocks;
  uint p0 = (task % p.nblocks) * BP;
  uint np = min (BP, p.s - p0);
  Box box = search_box (p0, p0 + np - 1);
  uint fs = n * p.c * p.s;
  uint ibase = 2 * n * p.s;

  float best[8];
  uint bidx[8];
  [[unroll]] for (uint i = 0; i < 8; i++) {
    best[i] = NO_SCORE;
    bidx[i] = 0;
  }

  for (uint f0 = 0; f0 < box.count; f0 += BQ) {
    qs_[tid] = box_position (box, min (f0 + tid, box.count - 1));
    barrier ();
    float sc[8][8];
    [[unroll]] for (uint i = 0; i < 8; i++)
      [[unroll]] for (uint t = 0; t < 8; t++)
        sc[i][t] = 0.0;
    for (uint c0 = 0; c0 < p.c; c0 += DK) {
      for (uint e = tid; e < DK * BP; e += 64) {
        uint cc = e / BP, j = e % BP;
        uint row = fs + (c0 + cc) * p.s;
        bool ok = c0 + cc < p.c;
        as_[cc][j] = ok ? imageLoad (A, int (gv_off[0] + row + min (p0 + j, p.s - 1))).x : 0.0;
        bs_[cc][j] = ok ? imageLoad (B, int (gv_off[1] + row + qs_[j])).x : 0.0;
      }
      barrier ();
      [[unroll]] for (uint cc = 0; cc < DK; cc++) {
        float av[8], bv[8];
        [[unroll]] for (uint i = 0; i < 8; i++)
          av[i] = as_[cc][ty * 8 + i];
        [[unroll]] for (uint t = 0; t < 8; t++)
          bv[t] = bs_[cc][tx + 8 * t];
        [[unroll]] for (uint i = 0; i < 8; i++)
          [[unroll]] for (uint t = 0; t < 8; t++)
            sc[i][t] += av[i] * bv[t];
      }
      barrier ();
    }
    [[unroll]] for (uint t = 0; t < 8; t++) {
      uint f = f0 + tx + 8 * t;
      uint q = qs_[tx + 8 * t];
      float inv = imageLoad (Inv, int (gv_off[2] + ibase + p.s + q)).x;
      [[unroll]] for (uint i = 0; i < 8; i++) {
        float v = sc[i][t] * inv;
        // this invocation's candidates come in increasing order: '>' keeps the smallest index
        if (f < box.count && v > best[i] && in_window (q, p0 + ty * 8 + i)) {
          best[i] = v;
          bidx[i] = q;
        }
      }
    }
    barrier ();     // qs_ is rewritten by the next tile
  }

  [[unroll]] for (uint i = 0; i < 8; i++) {
    red_v[ty * 8 + i][tx] = best[i];
    red_i[ty * 8 + i][tx] = bidx[i];
  }
  barrier ();
  uint j = tid;     // one position per invocation
  if (j < np) {
    float bv = red_v[j][0];
    uint bi = red_i[j][0];
    for (uint x = 1; x < 8; x++) {
      if (better (red_v[j][x], red_i[j][x], bv, bi)) {
        bv = red_v[j][x];
        bi = red_i[j][x];
      }
    }
    uint pp = p0 + j;
    index[gv_off[3] + n * p.s + pp] = int (bi);
    score[gv_off[4] + n * p.s + pp] = bv * imageLoad (Inv, int (gv_off[2] + ibase + pp)).x;
  }
}
