/* MSE loss, gradient clipping and AdamW (shaders/optim.comp). */
#include <math.h>

#include "nn/gv-op-optim.h"
#include "nn/gv-op-util.h"

#include "kernel-params.h"

/* elements each partial sums: few enough partials for one invocation to add them all */
#define CHUNK 1024

static gint64
max_chunk (GvCmd *cmd)
{
  gint64 n = MIN (gv_op_max_elements (cmd, GV_BIND_BUFFER, 4),
      gv_op_max_elements (cmd, GV_BIND_TEXEL_R32F, 4));
  return MIN (n, G_MAXUINT32 / 2) / CHUNK * CHUNK;
}

/* partial sums of @a^2 (or of (a - b)^2 with grad (+)= scale (a - b)) into @part from
 * @first_part; returns the partials written */
static gint64
record_partials (GvCmd *cmd, guint32 op, GvTensor *a, GvTensor *b, GvTensor *grad,
    GvTensor *part, gint64 first_part, gfloat scale, gboolean accumulate)
{
  guint32 spec[2] = { op, accumulate ? 1 : 0 };
  GvKernel *k = gv_op_kernel (cmd, GV_KERNEL_OPTIM_PARTIAL, spec, 2);
  if (k == NULL)
    return 0;
  gint64 per = max_chunk (cmd), parts = 0;
  for (gint64 first = 0; first < a->numel; first += per) {
    gint64 count = MIN (per, a->numel - first);
    GvBinding ab = gv_tensor_bind_range (a, first, count, FALSE);
    GvBinding bind[4] = {
      ab,
      b ? gv_tensor_bind_range (b, first, count, FALSE) : ab,
      grad ? gv_tensor_bind_range (grad, first, count, TRUE) : gv_tensor_bind (part, TRUE),
      gv_tensor_bind (part, TRUE),
    };
    gint64 n = gv_div_up (count, CHUNK);
    GvOptimPartialParams p = {
      (guint32) count, CHUNK, (guint32) (first_part + parts), scale,
    };
    guint gx, gy;
    gv_op_grid_1d (cmd, n, 64, &gx, &gy);
    gv_cmd_dispatch (cmd, k, bind, &p, gx, gy, 1);
    parts += n;
  }
  return parts;
}

static void
record_final (GvCmd *cmd, GvTensor *part, gint64 n_parts, GvTensor *result, guint32 mode,
    gfloat inv_count, gfloat max_norm)
{
  guint32 spec[3] = { 0, 0, mode };
  GvKernel *k = gv_op_kernel (cmd, GV_KERNEL_OPTIM_FINAL, spec, 3);
  if (k == NULL)
    return;
  GvBinding b[2] = { gv_tensor_bind (part, FALSE), gv_tensor_bind_range (result, 0, 2, TRUE) };
  GvOptimFinalParams p = { (guint32) n_parts, inv_count, max_norm };
  gv_cmd_dispatch (cmd, k, b, &p, 1, 1, 1);
}

void
gv_op_mse_loss (GvCmd *cmd, GvTensor *dpred, GvTensor *pred, GvTensor *target, gfloat *loss,
    gboolean accumulate)
{
  const gchar *name = "mse_loss";
  GvTensor *ts[3] = { dpred, pred, target };
  if (!gv_tensors_ready (cmd, name, 3, ts) || !gv_op_check_f32 (cmd, name, 3, ts))
    return;
  if (pred->numel < 1 || target->numel != pred->numel || dpred->numel != pred->numel) {
    gv_op_fail_shapes (cmd, name, "pred, target and dpred must have as many elements", 3, ts);
    return;
  }
  GvTensor *part = GV_TENSOR (cmd, gv_div_up (pred->numel, CHUNK));
  GvTensor *result = GV_TENSOR (cmd, 2);
  if (!gv_cmd_failed (cmd)) {
    gint64 n = record_partials (cmd, GV_OPTIM_MSE, pred, target, dpred, part, 0,
        (gfloat) (2.0 / pred->numel), accumulate);
    record_final (cmd, part, n, result, GV_OPTIM_MEAN, (gfloat) (1.0 / pred->numel), 0.0f);
    if (loss)
      gv_cmd_download (cmd, result->mem, result->offset, loss, sizeof (gfloat));
  }
  gv_tensor_unref (part);
  gv_tensor_unref (result);
}

void
gv_op_clip_grad_norm (GvCmd *cmd, GvTensor *result, GvTensor *const *grads, guint n_grads,
    gfloat max_norm)
{
  const gchar *name = "clip_grad_norm";
  if (!gv_tensors_ready (cmd, name, 1, &result) || !gv_op_check_f32 (cmd, name, 1, &result) ||
      !gv_tensors_ready (cmd, name, n_grads, grads) ||
      !gv_op_check_f32 (cmd, name, n_grads, grads))
    return;
  if (result->numel < 2 || n_grads == 0 || !(max_norm > 0.0f)) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "%s: needs a result of 2 elements, at least one "
        "gradient and max_norm > 0 (%u gradients, max_norm %g)", name, n_grads, max_norm);
    return;
  }
  gint64 n_parts = 0;
  for (guint i = 0; i < n_grads; i++)
    n_parts += gv_div_up (grads[i]->numel, CHUNK) + 1;
  GvTensor *part = GV_TENSOR (cmd, n_parts);
  if (!gv_cmd_failed (cmd)) {
    gint64 at = 0;
    for (guint i = 0; i < n_grads; i++)
      at += record_partials (cmd, GV_OPTIM_SUM_SQUARES, grads[i], NULL, NULL, part, at, 0.0f,
          FALSE);
    record_final (cmd, part, at, result, GV_OPTIM_CLIP, 0.0f, max_norm);
  }
  gv_tensor_unref (part);
}

void
gv_op_adamw_step (GvCmd *cmd, GvTensor *param, GvTensor *m, GvTensor *v, GvTensor *grad,
    GvTensor *clip, gint step, const GvAdamW *o)
{
  const gchar *name = "adamw_step";
  GvTensor *ts[5] = { param, m, v, grad, clip ? clip : grad };
  if (!gv_tensors_ready (cmd, name, 5, ts) || !gv_op_check_f32 (cmd, name, 5, ts))
    return;
  if (m->numel != param->numel || v->numel != param->numel || grad->numel != param->numel ||
      (clip && clip->numel < 2)) {
    gv_op_fail_shapes (cmd, name, "param, m, v and grad must have one size, clip 2 elements",
        5, ts);
    return;
  }
  if (step < 1 || o == NULL || !(o->lr >= 0.0) || !(o->beta1 >= 0.0 && o->beta1 < 1.0) ||
      !(o->beta2 >= 0.0 && o->beta2 < 1.0) || !(o->eps >= 0.0)) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "%s: step %d (from 1), lr >= 0, betas in [0, 1), "
        "eps >= 0 needed", name, step);
    return;
  }
  gboolean vec4 = param->numel % 4 == 0 && gv_op_aligned16 (param) && gv_op_aligned16 (m) &&
      gv_op_aligned16 (v) && gv_op_aligned16 (grad);
  guint vec = vec4 ? 4 : 1;
  guint32 spec[4] = { 0, 0, 0, clip ? 1 : 0 };
  GvKernel *k = gv_op_kernel (cmd, vec4 ? GV_KERNEL_OPTIM_ADAMW_VEC4 : GV_KERNEL_OPTIM_ADAMW_F32,
      spec, 4);
  if (k == NULL)
    return;
  GvAdamwParams p = {
    0, (gfloat) (1.0 - o->lr * o->weight_decay), (gfloat) o->beta2, (gfloat) o->eps,
    (gfloat) (1.0 - o->beta1), (gfloat) (1.0 - o->beta2),
    (gfloat) (o->lr / (1.0 - pow (o->beta1, step))),
    (gfloat) sqrt (1.0 - pow (o->beta2, step)),
  };
  gint64 per = max_chunk (cmd);
  for (gint64 first = 0; first < param->numel; first += per) {
    gint64 count = MIN (per, param->numel - first);
    GvBinding b[8] = {
      gv_tensor_bind_range (grad, first, count, FALSE),
      clip ? gv_tensor_bind_range (clip, 0, 2, FALSE) :
          gv_tensor_bind_range (grad, first, count, FALSE),
      gv_tensor_bind_range (param, first, count, FALSE),
      gv_tensor_bind_range (m, first, count, FALSE),
      gv_tensor_bind_range (v, first, count, FALSE),
      gv_tensor_bind_range (param, first, count, TRUE),
      gv_tensor_bind_range (m, first, count, TRUE),
      gv_tensor_bind_range (v, first, count, TRUE),
    };
    p.count = (guint32) (count / vec);
    guint gx, gy;
    gv_op_grid_1d (cmd, p.count, 64, &gx, &gy);
    gv_cmd_dispatch (cmd, k, b, &p, gx, gy, 1);
  }
}
