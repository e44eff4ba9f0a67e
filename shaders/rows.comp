#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"

// Ops over the last dimension (gv-op-norm.c, gv-op-rows.c), one row per subgroup (CPU family:
// no shared memory, no barrier, rows of a workgroup spread over its subgroups) or per workgroup
// (GPU family). The row is read from cache two or three times:
//  GV_ROWS_LAYER_NORM: a = mean - x0 by a corrected two-pass around the row's first element
//          x0, then out = ((x - x0) - a) * rstd * gamma + beta (mean kept as x0 + a for digits).
//  GV_ROWS_SOFTMAX: max, sum of exp (x - max), then exp (x - max) / sum.
// VEC4 = 1 reads rgba32f texels and writes vec4 (the host checks lengths and alignment).

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint MODE = GV_ROWS_LAYER_NORM;
layout(constant_id = 2) const uint GV_ROW_SCOPE = 0;   // 0: a row per subgroup, 1: per workgroup
layout(constant_id = 3) const uint AFFINE = 3;         // bit 0: gamma bound, bit 1: beta bound
layout(constant_id = 4) const uint ROWS_PER_GROUP = 8; // rows of a workgroup (scope 0)
#include "reduce.glsl"
#include "texel.glsl"

layout(binding = 0, TEXEL) uniform readonly imageBuffer X;
layout(binding = 1, TEXEL) uniform readonly imageBuffer Gamma;
layout(binding = 2, TEXEL) uniform readonly imageBuffer Beta;
layout(binding = 3) writeonly buffer Out { STORE_T o[]; };

GV_PUSH (GvRowsParams)

void layer_norm (uint lane, uint stride, uint r)
{
  uint base = gv_off[0] + r * p.len;
  float cnt = float (p.len * VEC);
  float x0 = imageLoad (X, int (base)).x;
  VT s = VT (0);
  for (uint i = lane; i < p.len; i += stride)
    s += LOAD (X, base + i) - x0;
  float a = gv_group_sum (gv_hsum (s)) / cnt;
  VT sd = VT (0), sq = VT (0);
  for (uint i = lane; i < p.len; i += stride) {
    VT d = (LOAD (X, base + i) - x0) - a;
    sd += d;
    sq += d * d;
  }
  vec2 t = gv_group_sum2 (vec2 (gv_hsum (sd), gv_hsum (sq)));
  a += t.x / cnt;
  float rstd = 1.0 / sqrt (max (t.y - t.x * t.x / cnt, 0.0) / cnt + p.eps);
  uint ob = gv_off[3] / VEC + r * p.len;
  for (uint i = lane; i < p.len; i += stride) {
    VT y = ((LOAD (X, base + i) - x0) - a) * rstd;
    if ((AFFINE & 1) != 0)
      y *= LOAD (Gamma, gv_off[1] + i);
    if ((AFFINE & 2) != 0)
      y += LOAD (Beta, gv_off[2] + i);
    o[ob + i] = STORE_T (y);
  }
}

void softmax (uint lane, uint stride, uint r)
{
  uint base = gv_off[0] + r * p.len;
  float m = uintBitsToFloat (0xff800000u);   // -inf
  for (uint i = lane; i < p.len; i += stride)
    m = max (m, gv_hmax (LOAD (X, base + i)));
  m = gv_group_max (m);
  VT s = VT (0);
  for (uint i = lane; i < p.len; i += stride)
    s += exp (LOAD (X, base + i) - m);
  float inv = 1.0 / gv_group_sum (gv_hsum (s));
  uint ob = gv_off[3] / VEC + r * p.len;
  for (uint i = lane; i < p.len; i += stride)
    o[ob + i] = STORE_T (exp (LOAD (X, base + i) - m) * inv);
}

void main ()
{
  uint wg = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  uint lane, stride, r, step, end;
  if (GV_ROW_SCOPE == 0) {
    lane = gl_SubgroupInvocationID;
    stride = gl_SubgroupSize;
    r = wg * ROWS_PER_GROUP + gl_SubgroupID;
    step = gl_NumSubgroups;
    end = min (wg * ROWS_PER_GROUP + ROWS_PER_GROUP, p.rows);
  } else {
    lane = gl_LocalInvocationIndex;
    stride = gl_WorkGroupSize.x;
    r = wg;
    step = 1;
    end = min (wg + 1, p.rows);
  }
  for (; r < end; r += step) {
    if (MODE == GV_ROWS_LAYER_NORM)
      layer_norm (lane, stride, r);
    else
      softmax (lane, stride, r);
  }
}
