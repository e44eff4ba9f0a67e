/* conv2d as an implicit GEMM (no im2col buffer), per image, with bias, the per-(image, channel)
 * add of ResNet blocks, activation and residual fused. Two kernel families as for matmul
 * (shaders/conv2d_cpu.comp, shaders/conv2d_gpu.comp). Work larger than one binding is split into
 * dispatches over images, then output channels, then input channels (partial sums kept in
 * the output). */
#include "nn/gv-op-conv.h"
#include "nn/gv-op-gemm.h"
#include "nn/gv-op-util.h"

#include "kernel-params.h"

/* output channels one workgroup covers (both families) */
#define TILE 64
/* output channels one workgroup of the row kernel covers */
#define ROW_TILE 64

enum { BIND_IN, BIND_W, BIND_BIAS, BIND_ADD, BIND_RES, BIND_PART, BIND_OUT, N_BINDS };

/* do the element ranges of two tensors share memory? */
static gboolean
overlap (const GvTensor *a, const GvTensor *b)
{
  return a->mem == b->mem && a->offset < b->offset + gv_tensor_nbytes (b) &&
      b->offset < a->offset + gv_tensor_nbytes (a);
}

void
gv_op_conv2d (GvCmd *cmd, GvTensor *out, GvTensor *in, GvTensor *weight,
    const GvConvArgs *args)
{
  static const GvConvArgs defaults = { .stride = 1 };
  const GvConvArgs *x = args ? args : &defaults;
  GvTensor *ts[6] = { out, in, weight, x->bias, x->add_per_channel, x->residual };
  GvTensor *chk[6] = { out, in, weight, x->bias ? x->bias : out,
    x->add_per_channel ? x->add_per_channel : out, x->residual ? x->residual : out };

  if (!gv_tensors_ready (cmd, "conv2d", 6, chk) || !gv_op_check_f32 (cmd, "conv2d", 6, chk))
    return;
  if (in->ndim != 4 || weight->ndim != 4 || out->ndim != 4 || x->stride <= 0 ||
      x->pad_top < 0 || x->pad_bottom < 0 || x->pad_left < 0 || x->pad_right < 0) {
    gv_op_fail_shapes (cmd, "conv2d", "needs 4-D in, weight and out, a positive stride and "
        "padding >= 0", 6, ts);
    return;
  }
  gint64 n = in->shape[0], c = in->shape[1], h = in->shape[2], w = in->shape[3];
  gint64 co = weight->shape[0], kh = weight->shape[2], kw = weight->shape[3];
  gint64 ho = (h + x->pad_top + x->pad_bottom - kh) / x->stride + 1;
  gint64 wo = (w + x->pad_left + x->pad_right - kw) / x->stride + 1;
  if (weight->shape[1] != c || h + x->pad_top + x->pad_bottom < kh ||
      w + x->pad_left + x->pad_right < kw || out->shape[0] != n || out->shape[1] != co ||
      out->shape[2] != ho || out->shape[3] != wo ||
      (x->bias && x->bias->numel != co) ||
      (x->add_per_channel && x->add_per_channel->numel != n * co) ||
      (x->residual && x->residual->numel != out->numel)) {
    gv_op_fail_shapes (cmd, "conv2d", "shapes do not match (out, in, weight, bias, "
        "add_per_channel, residual)", 6, ts);
    return;
  }
  if (out->numel == 0)
    return;

  gboolean cpu = gv_op_use_cpu_kernels (cmd);
  gint64 kk = kh * kw, w_row = c * kk, plane = h * w, p_out = ho * wo;
  /* vec4 weights (generic kernel): 16-byte aligned rows */
  gboolean wv = cpu && weight->offset % 16 == 0 && w_row % 4 == 0;
  /* the row kernel's window: 8 pixels' taps from 4-aligned columns, at most 6 vec4s */
  gint64 window = 7 * x->stride + kw + (x->pad_left > 0 ? 4 : 0) - x->pad_left;
  gboolean row = cpu && x->stride <= 2 && w % 4 == 0 && in->offset % 16 == 0 &&
      x->pad_left <= 4 && window <= 24;
  GvKernelId id = row ? GV_KERNEL_CONV2D_CPU_ROW : !cpu ? GV_KERNEL_CONV2D_GPU :
      wv ? GV_KERNEL_CONV2D_CPU_W_VEC4 : GV_KERNEL_CONV2D_CPU_W_F32;
  const GvShader *shader = &gv_kernels[id];
  gint64 lim_in = gv_op_gemm_max_floats (cmd, shader->kinds[BIND_IN]);
  gint64 lim_w = gv_op_max_elements (cmd, shader->kinds[BIND_W], 4);   /* bound whole */
  gint64 lim_o = MIN (gv_op_gemm_max_floats (cmd, shader->kinds[BIND_OUT]),
      gv_op_gemm_max_floats (cmd, shader->kinds[BIND_RES]));

  /* images per dispatch; when one image is too large: output channels, input channels */
  gint64 per_img = MIN (gv_op_max_groups (cmd, 2),
      MIN (lim_o / (co * p_out), lim_in / (c * plane)));
  gint64 co_step = co, c_step = c;
  if (per_img == 0) {
    per_img = 1;
    if (co * p_out > lim_o)
      co_step = lim_o / p_out / TILE * TILE;
    if (c * plane > lim_in) {
      /* the generic kernel's vec4 weights need chunks of a multiple of 4 channels */
      gint64 align = wv && !row ? 4 : 1;
      c_step = lim_in / plane / align * align;
    }
  }
  /* output pixels run along grid y in the generic CPU kernel, along x in the others */
  gint64 pixel_groups = gv_op_max_groups (cmd, cpu && !row ? 1 : 0);
  if (weight->numel > lim_w || co_step == 0 || c_step == 0 || p_out > pixel_groups * TILE ||
      plane > lim_in) {
    gv_op_fail_shapes (cmd, "conv2d", "too large to split into bindings", 6, ts);
    return;
  }

  /* a residual that is the output itself would be overwritten by the first partial sums */
  GvTensor *residual = x->residual, *res_copy = NULL;
  if (residual && c_step < c && overlap (residual, out)) {
    res_copy = gv_tensor_alloc (cmd, out->ndim, out->shape);
    gv_tensor_record_copy (cmd, res_copy, residual);
    residual = res_copy;
  }

  for (gint64 c0 = 0; c0 < c; c0 += c_step) {
    gint64 nc = MIN (c_step, c - c0);
    gboolean last = c0 + nc == c;
    guint32 spec[8] = { kh, kw, last ? x->act : GV_ACT_NONE, last && x->bias,
      last && x->add_per_channel, last && residual, c0 > 0, x->pad_left | x->stride << 8 };
    GvKernel *kernel = gv_op_kernel (cmd, id, spec, row ? 8 : 7);
    if (kernel == NULL)
      break;
    for (gint64 z0 = 0; z0 < n; z0 += per_img) {
      gint64 nz = MIN (per_img, n - z0);
      for (gint64 co0 = 0; co0 < co; co0 += co_step) {
        gint64 nco = MIN (co_step, co - co0);
        gint64 o_first = z0 * co * p_out + co0 * p_out;
        gint64 o_count = (nz - 1) * co * p_out + nco * p_out;
        GvConv2dParams p = {
          .h = h, .w = w, .c = nc, .ho = ho, .wo = wo, .co = nco,
          .stride = x->stride, .pad_top = x->pad_top, .pad_left = x->pad_left,
          .in_img = c * plane, .w_row = w_row, .o_img = co * p_out, .add_row = co,
        };
        GvBinding bind[N_BINDS];
        bind[BIND_IN] = gv_tensor_bind_range (in, z0 * c * plane + c0 * plane,
            (nz - 1) * c * plane + nc * plane, FALSE);
        bind[BIND_W] = gv_tensor_bind_range (weight, co0 * w_row + c0 * kk,
            (nco - 1) * w_row + nc * kk, FALSE);
        bind[BIND_BIAS] = x->bias ? gv_tensor_bind_range (x->bias, co0, nco, FALSE) :
            bind[BIND_IN];
        bind[BIND_ADD] = x->add_per_channel ? gv_tensor_bind_range (x->add_per_channel,
            z0 * co + co0, (nz - 1) * co + nco, FALSE) : bind[BIND_IN];
        bind[BIND_RES] = residual ? gv_tensor_bind_range (residual, o_first, o_count, FALSE) :
            bind[BIND_IN];
        bind[BIND_PART] = c0 > 0 ? gv_tensor_bind_range (out, o_first, o_count, FALSE) :
            bind[BIND_IN];
        bind[BIND_OUT] = gv_tensor_bind_range (out, o_first, o_count, TRUE);
        guint gx, gy;
        if (row) {
          gx = gv_div_up (ho * gv_div_up (wo, 8), 8);
          gy = gv_div_up (nco, ROW_TILE);
        } else if (cpu) {
          gx = gv_div_up (nco, TILE);
          gy = gv_div_up (p_out, TILE);
        } else {
          gx = gv_div_up (p_out, TILE);
          gy = gv_div_up (nco, TILE);
        }
        gv_cmd_dispatch (cmd, kernel, bind, &p, gx, gy, nz);
      }
    }
  }
  if (res_copy)
    gv_tensor_unref (res_copy);
}
