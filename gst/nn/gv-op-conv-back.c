/* Backward of conv2d per image. dW by its own implicit-GEMM kernels (no column matrix:
 * shaders/conv2d_back_dw_cpu.comp, conv2d_back_dw_gpu.comp), or where their shapes do not
 * apply, dy[n] @ im2col (x[n])^T on the GEMM, summed over the images in order. dx: at stride 1 the forward conv2d of dy with flipped weights (its fast row
 * kernel); otherwise col2im (weight^T @ dy[n]) on the GEMM. The GEMM's and conv2d's
 * register-tiled (CPU) and shared-memory (GPU) kernels do the work; the column matrices are
 * plain gathers (shaders/conv2d_back_im2col.comp, conv2d_back_col2im.comp). */
#include "nn/gv-op-conv-back.h"
#include "nn/gv-op-gemm.h"
#include "nn/gv-op-layout.h"
#include "nn/gv-op-matmul.h"
#include "nn/gv-op-sum.h"
#include "nn/gv-op-util.h"

#include "kernel-params.h"

typedef struct {
  gint64 n, c, h, w, co, kh, kw, ho, wo;
  gint stride, pad_top, pad_left;
  gboolean direct;     /* 1x1, stride 1, no padding: the column matrix is the image */
} Geometry;

/* FALSE (and @cmd failed) unless img [N, C, H, W], weight [Co, C, kh, kw] and dy [N, Co, Ho,
 * Wo] describe one convolution with @args */
static gboolean
geometry (GvCmd *cmd, const gchar *op, GvTensor *img, GvTensor *weight, GvTensor *dy,
    const GvConvArgs *args, Geometry *g)
{
  GvTensor *ts[3] = { img, weight, dy };

  if (!gv_tensors_ready (cmd, op, 3, ts) || !gv_op_check_f32 (cmd, op, 3, ts))
    return FALSE;
  if (args == NULL || img->ndim != 4 || weight->ndim != 4 || dy->ndim != 4 ||
      args->stride <= 0 || args->pad_top < 0 || args->pad_bottom < 0 || args->pad_left < 0 ||
      args->pad_right < 0) {
    gv_op_fail_shapes (cmd, op, "needs the forward's args, 4-D tensors, a positive stride and "
        "padding >= 0", 3, ts);
    return FALSE;
  }
  *g = (Geometry) {
    .n = img->shape[0], .c = img->shape[1], .h = img->shape[2], .w = img->shape[3],
    .co = weight->shape[0], .kh = weight->shape[2], .kw = weight->shape[3],
    .stride = args->stride, .pad_top = args->pad_top, .pad_left = args->pad_left,
  };
  gint64 hp = g->h + args->pad_top + args->pad_bottom, wp = g->w + args->pad_left +
      args->pad_right;
  g->ho = (hp - g->kh) / g->stride + 1;
  g->wo = (wp - g->kw) / g->stride + 1;
  g->direct = g->kh == 1 && g->kw == 1 && g->stride == 1 && hp == g->h && wp == g->w;
  if (weight->shape[1] != g->c || hp < g->kh || wp < g->kw || dy->shape[0] != g->n ||
      dy->shape[1] != g->co || dy->shape[2] != g->ho || dy->shape[3] != g->wo) {
    gv_op_fail_shapes (cmd, op, "shapes do not match (image, weight, dy)", 3, ts);
    return FALSE;
  }
  return TRUE;
}

static GvIm2colParams
im2col_params (const Geometry *g, gboolean accumulate)
{
  return (GvIm2colParams) {
    .c = g->c, .h = g->h, .w = g->w, .kh = g->kh, .kw = g->kw, .ho = g->ho, .wo = g->wo,
    .stride = g->stride, .pad_top = g->pad_top, .pad_left = g->pad_left,
    .accumulate = accumulate,
  };
}

/* col2im binds the column gradient of one image whole */
static gboolean
fits (GvCmd *cmd, const gchar *op, const Geometry *g, GvTensor *img, GvTensor *weight,
    GvTensor *dy)
{
  gint64 lim = gv_op_max_elements (cmd, GV_BIND_BUFFER, 4);
  if (g->c * g->kh * g->kw * g->ho * g->wo <= lim)
    return TRUE;
  GvTensor *ts[3] = { img, weight, dy };
  gv_op_fail_shapes (cmd, op, "one image's column matrix is larger than a binding", 3, ts);
  return FALSE;
}

/* records @id, @count invocations reading @src and writing @dst, with parameters @p */
static void
one_pass (GvCmd *cmd, GvKernelId id, GvTensor *dst, GvTensor *src, gint64 count,
    gconstpointer p)
{
  GvKernel *k = gv_op_kernel (cmd, id, NULL, 0);
  if (k == NULL)
    return;
  GvBinding bind[2] = { gv_tensor_bind (src, FALSE), gv_tensor_bind (dst, TRUE) };
  guint gx, gy;
  gv_op_grid_1d (cmd, count, 64, &gx, &gy);
  gv_cmd_dispatch (cmd, k, bind, p, gx, gy, 1);
}

void
gv_op_conv2d_backward_input (GvCmd *cmd, GvTensor *dx, GvTensor *dy, GvTensor *weight,
    const GvConvArgs *args, gboolean accumulate)
{
  const gchar *op = "conv2d_backward_input";
  Geometry g;

  if (!geometry (cmd, op, dx, weight, dy, args, &g))
    return;
  gint64 taps = g.c * g.kh * g.kw, p_out = g.ho * g.wo, plane = g.h * g.w;
  GvTensor *w2 = GV_VIEW (weight, 0, g.co, taps);
  if (g.direct) {
    /* dx[n] [C, P] = weight^T [C, Co] @ dy[n] [Co, P], every image in one GEMM */
    GvTensor *dx3 = GV_VIEW (dx, 0, g.n, g.c, plane);
    GvTensor *dy3 = GV_VIEW (dy, 0, g.n, g.co, p_out);
    GvMatmulArgs margs = { .trans_a = TRUE, .residual = accumulate ? dx3 : NULL };
    gv_op_matmul (cmd, dx3, w2, dy3, &margs);
    gv_tensor_unref (dx3);
    gv_tensor_unref (dy3);
  } else if (g.stride == 1 && args->pad_top < g.kh && args->pad_bottom < g.kh &&
      args->pad_left < g.kw && args->pad_right < g.kw) {
    /* the forward conv2d (its row kernel) of dy with the flipped, transposed weights and the
     * complementary padding */
    GvTensor *wt = GV_TENSOR (cmd, g.c, g.co, g.kh, g.kw);
    GvConvFlipParams fp = { .c = g.c, .co = g.co, .kh = g.kh, .kw = g.kw };
    GvConvArgs t = { .stride = 1, .pad_top = g.kh - 1 - args->pad_top,
      .pad_bottom = g.kh - 1 - args->pad_bottom, .pad_left = g.kw - 1 - args->pad_left,
      .pad_right = g.kw - 1 - args->pad_right, .residual = accumulate ? dx : NULL };
    one_pass (cmd, GV_KERNEL_CONV2D_BACK_FLIP, wt, weight, weight->numel, &fp);
    gv_op_conv2d (cmd, dx, dy, wt, &t);
    gv_tensor_unref (wt);
  } else if (g.n > 0 && fits (cmd, op, &g, dx, weight, dy)) {
    GvTensor *dcol = GV_TENSOR (cmd, taps, p_out);
    GvIm2colParams p = im2col_params (&g, accumulate);
    for (gint64 i = 0; i < g.n; i++) {
      GvTensor *dyi = GV_VIEW (dy, i * g.co * p_out, g.co, p_out);
      GvTensor *dxi = GV_VIEW (dx, i * g.c * plane, g.c, plane);
      GvMatmulArgs margs = { .trans_a = TRUE };
      gv_op_matmul (cmd, dcol, w2, dyi, &margs);
      one_pass (cmd, GV_KERNEL_CONV2D_BACK_COL2IM, dxi, dcol, g.c * plane, &p);
      gv_tensor_unref (dyi);
      gv_tensor_unref (dxi);
    }
    gv_tensor_unref (dcol);
  }
  gv_tensor_unref (w2);
}

/* the rows of input channels [c0, c0 + nc) of image @xi's column matrix into @col (which
 * holds just those) */
static void
im2col (GvCmd *cmd, GvTensor *col, GvTensor *xi, const Geometry *g, gint64 c0, gint64 nc)
{
  GvKernel *k = gv_op_kernel (cmd, GV_KERNEL_CONV2D_BACK_IM2COL, NULL, 0);
  if (k == NULL)
    return;
  gint64 p_out = g->ho * g->wo;
  GvIm2colParams p = im2col_params (g, FALSE);
  p.c0 = c0;
  p.channels = nc;
  GvBinding bind[2] = { gv_tensor_bind (xi, FALSE), gv_tensor_bind (col, TRUE) };
  guint gy, gz;
  gv_op_grid_yz (cmd, nc, &gy, &gz);
  gv_cmd_dispatch (cmd, k, bind, &p, gv_div_up (p_out, 64), gy, gz);
}

/* the implicit-GEMM dW kernels: workgroups wanted before the reduction is split into parts
 * (summed in order afterwards), at most this many parts of at least this many steps */
#define DW_MIN_GROUPS 32
#define DW_MAX_PARTS 8
#define DW_MIN_STEPS 64

enum { DW_BIND_X, DW_BIND_DY, DW_BIND_RES, DW_BIND_OUT, DW_N_BINDS };

/* dweight by the implicit-GEMM kernels; FALSE (nothing recorded) where their shapes do not
 * apply: the CPU kernel reads x rows as aligned vec4 windows like the forward's row kernel
 * and holds kernels up to 3 x 3 */
static gboolean
weight_implicit (GvCmd *cmd, GvTensor *dweight, GvTensor *dy, GvTensor *x, const Geometry *g,
    gboolean accumulate)
{
  gboolean cpu = gv_op_use_cpu_kernels (cmd);
  gint64 kk = g->kh * g->kw, plane = g->h * g->w, p_out = g->ho * g->wo;
  gint64 out_n = g->co * g->c * kk;
  gint64 window = 7 * g->stride + g->kw + (g->pad_left > 0 ? 4 : 0) - g->pad_left;

  if (g->n == 0 || g->c == 0 || g->co == 0 || p_out == 0 || g->pad_left > 255 ||
      g->stride > 0xffffff)
    return FALSE;
  if (cpu && !(g->stride <= 2 && g->w % 4 == 0 && x->offset % 16 == 0 && g->pad_left <= 4 &&
          g->kh <= 3 && g->kw <= 3 && window <= 24))
    return FALSE;
  /* dy rows as vec4 where they are whole texels */
  gboolean dyv = g->wo % 4 == 0 && dy->offset % 16 == 0;
  GvKernelId id = !cpu ? GV_KERNEL_CONV2D_BACK_DW_GPU : dyv ? GV_KERNEL_CONV2D_BACK_DW_CPU_DY_VEC4
      : GV_KERNEL_CONV2D_BACK_DW_CPU_DY_F32;
  const GvShader *shader = &gv_kernels[id];
  gint64 lim_x = gv_op_gemm_max_floats (cmd, shader->kinds[DW_BIND_X]);
  gint64 lim_dy = gv_op_gemm_max_floats (cmd, shader->kinds[DW_BIND_DY]);
  gint64 lim_o = MIN (gv_op_gemm_max_floats (cmd, shader->kinds[DW_BIND_OUT]),
      gv_op_gemm_max_floats (cmd, shader->kinds[DW_BIND_RES]));
  /* images per dispatch (later dispatches add to the earlier ones, in order) */
  gint64 per_disp = MIN (lim_x / (g->c * plane), lim_dy / (g->co * p_out));
  /* reduction steps: 8-pixel groups of an output row (cpu), pixels (gpu) */
  gint64 steps_img = cpu ? g->ho * gv_div_up (g->wo, 8) : p_out;
  guint gx = gv_div_up (cpu ? g->c : g->c * kk, cpu ? 8 : 64), gy = gv_div_up (g->co, 64);
  if (per_disp == 0 || out_n > lim_o || steps_img * MIN (per_disp, g->n) > G_MAXUINT32 ||
      gx > gv_op_max_groups (cmd, 0) || gy > gv_op_max_groups (cmd, 1))
    return FALSE;

  /* few output tiles (few channels): the reduction in parts that run in parallel */
  gint64 steps = g->n * steps_img, parts = 1;
  if (per_disp >= g->n) {
    parts = CLAMP (DW_MIN_GROUPS / ((gint64) gx * gy), 1, DW_MAX_PARTS);
    parts = MAX (MIN (parts, MIN (steps / DW_MIN_STEPS, lim_o / out_n)), 1);
  }
  gint64 per_part = gv_div_up (steps, parts);
  parts = gv_div_up (steps, per_part);
  GvTensor *part = parts > 1 ? GV_TENSOR (cmd, parts, out_n) : NULL;

  for (gint64 z0 = 0; z0 < g->n; z0 += per_disp) {
    gint64 nz = MIN (per_disp, g->n - z0);
    gboolean has_res = !part && (accumulate || z0 > 0);
    guint32 spec[4] = { g->kh, g->kw, g->pad_left | g->stride << 8, has_res };
    GvKernel *kernel = gv_op_kernel (cmd, id, spec, 4);
    if (kernel == NULL)
      break;
    GvConvBackWeightParams p = {
      .h = g->h, .w = g->w, .c = g->c, .ho = g->ho, .wo = g->wo, .co = g->co,
      .pad_top = g->pad_top, .in_img = g->c * plane, .dy_img = g->co * p_out,
      .images = nz, .per_part = part ? per_part : nz * steps_img, .out_part = out_n,
    };
    GvBinding bind[DW_N_BINDS];
    bind[DW_BIND_X] = gv_tensor_bind_range (x, z0 * g->c * plane, nz * g->c * plane, FALSE);
    bind[DW_BIND_DY] = gv_tensor_bind_range (dy, z0 * g->co * p_out, nz * g->co * p_out,
        FALSE);
    bind[DW_BIND_RES] = has_res ? gv_tensor_bind (dweight, FALSE) : bind[DW_BIND_DY];
    bind[DW_BIND_OUT] = gv_tensor_bind (part ? part : dweight, TRUE);
    gv_cmd_dispatch (cmd, kernel, bind, &p, gx, gy, (guint) parts);
  }
  if (part) {
    gv_op_sum_strided (cmd, "conv2d_backward_weight", dweight, part, 1, parts, out_n, 1, 0,
        accumulate);
    gv_tensor_unref (part);
  }
  return TRUE;
}

void
gv_op_conv2d_backward_weight (GvCmd *cmd, GvTensor *dweight, GvTensor *dy, GvTensor *x,
    const GvConvArgs *args, gboolean accumulate)
{
  const gchar *op = "conv2d_backward_weight";
  Geometry g;

  if (!geometry (cmd, op, x, dweight, dy, args, &g))
    return;
  if (!g.direct && weight_implicit (cmd, dweight, dy, x, &g, accumulate))
    return;
  gint64 taps = g.c * g.kh * g.kw, p_out = g.ho * g.wo, plane = g.h * g.w;
  /* input channels per part: their column-matrix rows fit a binding */
  gint64 kk = g.kh * g.kw, lim = gv_op_max_elements (cmd, GV_BIND_BUFFER, 4);
  gint64 part = MIN (g.c, lim / MAX (kk * p_out, 1));
  if (gv_div_up (p_out, 64) > gv_op_max_groups (cmd, 0) || (g.c > 0 && part == 0)) {
    GvTensor *ts[3] = { x, dweight, dy };
    gv_op_fail_shapes (cmd, op, "one image's output is larger than a binding", 3, ts);
    return;
  }

  /* dW^T [taps, Co] = sum over images of col[n] [taps, P] @ dy[n]^T: the GEMM's fast
   * orientation (its rows split by taps, dy bound whole), then one transpose into dW */
  GvTensor *dwt = GV_TENSOR (cmd, taps, g.co);
  GvTensor *col = g.direct || g.c == 0 ? NULL : GV_TENSOR (cmd, part * kk, p_out);
  for (gint64 i = 0; i < g.n; i++) {
    GvTensor *dyi = GV_VIEW (dy, i * g.co * p_out, g.co, p_out);
    GvTensor *xi = GV_VIEW (x, i * g.c * plane, g.c, plane);
    for (gint64 c0 = 0; c0 < g.c; c0 += part) {
      gint64 nr = MIN (part, g.c - c0) * kk, r0 = c0 * kk;
      GvTensor *a = col ? GV_VIEW (col, 0, nr, p_out) : GV_VIEW (xi, r0 * p_out, nr, p_out);
      GvTensor *out = GV_VIEW (dwt, r0 * g.co, nr, g.co);
      if (col)
        im2col (cmd, a, xi, &g, c0, nr / kk);
      GvMatmulArgs margs = { .trans_b = TRUE, .residual = i > 0 ? out : NULL };
      gv_op_matmul (cmd, out, a, dyi, &margs);
      gv_tensor_unref (a);
      gv_tensor_unref (out);
    }
    gv_tensor_unref (dyi);
    gv_tensor_unref (xi);
  }
  GvTensor *dw2 = GV_VIEW (dweight, 0, g.co, taps);
  if (g.n == 0)
    gv_tensor_record_fill (cmd, dwt, 0.0f);
  if (accumulate) {
    GvTensor *t = GV_TENSOR (cmd, g.co, taps);
    gv_op_permute (cmd, t, dwt, (const gint[]) { 1, 0 });
    gv_op_add (cmd, dw2, dw2, t);
    gv_tensor_unref (t);
  } else {
    gv_op_permute (cmd, dw2, dwt, (const gint[]) { 1, 0 });
  }
  g_clear_pointer (&col, gv_tensor_unref);
  gv_tensor_unref (dwt);
  gv_tensor_unref (dw2);
}

void
gv_op_conv2d_backward_bias (GvCmd *cmd, GvTensor *dbias, GvTensor *dy, gboolean accumulate)
{
  gv_op_sum_channels (cmd, "conv2d_backward_bias", dbias, dy, accumulate);
}

void
gv_op_conv2d_backward_add (GvCmd *cmd, GvTensor *dadd, GvTensor *dy, gboolean accumulate)
{
  GvTensor *ts[2] = { dadd, dy };

  if (!gv_tensors_ready (cmd, "conv2d_backward_add", 2, ts))
    return;
  if (dy->ndim != 4 || dadd->numel != dy->shape[0] * dy->shape[1]) {
    gv_op_fail_shapes (cmd, "conv2d_backward_add", "needs dy [N, Co, Ho, Wo] and dadd [N, Co]",
        2, ts);
    return;
  }
  gint64 s = dy->shape[2] * dy->shape[3];
  gv_op_sum_strided (cmd, "conv2d_backward_add", dadd, dy, s, s, 1, 1, 0, accumulate);
}
