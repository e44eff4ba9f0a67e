// Reductions for kernels where several invocations share one row or chunk. Include after the
// shader's `layout(local_size_x...) in;` line (gl_NumSubgroups and friends) and after
// GL_KHR_shader_subgroup_arithmetic.
//
// gv_group_*: over the invocations of one subgroup when GV_ROW_SCOPE is 0 (the CPU family:
// a row per subgroup, no shared memory, no barrier), or over the whole workgroup when it is 1
// (the GPU family: subgroup reduction, then one shared-memory step across the subgroups).
// Every invocation gets the same result: the final sums run in the same order everywhere.
// Call from uniform control flow (the whole subgroup, or the whole workgroup).

#ifndef GV_RED_MAX
#define GV_RED_MAX 64   // subgroups per workgroup the shared step supports
#endif

shared vec2 gv_red[GV_RED_MAX];

vec2 gv_group_sum2 (vec2 v)
{
  v = subgroupAdd (v);
  if (GV_ROW_SCOPE == 0 || gl_NumSubgroups == 1)
    return v;
  barrier ();   // earlier readers of gv_red are done
  if (subgroupElect ())
    gv_red[gl_SubgroupID] = v;
  barrier ();
  vec2 s = gv_red[0];
  for (uint i = 1; i < gl_NumSubgroups; i++)
    s += gv_red[i];
  return s;
}

float gv_group_sum (float v)
{
  return gv_group_sum2 (vec2 (v, 0.0)).x;
}

float gv_group_max (float v)
{
  v = subgroupMax (v);
  if (GV_ROW_SCOPE == 0 || gl_NumSubgroups == 1)
    return v;
  barrier ();
  if (subgroupElect ())
    gv_red[gl_SubgroupID].x = v;
  barrier ();
  float m = gv_red[0].x;
  for (uint i = 1; i < gl_NumSubgroups; i++)
    m = max (m, gv_red[i].x);
  return m;
}

// Sum of the components of a texel (vec4 or float loads alike).
float gv_hsum (vec4 v) { return (v.x + v.y) + (v.z + v.w); }
float gv_hsum (float v) { return v; }
float gv_hmax (vec4 v) { return max (max (v.x, v.y), max (v.z, v.w)); }
float gv_hmax (float v) { return v; }

// hi + lo == a + b exactly (Knuth's TwoSum; `precise` keeps the compiler from simplifying it).
float gv_two_sum_err (float a, float b, float hi)
{
  precise float bb = hi - a;
  precise float err = (a - (hi - bb)) + (b - bb);
  return err;
}
