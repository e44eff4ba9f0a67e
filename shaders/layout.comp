#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// Data movement (gv-op-layout.c), one kernel per build (-DKERNEL=n), VEC4 = 1 for the variants
// that move rgba32f texels / vec4 stores (the host checks sizes and alignment):
//  1 concat:   out row = [a row ; b row], rows of the outer dimensions on grid y/z
//  2 permute:  output rows (last dim) walked 8 at a time by a few invocations: gather (scalar),
//              contiguous vec4 copies (last dim kept), or 4 x 4 register transposes (TILE: the
//              input's last dim lies elsewhere in the output; 4 vec4 loads along it, 4 vec4
//              stores along the row)
//  3 resize:   nearest neighbour, src = floor (dst * in / out), exact in integers
//  4 gather:   out[p, m, :] = src[p, index[b, m], :] (p = b * C + c)
//  5 tstep:    sinusoidal timestep embedding, argument reduced in turns with an exact product
// Integer division is scalarised on lavapipe (slow): kernels keep it out of their inner loops.

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TILE = 0;   // permute vec4 variant: 0 rows, 1 4x4 tiles
layout(constant_id = 2) const uint FLIP = 0;   // tstep: [cos, sin] instead of [sin, cos]

#if VEC4
#define VT vec4
#define TEXEL rgba32f
#define LOAD(img, i) imageLoad (img, int (i))
#define VEC 4u
#else
#define VT float
#define TEXEL r32f
#define LOAD(img, i) imageLoad (img, int (i)).x
#define VEC 1u
#endif
#define STORE_T VT

#define ROW (gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y)

#if KERNEL == 1
layout(binding = 0, TEXEL) uniform readonly imageBuffer A;
layout(binding = 1, TEXEL) uniform readonly imageBuffer B;
layout(binding = 2) writeonly buffer Out { STORE_T o[]; };

layout(push_constant) uniform Push {
  GV_PUSH_HEADER
  uint len_a, len_b;   // texels of a's and b's part of one row
  uint rows;
} p;

void main ()
{
  uint r = ROW, j = gl_GlobalInvocationID.x;
  uint len = p.len_a + p.len_b;
  if (r >= p.rows || j >= len)
    return;
  VT v = j < p.len_a ? LOAD (A, p.gv_off[0] + r * p.len_a + j) :
      LOAD (B, p.gv_off[1] + r * p.len_b + (j - p.len_a));
  o[p.gv_off[2] / VEC + r * len + j] = v;
}

#elif KERNEL == 2
layout(binding = 0, TEXEL) uniform readonly imageBuffer X;
layout(binding = 1) writeonly buffer Out { STORE_T o[]; };

layout(push_constant) uniform Push {
  GV_PUSH_HEADER
  uint ext[5];       // grid extents: rows over dims 0..3 (the tiled dim counted in 4s), dim 4
                     // the row, in texels or tiles
  uint ist[5];       // input element strides of the output dims (x4 on the tiled dim)
  uint ost[4];       // output element strides of dims 0..3, relative to the binding (x4 idem)
  uint rows;         // ext[0] * ext[1] * ext[2] * ext[3]
  uint tile_ost;     // TILE: output stride of one step along the tiled dim
  uint in_first;     // input element at which this dispatch's first output row starts
  uint lanes_log2;   // invocations per row block: 2^lanes_log2
} p;

// rows each invocation walks (an odometer over dims 3..0, no division inside the walk); in
// each row it handles the texels lane, lane + LANES, ... (LANES = 2^lanes_log2 invocations
// share a row block: 8 for long rows, fewer for short ones)
#define RPI 8u

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
      uint ib = p.gv_off[0] + ii / 4, ob = p.gv_off[1] / 4 + oi / 4;
      for (uint x = lane; x < p.ext[4]; x += lanes)
        o[ob + x] = imageLoad (X, int (ib + x));
    } else {
      // 4 x 4 blocks: rows t (the tiled dim), columns 4x + u (the output's last dim)
      uint s = p.ist[4] / 4, os = p.tile_ost / 4;
      uint ib = p.gv_off[0] + ii / 4, ob = p.gv_off[1] / 4 + oi / 4;
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
      o[p.gv_off[1] + oi + x] = imageLoad (X, int (p.gv_off[0] + ii + x * p.ist[4])).x;
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

#elif KERNEL == 3
layout(binding = 0, r32f) uniform readonly imageBuffer X;
layout(binding = 1) writeonly buffer Out { STORE_T o[]; };

layout(push_constant) uniform Push {
  GV_PUSH_HEADER
  uint h, w;         // input plane
  uint ho, wo;       // output plane
  uint rows;         // output rows in this dispatch (planes * ho)
} p;

// an invocation: one output column texel, RESIZE_RPI rows of it (source columns computed once,
// the source row stepped without division)
#define RESIZE_RPI 16u

void main ()
{
  uint wt = p.wo / VEC;
  uint e = GV_LINEAR_INDEX;
  uint blk = e / wt, x = e - blk * wt;
  uint r = blk * RESIZE_RPI;
  if (r >= p.rows)
    return;
  uint pl = r / p.ho, y = r - pl * p.ho;
  uint sy = y * p.h / p.ho, rem = y * p.h - sy * p.ho;
#if VEC4
  uvec4 sx = (4 * x + uvec4 (0, 1, 2, 3)) * p.w / p.wo;
#else
  uint sx = x * p.w / p.wo;
#endif
  uint pb = p.gv_off[0] + pl * p.h * p.w;   // the source plane
  uint ib = pb + sy * p.w;
  uint ob = p.gv_off[1] / VEC + r * wt + x;
  uint end = min (r + RESIZE_RPI, p.rows);
  for (; r < end; r++) {
#if VEC4
    o[ob] = vec4 (imageLoad (X, int (ib + sx.x)).x, imageLoad (X, int (ib + sx.y)).x,
        imageLoad (X, int (ib + sx.z)).x, imageLoad (X, int (ib + sx.w)).x);
#else
    o[ob] = imageLoad (X, int (ib + sx)).x;
#endif
    ob += wt;
    // next output row: sy = floor (y * h / ho) stepped with its remainder
    if (++y == p.ho) {
      y = 0;
      sy = 0;
      rem = 0;
      pb += p.h * p.w;
      ib = pb;
    } else {
      rem += p.h;
      while (rem >= p.ho) {
        rem -= p.ho;
        sy++;
        ib += p.w;
      }
    }
  }
}

#elif KERNEL == 4
layout(binding = 0, TEXEL) uniform readonly imageBuffer Src;
layout(binding = 1) readonly buffer Index { int idx[]; };
layout(binding = 2) writeonly buffer Out { STORE_T o[]; };

layout(push_constant) uniform Push {
  GV_PUSH_HEADER
  uint len;          // L: rows of a source plane
  uint d;            // texels per row
  uint m;            // M: indices per batch
  uint ch;           // C: planes per batch
  uint first_plane;  // plane (b * C + c) at which bindings Src and Out start
  uint planes;       // planes in this dispatch (grid z)
  uint m_first;      // first index row of this dispatch, and their count: Out starts there
  uint m_count;
  uint flattened;    // 1: (row, texel) flattened on grid x/y, for short rows; 0: texels on x,
                     // rows on y (no division)
} p;

// long rows: texels each invocation copies, a workgroup width apart (the index load and the
// batch division are paid once for them)
#define GATHER_PER 8u

void main ()
{
  uint pl = gl_WorkGroupID.z, mi, x, n = 1, step = gl_WorkGroupSize.x;
  if (p.flattened != 0) {
    uint e = GV_LINEAR_INDEX;
    mi = e / p.d;
    x = e - mi * p.d;
  } else {
    mi = gl_WorkGroupID.y;
    x = gl_WorkGroupID.x * GATHER_PER * step + gl_LocalInvocationID.x;
    n = GATHER_PER;
  }
  if (mi >= p.m_count || x >= p.d || pl >= p.planes)
    return;
  uint b = (p.first_plane + pl) / p.ch;
  // out-of-range indices are clamped (never a read outside the source)
  uint i = uint (clamp (idx[p.gv_off[1] + b * p.m + p.m_first + mi], 0, int (p.len) - 1));
  uint ob = p.gv_off[2] / VEC + (pl * p.m_count + mi) * p.d;
  uint ib = p.gv_off[0] + (pl * p.len + i) * p.d;
  uint end = min (x + n * step, p.d);
  for (; x < end; x += step)
    o[ob + x] = LOAD (Src, ib + x);
}

#elif KERNEL == 5
layout(binding = 0, r32f) uniform readonly imageBuffer T;
layout(binding = 1, rgba32f) uniform readonly imageBuffer Freq;   // per frequency: g split
layout(binding = 2) writeonly buffer Out { float o[]; };

layout(push_constant) uniform Push {
  GV_PUSH_HEADER
  uint dim;
  uint half_dim;
  uint batch;
} p;

// t * g in turns (g = freq / 2 pi = gh + gm + gl, gh and gm of 12 significant bits), reduced to
// [-1/2, 1/2]: the products t * gh and t * gm are split exactly so no fp32 rounding of the
// (up to ~1000 turns) argument reaches sin and cos.
float turns (float t, vec4 g)
{
  precise float c = 4097.0 * t;
  precise float th = c - (c - t);
  precise float tl = t - th;
  // th * gh, th * gm, tl * gh are exact (12 x 12 bits); the rest is small
  precise float a = th * g.x;
  precise float b = th * g.y + tl * g.x;
  precise float fa = a - round (a);
  precise float fb = b - round (b);
  precise float rest = tl * g.y + t * g.z;
  precise float f = fa + fb;
  f = f - round (f);
  return f + rest;
}

void main ()
{
  uint j = gl_GlobalInvocationID.x, bi = gl_WorkGroupID.y;
  if (j >= p.dim || bi >= p.batch)
    return;
  float v = 0.0;   // odd dim: the last column stays zero
  if (j < 2 * p.half_dim) {
    bool second = j >= p.half_dim;
    uint i = second ? j - p.half_dim : j;
    float t = imageLoad (T, int (p.gv_off[0] + bi)).x;
    float ang = 6.283185307179586 * turns (t, imageLoad (Freq, int (p.gv_off[1] + i)));
    v = (second != (FLIP != 0)) ? cos (ang) : sin (ang);
  }
  o[p.gv_off[2] + bi * p.dim + j] = v;
}
#endif
