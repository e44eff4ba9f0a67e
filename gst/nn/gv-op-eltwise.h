/* Element-wise ops. Binary ops broadcast numpy-style: shapes are right-aligned and a dimension
 * of size 1 stretches. @out may be the same tensor as an input (in place). */
#pragma once

#include "nn/gv-tensor.h"

G_BEGIN_DECLS

typedef enum {
  GV_ACT_NONE,
  GV_ACT_SILU,     /* x * sigmoid(x) */
  GV_ACT_GELU,     /* exact: 0.5 x (1 + erf(x / sqrt 2)) */
  GV_ACT_QUICK_GELU,   /* x * sigmoid (1.702 x): OpenAI CLIP (SD 1.x text encoders) */
} GvActivation;

typedef enum {
  GV_BINARY_ADD,   /* out = alpha * a + beta * b */
  GV_BINARY_MUL,   /* out = alpha * a * b */
} GvBinaryOp;

void gv_op_binary (GvCmd *cmd, GvTensor *out, GvTensor *a, GvTensor *b, GvBinaryOp op,
    gfloat alpha, gfloat beta);
/* out = a + b */
void gv_op_add (GvCmd *cmd, GvTensor *out, GvTensor *a, GvTensor *b);
/* out = a * b */
void gv_op_mul (GvCmd *cmd, GvTensor *out, GvTensor *a, GvTensor *b);
/* out = alpha * in + beta */
void gv_op_scale (GvCmd *cmd, GvTensor *out, GvTensor *in, gfloat alpha, gfloat beta);
/* out = min (max (in, lo), hi) */
void gv_op_clamp (GvCmd *cmd, GvTensor *out, GvTensor *in, gfloat lo, gfloat hi);
/* out = mask * a + (1 - mask) * b; @mask broadcasts against a and b (same shape as @out) */
void gv_op_blend (GvCmd *cmd, GvTensor *out, GvTensor *a, GvTensor *b, GvTensor *mask);
/* out = act (in) */
void gv_op_activation (GvCmd *cmd, GvTensor *out, GvTensor *in, GvActivation act);

G_END_DECLS
