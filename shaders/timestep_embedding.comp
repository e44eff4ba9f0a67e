#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// Sinusoidal timestep embedding (gv-op-layout.c), the argument reduced in turns with an exact
// product.
layout(local_size_x_id = 0) in;
layout(constant_id = 2) const uint FLIP = 0;   // [cos, sin] instead of [sin, cos]

layout(binding = 0, r32f) uniform readonly imageBuffer T;
layout(binding = 1, rgba32f) uniform readonly imageBuffer Freq;   // per frequency: g split
layout(binding = 2) writeonly buffer Out { float o[]; };

GV_PUSH (GvTimestepParams)

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
    float t = imageLoad (T, int (gv_off[0] + bi)).x;
    float ang = 6.283185307179586 * turns (t, imageLoad (Freq, int (gv_off[1] + i)));
    v = (second != (FLIP != 0)) ? cos (ang) : sin (ang);
  }
  o[gv_off[2] + bi * p.dim + j] = v;
}
