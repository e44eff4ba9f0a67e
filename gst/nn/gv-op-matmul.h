/* Matrix products. */
#pragma once

#include "nn/gv-op-eltwise.h"

G_BEGIN_DECLS

typedef struct {
  gboolean trans_a;       /* a is stored [batch, K, M] */
  gboolean trans_b;       /* b is stored [batch, N, K] (PyTorch Linear weight layout) */
  gfloat alpha;           /* scales the product (0 means 1) */
  GvTensor *bias;         /* [N] or NULL */
  GvActivation act;       /* applied after bias */
  GvTensor *residual;     /* [batch, M, N] added after the activation, or NULL; may be @out */
} GvMatmulArgs;

/* out[b] = act (alpha * op(a[b]) @ op(b[b]) + bias) + residual[b]
 * The last two dimensions of each tensor are the matrix, the leading ones the batch; a batch of
 * 1 broadcasts (weights shared by every batch entry), on either operand. out is [batch, M, N]. */
void gv_op_matmul (GvCmd *cmd, GvTensor *out, GvTensor *a, GvTensor *b, const GvMatmulArgs *args);

/* out[..., N] = act (x[..., K] @ weight[N, K]^T + bias[N]) + residual: torch.nn.Linear */
void gv_op_linear (GvCmd *cmd, GvTensor *out, GvTensor *x, GvTensor *weight, GvTensor *bias,
    GvActivation act, GvTensor *residual);

G_END_DECLS
