#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"

// Group normalisation backward (gv-op-norm-back.c). The statistics are recomputed from the
// saved input by the forward's stages 1 and 2 without the affine (table (K, A, rstd, 0) per
// plane, group_norm.comp). With xh = ((x - K) - A) rstd, y = xh gamma + beta, and
// g = dy (times silu'(y) when SILU: the pre-SiLU output recomputed from x and the table),
//  1 sums:   per plane (image, channel): s1 = sum g, s2 = sum g xh (a subgroup per plane,
//            GV_ROW_SCOPE 0, CPU family: consecutive lanes read consecutive elements; a
//            workgroup per plane, GV_ROW_SCOPE 1, GPU family)
//  2 final:  per statistic (a group over its frames), c1 = mean of gamma g, c2 = mean of gamma g
//            xh; per plane coef = (rstd gamma, -rstd c1, -rstd^2 c2)
//  3 apply:  dx = rstd gamma g - rstd c1 - rstd c2 xh (the usual normalisation backward)
//  4 params: dgamma[c] = sum over images of s2, dbeta[c] = sum of s1, in image order
// Every sum has a fixed order: runs are bit-identical. ACCUM adds into dx, dgamma, dbeta.

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint GV_ROW_SCOPE = 0;   // sums: 0 a plane per subgroup, 1 per
                                                       // workgroup
layout(constant_id = 2) const uint AFFINE = 3;   // bit 0 gamma bound, bit 1 beta bound
layout(constant_id = 3) const uint SILU = 0;
layout(constant_id = 4) const uint ACCUM = 0;
layout(constant_id = 5) const uint PLANES_PER_GROUP = 8;   // sums, scope 0
#include "reduce.glsl"

float gamma_of (float g) { return (AFFINE & 1) != 0 ? g : 1.0; }

#if STAGE == 1 || STAGE == 3
layout(binding = 0, r32f) uniform readonly imageBuffer X;
layout(binding = 1, r32f) uniform readonly imageBuffer Dy;
layout(binding = 2, rgba32f) uniform readonly imageBuffer Table;
layout(binding = 3, r32f) uniform readonly imageBuffer Gamma;
layout(binding = 4, r32f) uniform readonly imageBuffer Beta;
#if STAGE == 1
layout(binding = 5) writeonly buffer Sums { vec2 sums[]; };
#else
layout(binding = 5, rgba32f) uniform readonly imageBuffer Coef;
layout(binding = 6) buffer Dx { float o[]; };
#endif

GV_PUSH (GvGroupNormBackParams)

// the upstream gradient through the fused SiLU
float grad_in (float dy, float xh, float gm, float bt)
{
  if (SILU == 0)
    return dy;
  float y = xh * gm + bt;
  float s = 1.0 / (1.0 + exp (-y));
  return dy * s * (1.0 + y * (1.0 - s));
}

#if STAGE == 1
void plane_sums (uint lane, uint stride, uint pl)
{
  uint plane = p.first_plane + pl;
  uint c = plane % p.channels;
  vec4 t = imageLoad (Table, int (gv_off[2] + plane));
  float gm = gamma_of (imageLoad (Gamma, int (gv_off[3] + c)).x);
  float bt = (AFFINE & 2) != 0 ? imageLoad (Beta, int (gv_off[4] + c)).x : 0.0;
  uint base = pl * p.plane_len;
  vec2 r = vec2 (0.0);
  for (uint i = lane; i < p.plane_len; i += stride) {
    float xh = ((imageLoad (X, int (gv_off[0] + base + i)).x - t.x) - t.y) * t.z;
    float g = grad_in (imageLoad (Dy, int (gv_off[1] + base + i)).x, xh, gm, bt);
    r += vec2 (g, g * xh);
  }
  r = gv_group_sum2 (r);
  if (lane == 0)
    sums[gv_off[5] / 2 + plane] = r;
}

void main ()
{
  uint wg = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  uint lane, stride, pl, step, end;
  if (GV_ROW_SCOPE == 0) {
    lane = gl_SubgroupInvocationID;
    stride = gl_SubgroupSize;
    pl = wg * PLANES_PER_GROUP + gl_SubgroupID;
    step = gl_NumSubgroups;
    end = min (wg * PLANES_PER_GROUP + PLANES_PER_GROUP, p.planes);
  } else {
    lane = gl_LocalInvocationIndex;
    stride = gl_WorkGroupSize.x;
    pl = wg;
    step = 1;
    end = min (wg + 1, p.planes);
  }
  for (; pl < end; pl += step)
    plane_sums (lane, stride, pl);
}

#else
void main ()
{
  uint pl = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;
  if (pl >= p.planes)
    return;
  uint plane = p.first_plane + pl;
  uint c = plane % p.channels;
  vec4 t = imageLoad (Table, int (gv_off[2] + plane));
  float gm = gamma_of (imageLoad (Gamma, int (gv_off[3] + c)).x);
  float bt = (AFFINE & 2) != 0 ? imageLoad (Beta, int (gv_off[4] + c)).x : 0.0;
  uint base = pl * p.plane_len;
  vec4 k = imageLoad (Coef, int (gv_off[5] + plane));
  uint w = gl_WorkGroupSize.x;
  uint i = gl_WorkGroupID.x * 4 * w + gl_LocalInvocationID.x;
  uint end = min (i + 4 * w, p.plane_len);
  for (; i < end; i += w) {
    float xc = (imageLoad (X, int (gv_off[0] + base + i)).x - t.x) - t.y;
    float g = grad_in (imageLoad (Dy, int (gv_off[1] + base + i)).x, xc * t.z, gm, bt);
    float d = k.x * g + k.y + k.z * xc;
    uint oi = gv_off[6] + base + i;
    o[oi] = ACCUM != 0 ? o[oi] + d : d;
  }
}
#endif

#else
layout(binding = 0, r32f) uniform readonly imageBuffer Sums;   // (s1, s2) per plane

GV_PUSH (GvGroupNormBackFinalParams)

vec2 sums_of (uint plane)
{
  uint i = gv_off[0] + 2 * plane;
  return vec2 (imageLoad (Sums, int (i)).x, imageLoad (Sums, int (i + 1)).x);
}
#endif

#if STAGE == 2
layout(binding = 1, rgba32f) uniform readonly imageBuffer Table;
layout(binding = 2, r32f) uniform readonly imageBuffer Gamma;
layout(binding = 3) writeonly buffer Coef { vec4 coef[]; };

void main ()
{
  uint s = GV_LINEAR_INDEX;
  if (s >= p.n_stats)
    return;
  uint nb = s / p.groups, g = s - nb * p.groups;
  uint channels = p.groups * p.cpg;
  vec2 acc = vec2 (0.0);
  for (uint f = 0; f < p.frames; f++)
    for (uint c = g * p.cpg; c < (g + 1) * p.cpg; c++) {
      float gm = gamma_of (imageLoad (Gamma, int (gv_off[2] + c)).x);
      acc += gm * sums_of ((nb * p.frames + f) * channels + c);
    }
  acc /= float (p.cpg * p.frames) * float (p.plane_len);
  for (uint f = 0; f < p.frames; f++)
    for (uint c = g * p.cpg; c < (g + 1) * p.cpg; c++) {
      uint plane = (nb * p.frames + f) * channels + c;
      float rstd = imageLoad (Table, int (gv_off[1] + plane)).z;
      float gm = gamma_of (imageLoad (Gamma, int (gv_off[2] + c)).x);
      coef[gv_off[3] / 4 + plane] = vec4 (rstd * gm, -rstd * acc.x, -rstd * rstd * acc.y, 0.0);
    }
}

#elif STAGE == 4
layout(binding = 1) buffer DGamma { float dgamma[]; };
layout(binding = 2) buffer DBeta { float dbeta[]; };

// AFFINE here: bit 0 dgamma wanted, bit 1 dbeta wanted
void main ()
{
  uint c = GV_LINEAR_INDEX;
  uint channels = p.groups * p.cpg;
  if (c >= channels)
    return;
  vec2 acc = vec2 (0.0);
  for (uint n = 0; n < p.n_img; n++)
    acc += sums_of (n * channels + c);
  if ((AFFINE & 1) != 0) {
    uint i = gv_off[1] + c;
    dgamma[i] = ACCUM != 0 ? dgamma[i] + acc.y : acc.y;
  }
  if ((AFFINE & 2) != 0) {
    uint i = gv_off[2] + c;
    dbeta[i] = ACCUM != 0 ? dbeta[i] + acc.x : acc.x;
  }
}
#endif
