// Shared by every kernel. Include after #version and GL_GOOGLE_include_directive.
#extension GL_EXT_control_flow_attributes : require
#include "kernel-params.h"

// The push-constant block of a kernel whose parameters are the struct T of kernel-params.h:
// per binding, the offset of the bound tensor from the start of its binding, in the binding's
// elements (floats, or vec4s for rgba32f texels), as gv_off[i]; then the parameters, as p.field.
#define GV_PUSH(T) layout(push_constant) uniform Push { uint gv_off[8]; T p; };

// Large 1-D workloads run on a 2-D grid (group counts are limited to 65535 per dimension).
// A macro, not a function: gl_WorkGroupSize is only known after the shader's layout line.
#define GV_LINEAR_INDEX \
  (gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x)

// erf for fp32 (rational approximation, |error| < 5e-7 everywhere; GLSL has none)
float gv_erf (float a)
{
  float x = clamp (a, -4.0, 4.0);
  float x2 = x * x;
  float p = -2.72614225801306e-10;
  p = p * x2 + 2.77068142495902e-08;
  p = p * x2 - 2.10102402082508e-06;
  p = p * x2 - 5.69250639462346e-05;
  p = p * x2 - 7.34990630326855e-04;
  p = p * x2 - 2.95459980854025e-03;
  p = p * x2 - 1.60960333262415e-02;
  float q = -1.45660718464996e-05;
  q = q * x2 - 2.13374055278905e-04;
  q = q * x2 - 1.68282697438203e-03;
  q = q * x2 - 7.37332916720468e-03;
  q = q * x2 - 1.42647390514189e-02;
  return x * p / q;
}

float gv_gelu (float x) { return 0.5 * x * (1.0 + gv_erf (x * 0.70710678118654752)); }
float gv_silu (float x) { return x / (1.0 + exp (-x)); }
