#include <math.h>
#include <stdlib.h>

#include "gv-ref.h"

/* 1 / max (|x|, eps) of the feature vector at position @s (channel stride @S) */
static gdouble
inv_norm (const gfloat *x, gint C, gint64 S, gint64 s)
{
  gdouble n = 0;
  for (gint c = 0; c < C; c++)
    n += (gdouble) x[c * S + s] * x[c * S + s];
  return 1.0 / MAX (sqrt (n), GV_REF_COS_EPS);
}

void
gv_ref_nn_search (gint32 *index, gfloat *score, gfloat *second, const gfloat *a,
    const gfloat *b, gint N, gint C, gint H, gint W, gint radius)
{
  gint64 S = (gint64) H * W;
  gdouble *inv_b = g_new (gdouble, S);

  for (gint n = 0; n < N; n++) {
    const gfloat *an = a + (gint64) n * C * S, *bn = b + (gint64) n * C * S;
    for (gint64 q = 0; q < S; q++)
      inv_b[q] = inv_norm (bn, C, S, q);
    for (gint y = 0; y < H; y++) {
      for (gint x = 0; x < W; x++) {
        gint64 p = (gint64) y * W + x;
        gdouble inv_a = inv_norm (an, C, S, p);
        gdouble best = -INFINITY, next = -INFINITY;
        gint32 arg = 0;
        for (gint qy = 0; qy < H; qy++) {
          for (gint qx = 0; qx < W; qx++) {
            if (radius > 0 && (abs (qy - y) > radius || abs (qx - x) > radius))
              continue;
            gint64 q = (gint64) qy * W + qx;
            gdouble dot = 0;
            for (gint c = 0; c < C; c++)
              dot += (gdouble) an[c * S + p] * bn[c * S + q];
            gdouble cs = dot * inv_a * inv_b[q];
            if (cs > best) {       /* strict: ties keep the smallest index */
              next = best;
              best = cs;
              arg = (gint32) q;
            } else if (cs > next) {
              next = cs;
            }
          }
        }
        index[n * S + p] = arg;
        if (score)
          score[n * S + p] = (gfloat) best;
        if (second)
          second[n * S + p] = (gfloat) next;
      }
    }
  }
  g_free (inv_b);
}

void
gv_ref_mean_abs_diff (gfloat *out, const gfloat *a, const gfloat *b, gint N, gint C,
    gint S, gboolean accumulate)
{
  for (gint n = 0; n < N; n++) {
    for (gint s = 0; s < S; s++) {
      gdouble sum = 0;
      for (gint c = 0; c < C; c++) {
        gint64 i = ((gint64) n * C + c) * S + s;
        sum += fabs ((gdouble) a[i] - b[i]);
      }
      gfloat m = (gfloat) (sum / MAX (C, 1));
      out[(gint64) n * S + s] = accumulate ? out[(gint64) n * S + s] + m : m;
    }
  }
}
