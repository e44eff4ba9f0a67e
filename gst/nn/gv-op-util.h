/* Helpers shared by the op implementations (not part of the op API). */
#pragma once

#include "nn/gv-tensor.h"
#include "gv-kernels.h"

G_BEGIN_DECLS

/* FALSE (and @cmd failed) unless every tensor is GV_DTYPE_F32. */
gboolean gv_op_check_f32 (GvCmd *cmd, const gchar *op, guint n, GvTensor *const *tensors);
/* TRUE when @t starts on a 16-byte boundary (or is NULL): it can be read as rgba32f texels */
gboolean gv_op_aligned16 (const GvTensor *t);

/* Fails @cmd with "@op: @why (shapes: 2x3, 4x5, ...)". */
void gv_op_fail_shapes (GvCmd *cmd, const gchar *op, const gchar *why, guint n,
    GvTensor *const *tensors);

/* The cached pipeline of kernel @id (shaders/meson.build), or NULL with @cmd failed. */
GvKernel *gv_op_kernel (GvCmd *cmd, GvKernelId id, const guint32 *spec, guint n_spec);

/* Elements of @elem_bytes that one binding of @kind may span on this device. */
gint64 gv_op_max_elements (GvCmd *cmd, GvBindKind kind, guint elem_bytes);

/* Workgroups one dispatch may have along @axis (0: x, 1: y, 2: z): the device's
 * maxComputeWorkGroupCount (Vulkan guarantees 65535). Ops split their work by it. */
gint64 gv_op_max_groups (GvCmd *cmd, guint axis);

/* A 2-D grid of workgroups of @local invocations covering @count invocations
 * (shaders use GV_LINEAR_INDEX). */
void gv_op_grid_1d (GvCmd *cmd, gint64 count, guint local, guint *gx, guint *gy);

/* @n workgroups (rows, planes) on grid y, and on z past what y holds (shaders read
 * gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y). */
void gv_op_grid_yz (GvCmd *cmd, gint64 n, guint *gy, guint *gz);

/* The shapes of a gather (gv_op_gather()) and of its backward: src [B, C, L, D] (or [B, C, L],
 * or a table [L, D]), index [B, M] (int32), out [B, C, M, D]. FALSE with @cmd failed (naming
 * @op) otherwise. */
typedef struct {
  gint64 b, c, l, m, d;
} GvGatherShape;
gboolean gv_op_gather_check (GvCmd *cmd, const gchar *op, GvTensor *out, GvTensor *src,
    GvTensor *index, GvGatherShape *shape);

/* ceil (a / b) */
static inline gint64
gv_div_up (gint64 a, gint64 b)
{
  return (a + b - 1) / b;
}

G_END_DECLS
