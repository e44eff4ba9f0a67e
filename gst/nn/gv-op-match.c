/* Feature matching for latent correction (nearest neighbour by cosine similarity) and the
 * noise difference of InvEdit masks (mean over channels of |a - b|).
 *
 * The search never forms the similarity matrix: a first pass computes the inverse norms of
 * every feature vector, 1 / max (|x|, 1e-8) (the clamp of torch.nn.functional.
 * cosine_similarity, so a zero vector has cosine 0 with everything instead of NaN), then a
 * register-tiled (CPU) or shared-memory-tiled (GPU) GEMM keeps a running argmax per position.
 * Dispatches are split over frames so that every binding fits the device's limits. */
#include "nn/gv-op-match.h"
#include "nn/gv-op-util.h"

#include "kernel-params.h"

#define COS_EPS 1e-8f

#define CPU_MP 16       /* positions of a per subgroup (nn_search_cpu.comp) */
#define CPU_NQL 16      /* candidates per lane and tile */
#define CPU_WGY 8       /* subgroups per workgroup */
#define GPU_BP 64       /* positions of a per workgroup (nn_search_gpu.comp) */

/* Frames per dispatch such that @frame_texels texels of every texel binding and @frame_elems
 * elements of every buffer binding fit; 0 (and @cmd failed) when one frame does not. */
static gint64
frames_per_dispatch (GvCmd *cmd, const gchar *op, gint64 frame_texels, GvBindKind kind,
    guint texel_bytes, gint64 frame_elems)
{
  gint64 n = MIN (gv_op_max_elements (cmd, kind, texel_bytes) / frame_texels,
      gv_op_max_elements (cmd, GV_BIND_BUFFER, 4) / frame_elems);
  if (n < 1)
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "%s: one frame is larger than a binding may be", op);
  return n;
}

/* match_reduce.comp with @kind GV_MATCH_INV_NORMS: inverse norms into @out [N, 2, S];
 * GV_MATCH_NOISE_DIFF: mean |a - b|. */
static void
channel_reduce (GvCmd *cmd, const gchar *op, guint32 kind, GvTensor *out, GvTensor *a,
    GvTensor *b, gint64 N, gint64 C, gint64 S, gboolean accumulate)
{
  GvKernel *k = gv_op_kernel (cmd, GV_KERNEL_MATCH_REDUCE, &kind, 1);
  gint64 out_per_frame = kind == GV_MATCH_INV_NORMS ? 2 * S : S;
  gint64 step = frames_per_dispatch (cmd, op, C * S, GV_BIND_TEXEL_R32F, 4, out_per_frame);
  if (k == NULL || step < 1)
    return;
  GvMatchReduceParams p = {
    .c = (guint32) C, .s = (guint32) S, .accumulate = accumulate ? 1 : 0, .eps = COS_EPS,
  };
  for (gint64 n0 = 0; n0 < N; n0 += step) {
    gint64 nn = MIN (step, N - n0);
    GvBinding bind[3] = {
      gv_tensor_bind_range (a, n0 * C * S, nn * C * S, FALSE),
      gv_tensor_bind_range (b, n0 * C * S, nn * C * S, FALSE),
      gv_tensor_bind_range (out, n0 * out_per_frame, nn * out_per_frame, TRUE),
    };
    p.count = (guint32) (nn * S);
    guint gx, gy;
    gv_op_grid_1d (cmd, nn * S, 64, &gx, &gy);
    gv_cmd_dispatch (cmd, k, bind, &p, gx, gy, 1);
  }
}

void
gv_op_nn_search (GvCmd *cmd, GvTensor *index, GvTensor *score, GvTensor *a, GvTensor *b,
    gint radius)
{
  GvTensor *ts[4] = { a, b, index, score ? score : index };

  if (!gv_tensors_ready (cmd, "nn_search", 4, ts) || !gv_op_check_f32 (cmd, "nn_search", 2, ts))
    return;
  if (a->ndim != 4 || !gv_tensor_same_shape (a, b) || index->dtype != GV_DTYPE_I32 ||
      index->numel != a->shape[0] * a->shape[2] * a->shape[3] ||
      (score && (score->dtype != GV_DTYPE_F32 || score->numel != index->numel)) || radius < 0) {
    gv_op_fail_shapes (cmd, "nn_search", "expected a and b [N, C, H, W], int32 index and float "
        "score of N*H*W elements, radius >= 0", 4, ts);
    return;
  }
  gint64 N = a->shape[0], C = a->shape[1], H = a->shape[2], W = a->shape[3], S = H * W;
  if (radius >= MAX (H, W))
    radius = 0;     /* the window covers the frame: search all of it */

  GvDevice *dev = gv_cmd_get_device (cmd);
  const GvDeviceLimits *lim = gv_device_get_limits (dev);
  gboolean cpu = gv_device_get_kernel_path (dev) == GV_KERNEL_PATH_CPU &&
      lim->subgroup_size == 8 && lim->subgroup_shuffle;
  gboolean vec4 = cpu && radius == 0 && S % 4 == 0 && gv_op_aligned16 (a) && gv_op_aligned16 (b);
  GvKernelId id = !cpu ? GV_KERNEL_NN_SEARCH_GPU : vec4 ? GV_KERNEL_NN_SEARCH_CPU_VEC4 :
      GV_KERNEL_NN_SEARCH_CPU_F32;
  guint32 spec[3] = { CPU_MP, CPU_NQL, CPU_WGY };
  GvKernel *k = cpu ? gv_op_kernel (cmd, id, spec, 3) : gv_op_kernel (cmd, id, NULL, 0);
  if (k == NULL)
    return;
  gint64 block = cpu ? CPU_MP : GPU_BP;
  guint texw = vec4 ? 4 : 1;
  gint64 step = frames_per_dispatch (cmd, "nn_search", C * S / texw,
      vec4 ? GV_BIND_TEXEL_RGBA32F : GV_BIND_TEXEL_R32F, 4 * texw, 2 * S);
  if (step < 1)
    return;

  GvTensor *inv = GV_TENSOR (cmd, N, 2, S);
  GvTensor *tmp_score = score ? NULL : gv_tensor_alloc (cmd, 2, (const gint64[]) { N, S });
  GvTensor *out_score = score ? score : tmp_score;
  if (inv->mem != NULL && out_score->mem != NULL) {
    channel_reduce (cmd, "nn_search", GV_MATCH_INV_NORMS, inv, a, b, N, C, S, FALSE);
    GvNnSearchParams p = {
      .c = (guint32) C, .s = (guint32) S, .h = (guint32) H, .w = (guint32) W,
      .radius = (guint32) radius, .nblocks = (guint32) gv_div_up (S, block),
    };
    for (gint64 n0 = 0; n0 < N; n0 += step) {
      gint64 nn = MIN (step, N - n0);
      GvBinding bind[5] = {
        gv_tensor_bind_range (a, n0 * C * S, nn * C * S, FALSE),
        gv_tensor_bind_range (b, n0 * C * S, nn * C * S, FALSE),
        gv_tensor_bind_range (inv, n0 * 2 * S, nn * 2 * S, FALSE),
        gv_tensor_bind_range (index, n0 * S, nn * S, TRUE),
        gv_tensor_bind_range (out_score, n0 * S, nn * S, TRUE),
      };
      gint64 tasks = nn * p.nblocks;
      p.tasks = (guint32) tasks;
      guint gx, gy;
      gv_op_grid_1d (cmd, gv_div_up (tasks, cpu ? CPU_WGY : 1), 1, &gx, &gy);
      gv_cmd_dispatch (cmd, k, bind, &p, gx, gy, 1);
    }
  }
  gv_tensor_unref (inv);
  if (tmp_score)
    gv_tensor_unref (tmp_score);
}

void
gv_op_mean_abs_diff (GvCmd *cmd, GvTensor *out, GvTensor *a, GvTensor *b, gboolean accumulate)
{
  GvTensor *ts[3] = { out, a, b };

  if (!gv_tensors_ready (cmd, "mean_abs_diff", 3, ts) ||
      !gv_op_check_f32 (cmd, "mean_abs_diff", 3, ts))
    return;
  if (a->ndim != 3 || !gv_tensor_same_shape (a, b) || out->ndim != 2 ||
      out->shape[0] != a->shape[0] || out->shape[1] != a->shape[2]) {
    gv_op_fail_shapes (cmd, "mean_abs_diff", "expected a and b [N, C, S], out [N, S]", 3, ts);
    return;
  }
  channel_reduce (cmd, "mean_abs_diff", GV_MATCH_NOISE_DIFF, out, a, b, a->shape[0],
      a->shape[1], a->shape[2], accumulate);
}
