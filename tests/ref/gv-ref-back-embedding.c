/* The UNet's time and class embedding path, forward and backward in double:
 *   sum = linear_2 (silu (linear_1 (proj))) + class_2 (silu (class_1 (labels)))
 *   y[clip * F + f] = silu (sum[clip])
 * The backward sums the gradients of a clip's frames (the repeat's backward) and runs the
 * chain back; the sinusoidal projection has no parameters. */
#include <string.h>

#include "gv-ref-back.h"

void
gv_ref_embedding_acts_init (GvRefEmbeddingActs *acts, const GvRefEmbedding *e)
{
  gint64 n = (gint64) e->clips * e->dim;
  gdouble **all[] = { &acts->t1, &acts->t1_silu, &acts->c1, &acts->c1_silu, &acts->sum };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    *all[i] = g_new0 (gdouble, n);
}

void
gv_ref_embedding_acts_clear (GvRefEmbeddingActs *acts)
{
  gdouble **all[] = { &acts->t1, &acts->t1_silu, &acts->c1, &acts->c1_silu, &acts->sum };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    g_clear_pointer (all[i], g_free);
}

void
gv_ref_embedding_forward (gdouble *y, GvRefEmbeddingActs *acts, const gdouble *proj,
    const gdouble *labels, const GvRefEmbeddingParams *p, const GvRefEmbedding *e)
{
  gint64 n = (gint64) e->clips * e->dim;
  gv_ref_linear_forward (acts->t1, proj, p->w1, p->b1, e->clips, e->in, e->dim);
  gv_ref_silu_forward (acts->t1_silu, acts->t1, n);
  gv_ref_linear_forward (acts->sum, acts->t1_silu, p->w2, p->b2, e->clips, e->dim, e->dim);
  if (e->class_in > 0) {
    gdouble *cemb = g_new (gdouble, n);
    gv_ref_linear_forward (acts->c1, labels, p->wc1, p->bc1, e->clips, e->class_in, e->dim);
    gv_ref_silu_forward (acts->c1_silu, acts->c1, n);
    gv_ref_linear_forward (cemb, acts->c1_silu, p->wc2, p->bc2, e->clips, e->dim, e->dim);
    gv_ref_add_forward (acts->sum, acts->sum, cemb, n);
    g_free (cemb);
  }
  for (gint64 i = 0; i < (gint64) e->clips * e->frames; i++)
    gv_ref_silu_forward (y + i * e->dim, acts->sum + i / e->frames * e->dim, e->dim);
}

void
gv_ref_embedding_backward (const GvRefEmbeddingParams *grads, gdouble *dlabels,
    const gdouble *dy, const GvRefEmbeddingActs *acts, const gdouble *proj,
    const gdouble *labels, const GvRefEmbeddingParams *p, const GvRefEmbedding *e)
{
  gint64 n = (gint64) e->clips * e->dim;
  gdouble *dsum = g_new0 (gdouble, n), *dhidden = g_new0 (gdouble, n);
  gdouble *dpre = g_new0 (gdouble, n);

  for (gint64 i = 0; i < (gint64) e->clips * e->frames; i++)
    gv_ref_silu_backward (dsum + i / e->frames * e->dim, dy + i * e->dim,
        acts->sum + i / e->frames * e->dim, e->dim);
  if (e->class_in > 0) {
    gv_ref_linear_backward (dhidden, grads->wc2, grads->bc2, dsum, acts->c1_silu, p->wc2,
        e->clips, e->dim, e->dim);
    gv_ref_silu_backward (dpre, dhidden, acts->c1, n);
    gv_ref_linear_backward (dlabels, grads->wc1, grads->bc1, dpre, labels, p->wc1, e->clips,
        e->class_in, e->dim);
    memset (dhidden, 0, n * sizeof (gdouble));
    memset (dpre, 0, n * sizeof (gdouble));
  }
  gv_ref_linear_backward (dhidden, grads->w2, grads->b2, dsum, acts->t1_silu, p->w2, e->clips,
      e->dim, e->dim);
  gv_ref_silu_backward (dpre, dhidden, acts->t1, n);
  gv_ref_linear_backward (NULL, grads->w1, grads->b1, dpre, proj, p->w1, e->clips, e->in,
      e->dim);

  g_free (dsum);
  g_free (dhidden);
  g_free (dpre);
}
