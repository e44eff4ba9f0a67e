#include <math.h>

#include "gv-ref.h"

void
gv_ref_concat (gfloat *out, const gfloat *a, const gint64 *a_shape, const gfloat *b,
    const gint64 *b_shape, gint nd, gint dim)
{
  gint64 outer = 1, inner = 1;
  for (gint d = 0; d < dim; d++)
    outer *= a_shape[d];
  for (gint d = dim + 1; d < nd; d++)
    inner *= a_shape[d];
  gint64 la = a_shape[dim] * inner, lb = b_shape[dim] * inner;
  for (gint64 o = 0; o < outer; o++) {
    for (gint64 i = 0; i < la; i++)
      out[o * (la + lb) + i] = a[o * la + i];
    for (gint64 i = 0; i < lb; i++)
      out[o * (la + lb) + la + i] = b[o * lb + i];
  }
}

void
gv_ref_permute (gfloat *out, const gfloat *in, const gint64 *shape, gint nd, const gint *perm)
{
  gint64 in_stride[8], out_shape[8], n = 1;
  in_stride[nd - 1] = 1;
  for (gint d = nd - 2; d >= 0; d--)
    in_stride[d] = in_stride[d + 1] * shape[d + 1];
  for (gint d = 0; d < nd; d++) {
    out_shape[d] = shape[perm[d]];
    n *= shape[d];
  }
  for (gint64 e = 0; e < n; e++) {
    /* coordinates of output element e, mapped to the input */
    gint64 rest = e, src = 0;
    for (gint d = nd - 1; d >= 0; d--) {
      src += (rest % out_shape[d]) * in_stride[perm[d]];
      rest /= out_shape[d];
    }
    out[e] = in[src];
  }
}

void
gv_ref_resize_nearest (gfloat *out, const gfloat *in, gint64 planes, gint64 h, gint64 w,
    gint64 ho, gint64 wo)
{
  for (gint64 p = 0; p < planes; p++)
    for (gint64 y = 0; y < ho; y++)
      for (gint64 x = 0; x < wo; x++)
        out[(p * ho + y) * wo + x] = in[(p * h + y * h / ho) * w + x * w / wo];
}

void
gv_ref_gather (gfloat *out, const gfloat *src, const gint32 *index, gint64 b, gint64 c,
    gint64 l, gint64 m, gint64 d)
{
  for (gint64 bi = 0; bi < b; bi++)
    for (gint64 ci = 0; ci < c; ci++)
      for (gint64 mi = 0; mi < m; mi++)
        for (gint64 di = 0; di < d; di++)
          out[((bi * c + ci) * m + mi) * d + di] =
              src[((bi * c + ci) * l + index[bi * m + mi]) * d + di];
}

void
gv_ref_timestep_embedding (gfloat *out, const gfloat *t, gint64 batch, gint64 dim,
    gboolean flip_sin_to_cos, gfloat shift, gfloat max_period)
{
  gint64 half = dim / 2;
  for (gint64 b = 0; b < batch; b++) {
    for (gint64 i = 0; i < half; i++) {
      gdouble arg = t[b] * exp (-log ((gdouble) max_period) * i / (half - (gdouble) shift));
      gdouble s = sin (arg), c = cos (arg);
      out[b * dim + i] = (gfloat) (flip_sin_to_cos ? c : s);
      out[b * dim + half + i] = (gfloat) (flip_sin_to_cos ? s : c);
    }
    if (dim % 2)
      out[b * dim + dim - 1] = 0;
  }
}
