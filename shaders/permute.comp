#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "texel.glsl"

// Permutation (gv-op-layout.c): output rows (last dim) walked 8 at a time by a few invocations:
// gather (scalar), contiguous vec4 copies (last dim kept), or 4 x 4 register transposes (TILE:
// the input's last dim lies elsewhere in the output; 4 vec4 loads along it, 4 vec4 stores along
// the row). Integer division is scalarised on lavapipe (slow): it stays out of the walk.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TILE = 0;   // vec4 variant: 0 rows, 1 4x4 tiles

layout(binding = 0, TEXEL) uniform readonly imageBuffer X;
layout(binding = 1) writeonly buffer Out { STORE_T o[]; };

GV_PUSH (GvPermuteParams)

// rows each invocation walks (an odometer over dims 3..0, no division inside the walk); in
// each row it handles the texels lane, lane + LANES, ... (LANES = 2^lanes_log2 invocations
// share a row block: 8 for long rows, fewer for short ones)
#define RPI GV_PERMUTE_ROWS_PER_INVOCATION

void main ()
{
  uint e = GV_LINEAR_INDEX;
  uint lanes = 1u << p.lanes_log2;
  uint lane = e & (lanes - 1u);
  uint r = (e >> p.lanes_log2) * RPI;
  if (r >= p.rows)
    return;
  uint c[4];
  uint ii = p.in_first, oi = 0, rest = r;
  [[unroll]] for (int d = 3; d >= 0; d--) {
    c[d] = rest % p.ext[d];
    rest /= p.ext[d];
    ii += c[d] * p.ist[d];
    oi += c[d] * p.ost[d];
  }
  uint end = min (r + RPI, p.rows);
  for (; r < end; r++) {
#if VEC4
    if (TILE == 0) {
      uint ib = gv_off[0] + ii / 4, ob = gv_off[1] / 4 + oi / 4;
      for (uint x = lane; x < p.ext[4]; x += lanes)
        o[ob + x] = imageLoad (X, int (ib + x));
    } else {
      // 4 x 4 blocks: rows t (the tiled dim), columns 4x + u (the output's last dim)
      uint s = p.ist[4] / 4, os = p.tile_ost / 4;
      uint ib = gv_off[0] + ii / 4, ob = gv_off[1] / 4 + oi / 4;
      for (uint x = lane; x < p.ext[4]; x += lanes) {
        uint b = ib + x * 4 * s;
        vec4 c0 = imageLoad (X, int (b));
        vec4 c1 = imageLoad (X, int (b + s));
        vec4 c2 = imageLoad (X, int (b + 2 * s));
        vec4 c3 = imageLoad (X, int (b + 3 * s));
        o[ob + x] = vec4 (c0.x, c1.x, c2.x, c3.x);
        o[ob + x + os] = vec4 (c0.y, c1.y, c2.y, c3.y);
        o[ob + x + 2 * os] = vec4 (c0.z, c1.z, c2.z, c3.z);
        o[ob + x + 3 * os] = vec4 (c0.w, c1.w, c2.w, c3.w);
      }
    }
#else
    for (uint x = lane; x < p.ext[4]; x += lanes)
      o[gv_off[1] + oi + x] = imageLoad (X, int (gv_off[0] + ii + x * p.ist[4])).x;
#endif
    // next row
    [[unroll]] for (int d = 3; d >= 0; d--) {
      ii += p.ist[d];
      oi += p.ost[d];
      if (++c[d] < p.ext[d])
        break;
      c[d] = 0;
      ii -= p.ext[d] * p.ist[d];
      oi -= p.ext[d] * p.ost[d];
    }
  }
}
