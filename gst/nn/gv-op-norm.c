/* Group normalisation: chunk statistics, a merge per statistic, then the normalisation (three
 * dispatches; shaders/group_norm.comp explains the numerics). Layer norm shares the row kernel
 * of softmax and lives in gv-op-rows.c. */
#include "nn/gv-op-norm.h"
#include "nn/gv-op-norm-private.h"
#include "nn/gv-op-util.h"

#include "kernel-params.h"

/* elements per chunk of the CPU family: small enough to stay in L1 between the two passes,
 * large enough that the partials stay few */
#define CPU_CHUNK 256
#define CPU_GROUP 64
#define GPU_GROUP 256
/* texels each apply invocation handles, as the shader has it */
#define APPLY_PER_INVOCATION GV_GROUP_NORM_APPLY_TEXELS_PER_INVOCATION

/* chunk statistics of every segment (a group of channels of one image) into @part */
static void
record_partials (GvCmd *cmd, GvTensor *in, GvTensor *part, gint64 n_seg, guint32 seg_len,
    guint32 chunk, guint32 cps, gboolean vec4, gboolean gpu)
{
  guint vec = vec4 ? 4 : 1;
  guint wg = gpu ? GPU_GROUP : CPU_GROUP;
  guint32 spec[4] = { wg, gpu ? wg : 1, 0, 0 };
  GvKernel *k = gv_op_kernel (cmd, vec4 ? GV_KERNEL_GROUP_NORM_PARTIAL_VEC4 :
      GV_KERNEL_GROUP_NORM_PARTIAL_F32, spec, 4);
  if (k == NULL)
    return;

  gint64 max_texels = gv_op_max_elements (cmd, vec4 ? GV_BIND_TEXEL_RGBA32F :
      GV_BIND_TEXEL_R32F, vec * 4);
  gint64 segs_per = max_texels / seg_len;
  if (segs_per < 1) {
    gv_op_fail_shapes (cmd, "group_norm", "one group of one image exceeds a binding", 1, &in);
    return;
  }
  for (gint64 first = 0; first < n_seg; first += segs_per) {
    gint64 n = MIN (segs_per, n_seg - first);
    GvBinding bind[2] = {
      gv_tensor_bind_range (in, first * seg_len * vec, n * seg_len * vec, FALSE),
      gv_tensor_bind (part, TRUE),
    };
    GvGroupNormPartialParams p = {
      seg_len, chunk, cps, (guint32) first, (guint32) (first * cps), (guint32) (n * cps),
    };
    guint gx, gy;
    gv_op_grid_1d (cmd, n * cps, gpu ? 1 : wg, &gx, &gy);
    gv_cmd_dispatch (cmd, k, bind, &p, gx, gy, 1);
  }
}

gboolean
gv_op_group_norm_check (GvCmd *cmd, const gchar *name, GvTensor *out, GvTensor *in,
    GvTensor *gamma, GvTensor *beta, gint groups, gint frames)
{
  GvTensor *all[4] = { out, in, gamma, beta };
  GvTensor *ts[4];
  guint n_ts = 0;
  for (guint i = 0; i < 4; i++)
    if (i < 2 || all[i] != NULL)
      ts[n_ts++] = all[i];
  if (!gv_tensors_ready (cmd, name, n_ts, ts) ||
      !gv_op_check_f32 (cmd, name, n_ts, ts))
    return FALSE;

  if (in->ndim < 2 || !gv_tensor_same_shape (out, in)) {
    gv_op_fail_shapes (cmd, name, "in must be [N, C, ...] and out of its shape", 4, all);
    return FALSE;
  }
  gint64 n_img = in->shape[0], channels = in->shape[1];
  if (groups < 1 || channels % groups != 0 || frames < 1 || n_img % frames != 0) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "%s: %" G_GINT64_FORMAT " channels in %d "
        "groups, %" G_GINT64_FORMAT " images in clips of %d frames", name, channels, groups, n_img,
        frames);
    return FALSE;
  }
  if ((gamma && gamma->numel != channels) || (beta && beta->numel != channels)) {
    gv_op_fail_shapes (cmd, name, "gamma and beta must have C elements", 4, all);
    return FALSE;
  }
  if (in->numel > G_MAXUINT32) {
    gv_op_fail_shapes (cmd, name, "more than 2^32 elements", 4, all);
    return FALSE;
  }
  return TRUE;
}

/* Stages 1 and 2: the table (K, A, scale, shift) of every plane of @in [N, C, S] (shapes
 * checked by the caller); NULL with @cmd failed. */
GvTensor *
gv_op_group_norm_table (GvCmd *cmd, GvTensor *in, GvTensor *gamma, GvTensor *beta,
    gint groups, gint frames, gfloat eps, gboolean vec4)
{
  gboolean gpu = gv_device_get_kernel_path (gv_cmd_get_device (cmd)) == GV_KERNEL_PATH_GPU;
  gint64 n_img = in->shape[0], channels = in->shape[1];
  gint64 plane = in->numel / (n_img * channels);
  guint vec = vec4 ? 4 : 1;
  gint64 cpg = channels / groups;
  guint32 seg_len = (guint32) (cpg * plane / vec);
  guint32 chunk = gpu ? GPU_GROUP * 4 : CPU_CHUNK / vec;
  guint32 cps = (guint32) gv_div_up (seg_len, chunk);
  gint64 n_seg = n_img * groups;
  gint64 n_stats = n_img / frames * groups;

  /* 1: partials (hi, lo, M2, count) per chunk; 2: (K, A, scale, shift) per plane */
  gint64 n_planes = n_img * channels;
  GvTensor *part = GV_TENSOR (cmd, n_seg * cps * 4);
  GvTensor *table = GV_TENSOR (cmd, n_planes * 4);
  if (gv_cmd_failed (cmd))
    goto fail;
  record_partials (cmd, in, part, n_seg, seg_len, chunk, cps, vec4, gpu);

  guint32 spec_final[4] = { 64, 1, (gamma ? 1 : 0) | (beta ? 2 : 0), 0 };
  GvKernel *kf = gv_op_kernel (cmd, GV_KERNEL_GROUP_NORM_FINAL, spec_final, 4);
  if (kf == NULL)
    goto fail;
  GvGroupNormFinalParams fp = {
    (guint32) n_stats, (guint32) groups, (guint32) frames, cps, (guint32) cpg, eps,
  };
  GvBinding bf[4] = {
    gv_tensor_bind (part, FALSE),
    gv_tensor_bind (gamma ? gamma : part, FALSE),
    gv_tensor_bind (beta ? beta : part, FALSE),
    gv_tensor_bind (table, TRUE),
  };
  guint gx, gy;
  gv_op_grid_1d (cmd, n_stats, 64, &gx, &gy);
  gv_cmd_dispatch (cmd, kf, bf, &fp, gx, gy, 1);
  gv_tensor_unref (part);
  return table;

fail:
  gv_tensor_unref (part);
  gv_tensor_unref (table);
  return NULL;
}

void
gv_op_group_norm (GvCmd *cmd, GvTensor *out, GvTensor *in, GvTensor *gamma, GvTensor *beta,
    gint groups, gint frames, gfloat eps, gboolean silu)
{
  GvTensor *all[4] = { out, in, gamma, beta };
  if (!gv_op_group_norm_check (cmd, "group_norm", out, in, gamma, beta, groups, frames))
    return;
  gint64 n_img = in->shape[0], channels = in->shape[1];
  gint64 plane = in->numel / (n_img * channels);
  gboolean gpu = gv_device_get_kernel_path (gv_cmd_get_device (cmd)) == GV_KERNEL_PATH_GPU;
  gboolean vec4 = plane % 4 == 0 && gv_op_aligned16 (in) && gv_op_aligned16 (out);
  guint vec = vec4 ? 4 : 1;
  guint wg = gpu ? GPU_GROUP : CPU_GROUP;
  gint64 n_planes = n_img * channels;
  guint gx;
  GvTensor *table = gv_op_group_norm_table (cmd, in, gamma, beta, groups, frames, eps, vec4);
  if (table == NULL)
    return;

  /* 3: normalise plane by plane, as many planes per dispatch as one binding holds */
  guint32 spec_apply[4] = { wg, 1, 0, silu ? 1 : 0 };
  GvKernel *ka = gv_op_kernel (cmd, vec4 ? GV_KERNEL_GROUP_NORM_APPLY_VEC4 :
      GV_KERNEL_GROUP_NORM_APPLY_F32, spec_apply, 4);
  if (ka == NULL)
    goto done;
  gint64 max_elems = MIN (gv_op_max_elements (cmd, GV_BIND_BUFFER, 4),
      gv_op_max_elements (cmd, vec4 ? GV_BIND_TEXEL_RGBA32F : GV_BIND_TEXEL_R32F, vec * 4) * vec);
  gint64 planes_per = max_elems / plane;
  guint32 plane_len = (guint32) (plane / vec);
  gx = (guint) gv_div_up (plane_len, wg * APPLY_PER_INVOCATION);
  if (planes_per < 1 || gx > gv_op_max_groups (cmd, 0)) {
    gv_op_fail_shapes (cmd, "group_norm", "one channel plane is too large", 4, all);
    goto done;
  }
  for (gint64 first = 0; first < n_planes; first += planes_per) {
    gint64 n = MIN (planes_per, n_planes - first);
    GvBinding ba[3] = {
      gv_tensor_bind_range (in, first * plane, n * plane, FALSE),
      gv_tensor_bind (table, FALSE),
      gv_tensor_bind_range (out, first * plane, n * plane, TRUE),
    };
    GvGroupNormApplyParams ap = { plane_len, (guint32) first, (guint32) n };
    guint gyy, gz;
    gv_op_grid_yz (cmd, n, &gyy, &gz);
    gv_cmd_dispatch (cmd, ka, ba, &ap, gx, gyy, gz);
  }

done:
  gv_tensor_unref (table);
}
