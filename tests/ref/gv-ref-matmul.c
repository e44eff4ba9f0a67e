/* References of the matrix products: matmul / linear and conv2d, as loops over the definition
 * with double accumulation. */
#include <math.h>

#include "gv-ref.h"

static gdouble
activate (gdouble x, GvRefAct act)
{
  switch (act) {
    case GV_REF_ACT_SILU:
      return x / (1.0 + exp (-x));
    case GV_REF_ACT_GELU:
      return 0.5 * x * (1.0 + erf (x / sqrt (2.0)));
    default:
      return x;
  }
}

void
gv_ref_matmul (gfloat *out, const gfloat *a, const gfloat *b, gint64 batch, gint64 m, gint64 n,
    gint64 k, gboolean a_shared, gboolean b_shared, gboolean trans_a, gboolean trans_b,
    gfloat alpha, const gfloat *bias, GvRefAct act, const gfloat *residual)
{
  for (gint64 z = 0; z < batch; z++) {
    const gfloat *az = a + (a_shared ? 0 : z * m * k);
    const gfloat *bz = b + (b_shared ? 0 : z * k * n);
    for (gint64 i = 0; i < m; i++) {
      for (gint64 j = 0; j < n; j++) {
        gdouble s = 0;
        for (gint64 l = 0; l < k; l++) {
          gdouble x = trans_a ? az[l * m + i] : az[i * k + l];
          gdouble y = trans_b ? bz[j * k + l] : bz[l * n + j];
          s += x * y;
        }
        s *= alpha;
        if (bias)
          s += bias[j];
        s = activate (s, act);
        gint64 o = (z * m + i) * n + j;
        if (residual)
          s += residual[o];
        out[o] = (gfloat) s;
      }
    }
  }
}

void
gv_ref_conv2d (gfloat *out, const gfloat *in, const gfloat *weight, const GvRefConv *c,
    const gfloat *bias, const gfloat *add_per_channel, GvRefAct act, const gfloat *residual)
{
  gint64 ho = gv_ref_conv_out_size (c->h, c->pad_top, c->pad_bottom, c->kh, c->stride);
  gint64 wo = gv_ref_conv_out_size (c->w, c->pad_left, c->pad_right, c->kw, c->stride);
  for (gint64 img = 0; img < c->n; img++) {
    for (gint64 co = 0; co < c->co; co++) {
      for (gint64 y = 0; y < ho; y++) {
        for (gint64 x = 0; x < wo; x++) {
          gdouble s = 0;
          for (gint64 ci = 0; ci < c->c; ci++) {
            for (gint64 ky = 0; ky < c->kh; ky++) {
              gint64 iy = y * c->stride - c->pad_top + ky;
              if (iy < 0 || iy >= c->h)
                continue;
              for (gint64 kx = 0; kx < c->kw; kx++) {
                gint64 ix = x * c->stride - c->pad_left + kx;
                if (ix < 0 || ix >= c->w)
                  continue;
                s += (gdouble) in[((img * c->c + ci) * c->h + iy) * c->w + ix] *
                    weight[((co * c->c + ci) * c->kh + ky) * c->kw + kx];
              }
            }
          }
          if (bias)
            s += bias[co];
          if (add_per_channel)
            s += add_per_channel[img * c->co + co];
          s = activate (s, act);
          gint64 o = ((img * c->co + co) * ho + y) * wo + x;
          if (residual)
            s += residual[o];
          out[o] = (gfloat) s;
        }
      }
    }
  }
}

gint64
gv_ref_conv_out_size (gint64 in, gint pad_before, gint pad_after, gint kernel, gint stride)
{
  return (in + pad_before + pad_after - kernel) / stride + 1;
}
