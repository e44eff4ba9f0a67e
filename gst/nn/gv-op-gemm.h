/* Internal to the matrix-product ops (matmul, linear, conv2d). */
#pragma once

#include "nn/gv-tensor.h"

G_BEGIN_DECLS

/* TRUE when the register-tile kernels for CPU devices apply: the device asks for them and its
 * subgroups come in groups of 8 lanes with shuffles. Otherwise the shared-memory kernels run. */
gboolean gv_op_use_cpu_kernels (GvCmd *cmd);

G_END_DECLS
