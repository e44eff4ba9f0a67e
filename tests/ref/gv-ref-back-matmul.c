/* Linear and conv2d, forward and backward in double. */
#include "gv-ref-back.h"

/* y = x W^T + b */
void
gv_ref_linear_forward (gdouble *y, const gdouble *x, const gdouble *weight, const gdouble *bias,
    gint64 rows, gint64 in, gint64 out)
{
  for (gint64 r = 0; r < rows; r++) {
    for (gint64 o = 0; o < out; o++) {
      gdouble s = bias ? bias[o] : 0;
      for (gint64 i = 0; i < in; i++)
        s += x[r * in + i] * weight[o * in + i];
      y[r * out + o] = s;
    }
  }
}

/* dx = dy W, dW = dy^T x, db = sum over rows of dy */
void
gv_ref_linear_backward (gdouble *dx, gdouble *dweight, gdouble *dbias, const gdouble *dy,
    const gdouble *x, const gdouble *weight, gint64 rows, gint64 in, gint64 out)
{
  for (gint64 r = 0; r < rows; r++) {
    for (gint64 o = 0; o < out; o++) {
      gdouble g = dy[r * out + o];
      if (dbias)
        dbias[o] += g;
      for (gint64 i = 0; i < in; i++) {
        if (dx)
          dx[r * in + i] += g * weight[o * in + i];
        if (dweight)
          dweight[o * in + i] += g * x[r * in + i];
      }
    }
  }
}

/* the input pixel that tap (ky, kx) of output (y, x) reads, or FALSE in the padding */
static gboolean
conv_source (const GvRefConv *c, gint64 y, gint64 x, gint ky, gint kx, gint64 *iy, gint64 *ix)
{
  *iy = y * c->stride - c->pad_top + ky;
  *ix = x * c->stride - c->pad_left + kx;
  return *iy >= 0 && *iy < c->h && *ix >= 0 && *ix < c->w;
}

/* y[n, o, y, x] = b[o] + add[n, o] + sum over (ci, ky, kx) of W[o, ci, ky, kx] x[n, ci, iy, ix] */
void
gv_ref_conv2d_forward (gdouble *y, const gdouble *x, const gdouble *weight, const gdouble *bias,
    const gdouble *add_per_channel, const GvRefConv *c)
{
  gint64 ho = gv_ref_conv_out_size (c->h, c->pad_top, c->pad_bottom, c->kh, c->stride);
  gint64 wo = gv_ref_conv_out_size (c->w, c->pad_left, c->pad_right, c->kw, c->stride);
  for (gint64 n = 0; n < c->n; n++) {
    for (gint64 o = 0; o < c->co; o++) {
      for (gint64 oy = 0; oy < ho; oy++) {
        for (gint64 ox = 0; ox < wo; ox++) {
          gdouble s = (bias ? bias[o] : 0) + (add_per_channel ? add_per_channel[n * c->co + o] : 0);
          for (gint64 ci = 0; ci < c->c; ci++) {
            for (gint ky = 0; ky < c->kh; ky++) {
              for (gint kx = 0; kx < c->kw; kx++) {
                gint64 iy, ix;
                if (conv_source (c, oy, ox, ky, kx, &iy, &ix))
                  s += x[((n * c->c + ci) * c->h + iy) * c->w + ix] *
                      weight[((o * c->c + ci) * c->kh + ky) * c->kw + kx];
              }
            }
          }
          y[((n * c->co + o) * ho + oy) * wo + ox] = s;
        }
      }
    }
  }
}

/* Each output gradient flows back along the taps that made it: to the input pixel (times the
 * weight: dx is the transposed convolution) and to the weight (times the input pixel: dW is the
 * correlation of x with dy); db and dadd sum dy over the pixels (and over images for db). */
void
gv_ref_conv2d_backward (gdouble *dx, gdouble *dweight, gdouble *dbias, gdouble *dadd,
    const gdouble *dy, const gdouble *x, const gdouble *weight, const GvRefConv *c)
{
  gint64 ho = gv_ref_conv_out_size (c->h, c->pad_top, c->pad_bottom, c->kh, c->stride);
  gint64 wo = gv_ref_conv_out_size (c->w, c->pad_left, c->pad_right, c->kw, c->stride);
  for (gint64 n = 0; n < c->n; n++) {
    for (gint64 o = 0; o < c->co; o++) {
      for (gint64 oy = 0; oy < ho; oy++) {
        for (gint64 ox = 0; ox < wo; ox++) {
          gdouble g = dy[((n * c->co + o) * ho + oy) * wo + ox];
          if (dbias)
            dbias[o] += g;
          if (dadd)
            dadd[n * c->co + o] += g;
          for (gint64 ci = 0; ci < c->c; ci++) {
            for (gint ky = 0; ky < c->kh; ky++) {
              for (gint kx = 0; kx < c->kw; kx++) {
                gint64 iy, ix;
                if (!conv_source (c, oy, ox, ky, kx, &iy, &ix))
                  continue;
                gint64 xi = ((n * c->c + ci) * c->h + iy) * c->w + ix;
                gint64 wi = ((o * c->c + ci) * c->kh + ky) * c->kw + kx;
                if (dx)
                  dx[xi] += g * weight[wi];
                if (dweight)
                  dweight[wi] += g * x[xi];
              }
            }
          }
        }
      }
    }
  }
}
