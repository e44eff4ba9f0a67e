/* Data movement, forward and backward in double: each forward copies, so each backward adds
 * the gradient of every copy back to where it was read (several copies of one value sum). */
#include "gv-ref-back.h"

void
gv_ref_gather_forward (gdouble *out, const gdouble *src, const gint32 *index, gint64 b,
    gint64 c, gint64 l, gint64 m, gint64 d)
{
  for (gint64 bi = 0; bi < b; bi++)
    for (gint64 ci = 0; ci < c; ci++)
      for (gint64 mi = 0; mi < m; mi++)
        for (gint64 di = 0; di < d; di++)
          out[((bi * c + ci) * m + mi) * d + di] =
              src[((bi * c + ci) * l + index[bi * m + mi]) * d + di];
}

void
gv_ref_gather_backward (gdouble *dsrc, const gdouble *dout, const gint32 *index, gint64 b,
    gint64 c, gint64 l, gint64 m, gint64 d)
{
  for (gint64 bi = 0; bi < b; bi++)
    for (gint64 ci = 0; ci < c; ci++)
      for (gint64 mi = 0; mi < m; mi++)
        for (gint64 di = 0; di < d; di++)
          dsrc[((bi * c + ci) * l + index[bi * m + mi]) * d + di] +=
              dout[((bi * c + ci) * m + mi) * d + di];
}

void
gv_ref_sparse_causal_index (gint32 *index, gint clips, gint frames)
{
  for (gint c = 0; c < clips; c++) {
    for (gint f = 0; f < frames; f++) {
      index[2 * (c * frames + f)] = c * frames;
      index[2 * (c * frames + f) + 1] = c * frames + MAX (f - 1, 0);
    }
  }
}

void
gv_ref_swap_axes_forward (gdouble *y, const gdouble *x, gint64 n, gint64 a, gint64 b, gint64 c)
{
  for (gint64 ni = 0; ni < n; ni++)
    for (gint64 i = 0; i < a; i++)
      for (gint64 j = 0; j < b; j++)
        for (gint64 k = 0; k < c; k++)
          y[((ni * b + j) * a + i) * c + k] = x[((ni * a + i) * b + j) * c + k];
}

void
gv_ref_swap_axes_backward (gdouble *dx, const gdouble *dy, gint64 n, gint64 a, gint64 b,
    gint64 c)
{
  for (gint64 ni = 0; ni < n; ni++)
    for (gint64 i = 0; i < a; i++)
      for (gint64 j = 0; j < b; j++)
        for (gint64 k = 0; k < c; k++)
          dx[((ni * a + i) * b + j) * c + k] += dy[((ni * b + j) * a + i) * c + k];
}

void
gv_ref_concat_forward (gdouble *y, const gdouble *a, const gdouble *b, gint64 outer,
    gint64 a_len, gint64 b_len)
{
  for (gint64 o = 0; o < outer; o++) {
    for (gint64 i = 0; i < a_len; i++)
      y[o * (a_len + b_len) + i] = a[o * a_len + i];
    for (gint64 i = 0; i < b_len; i++)
      y[o * (a_len + b_len) + a_len + i] = b[o * b_len + i];
  }
}

void
gv_ref_concat_backward (gdouble *da, gdouble *db, const gdouble *dy, gint64 outer,
    gint64 a_len, gint64 b_len)
{
  for (gint64 o = 0; o < outer; o++) {
    for (gint64 i = 0; da && i < a_len; i++)
      da[o * a_len + i] += dy[o * (a_len + b_len) + i];
    for (gint64 i = 0; db && i < b_len; i++)
      db[o * b_len + i] += dy[o * (a_len + b_len) + a_len + i];
  }
}

void
gv_ref_resize_nearest_forward (gdouble *y, const gdouble *x, gint64 planes, gint64 h, gint64 w,
    gint64 ho, gint64 wo)
{
  for (gint64 p = 0; p < planes; p++)
    for (gint64 oy = 0; oy < ho; oy++)
      for (gint64 ox = 0; ox < wo; ox++)
        y[(p * ho + oy) * wo + ox] = x[(p * h + oy * h / ho) * w + ox * w / wo];
}

void
gv_ref_resize_nearest_backward (gdouble *dx, const gdouble *dy, gint64 planes, gint64 h,
    gint64 w, gint64 ho, gint64 wo)
{
  for (gint64 p = 0; p < planes; p++)
    for (gint64 oy = 0; oy < ho; oy++)
      for (gint64 ox = 0; ox < wo; ox++)
        dx[(p * h + oy * h / ho) * w + ox * w / wo] += dy[(p * ho + oy) * wo + ox];
}
