/* Compute kernels: SPIR-V embedded at build time, pipelines created on first use and cached per
 * device by (shader, specialization constants). */
#pragma once

#include "vk/gv-device.h"

G_BEGIN_DECLS

#define GV_MAX_BINDINGS 8
#define GV_MAX_SPEC 8
/* Every push-constant block starts with one uint per binding (shaders/common.glsl: GV_PUSH):
 * the offset of the bound tensor from the start of its binding, in the binding's elements
 * (floats, or vec4s for rgba32f texel bindings). Parameters follow (shaders/kernel-params.h). */
#define GV_PUSH_HEADER_SIZE (GV_MAX_BINDINGS * 4)

typedef enum {
  GV_BIND_BUFFER,          /* storage buffer, read or written */
  GV_BIND_TEXEL_R32F,      /* storage texel buffer, r32f, read with imageLoad */
  GV_BIND_TEXEL_RGBA32F,   /* storage texel buffer, rgba32f, read with imageLoad */
} GvBindKind;

/* Static description of one compiled shader (one per SPIR-V blob; the kernel registry,
 * shaders/meson.build, generates them all). */
typedef struct {
  const gchar *name;
  const guint32 *spirv;
  gsize spirv_size;            /* bytes */
  guint n_bindings;
  GvBindKind kinds[GV_MAX_BINDINGS];
  guint params_size;           /* bytes of parameters after the push header */
} GvShader;

#define GV_SHADER_CODE(arr) (arr), sizeof (arr)

typedef struct _GvKernel GvKernel;

/* The pipeline of @shader with @n_spec specialization constants (ids 0..n_spec-1, 32-bit each).
 * Owned by the device; valid as long as it lives. */
GvKernel *gv_device_get_kernel (GvDevice *dev, const GvShader *shader, const guint32 *spec,
    guint n_spec, GError **error);

const GvShader *gv_kernel_get_shader (GvKernel *kernel);

G_END_DECLS
