/* Multi-head attention, forward and flash-style backward in double.
 *
 * Per head and query row i: s_j = scale q_i . k_j, P_ij = exp (s_j - lse_i) with
 * lse_i = log sum_j exp (s_j), o_i = sum_j P_ij v_j. Backward, with D_i = dO_i . o_i
 * (= sum_j P_ij dO_i . v_j):
 *   dV_j += P_ij dO_i,   dS_ij = P_ij (dO_i . v_j - D_i),
 *   dQ_i += scale sum_j dS_ij k_j,   dK_j += scale dS_ij q_i.
 * P_ij is recomputed from q, k and lse_i when it is needed, so only lse and D (one number per
 * row) are kept: memory linear in the sequence lengths, as in a flash-attention kernel. */
#include <math.h>

#include "gv-ref-back.h"

static gdouble
dot (const gdouble *a, const gdouble *b, gint n)
{
  gdouble s = 0;
  for (gint i = 0; i < n; i++)
    s += a[i] * b[i];
  return s;
}

static gdouble
scale_of (const GvRefAttn *a)
{
  return a->scale != 0 ? a->scale : 1.0 / sqrt (a->head_dim);
}

/* the keys query row @i sees */
static gint
keys_of (const GvRefAttn *a, gint i)
{
  return a->causal ? MIN (i + 1, a->Lk) : a->Lk;
}

/* offsets of head @h of query row @i of batch @b, and of key row 0 of its key/value batch */
static void
offsets (const GvRefAttn *a, gint b, gint h, gint i, gint64 *qo, gint64 *ko)
{
  gint64 C = (gint64) a->heads * a->head_dim;
  gint bk = b / (a->B / a->Bk);
  *qo = ((gint64) b * a->Lq + i) * C + (gint64) h * a->head_dim;
  *ko = (gint64) bk * a->Lk * C + (gint64) h * a->head_dim;
}

void
gv_ref_attention_forward (gdouble *o, gdouble *lse, const gdouble *q, const gdouble *k,
    const gdouble *v, const GvRefAttn *a)
{
  gint64 C = (gint64) a->heads * a->head_dim;
  gint D = a->head_dim;
  gdouble scale = scale_of (a);
  for (gint b = 0; b < a->B; b++) {
    for (gint h = 0; h < a->heads; h++) {
      for (gint i = 0; i < a->Lq; i++) {
        gint64 qo, ko;
        offsets (a, b, h, i, &qo, &ko);
        gint keys = keys_of (a, i);
        gdouble mx = -INFINITY, sum = 0;
        for (gint j = 0; j < keys; j++)
          mx = MAX (mx, scale * dot (q + qo, k + ko + j * C, D));
        for (gint j = 0; j < keys; j++)
          sum += exp (scale * dot (q + qo, k + ko + j * C, D) - mx);
        gdouble l = mx + log (sum);
        lse[((gint64) b * a->heads + h) * a->Lq + i] = l;
        for (gint d = 0; d < D; d++)
          o[qo + d] = 0;
        for (gint j = 0; j < keys; j++) {
          gdouble p = exp (scale * dot (q + qo, k + ko + j * C, D) - l);
          for (gint d = 0; d < D; d++)
            o[qo + d] += p * v[ko + j * C + d];
        }
      }
    }
  }
}

void
gv_ref_attention_backward (gdouble *dq, gdouble *dk, gdouble *dv, const gdouble *dout,
    const gdouble *q, const gdouble *k, const gdouble *v, const gdouble *o, const gdouble *lse,
    const GvRefAttn *a)
{
  gint64 C = (gint64) a->heads * a->head_dim;
  gint D = a->head_dim;
  gdouble scale = scale_of (a);
  for (gint b = 0; b < a->B; b++) {
    for (gint h = 0; h < a->heads; h++) {
      for (gint i = 0; i < a->Lq; i++) {
        gint64 qo, ko;
        offsets (a, b, h, i, &qo, &ko);
        gdouble l = lse[((gint64) b * a->heads + h) * a->Lq + i];
        gdouble Di = dot (dout + qo, o + qo, D);
        for (gint j = 0; j < keys_of (a, i); j++) {
          gint64 kj = ko + j * C;
          gdouble p = exp (scale * dot (q + qo, k + kj, D) - l);
          gdouble ds = p * (dot (dout + qo, v + kj, D) - Di);
          for (gint d = 0; d < D; d++) {
            if (dv)
              dv[kj + d] += p * dout[qo + d];
            if (dq)
              dq[qo + d] += scale * ds * k[kj + d];
            if (dk)
              dk[kj + d] += scale * ds * q[qo + d];
          }
        }
      }
    }
  }
}
