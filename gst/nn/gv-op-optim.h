/* Loss and optimiser on the device, for training: the MSE loss with its gradient,
 * global-norm gradient clipping and AdamW, as torch computes them (F.mse_loss,
 * torch.nn.utils.clip_grad_norm_, torch.optim.AdamW). Reductions run in a fixed order (chunk
 * sums, then one compensated sum of the chunks): results are bit-identical for a seed. */
#pragma once

#include "nn/gv-tensor.h"

G_BEGIN_DECLS

/* the hyper-parameters in double, as torch's Python floats: 1 - beta2 of 0.999 rounded from
 * float would be off by 1.3e-5 */
typedef struct {
  gdouble lr, beta1, beta2, eps, weight_decay;
} GvAdamW;

/* loss = mean ((pred - target)^2) (F.mse_loss) and dpred = 2 / n (pred - target), added to
 * dpred when @accumulate. @loss (may be NULL) receives the loss after gv_cmd_finish (one
 * 4-byte download). pred, target and dpred have one number of elements. */
void gv_op_mse_loss (GvCmd *cmd, GvTensor *dpred, GvTensor *pred, GvTensor *target,
    gfloat *loss, gboolean accumulate);

/* torch.nn.utils.clip_grad_norm_ (grads, max_norm) without touching the gradients: @result
 * [2] receives (the global 2-norm of all @n_grads gradients together, the factor
 * min (max_norm / (norm + 1e-6), 1)). gv_op_adamw_step reads the factor from @result on the
 * device (no host round trip); download @result for the norm. */
void gv_op_clip_grad_norm (GvCmd *cmd, GvTensor *result, GvTensor *const *grads,
    guint n_grads, gfloat max_norm);

/* One torch.optim.AdamW step on fp32 master weights @param with moments @m and @v (zeroed
 * before step 1), @step counting from 1 (bias corrections 1 - beta^step, computed in double
 * on the host): param *= 1 - lr wd; m, v updated; param -= lr / (1 - beta1^step) * m /
 * (sqrt (v) / sqrt (1 - beta2^step) + eps). The gradient is multiplied by @clip[1] when @clip
 * (the result of gv_op_clip_grad_norm) is not NULL. All four tensors have one size. */
void gv_op_adamw_step (GvCmd *cmd, GvTensor *param, GvTensor *m, GvTensor *v, GvTensor *grad,
    GvTensor *clip, gint step, const GvAdamW *o);

G_END_DECLS
