/* Backward of linear and of the pixel forms of linear: products on the GEMM (gv_op_matmul, its
 * transposed operands, batch broadcast and a residual that is the output for accumulation),
 * bias gradients on the strided sum. */
#include "nn/gv-op-matmul-back.h"
#include "nn/gv-op-gemm.h"
#include "nn/gv-op-sum.h"
#include "nn/gv-op-util.h"

/* linear dW: outputs (N * K) up to which, and rows per part from which, the rows are split
 * into SPLIT parts (measured on lavapipe: 4096 x 320 -> 320 went from ~42 to ~54 GFLOP/s,
 * while 1024 x 1280 -> 1280, which has tiles enough, lost speed) */
#define SPLIT 4
#define SPLIT_MAX_OUT (512 * 512)
#define SPLIT_MIN_ROWS 512

/* FALSE (and @cmd failed) unless the tensors exist, are f32 and weight is [N, K] with dy's last
 * dimension N; @rows receives dy's leading rows */
static gboolean
check_linear (GvCmd *cmd, const gchar *op, GvTensor *grad, GvTensor *dy, GvTensor *weight_like,
    gint64 n, gint64 *rows)
{
  GvTensor *ts[3] = { grad, dy, weight_like ? weight_like : dy };

  if (!gv_tensors_ready (cmd, op, 3, ts) || !gv_op_check_f32 (cmd, op, 3, ts))
    return FALSE;
  if (dy->ndim < 1 || n <= 0 || dy->shape[dy->ndim - 1] != n) {
    gv_op_fail_shapes (cmd, op, "dy's last dimension must be the layer's outputs", 3, ts);
    return FALSE;
  }
  *rows = dy->numel / n;
  return TRUE;
}

void
gv_op_linear_backward_input (GvCmd *cmd, GvTensor *dx, GvTensor *dy, GvTensor *weight,
    gboolean accumulate)
{
  gint64 rows;

  if (!check_linear (cmd, "linear_backward_input", dx, dy, weight,
          weight && weight->ndim == 2 ? weight->shape[0] : -1, &rows))
    return;
  gint64 k = weight->shape[1];
  if (dx->numel != rows * k || dx->shape[dx->ndim - 1] != k) {
    GvTensor *ts[3] = { dx, dy, weight };
    gv_op_fail_shapes (cmd, "linear_backward_input", "dx must be [..., K] with dy's rows", 3,
        ts);
    return;
  }
  GvTensor *dx2 = GV_VIEW (dx, 0, rows, k);
  GvTensor *dy2 = GV_VIEW (dy, 0, rows, weight->shape[0]);
  GvMatmulArgs args = { .residual = accumulate ? dx2 : NULL };
  gv_op_matmul (cmd, dx2, dy2, weight, &args);
  gv_tensor_unref (dx2);
  gv_tensor_unref (dy2);
}

void
gv_op_linear_backward_weight (GvCmd *cmd, GvTensor *dweight, GvTensor *dy, GvTensor *x,
    gboolean accumulate)
{
  gint64 rows;

  if (!check_linear (cmd, "linear_backward_weight", dweight, dy, x,
          dweight && dweight->ndim == 2 ? dweight->shape[0] : -1, &rows))
    return;
  gint64 n = dweight->shape[0], k = dweight->shape[1];
  if (x->numel != rows * k || x->shape[x->ndim - 1] != k) {
    GvTensor *ts[3] = { dweight, dy, x };
    gv_op_fail_shapes (cmd, "linear_backward_weight", "x must be [..., K] with dy's rows", 3,
        ts);
    return;
  }
  /* dW = dy^T @ x over the flattened rows: GEMMs with A transposed, K = rows. The GEMM binds
   * transposed A and B whole, so the rows go in parts that fit a binding, each part adding to
   * the ones before (in order: deterministic). */
  gint64 lim = MIN (gv_op_gemm_max_floats (cmd, GV_BIND_BUFFER),
      MIN (gv_op_gemm_max_floats (cmd, GV_BIND_TEXEL_R32F),
          gv_op_gemm_max_floats (cmd, GV_BIND_TEXEL_RGBA32F)));
  gint64 step = MAX (lim / MAX (n, k), 1);
  if (rows == 0 && !accumulate)
    gv_tensor_record_fill (cmd, dweight, 0.0f);
  /* a small dW over many rows gives the GEMM few tiles to run in parallel: compute it as
   * SPLIT partial products of equal rows at once (a batched GEMM), then their sum in order */
  gint64 q = rows / SPLIT, first = 0;
  if (n * k <= SPLIT_MAX_OUT && q >= SPLIT_MIN_ROWS && rows <= step) {
    GvTensor *dy3 = GV_VIEW (dy, 0, SPLIT, q, n);
    GvTensor *x3 = GV_VIEW (x, 0, SPLIT, q, k);
    GvTensor *part = GV_TENSOR (cmd, SPLIT, n, k);
    GvMatmulArgs args = { .trans_a = TRUE };
    gv_op_matmul (cmd, part, dy3, x3, &args);
    gv_op_sum_strided (cmd, "linear_backward_weight", dweight, part, 1, SPLIT, n * k, 1, 0,
        accumulate);
    gv_tensor_unref (dy3);
    gv_tensor_unref (x3);
    gv_tensor_unref (part);
    /* the rows left over follow */
    accumulate = TRUE;
    first = SPLIT * q;
  }
  for (gint64 r0 = first; r0 < rows; r0 += step) {
    gint64 nr = MIN (step, rows - r0);
    GvTensor *dy2 = GV_VIEW (dy, r0 * n, nr, n);
    GvTensor *x2 = GV_VIEW (x, r0 * k, nr, k);
    GvMatmulArgs args = { .trans_a = TRUE,
      .residual = accumulate || r0 > first ? dweight : NULL };
    gv_op_matmul (cmd, dweight, dy2, x2, &args);
    gv_tensor_unref (dy2);
    gv_tensor_unref (x2);
  }
}

void
gv_op_linear_backward_bias (GvCmd *cmd, GvTensor *dbias, GvTensor *dy, gboolean accumulate)
{
  gint64 rows;

  if (!check_linear (cmd, "linear_backward_bias", dbias, dy, NULL, dbias ? dbias->numel : -1,
          &rows))
    return;
  gv_op_sum_strided (cmd, "linear_backward_bias", dbias, dy, 1, rows, dbias->numel, 1, 0,
      accumulate);
}

/* dweight (+)= sum over b of op (a[b]) @ op (c[b]): one GEMM per batch entry, each adding to
 * the previous ones (in order, so the result is deterministic) */
static void
weight_sum (GvCmd *cmd, GvTensor *dweight, GvTensor *a, gboolean trans_a, GvTensor *c,
    gboolean trans_c, gboolean accumulate)
{
  gint64 batch = a->shape[0];
  gint64 a_entry = a->numel / MAX (batch, 1), c_entry = c->numel / MAX (batch, 1);

  for (gint64 b = 0; b < batch; b++) {
    GvTensor *ab = GV_VIEW (a, b * a_entry, a->shape[1], a->shape[2]);
    GvTensor *cb = GV_VIEW (c, b * c_entry, c->shape[1], c->shape[2]);
    GvMatmulArgs args = { .trans_a = trans_a, .trans_b = trans_c,
      .residual = accumulate || b > 0 ? dweight : NULL };
    gv_op_matmul (cmd, dweight, ab, cb, &args);
    gv_tensor_unref (ab);
    gv_tensor_unref (cb);
  }
  if (batch == 0 && !accumulate)
    gv_tensor_record_fill (cmd, dweight, 0.0f);
}

/* checks of the pixel forms: @pix [B, C, H*W] (channels first) and @tok [B, H*W, C'] (tokens)
 * with the weight [N, C]: returns the 3-D views through @pix3 and @tok3 */
static gboolean
check_pixels (GvCmd *cmd, const gchar *op, GvTensor *dx, GvTensor *dweight, GvTensor *dbias,
    GvTensor *pixels, GvTensor *tokens, GvTensor *weight, gboolean pixels_in,
    GvTensor **pix3, GvTensor **tok3)
{
  GvTensor *ts[6] = { dx ? dx : pixels, dweight ? dweight : pixels, dbias ? dbias : pixels,
    pixels, tokens, weight };

  if (!gv_tensors_ready (cmd, op, 6, ts) || !gv_op_check_f32 (cmd, op, 6, ts))
    return FALSE;
  gboolean ok = weight->ndim == 2 && pixels->ndim >= 3 && tokens->ndim == 3;
  if (ok) {
    gint64 b = pixels->shape[0], c = pixels->shape[1];
    gint64 hw = c > 0 && b > 0 ? pixels->numel / (b * c) : 0;
    /* proj_in: pixels carry the layer's inputs, tokens its outputs; proj_out the other way */
    gint64 c_pix = pixels_in ? weight->shape[1] : weight->shape[0];
    gint64 c_tok = pixels_in ? weight->shape[0] : weight->shape[1];
    ok = c == c_pix && tokens->shape[0] == b && tokens->shape[1] == hw &&
        tokens->shape[2] == c_tok && (!dx || dx->numel == (pixels_in ? pixels : tokens)->numel)
        && (!dweight || gv_tensor_same_shape (dweight, weight)) &&
        (!dbias || dbias->numel == weight->shape[0]);
    if (ok) {
      *pix3 = GV_VIEW (pixels, 0, b, c, hw);
      *tok3 = GV_VIEW (tokens, 0, b, hw, c_tok);
    }
  }
  if (!ok)
    gv_op_fail_shapes (cmd, op, "shapes do not match (dx, dweight, dbias, pixels, tokens, "
        "weight)", 6, ts);
  return ok;
}

void
gv_op_linear_apply_pixels_backward (GvCmd *cmd, GvTensor *dx, GvTensor *dweight,
    GvTensor *dbias, GvTensor *dy, GvTensor *x, GvTensor *weight, gboolean accumulate)
{
  GvTensor *x3, *dy3;

  if (!check_pixels (cmd, "linear_apply_pixels_backward", dx, dweight, dbias, x, dy, weight,
          TRUE, &x3, &dy3))
    return;
  if (dx) {
    /* dx[b] [C, HW] = weight^T [C, N] @ dy[b]^T [N, HW]; the weight broadcasts */
    GvTensor *dx3 = GV_VIEW (dx, 0, x3->shape[0], x3->shape[1], x3->shape[2]);
    GvMatmulArgs args = { .trans_a = TRUE, .trans_b = TRUE,
      .residual = accumulate ? dx3 : NULL };
    gv_op_matmul (cmd, dx3, weight, dy3, &args);
    gv_tensor_unref (dx3);
  }
  if (dweight)   /* dy[b]^T [N, HW] @ x[b]^T [HW, C] */
    weight_sum (cmd, dweight, dy3, TRUE, x3, TRUE, accumulate);
  if (dbias)
    gv_op_linear_backward_bias (cmd, dbias, dy3, accumulate);
  gv_tensor_unref (x3);
  gv_tensor_unref (dy3);
}

void
gv_op_linear_apply_to_pixels_backward (GvCmd *cmd, GvTensor *dh, GvTensor *dweight,
    GvTensor *dbias, GvTensor *dy, GvTensor *h, GvTensor *weight, gboolean accumulate)
{
  GvTensor *dy3, *h3;

  if (!check_pixels (cmd, "linear_apply_to_pixels_backward", dh, dweight, dbias, dy, h,
          weight, FALSE, &dy3, &h3))
    return;
  if (dh) {
    /* dh[b] [HW, C] = dy[b]^T [HW, N] @ weight [N, C]; the weight broadcasts */
    GvTensor *dh3 = GV_VIEW (dh, 0, h3->shape[0], h3->shape[1], h3->shape[2]);
    GvMatmulArgs args = { .trans_a = TRUE, .residual = accumulate ? dh3 : NULL };
    gv_op_matmul (cmd, dh3, dy3, weight, &args);
    gv_tensor_unref (dh3);
  }
  if (dweight)   /* dy[b] [N, HW] @ h[b] [HW, C] */
    weight_sum (cmd, dweight, dy3, FALSE, h3, FALSE, accumulate);
  if (dbias)
    gv_op_sum_channels (cmd, "linear_apply_to_pixels_backward", dbias, dy3, accumulate);
  gv_tensor_unref (dy3);
  gv_tensor_unref (h3);
}
