#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"

// Group normalisation in three stages (gv-op-norm.c), one of them per build (-DSTAGE=n):
//  1 partial:  statistics of one chunk of a segment (the C/G channels of one group in one image,
//              contiguous): the chunk mean as an unevaluated sum hi + lo and the sum of squared
//              deviations M2, by a corrected two-pass over the chunk (read twice, from cache).
//  2 finalise: per statistic (a group over F frames), Chan's merge of its chunks around the first
//              chunk's mean K: A = mean - K, M2 = sum M2_i + n_i (m_i - mean)^2; writes for each
//              plane (image, channel) of the statistic K, A, scale = rstd * gamma, shift = beta.
//  3 apply:    out = ((x - K) - A) * scale + shift, then SiLU; a plane per grid row, so the
//              element loop has no integer division (scalarised, slow on lavapipe).
// Keeping the mean as K + A keeps digits when the mean is large against the deviation.
// VEC4 = 1 reads rgba32f texels (the host checks alignment and S % 4 == 0).

layout(local_size_x_id = 0) in;
// partial: invocations sharing one chunk: 1 (CPU family: an invocation per chunk, no shared
// memory) or the workgroup size (GPU family: strided coalesced loads, shared-memory reduction)
layout(constant_id = 1) const uint LANES = 1;
layout(constant_id = 2) const uint AFFINE = 3;   // finalise: bit 0 gamma bound, bit 1 beta bound
layout(constant_id = 3) const uint SILU = 0;     // apply: fused SiLU
const uint GV_ROW_SCOPE = 1;
#include "reduce.glsl"

#if VEC4
#define VT vec4
#define TEXEL rgba32f
#define LOAD(img, i) imageLoad (img, int (i))
#else
#define VT float
#define TEXEL r32f
#define LOAD(img, i) imageLoad (img, int (i)).x
#endif
#define VEC (VEC4 != 0 ? 4u : 1u)
// storage type of the output (fp16 later) apart from the arithmetic type
#define STORE_T VT

#if STAGE == 1
layout(binding = 0, TEXEL) uniform readonly imageBuffer X;
layout(binding = 1) writeonly buffer Partials { vec4 part[]; };

GV_PUSH (GvGroupNormPartialParams)

void main ()
{
  uint kl = LANES == 1 ? GV_LINEAR_INDEX : gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (kl >= p.count)
    return;
  uint k = p.first_chunk + kl;
  uint sg = k / p.cps;
  uint start = (k - sg * p.cps) * p.chunk;
  uint n = min (p.chunk, p.seg_len - start);
  uint base = gv_off[0] + (sg - p.first_seg) * p.seg_len + start;
  uint lane = LANES == 1 ? 0 : gl_LocalInvocationIndex;
  float cnt = float (n * VEC);

  float x0 = imageLoad (X, int (base)).x;
  VT s = VT (0);
  for (uint i = lane; i < n; i += LANES)
    s += LOAD (X, base + i) - x0;
  float hs = gv_hsum (s);
  if (LANES > 1)
    hs = gv_group_sum (hs);
  float a = hs / cnt;

  VT sd = VT (0), sq = VT (0);
  for (uint i = lane; i < n; i += LANES) {
    VT d = (LOAD (X, base + i) - x0) - a;
    sd += d;
    sq += d * d;
  }
  vec2 r = vec2 (gv_hsum (sd), gv_hsum (sq));
  if (LANES > 1)
    r = gv_group_sum2 (r);
  a += r.x / cnt;
  float m2 = max (r.y - r.x * r.x / cnt, 0.0);
  precise float hi = x0 + a;
  float lo = gv_two_sum_err (x0, a, hi);
  if (lane == 0)
    part[gv_off[1] / 4 + k] = vec4 (hi, lo, m2, cnt);
}

#elif STAGE == 2
layout(binding = 0, rgba32f) uniform readonly imageBuffer Partials;
layout(binding = 1, r32f) uniform readonly imageBuffer Gamma;
layout(binding = 2, r32f) uniform readonly imageBuffer Beta;
layout(binding = 3) writeonly buffer Planes { vec4 planes[]; };

GV_PUSH (GvGroupNormFinalParams)

void main ()
{
  uint s = GV_LINEAR_INDEX;
  if (s >= p.n_stats)
    return;
  uint nb = s / p.groups, g = s - nb * p.groups;
  uint off = gv_off[0];
  float k0 = imageLoad (Partials, int (off + (nb * p.frames * p.groups + g) * p.cps)).x;

  float sum = 0.0, total = 0.0;
  for (uint f = 0; f < p.frames; f++) {
    uint first = ((nb * p.frames + f) * p.groups + g) * p.cps;
    for (uint j = 0; j < p.cps; j++) {
      vec4 q = imageLoad (Partials, int (off + first + j));
      sum += q.w * ((q.x - k0) + q.y);
      total += q.w;
    }
  }
  float a = sum / total;
  float m2 = 0.0;
  for (uint f = 0; f < p.frames; f++) {
    uint first = ((nb * p.frames + f) * p.groups + g) * p.cps;
    for (uint j = 0; j < p.cps; j++) {
      vec4 q = imageLoad (Partials, int (off + first + j));
      float d = ((q.x - k0) + q.y) - a;
      m2 += q.z + q.w * d * d;
    }
  }
  float rstd = 1.0 / sqrt (m2 / total + p.eps);

  // the table of the statistic's planes (its channels in each of its frames)
  uint channels = p.groups * p.cpg;
  for (uint c = g * p.cpg; c < (g + 1) * p.cpg; c++) {
    float scale = rstd, shift = 0.0;
    if ((AFFINE & 1) != 0)
      scale *= imageLoad (Gamma, int (gv_off[1] + c)).x;
    if ((AFFINE & 2) != 0)
      shift = imageLoad (Beta, int (gv_off[2] + c)).x;
    for (uint f = 0; f < p.frames; f++)
      planes[gv_off[3] / 4 + (nb * p.frames + f) * channels + c] = vec4 (k0, a, scale, shift);
  }
}

#else
layout(binding = 0, TEXEL) uniform readonly imageBuffer X;
layout(binding = 1, rgba32f) uniform readonly imageBuffer Planes;
layout(binding = 2) writeonly buffer Out { STORE_T o[]; };

GV_PUSH (GvGroupNormApplyParams)

// texels per invocation, one workgroup-width apart (subgroups stay on consecutive texels)
#define PER_INVOCATION GV_GROUP_NORM_APPLY_TEXELS_PER_INVOCATION

void main ()
{
  uint pl = gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y;
  if (pl >= p.planes)
    return;
  vec4 t = imageLoad (Planes, int (gv_off[1] + p.first_plane + pl));
  uint w = gl_WorkGroupSize.x;
  uint i = gl_WorkGroupID.x * PER_INVOCATION * w + gl_LocalInvocationID.x;
  uint end = min (i + PER_INVOCATION * w, p.plane_len);
  uint base = pl * p.plane_len;
  for (; i < end; i += w) {
    VT y = ((LOAD (X, gv_off[0] + base + i) - t.x) - t.y) * t.z + t.w;
    if (SILU != 0)
      y = y / (1.0 + exp (-y));
    o[gv_off[2] / VEC + base + i] = STORE_T (y);
  }
}
#endif
