/* Multi-head attention, flash style: the scores of a block of queries against a block of keys
 * live only in registers (CPU kernel) or shared memory (GPU kernel), the softmax is online
 * (running max and sum, rescaled accumulator), so memory is O(sequence), never O(Lq * Lk).
 * Work is split into tasks (query block, chunk of the head, head, batch); dispatches are split
 * over batches, or over query rows, so that every binding fits the device's limits. */
#include <math.h>

#include "nn/gv-op-attention.h"
#include "nn/gv-op-util.h"

#include "kernel-params.h"

/* Register tiles of the CPU kernel (see attention_cpu.comp), measured on lavapipe: larger query
 * blocks win even when the accumulator spills (to L1), and the whole head (up to 512) in one
 * task beats recomputing the scores per chunk of it. */
#define CPU_MQ 16         /* queries per subgroup */
#define CPU_MQ_WIDE 32    /* the same for heads of more than 128 channels */
#define CPU_NKL 4         /* keys per lane and block, at most */
#define CPU_DL4 16        /* vec4s of head channels per lane, at most: 512 channels per task */
#define CPU_WGY 8         /* subgroups per workgroup */
/* Tiles of the GPU kernel (fixed in attention_gpu.comp, but the head chunk). */
#define GPU_BR 32
#define GPU_DCH 64

typedef struct {
  GvKernel *kernel;
  gint64 queries_per_task;
  gint64 head_chunk;         /* head channels per task */
  gint64 tasks_per_group;
  guint texel;               /* floats per texel of q, k, v */
} AttentionPlan;

/* Keys per lane and block (1, 2 or 4): the largest that pads the keys least (77 text tokens
 * take 5 blocks of 16, not 3 of 32). */
static guint32
keys_per_lane (gint64 Lk)
{
  guint32 best = CPU_NKL;
  for (guint32 n = CPU_NKL; n >= 1; n /= 2) {
    if (gv_div_up (Lk, 8 * n) * 8 * n < gv_div_up (Lk, 8 * best) * 8 * best)
      best = n;
  }
  return best;
}

static gboolean
plan_attention (GvCmd *cmd, AttentionPlan *plan, GvTensor *const *ts, gint64 Lq, gint64 Lk,
    gint64 C, gint64 D, gboolean lse)
{
  GvDevice *dev = gv_cmd_get_device (cmd);
  const GvDeviceLimits *lim = gv_device_get_limits (dev);
  gboolean cpu = gv_device_get_kernel_path (dev) == GV_KERNEL_PATH_CPU &&
      lim->subgroup_size == 8 && lim->subgroup_shuffle;

  if (cpu) {
    gboolean vec4 = C % 4 == 0 && D % 4 == 0;
    for (int i = 0; i < 4; i++)
      vec4 = vec4 && gv_op_aligned16 (ts[i]);
    guint32 dl4 = (guint32) CLAMP (gv_div_up (D, 32), 1, CPU_DL4);
    guint32 spec[5] = {
      (guint32) MIN (Lq, dl4 > 4 ? CPU_MQ_WIDE : CPU_MQ),
      keys_per_lane (Lk),
      dl4,
      CPU_WGY,
      (guint32) D,
    };
    GvKernelId id = vec4 ? GV_KERNEL_ATTENTION_CPU_VEC4 : GV_KERNEL_ATTENTION_CPU_F32;
    if (lse)
      id = vec4 ? GV_KERNEL_ATTENTION_CPU_VEC4_LSE : GV_KERNEL_ATTENTION_CPU_F32_LSE;
    plan->kernel = gv_op_kernel (cmd, id, spec, 5);
    plan->queries_per_task = spec[0];
    plan->head_chunk = 32 * dl4;
    plan->tasks_per_group = CPU_WGY;
    plan->texel = vec4 ? 4 : 1;
  } else {
    guint32 dch = (guint32) MIN (GPU_DCH, gv_div_up (D, 4) * 4);
    plan->kernel = gv_op_kernel (cmd, lse ? GV_KERNEL_ATTENTION_GPU_LSE :
        GV_KERNEL_ATTENTION_GPU, &dch, 1);
    plan->queries_per_task = GPU_BR;
    plan->head_chunk = dch;
    plan->tasks_per_group = 1;
    plan->texel = 1;
  }
  return plan->kernel != NULL;
}

/* @lse: NULL for inference, else [B, H, Lq] (the kernels' LSE variants) */
static void
attention (GvCmd *cmd, GvTensor *out, GvTensor *lse, GvTensor *q, GvTensor *k, GvTensor *v,
    const GvAttentionArgs *args)
{
  GvTensor *ts[5] = { q, k, v, out, lse };
  guint nts = lse != NULL ? 5 : 4;

  if (!gv_tensors_ready (cmd, "attention", nts, ts) ||
      !gv_op_check_f32 (cmd, "attention", nts, ts))
    return;
  if (q->ndim != 3 || k->ndim != 3 || !gv_tensor_same_shape (k, v) ||
      !gv_tensor_same_shape (q, out) || k->shape[2] != q->shape[2] || k->shape[0] < 1 ||
      q->shape[0] % k->shape[0] != 0) {
    gv_op_fail_shapes (cmd, "attention", "expected q and out [B, Lq, C], k and v [Bk, Lk, C] "
        "with Bk dividing B", 4, ts);
    return;
  }
  gint64 B = q->shape[0], Lq = q->shape[1], C = q->shape[2];
  gint64 Bk = k->shape[0], Lk = k->shape[1];
  gint H = args->heads;
  if (H < 1 || C % H != 0 || C / H > 512) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "attention: %" G_GINT64_FORMAT " channels do not "
        "split into %d heads of at most 512", C, H);
    return;
  }
  gint64 D = C / H, R = B / Bk;
  if (lse != NULL && (lse->ndim != 3 || lse->shape[0] != B || lse->shape[1] != H ||
          lse->shape[2] != Lq)) {
    gv_op_fail_shapes (cmd, "attention", "expected lse [B, heads, Lq]", 5, ts);
    return;
  }

  AttentionPlan plan;
  if (!plan_attention (cmd, &plan, ts, Lq, Lk, C, D, lse != NULL))
    return;
  GvBindKind texel_kind = plan.texel == 4 ? GV_BIND_TEXEL_RGBA32F : GV_BIND_TEXEL_R32F;
  gint64 max_texel = gv_op_max_elements (cmd, texel_kind, 4 * plan.texel) * plan.texel;
  gint64 max_rows = MIN (max_texel, gv_op_max_elements (cmd, GV_BIND_BUFFER, 4)) / C;
  gint64 max_kv = max_texel / (Lk * C);
  if (max_rows < 1 || max_kv < 1) {
    gv_op_fail_shapes (cmd, "attention", "one batch of keys or one row is larger than a "
        "binding may be", 4, ts);
    return;
  }

  gdouble scale = args->scale != 0 ? args->scale : 1.0 / sqrt ((gdouble) D);
  GvAttentionParams p = {
    .lq = (guint32) Lq, .lk = (guint32) Lk, .cw = (guint32) (C / plan.texel), .d = (guint32) D,
    .heads = (guint32) H, .ratio = (guint32) R,
    .ndc = (guint32) gv_div_up (D, plan.head_chunk),
    .scale = (gfloat) (scale / G_LN2),    /* the kernels use exp2 */
    .causal = args->causal ? 1 : 0,
  };

  for (gint64 b0 = 0; b0 < B;) {
    /* whole batches when one fits, as many as the bindings allow; else rows of one batch */
    gint64 nb = MIN (B - b0, max_rows / Lq);
    nb = MIN (nb, (b0 / R + max_kv) * R - b0);
    nb = MIN (nb, G_MAXINT32 / ((gint64) gv_div_up (Lq, plan.queries_per_task) * p.ndc * H));
    gint64 rows = nb >= 1 ? Lq : max_rows;
    nb = MAX (nb, 1);
    for (gint64 i0 = 0; i0 < Lq; i0 += rows) {
      gint64 ni = MIN (rows, Lq - i0);
      gint64 kv0 = b0 / R, nkv = (b0 + nb - 1) / R - kv0 + 1;
      gint64 qfirst = (b0 * Lq + i0) * C, qcount = ((nb - 1) * Lq + ni) * C;
      GvBinding bind[5] = {
        gv_tensor_bind_range (q, qfirst, qcount, FALSE),
        gv_tensor_bind_range (k, kv0 * Lk * C, nkv * Lk * C, FALSE),
        gv_tensor_bind_range (v, kv0 * Lk * C, nkv * Lk * C, FALSE),
        gv_tensor_bind_range (out, qfirst, qcount, TRUE),
      };
      if (lse != NULL)
        bind[4] = gv_tensor_bind_range (lse, b0 * H * Lq, nb * H * Lq, TRUE);
      p.b0 = (guint32) b0;
      p.nb = (guint32) nb;
      p.i0 = (guint32) i0;
      p.ni = (guint32) ni;
      p.nqb = (guint32) gv_div_up (ni, plan.queries_per_task);
      gint64 tasks = (gint64) p.nqb * p.ndc * H * nb;
      p.tasks = (guint32) tasks;
      guint gx, gy;
      gv_op_grid_1d (cmd, gv_div_up (tasks, plan.tasks_per_group), 1, &gx, &gy);
      gv_cmd_dispatch (cmd, plan.kernel, bind, &p, gx, gy, 1);
    }
    b0 += nb;
  }
}

void
gv_op_attention (GvCmd *cmd, GvTensor *out, GvTensor *q, GvTensor *k, GvTensor *v,
    const GvAttentionArgs *args)
{
  attention (cmd, out, NULL, q, k, v, args);
}

void
gv_op_attention_lse (GvCmd *cmd, GvTensor *out, GvTensor *lse, GvTensor *q, GvTensor *k,
    GvTensor *v, const GvAttentionArgs *args)
{
  if (lse == NULL) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "attention: no lse tensor");
    return;
  }
  attention (cmd, out, lse, q, k, v, args);
}
