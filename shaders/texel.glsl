// Texel access of the kernels built as a scalar and a vec4 variant: -DVEC4=1 reads rgba32f
// texels and stores vec4s (the host checks lengths and alignment), -DVEC4=0 floats.
// Include after common.glsl.
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
