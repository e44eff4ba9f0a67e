#include <math.h>

#include "gv-ref.h"

/* offset in a right-aligned broadcast input of the output element with coordinates @coord */
static gint64
broadcast_offset (const gint64 *coord, gint out_nd, const gint64 *shape, gint nd)
{
  gint64 off = 0, stride = 1;
  for (gint d = nd - 1, od = out_nd - 1; d >= 0; d--, od--) {
    gint64 c = shape[d] == 1 ? 0 : coord[od];
    off += c * stride;
    stride *= shape[d];
  }
  return off;
}

void
gv_ref_binary (gfloat *out, const gint64 *out_shape, gint out_nd,
    const gfloat *a, const gint64 *a_shape, gint a_nd,
    const gfloat *b, const gint64 *b_shape, gint b_nd,
    const gfloat *m, const gint64 *m_shape, gint m_nd,
    GvRefBinary op, gfloat alpha, gfloat beta)
{
  gint64 n = 1, coord[8] = { 0 };
  for (gint d = 0; d < out_nd; d++)
    n *= out_shape[d];
  for (gint64 i = 0; i < n; i++) {
    gint64 rest = i;
    for (gint d = out_nd - 1; d >= 0; d--) {
      coord[d] = rest % out_shape[d];
      rest /= out_shape[d];
    }
    gfloat x = a[broadcast_offset (coord, out_nd, a_shape, a_nd)];
    gfloat y = b ? b[broadcast_offset (coord, out_nd, b_shape, b_nd)] : 0;
    switch (op) {
      case GV_REF_ADD:
        out[i] = alpha * x + beta * y;
        break;
      case GV_REF_MUL:
        out[i] = alpha * x * y;
        break;
      case GV_REF_BLEND: {
        gfloat w = m[broadcast_offset (coord, out_nd, m_shape, m_nd)];
        out[i] = w * x + (1 - w) * y;
        break;
      }
    }
  }
}

gfloat
gv_ref_silu (gfloat x)
{
  return (gfloat) (x / (1.0 + exp (-(gdouble) x)));
}

gfloat
gv_ref_gelu (gfloat x)
{
  return (gfloat) (0.5 * x * (1.0 + erf (x / sqrt (2.0))));
}
