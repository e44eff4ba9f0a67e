#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "texel.glsl"

// Nearest-neighbour resize (gv-op-layout.c): src = floor (dst * in / out), exact in integers.
layout(local_size_x_id = 0) in;

layout(binding = 0, r32f) uniform readonly imageBuffer X;
layout(binding = 1) writeonly buffer Out { STORE_T o[]; };

GV_PUSH (GvResizeParams)

// an invocation: one output column texel, RESIZE_RPI rows of it (source columns computed once,
// the source row stepped without division)
#define RESIZE_RPI GV_RESIZE_ROWS_PER_INVOCATION

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
  uint pb = gv_off[0] + pl * p.h * p.w;   // the source plane
  uint ib = pb + sy * p.w;
  uint ob = gv_off[1] / VEC + r * wt + x;
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
