/* Ops over the last dimension: layer norm and softmax (one row kernel, shaders/rows.comp), and
 * GEGLU (shaders/geglu.comp). A row goes to one subgroup on CPU devices and to one workgroup on
 * GPUs; rows are split into dispatches that each fit one binding. */
#include "nn/gv-op-rows.h"
#include "nn/gv-op-util.h"

#include "kernel-params.h"

#define CPU_GROUP 64
#define CPU_ROWS_PER_GROUP 8

/* rows of @len elements that one dispatch may cover (input texels and output buffer alike) */
static gint64
rows_per_dispatch (GvCmd *cmd, gint64 len, gboolean vec4)
{
  gint64 max_elems = MIN (gv_op_max_elements (cmd, GV_BIND_BUFFER, 4),
      gv_op_max_elements (cmd, vec4 ? GV_BIND_TEXEL_RGBA32F : GV_BIND_TEXEL_R32F,
          vec4 ? 16 : 4) * (vec4 ? 4 : 1));
  return max_elems / len;
}

static void
record_rows (GvCmd *cmd, const gchar *name, guint32 mode, GvTensor *out, GvTensor *in,
    GvTensor *gamma, GvTensor *beta, gfloat eps)
{
  GvTensor *all[4] = { out, in, gamma, beta };
  GvTensor *ts[4];
  guint n_ts = 0;
  for (guint i = 0; i < 4; i++)
    if (i < 2 || all[i] != NULL)
      ts[n_ts++] = all[i];
  if (!gv_tensors_ready (cmd, name, n_ts, ts) || !gv_op_check_f32 (cmd, name, n_ts, ts))
    return;

  gint64 len = in->shape[in->ndim - 1];
  gint64 rows = in->numel / len;
  if (!gv_tensor_same_shape (out, in) || (gamma && gamma->numel != len) ||
      (beta && beta->numel != len)) {
    gv_op_fail_shapes (cmd, name, "out must have in's shape, gamma and beta the last dimension",
        4, all);
    return;
  }

  gboolean gpu = gv_device_get_kernel_path (gv_cmd_get_device (cmd)) == GV_KERNEL_PATH_GPU;
  gboolean vec4 = len % 4 == 0 && gv_op_aligned16 (in) && gv_op_aligned16 (out) && gv_op_aligned16 (gamma) &&
      gv_op_aligned16 (beta);
  guint vec = vec4 ? 4 : 1;
  guint32 texels = (guint32) (len / vec);
  /* GPU: a workgroup per row, sized to the row */
  guint wg = !gpu ? CPU_GROUP : texels <= 64 ? 64 : texels <= 512 ? 128 : 256;
  guint32 spec[5] = {
    wg, mode, gpu ? 1 : 0, (gamma ? 1 : 0) | (beta ? 2 : 0), CPU_ROWS_PER_GROUP,
  };
  GvKernel *k = gv_op_kernel (cmd, vec4 ? GV_KERNEL_ROWS_VEC4 : GV_KERNEL_ROWS_F32, spec, 5);
  if (k == NULL)
    return;

  gint64 per = rows_per_dispatch (cmd, len, vec4);
  if (per < 1) {
    gv_op_fail_shapes (cmd, name, "one row exceeds a binding", 4, all);
    return;
  }
  for (gint64 first = 0; first < rows; first += per) {
    gint64 n = MIN (per, rows - first);
    GvBinding bind[4] = {
      gv_tensor_bind_range (in, first * len, n * len, FALSE),
      gv_tensor_bind (gamma ? gamma : in, FALSE),
      gv_tensor_bind (beta ? beta : in, FALSE),
      gv_tensor_bind_range (out, first * len, n * len, TRUE),
    };
    /* with no affine the gamma and beta slots alias the input: bind the same range as it */
    if (gamma == NULL)
      bind[1] = bind[0];
    if (beta == NULL)
      bind[2] = bind[0];
    GvRowsParams p = { texels, (guint32) n, eps };
    guint gx, gy;
    gv_op_grid_1d (cmd, n, gpu ? 1 : CPU_ROWS_PER_GROUP, &gx, &gy);
    gv_cmd_dispatch (cmd, k, bind, &p, gx, gy, 1);
  }
}

void
gv_op_layer_norm (GvCmd *cmd, GvTensor *out, GvTensor *in, GvTensor *gamma, GvTensor *beta,
    gfloat eps)
{
  record_rows (cmd, "layer_norm", GV_ROWS_LAYER_NORM, out, in, gamma, beta, eps);
}

void
gv_op_softmax (GvCmd *cmd, GvTensor *out, GvTensor *in)
{
  record_rows (cmd, "softmax", GV_ROWS_SOFTMAX, out, in, NULL, NULL, 0.0f);
}

void
gv_op_geglu (GvCmd *cmd, GvTensor *out, GvTensor *in)
{
  GvTensor *ts[2] = { out, in };
  if (!gv_tensors_ready (cmd, "geglu", 2, ts) || !gv_op_check_f32 (cmd, "geglu", 2, ts))
    return;
  gint64 two_n = in->shape[in->ndim - 1];
  gboolean ok = two_n % 2 == 0 && out->ndim == in->ndim &&
      out->shape[out->ndim - 1] * 2 == two_n;
  for (gint d = 0; ok && d < in->ndim - 1; d++)
    ok = out->shape[d] == in->shape[d];
  if (!ok) {
    gv_op_fail_shapes (cmd, "geglu", "in must be [..., 2N] and out [..., N]", 2, ts);
    return;
  }

  gint64 half = two_n / 2, rows = out->numel / half;
  gboolean gpu = gv_device_get_kernel_path (gv_cmd_get_device (cmd)) == GV_KERNEL_PATH_GPU;
  gboolean vec4 = half % 4 == 0 && gv_op_aligned16 (in) && gv_op_aligned16 (out);
  guint vec = vec4 ? 4 : 1;
  guint wg = gpu ? 256 : CPU_GROUP;
  guint32 spec[1] = { wg };
  GvKernel *k = gv_op_kernel (cmd, vec4 ? GV_KERNEL_GEGLU_VEC4 : GV_KERNEL_GEGLU_F32, spec, 1);
  if (k == NULL)
    return;

  guint32 half_len = (guint32) (half / vec);
  guint gx = (guint) gv_div_up (half_len, wg);
  gint64 per = rows_per_dispatch (cmd, two_n, vec4);
  if (per < 1 || gx > gv_op_max_groups (cmd, 0)) {
    gv_op_fail_shapes (cmd, "geglu", "one row exceeds a binding", 2, ts);
    return;
  }
  for (gint64 first = 0; first < rows; first += per) {
    gint64 n = MIN (per, rows - first);
    GvBinding bind[2] = {
      gv_tensor_bind_range (in, first * two_n, n * two_n, FALSE),
      gv_tensor_bind_range (out, first * half, n * half, TRUE),
    };
    GvGegluParams p = { half_len, (guint32) n };
    guint gy, gz;
    gv_op_grid_yz (cmd, n, &gy, &gz);
    gv_cmd_dispatch (cmd, k, bind, &p, gx, gy, gz);
  }
}
