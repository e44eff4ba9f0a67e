/* Tune-A-Video's temporal attention block, forward and backward in double, built from the
 * op references: regroup [clips, F, L, C] as [clips, L, F, C], y = x + to_out (attention
 * (to_q, to_k, to_v of norm_temp (x))) along F, regroup back. */
#include "gv-ref-back.h"

static gint64
rows_of (const GvRefTemporal *t)
{
  return (gint64) t->clips * t->tokens * t->frames;
}

/* attention over the frames of each (clip, token) */
static GvRefAttn
attention_of (const GvRefTemporal *t)
{
  GvRefAttn a = {
    .B = t->clips * t->tokens, .Bk = t->clips * t->tokens, .Lq = t->frames, .Lk = t->frames,
    .heads = t->heads, .head_dim = t->channels / t->heads,
  };
  return a;
}

void
gv_ref_temporal_acts_init (GvRefTemporalActs *acts, const GvRefTemporal *t)
{
  gint64 n = rows_of (t) * t->channels;
  gdouble **full[] = { &acts->seq, &acts->normed, &acts->q, &acts->k, &acts->v, &acts->att,
    &acts->out };
  for (guint i = 0; i < G_N_ELEMENTS (full); i++)
    *full[i] = g_new0 (gdouble, n);
  acts->mean = g_new0 (gdouble, rows_of (t));
  acts->rstd = g_new0 (gdouble, rows_of (t));
  acts->lse = g_new0 (gdouble, rows_of (t) * t->heads);
}

void
gv_ref_temporal_acts_clear (GvRefTemporalActs *acts)
{
  gdouble **all[] = { &acts->seq, &acts->normed, &acts->mean, &acts->rstd, &acts->q, &acts->k,
    &acts->v, &acts->att, &acts->lse, &acts->out };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    g_clear_pointer (all[i], g_free);
}

void
gv_ref_temporal_forward (gdouble *y, GvRefTemporalActs *acts, const gdouble *h,
    const GvRefTemporalParams *p, const GvRefTemporal *t)
{
  gint64 rows = rows_of (t), C = t->channels;
  GvRefAttn a = attention_of (t);
  gv_ref_swap_axes_forward (acts->seq, h, t->clips, t->frames, t->tokens, C);
  gv_ref_layer_norm_forward (acts->normed, acts->mean, acts->rstd, acts->seq, p->norm_w,
      p->norm_b, rows, C, t->eps);
  gv_ref_linear_forward (acts->q, acts->normed, p->wq, NULL, rows, C, C);
  gv_ref_linear_forward (acts->k, acts->normed, p->wk, NULL, rows, C, C);
  gv_ref_linear_forward (acts->v, acts->normed, p->wv, NULL, rows, C, C);
  gv_ref_attention_forward (acts->att, acts->lse, acts->q, acts->k, acts->v, &a);
  gv_ref_linear_forward (acts->out, acts->att, p->wo, p->bo, rows, C, C);
  gv_ref_add_forward (acts->out, acts->out, acts->seq, rows * C);
  gv_ref_swap_axes_forward (y, acts->out, t->clips, t->tokens, t->frames, C);
}

void
gv_ref_temporal_backward (gdouble *dh, const GvRefTemporalParams *grads, const gdouble *dy,
    const GvRefTemporalActs *acts, const GvRefTemporalParams *p, const GvRefTemporal *t)
{
  gint64 rows = rows_of (t), C = t->channels, n = rows * C;
  GvRefAttn a = attention_of (t);
  gdouble *dout = g_new0 (gdouble, n), *dseq = g_new0 (gdouble, n);
  gdouble *datt = g_new0 (gdouble, n), *dnormed = g_new0 (gdouble, n);
  gdouble *dq = g_new0 (gdouble, n), *dk = g_new0 (gdouble, n), *dv = g_new0 (gdouble, n);

  gv_ref_swap_axes_backward (dout, dy, t->clips, t->tokens, t->frames, C);
  gv_ref_add_backward (NULL, dseq, dout, n);    /* the residual */
  gv_ref_linear_backward (datt, grads->wo, grads->bo, dout, acts->att, p->wo, rows, C, C);
  gv_ref_attention_backward (dq, dk, dv, datt, acts->q, acts->k, acts->v, acts->att, acts->lse,
      &a);
  gv_ref_linear_backward (dnormed, grads->wq, NULL, dq, acts->normed, p->wq, rows, C, C);
  gv_ref_linear_backward (dnormed, grads->wk, NULL, dk, acts->normed, p->wk, rows, C, C);
  gv_ref_linear_backward (dnormed, grads->wv, NULL, dv, acts->normed, p->wv, rows, C, C);
  gv_ref_layer_norm_backward (dseq, grads->norm_w, grads->norm_b, dnormed, acts->seq,
      acts->mean, acts->rstd, p->norm_w, rows, C);
  if (dh)
    gv_ref_swap_axes_backward (dh, dseq, t->clips, t->frames, t->tokens, C);

  g_free (dout);
  g_free (dseq);
  g_free (datt);
  g_free (dnormed);
  g_free (dq);
  g_free (dk);
  g_free (dv);
}
