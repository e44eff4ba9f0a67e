#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"

// Layer norm backward over the last dimension (gv-op-norm-back.c), x [rows, len]:
//  1 rows:    per row (a subgroup per row, CPU family; a workgroup per row, GPU family, as
//             rows.comp): mean and rstd recomputed from x as the forward does (two-pass
//             around x0), s1 = sum gamma dy, s2 = sum gamma dy xh, then
//             dx = rstd (gamma dy - s1 / len - xh s2 / len); (x0, a, rstd) kept per row.
//  2 columns: dgamma[j] = sum over rows of dy xh, dbeta[j] = sum of dy, in row order.
// ACCUM adds into dx, dgamma, dbeta.

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint GV_ROW_SCOPE = 0;   // 0: a row per subgroup, 1: per workgroup
layout(constant_id = 2) const uint AFFINE = 1;         // rows: gamma bound; columns: bit 0
                                                       // dgamma, bit 1 dbeta wanted
layout(constant_id = 3) const uint ROWS_PER_GROUP = 8;
layout(constant_id = 4) const uint ACCUM = 0;
#include "reduce.glsl"

layout(binding = 0, r32f) uniform readonly imageBuffer X;
layout(binding = 1, r32f) uniform readonly imageBuffer Dy;

GV_PUSH (GvRowsParams)

#if STAGE == 1
layout(binding = 2, r32f) uniform readonly imageBuffer Gamma;
layout(binding = 3) buffer Dx { float o[]; };
layout(binding = 4) writeonly buffer Stats { vec4 stats[]; };

float gamma_at (uint i)
{
  return (AFFINE & 1) != 0 ? imageLoad (Gamma, int (gv_off[2] + i)).x : 1.0;
}

void row (uint lane, uint stride, uint r)
{
  uint base = r * p.len;
  float cnt = float (p.len);
  float x0 = imageLoad (X, int (gv_off[0] + base)).x;
  float s = 0.0;
  for (uint i = lane; i < p.len; i += stride)
    s += imageLoad (X, int (gv_off[0] + base + i)).x - x0;
  float a = gv_group_sum (s) / cnt;
  float sd = 0.0, sq = 0.0;
  for (uint i = lane; i < p.len; i += stride) {
    float d = (imageLoad (X, int (gv_off[0] + base + i)).x - x0) - a;
    sd += d;
    sq += d * d;
  }
  vec2 t = gv_group_sum2 (vec2 (sd, sq));
  a += t.x / cnt;
  float rstd = 1.0 / sqrt (max (t.y - t.x * t.x / cnt, 0.0) / cnt + p.eps);

  vec2 g = vec2 (0.0);
  for (uint i = lane; i < p.len; i += stride) {
    float xh = ((imageLoad (X, int (gv_off[0] + base + i)).x - x0) - a) * rstd;
    float gd = gamma_at (i) * imageLoad (Dy, int (gv_off[1] + base + i)).x;
    g += vec2 (gd, gd * xh);
  }
  g = gv_group_sum2 (g) / cnt;
  for (uint i = lane; i < p.len; i += stride) {
    float xh = ((imageLoad (X, int (gv_off[0] + base + i)).x - x0) - a) * rstd;
    float gd = gamma_at (i) * imageLoad (Dy, int (gv_off[1] + base + i)).x;
    float d = rstd * (gd - g.x - xh * g.y);
    uint oi = gv_off[3] + base + i;
    o[oi] = ACCUM != 0 ? o[oi] + d : d;
  }
  if (lane == 0)
    stats[gv_off[4] / 4 + r] = vec4 (x0, a, rstd, 0.0);
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
  for (; r < end; r += step)
    row (lane, stride, r);
}

#else
layout(binding = 2, rgba32f) uniform readonly imageBuffer Stats;
layout(binding = 3) buffer DGamma { float dgamma[]; };
layout(binding = 4) buffer DBeta { float dbeta[]; };

void main ()
{
  uint j = GV_LINEAR_INDEX;
  if (j >= p.len)
    return;
  float sg = 0.0, sb = 0.0;
  for (uint r = 0; r < p.rows; r++) {
    vec4 st = imageLoad (Stats, int (gv_off[2] + r));
    float dy = imageLoad (Dy, int (gv_off[1] + r * p.len + j)).x;
    float xh = ((imageLoad (X, int (gv_off[0] + r * p.len + j)).x - st.x) - st.y) * st.z;
    sg += dy * xh;
    sb += dy;
  }
  if ((AFFINE & 1) != 0) {
    uint i = gv_off[3] + j;
    dgamma[i] = ACCUM != 0 ? dgamma[i] + sg : sg;
  }
  if ((AFFINE & 2) != 0) {
    uint i = gv_off[4] + j;
    dbeta[i] = ACCUM != 0 ? dbeta[i] + sb : sb;
  }
}
#endif
