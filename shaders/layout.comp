#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// Data movement (gv-op-layout.c), one kernel per build (-DKERNEL=n), VEC4 = 1 for the variants
// that move rgba32f texels / vec4 stores (the host checks sizes and alignment):
//  1 concat:   out row = [a row ; b row], rows of the outer dimensions on grid y/z
//  2 permute:  an output row (last dim) per grid row: gather (scalar), contiguous vec4 copies
//              (last dim kept), or 4 x 4 register transposes (TILE: the input's last dim lies
//              elsewhere in the output; 4 vec4 loads along it, 4 vec4 stores along the row)
//  3 resize:   nearest neighbour, src = floor (dst * in / out), exact in integers
//  4 gather:   out[p, m, :] = src[p, index[b, m], :] (p = b * C + c)
//  5 tstep:    sinusoidal timestep embedding, argument reduced in turns with an exact product
// Output rows sit on grid y/z (up to 65535^2), the row itself on x: no divisions per element.

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
  uint ext[5];       // extents of the grid: rows over dims 0..3 (the tiled dim counted in 4s),
                     // dim 4 the row, in texels or tiles
  uint ist[5];       // input element strides of the output dims
  uint ost[4];       // output element strides of dims 0..3 (relative to the binding)
  uint tiled;        // TILE: the output dim (0..3) that holds the input's last dim
  uint in_first;     // input element at which this dispatch's first output row starts
} p;

void main ()
{
  uint r = ROW, x = gl_GlobalInvocationID.x;
  if (r >= p.ext[0] * p.ext[1] * p.ext[2] * p.ext[3] || x >= p.ext[4])
    return;
  uint ii = p.in_first, oi = 0;
  [[unroll]] for (int d = 3; d >= 0; d--) {
    uint c = r % p.ext[d];
    r /= p.ext[d];
    if (TILE != 0 && d == p.tiled)
      c *= 4;
    ii += c * p.ist[d];
    oi += c * p.ost[d];
  }
#if VEC4
  if (TILE == 0) {
    o[p.gv_off[1] / 4 + oi / 4 + x] = imageLoad (X, int (p.gv_off[0] + ii / 4 + x));
  } else {
    // 4 x 4 block: rows t (the tiled dim), columns 4x + u (the output's last dim)
    uint s = p.ist[4];
    uint b = p.gv_off[0] + (ii + 4 * x * s) / 4;
    vec4 c0 = imageLoad (X, int (b));
    vec4 c1 = imageLoad (X, int (b + s / 4));
    vec4 c2 = imageLoad (X, int (b + 2 * s / 4));
    vec4 c3 = imageLoad (X, int (b + 3 * s / 4));
    uint ob = p.gv_off[1] / 4 + oi / 4 + x, os = p.ost[p.tiled] / 4;
    o[ob] = vec4 (c0.x, c1.x, c2.x, c3.x);
    o[ob + os] = vec4 (c0.y, c1.y, c2.y, c3.y);
    o[ob + 2 * os] = vec4 (c0.z, c1.z, c2.z, c3.z);
    o[ob + 3 * os] = vec4 (c0.w, c1.w, c2.w, c3.w);
  }
#else
  o[p.gv_off[1] + oi + x] = imageLoad (X, int (p.gv_off[0] + ii + x * p.ist[4])).x;
#endif
}

#elif KERNEL == 3
layout(binding = 0, r32f) uniform readonly imageBuffer X;
layout(binding = 1) writeonly buffer Out { STORE_T o[]; };

layout(push_constant) uniform Push {
  GV_PUSH_HEADER
  uint h, w;         // input plane
  uint ho, wo;       // output plane (wo in texels when VEC4: wo4 = wo / 4)
  uint planes;       // planes in this dispatch
} p;

void main ()
{
  uint x = gl_GlobalInvocationID.x;
  uint y = gl_WorkGroupID.y;
  uint pl = gl_WorkGroupID.z;
  if (x * VEC >= p.wo || pl >= p.planes)
    return;
  uint base = p.gv_off[0] + pl * p.h * p.w + (y * p.h / p.ho) * p.w;
  uint ob = pl * p.ho * p.wo + y * p.wo;
#if VEC4
  uint x0 = 4 * x;
  o[p.gv_off[1] / 4 + ob / 4 + x] = vec4 (
      imageLoad (X, int (base + x0 * p.w / p.wo)).x,
      imageLoad (X, int (base + (x0 + 1) * p.w / p.wo)).x,
      imageLoad (X, int (base + (x0 + 2) * p.w / p.wo)).x,
      imageLoad (X, int (base + (x0 + 3) * p.w / p.wo)).x);
#else
  o[p.gv_off[1] + ob + x] = imageLoad (X, int (base + x * p.w / p.wo)).x;
#endif
}

#elif KERNEL == 4
layout(binding = 0, TEXEL) uniform readonly imageBuffer Src;
layout(binding = 1) readonly buffer Index { int idx[]; };
layout(binding = 2) writeonly buffer Out { STORE_T o[]; };

layout(push_constant) uniform Push {
  GV_PUSH_HEADER
  uint len;          // L: rows of a source plane
  uint d;            // texels per row
  uint m;            // indices per batch
  uint ch;           // C: planes per batch
  uint first_plane;  // plane (b * C + c) at which bindings Src and Out start
  uint planes;       // planes in this dispatch
} p;

void main ()
{
  // (m, x) flattened on grid x: gathering single values (D = 1) still fills the lanes
  uint e = gl_GlobalInvocationID.x, pl = gl_WorkGroupID.y;
  if (e >= p.m * p.d || pl >= p.planes)
    return;
  uint m = e / p.d, x = e - m * p.d;
  uint b = (p.first_plane + pl) / p.ch;
  // out-of-range indices are clamped (never a read outside the source)
  uint i = uint (clamp (idx[p.gv_off[1] + b * p.m + m], 0, int (p.len) - 1));
  o[p.gv_off[2] / VEC + (pl * p.m + m) * p.d + x] = LOAD (Src, p.gv_off[0] + (pl * p.len + i) * p.d + x);
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
