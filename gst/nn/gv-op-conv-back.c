/* Backward of conv2d per image. dW = dy[n] @ im2col (x[n])^T on the GEMM, summed over the
 * images in order. dx: at stride 1 the forward conv2d of dy with flipped weights (its fast row
 * kernel); otherwise col2im (weight^T @ dy[n]) on the GEMM. The GEMM's and conv2d's
 * register-tiled (CPU) and shared-memory (GPU) kernels do the work; the column matrices are
 * plain gathers (shaders/conv2d_back_im2col.comp, conv2d_back_col2im.comp). */
#include "nn/gv-op-conv-back.h"
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

void
gv_op_conv2d_backward_weight (GvCmd *cmd, GvTensor *dweight, GvTensor *dy, GvTensor *x,
    const GvConvArgs *args, gboolean accumulate)
{
  const gchar *op = "conv2d_backward_weight";
  Geometry g;

  if (!geometry (cmd, op, x, dweight, dy, args, &g))
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
