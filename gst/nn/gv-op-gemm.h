/* Internal to the matrix-product ops (matmul, linear, conv2d). */
#pragma once

#include "nn/gv-tensor.h"

G_BEGIN_DECLS

/* TRUE when the register-tile kernels for CPU devices apply: the device asks for them and its
 * subgroups come in groups of 8 lanes with shuffles. Otherwise the shared-memory kernels run. */
gboolean gv_op_use_cpu_kernels (GvCmd *cmd);

/* Floats one binding of @kind may span for these ops: gv_op_max_elements(), or less when the
 * environment set GENVIDEO_GEMM_MAX_BINDING (bytes) as the device opened, so that tests reach
 * every way of splitting work on small tensors. */
gint64 gv_op_gemm_max_floats (GvCmd *cmd, GvBindKind kind);

G_END_DECLS
