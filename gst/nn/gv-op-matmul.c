/* Batched matmul and linear. Two kernel families: register tiles fed by texel-buffer gathers
 * and subgroup shuffles on CPU devices (shaders/matmul_cpu.comp), shared-memory tiles on GPUs
 * (shaders/matmul_gpu.comp). Work larger than one binding is split into dispatches over batch
 * entries, then over rows. */
#include "nn/gv-op-matmul.h"
#include "nn/gv-op-gemm.h"
#include "nn/gv-op-util.h"

#include "kernel-params.h"

/* rows and columns of the output one workgroup covers (GPU family) */
#define TILE 64
/* row chunks of split dispatches: a multiple of every family's workgroup rows */
#define ROW_CHUNK 256

enum { BIND_A, BIND_B, BIND_BIAS, BIND_RES, BIND_OUT, N_BINDS };

/* [A read as vec4][B read as vec4][B transposed]; tiles per invocation: 16 x 8 when B is
 * [K, N], 32 x 4 when B is [N, K] (its rows are then read along K, 4 steps per load) */
static const GvKernelId cpu_kernels[2][2][2] = {
  { { GV_KERNEL_MATMUL_CPU_A_F32_B_F32_KN, GV_KERNEL_MATMUL_CPU_A_F32_B_F32_NK },
    { GV_KERNEL_MATMUL_CPU_A_F32_B_VEC4_KN, GV_KERNEL_MATMUL_CPU_A_F32_B_VEC4_NK } },
  { { GV_KERNEL_MATMUL_CPU_A_VEC4_B_F32_KN, GV_KERNEL_MATMUL_CPU_A_VEC4_B_F32_NK },
    { GV_KERNEL_MATMUL_CPU_A_VEC4_B_VEC4_KN, GV_KERNEL_MATMUL_CPU_A_VEC4_B_VEC4_NK } },
};
static const gint cpu_tile[2][2] = { { 16, 8 }, { 32, 4 } };   /* [B transposed]: TM, TN */

/* the activation reaches the kernels as a specialization constant */
G_STATIC_ASSERT (GV_ACT_NONE == GV_GEMM_ACT_NONE && GV_ACT_SILU == GV_GEMM_ACT_SILU &&
    GV_ACT_GELU == GV_GEMM_ACT_GELU);

/* One product, in matrix terms. */
typedef struct {
  GvTensor *out, *a, *b, *bias, *residual;
  gint64 batch, m, n, k;
  gboolean a_shared, b_shared;     /* one entry serves every batch entry */
  gboolean trans_a, trans_b;
  gfloat alpha;
  GvActivation act;
} Gemm;

gboolean
gv_op_use_cpu_kernels (GvCmd *cmd)
{
  GvDevice *dev = gv_cmd_get_device (cmd);
  const GvDeviceLimits *l = gv_device_get_limits (dev);
  /* the register-tile kernels hand rows around groups of 8 lanes of one subgroup */
  return gv_device_get_kernel_path (dev) == GV_KERNEL_PATH_CPU && l->subgroup_shuffle &&
      l->subgroup_size >= 8 && l->subgroup_size % 8 == 0 && 64 % l->subgroup_size == 0;
}

gint64
gv_op_gemm_max_floats (GvCmd *cmd, GvBindKind kind)
{
  gint64 n = gv_op_max_elements (cmd, kind, 4);
  guint64 cap = gv_device_get_limits (gv_cmd_get_device (cmd))->gemm_max_binding;
  if (cap != 0)
    n = MIN (n, (gint64) (cap / 4));
  return n;
}

/* a vec4 texel binding needs the tensor 16-byte aligned and rows a multiple of 4 */
static gboolean
vec4_ok (const GvTensor *t, gint64 row)
{
  return t->offset % 16 == 0 && row % 4 == 0;
}

static void
gemm_record (GvCmd *cmd, const gchar *name, const Gemm *g)
{
  gboolean cpu = gv_op_use_cpu_kernels (cmd);
  gboolean av = cpu && vec4_ok (g->a, g->trans_a ? g->m : g->k);
  gboolean bv = cpu && vec4_ok (g->b, g->trans_b ? g->k : g->n);
  GvKernelId id = cpu ? cpu_kernels[av][bv][g->trans_b] : GV_KERNEL_MATMUL_GPU;
  const GvShader *shader = &gv_kernels[id];
  gint64 m = g->m, n = g->n, k = g->k;
  /* rows and columns of one workgroup: the CPU family has WGS groups of 8 lanes along M */
  gint64 tm = cpu ? cpu_tile[g->trans_b][0] : TILE, tn = cpu ? cpu_tile[g->trans_b][1] : 0;
  gint64 wgs = CLAMP (gv_div_up (m, tm), 1, 8);
  gint64 wg_rows = cpu ? wgs * tm : TILE, wg_cols = cpu ? 8 * tn : TILE;

  if (m == 0 || n == 0 || g->batch == 0)
    return;
  guint32 spec[6] = { g->trans_a, g->trans_b, g->act, g->bias != NULL, g->residual != NULL,
    8 * wgs };
  GvKernel *kernel = gv_op_kernel (cmd, id, spec, cpu ? 6 : 5);
  if (kernel == NULL)
    return;

  /* what one binding of each kind may hold, in floats */
  gint64 lim_a = gv_op_gemm_max_floats (cmd, shader->kinds[BIND_A]);
  gint64 lim_b = gv_op_gemm_max_floats (cmd, shader->kinds[BIND_B]);
  gint64 lim_o = MIN (gv_op_gemm_max_floats (cmd, shader->kinds[BIND_OUT]),
      gv_op_gemm_max_floats (cmd, shader->kinds[BIND_RES]));
  gint64 a_entry = m * k, b_entry = k * n, o_entry = m * n;
  gint64 a_div = MAX (a_entry, 1), b_div = MAX (b_entry, 1), k_div = MAX (k, 1);

  /* B's entries, transposed A's and single rows are bound whole */
  if (b_entry > lim_b || (g->trans_a && a_entry > lim_a) || n > lim_o ||
      (!g->trans_a && k > lim_a)) {
    GvTensor *ts[3] = { g->out, g->a, g->b };
    gv_op_fail_shapes (cmd, name, "an operand is larger than one binding may span", 3, ts);
    return;
  }

  /* batch entries per dispatch, or rows per dispatch when one entry is too large */
  gint64 per_z = gv_op_max_groups (cmd, 2), rows = m;
  per_z = MIN (per_z, lim_o / o_entry);
  per_z = MIN (per_z, g->a_shared ? (a_entry <= lim_a ? per_z : 0) : lim_a / a_div);
  if (!g->b_shared)
    per_z = MIN (per_z, lim_b / b_div);
  if (per_z == 0) {
    per_z = 1;
    rows = lim_o / n;
    if (!g->trans_a)
      rows = MIN (rows, lim_a / k_div);
    rows = MIN (rows, gv_op_max_groups (cmd, 1) * TILE) / ROW_CHUNK * ROW_CHUNK;
    if (rows == 0) {
      GvTensor *ts[3] = { g->out, g->a, g->b };
      gv_op_fail_shapes (cmd, name, "rows too long to split into bindings", 3, ts);
      return;
    }
  }

  for (gint64 z0 = 0; z0 < g->batch; z0 += per_z) {
    gint64 nz = MIN (per_z, g->batch - z0);
    for (gint64 r0 = 0; r0 < m; r0 += rows) {
      gint64 mr = MIN (rows, m - r0);
      GvBinding bind[N_BINDS];
      GvMatmulParams p = {
        .m = mr, .n = n, .k = k,
        .lda = g->trans_a ? m : k,
        .a_m0 = g->trans_a ? r0 : 0,
        .a_batch = g->a_shared ? 0 : a_entry,
        .b_batch = g->b_shared ? 0 : b_entry,
        .o_batch = o_entry,
        .alpha = g->alpha == 0.0f ? 1.0f : g->alpha,
      };
      gint64 o_first = z0 * o_entry + r0 * n, o_count = (nz - 1) * o_entry + mr * n;
      gint64 a_first = g->a_shared ? 0 : z0 * a_entry;
      gint64 a_count = g->a_shared ? a_entry : nz * a_entry;
      if (!g->trans_a) {
        /* only this dispatch's rows */
        a_first += r0 * k;
        a_count = g->a_shared ? mr * k : (nz - 1) * a_entry + mr * k;
      }
      bind[BIND_A] = gv_tensor_bind_range (g->a, a_first, a_count, FALSE);
      bind[BIND_B] = g->b_shared ? gv_tensor_bind_range (g->b, 0, b_entry, FALSE) :
          gv_tensor_bind_range (g->b, z0 * b_entry, nz * b_entry, FALSE);
      bind[BIND_BIAS] = g->bias ? gv_tensor_bind (g->bias, FALSE) :
          gv_tensor_bind_range (g->out, o_first, 1, FALSE);
      bind[BIND_RES] = gv_tensor_bind_range (g->residual ? g->residual : g->out, o_first,
          o_count, FALSE);
      bind[BIND_OUT] = gv_tensor_bind_range (g->out, o_first, o_count, TRUE);
      gv_cmd_dispatch (cmd, kernel, bind, &p, (guint) gv_div_up (n, wg_cols),
          (guint) gv_div_up (mr, wg_rows), (guint) nz);
    }
  }
}

static gboolean
check_common (GvCmd *cmd, const gchar *name, GvTensor *out, GvTensor *a, GvTensor *b,
    GvTensor *bias, GvTensor *residual)
{
  GvTensor *ts[5] = { out, a, b, bias ? bias : out, residual ? residual : out };
  if (!gv_tensors_ready (cmd, name, 5, ts) || !gv_op_check_f32 (cmd, name, 5, ts))
    return FALSE;
  return TRUE;
}

/* product of the dimensions before the last two */
static gint64
batch_of (const GvTensor *t)
{
  gint64 n = 1;
  for (gint d = 0; d + 2 < t->ndim; d++)
    n *= t->shape[d];
  return n;
}

void
gv_op_matmul (GvCmd *cmd, GvTensor *out, GvTensor *a, GvTensor *b, const GvMatmulArgs *args)
{
  static const GvMatmulArgs defaults = { .alpha = 1.0f };
  const GvMatmulArgs *x = args ? args : &defaults;
  GvTensor *ts[5] = { out, a, b, x->bias, x->residual };
  Gemm g = { out, a, b, x->bias, x->residual };

  if (!check_common (cmd, "matmul", out, a, b, x->bias, x->residual))
    return;
  if (a->ndim < 2 || b->ndim < 2 || out->ndim < 2) {
    gv_op_fail_shapes (cmd, "matmul", "operands need two dimensions", 5, ts);
    return;
  }
  g.trans_a = x->trans_a;
  g.trans_b = x->trans_b;
  g.m = a->shape[a->ndim - (x->trans_a ? 1 : 2)];
  g.k = a->shape[a->ndim - (x->trans_a ? 2 : 1)];
  g.n = b->shape[b->ndim - (x->trans_b ? 2 : 1)];
  g.batch = batch_of (out);
  gint64 kb = b->shape[b->ndim - (x->trans_b ? 1 : 2)];
  gint64 ba = batch_of (a), bb = batch_of (b);
  if (kb != g.k || out->shape[out->ndim - 2] != g.m || out->shape[out->ndim - 1] != g.n ||
      (ba != g.batch && ba != 1) || (bb != g.batch && bb != 1) ||
      (x->bias && x->bias->numel != g.n) || (x->residual && x->residual->numel != out->numel)) {
    gv_op_fail_shapes (cmd, "matmul", "shapes do not match (out, a, b, bias, residual)", 5, ts);
    return;
  }
  g.a_shared = ba == 1;
  g.b_shared = bb == 1;
  g.alpha = x->alpha;
  g.act = x->act;
  gemm_record (cmd, "matmul", &g);
}

void
gv_op_linear (GvCmd *cmd, GvTensor *out, GvTensor *x, GvTensor *weight, GvTensor *bias,
    GvActivation act, GvTensor *residual)
{
  GvTensor *ts[5] = { out, x, weight, bias, residual };

  if (!check_common (cmd, "linear", out, x, weight, bias, residual))
    return;
  gint64 k = x->shape[x->ndim - 1];
  gint64 n = weight->ndim == 2 ? weight->shape[0] : 0;
  if (n <= 0 || k <= 0 || weight->shape[1] != k || out->shape[out->ndim - 1] != n ||
      out->numel != x->numel / k * n || (bias && bias->numel != n) ||
      (residual && residual->numel != out->numel)) {
    gv_op_fail_shapes (cmd, "linear", "shapes do not match (out, x, weight, bias, residual)",
        5, ts);
    return;
  }
  Gemm g = {
    .out = out, .a = x, .b = weight, .bias = bias, .residual = residual,
    .batch = 1, .m = x->numel / k, .n = n, .k = k,
    .a_shared = TRUE, .b_shared = TRUE, .trans_b = TRUE,
    .alpha = 1.0f, .act = act,
  };
  gemm_record (cmd, "linear", &g);
}
