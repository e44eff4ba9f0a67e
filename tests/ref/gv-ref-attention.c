#include <math.h>

#include "gv-ref.h"

/* One head of one query row, softmax in two passes with double accumulation. */
static void
attention_row (gfloat *out, const gfloat *q, const gfloat *k, const gfloat *v, gint Lk,
    gint keys, gint64 stride, gint D, gdouble scale, gdouble *p)
{
  gdouble mx = -INFINITY, sum = 0;
  for (gint j = 0; j < keys; j++) {
    gdouble s = 0;
    for (gint d = 0; d < D; d++)
      s += (gdouble) q[d] * k[j * stride + d];
    p[j] = s * scale;
    mx = MAX (mx, p[j]);
  }
  for (gint j = 0; j < keys; j++) {
    p[j] = exp (p[j] - mx);
    sum += p[j];
  }
  for (gint d = 0; d < D; d++) {
    gdouble o = 0;
    for (gint j = 0; j < keys; j++)
      o += p[j] * v[j * stride + d];
    out[d] = keys > 0 ? (gfloat) (o / sum) : 0.0f;
  }
}

void
gv_ref_attention (gfloat *out, const gfloat *q, const gfloat *k, const gfloat *v,
    gint B, gint Bk, gint Lq, gint Lk, gint heads, gint head_dim, gfloat scale,
    gboolean causal, gint row_step)
{
  gint64 C = (gint64) heads * head_dim;
  gdouble s = scale != 0 ? scale : 1.0 / sqrt (head_dim);
  gdouble *p = g_new (gdouble, MAX (Lk, 1));

  for (gint b = 0; b < B; b++) {
    gint bk = b / (B / Bk);
    for (gint i = 0; i < Lq; i += MAX (row_step, 1)) {
      gint keys = causal ? MIN (i + 1, Lk) : Lk;
      for (gint h = 0; h < heads; h++) {
        gint64 qo = ((gint64) b * Lq + i) * C + (gint64) h * head_dim;
        gint64 ko = (gint64) bk * Lk * C + (gint64) h * head_dim;
        attention_row (out + qo, q + qo, k + ko, v + ko, Lk, keys, C, head_dim, s, p);
      }
    }
  }
  g_free (p);
}
