/* Backward references of attention and of the inflated UNet's paths around it (sparse-causal
 * key/value gather, temporal attention, the time/class embedding) against central finite
 * differences, on small random problems of odd sizes; the double forwards of the ops also
 * against their float references in gv-ref.h. */
#include "gv-ref-grad-check.h"

#define TOL GV_CHECK_GRAD_TOL

/* --- attention --- */
typedef struct {
  GvRefAttn a;
  gdouble *q, *k, *v, *g, *o, *lse;
  gint64 nq, nk;
} Attention;

static gdouble
attention_loss (gpointer data)
{
  Attention *c = data;
  gv_ref_attention_forward (c->o, c->lse, c->q, c->k, c->v, &c->a);
  return gv_check_dot (c->o, c->g, c->nq);
}

static void
check_attention (const gchar *what, GvRefAttn a)
{
  GRand *r = gv_check_rand (11);
  gint64 C = (gint64) a.heads * a.head_dim;
  Attention c = { a };
  c.nq = (gint64) a.B * a.Lq * C;
  c.nk = (gint64) a.Bk * a.Lk * C;
  c.q = gv_check_random (r, c.nq);
  for (gint64 i = 0; i < c.nq; i++)
    c.q[i] *= 3;    /* peaked softmax rows, not near-uniform ones */
  c.k = gv_check_random (r, c.nk);
  c.v = gv_check_random (r, c.nk);
  c.g = gv_check_random (r, c.nq);
  c.o = gv_check_zeros (c.nq);
  c.lse = gv_check_zeros ((gint64) a.B * a.heads * a.Lq);
  gdouble *dq = gv_check_grad_buffer (c.nq), *dk = gv_check_grad_buffer (c.nk);
  gdouble *dv = gv_check_grad_buffer (c.nk);

  g_test_message ("%s", what);
  attention_loss (&c);
  gv_ref_attention_backward (dq, dk, dv, c.g, c.q, c.k, c.v, c.o, c.lse, &a);
  gv_check_grad ("attention dQ", attention_loss, &c, c.q, dq, c.nq, TOL);
  gv_check_grad ("attention dK", attention_loss, &c, c.k, dk, c.nk, TOL);
  gv_check_grad ("attention dV", attention_loss, &c, c.v, dv, c.nk, TOL);

  gfloat *ref = gv_check_floats (c.nq);
  gv_ref_attention (ref, gv_check_to_float (c.q, c.nq), gv_check_to_float (c.k, c.nk),
      gv_check_to_float (c.v, c.nk), a.B, a.Bk, a.Lq, a.Lk, a.heads, a.head_dim,
      (gfloat) a.scale, a.causal, 1);
  attention_loss (&c);
  gv_check_forward (what, c.o, ref, c.nq, GV_CHECK_FORWARD_TOL);
}

static void
test_attention (void)
{
  /* cross-attention: 4 frames of 2 clips on their clip's 7 text tokens */
  check_attention ("2 heads, key/value batch shared by 2 query batches",
      (GvRefAttn) { .B = 4, .Bk = 2, .Lq = 5, .Lk = 7, .heads = 2, .head_dim = 3 });
  check_attention ("3 heads, causal",
      (GvRefAttn) { .B = 2, .Bk = 2, .Lq = 6, .Lk = 6, .heads = 3, .head_dim = 2,
        .causal = TRUE });
  check_attention ("1 head, scale 0.3",
      (GvRefAttn) { .B = 3, .Bk = 3, .Lq = 4, .Lk = 9, .heads = 1, .head_dim = 5,
        .scale = 0.3 });
}

/* --- sparse-causal attention: keys and values of frames 0 and i-1 --- */
typedef struct {
  gint clips, frames, L, C;
  GvRefAttn a;
  gint32 *index;
  gdouble *q, *k, *v, *kg, *vg, *g, *o, *lse;
} SparseCausal;

static gint64
images (SparseCausal *c)
{
  return (gint64) c->clips * c->frames;
}

static gdouble
sparse_causal_loss (gpointer data)
{
  SparseCausal *c = data;
  /* k [N, L, C] as [1, 1, N, L*C] gathers [1, 1, 2N, L*C] = [N, 2L, C] */
  gv_ref_gather_forward (c->kg, c->k, c->index, 1, 1, images (c), 2 * images (c),
      (gint64) c->L * c->C);
  gv_ref_gather_forward (c->vg, c->v, c->index, 1, 1, images (c), 2 * images (c),
      (gint64) c->L * c->C);
  gv_ref_attention_forward (c->o, c->lse, c->q, c->kg, c->vg, &c->a);
  return gv_check_dot (c->o, c->g, images (c) * c->L * c->C);
}

static void
test_sparse_causal (void)
{
  GRand *r = gv_check_rand (12);
  SparseCausal c = { 2, 3, 4, 6 };
  gint64 N = images (&c), n = N * c.L * c.C;
  c.a = (GvRefAttn) { .B = N, .Bk = N, .Lq = c.L, .Lk = 2 * c.L, .heads = 2,
    .head_dim = c.C / 2 };
  c.index = g_new (gint32, 2 * N);
  g_test_queue_free (c.index);
  gv_ref_sparse_causal_index (c.index, c.clips, c.frames);
  /* frame 0 uses frame 0 twice, frame i frames 0 and i-1, within each clip */
  const gint32 expected[] = { 0, 0, 0, 0, 0, 1, 3, 3, 3, 3, 3, 4 };
  for (gint i = 0; i < 2 * N; i++)
    g_assert_cmpint (c.index[i], ==, expected[i]);

  c.q = gv_check_random (r, n);
  for (gint64 i = 0; i < n; i++)
    c.q[i] *= 3;
  c.k = gv_check_random (r, n);
  c.v = gv_check_random (r, n);
  c.kg = gv_check_zeros (2 * n);
  c.vg = gv_check_zeros (2 * n);
  c.g = gv_check_random (r, n);
  c.o = gv_check_zeros (n);
  c.lse = gv_check_zeros (N * c.a.heads * c.L);
  gdouble *dq = gv_check_grad_buffer (n), *dk = gv_check_grad_buffer (n);
  gdouble *dv = gv_check_grad_buffer (n);
  gdouble *dkg = gv_check_zeros (2 * n), *dvg = gv_check_zeros (2 * n);

  sparse_causal_loss (&c);
  gv_ref_attention_backward (dq, dkg, dvg, c.g, c.q, c.kg, c.vg, c.o, c.lse, &c.a);
  gv_ref_gather_backward (dk, dkg, c.index, 1, 1, N, 2 * N, (gint64) c.L * c.C);
  gv_ref_gather_backward (dv, dvg, c.index, 1, 1, N, 2 * N, (gint64) c.L * c.C);
  gv_check_grad ("sparse-causal dQ", sparse_causal_loss, &c, c.q, dq, n, TOL);
  gv_check_grad ("sparse-causal dK", sparse_causal_loss, &c, c.k, dk, n, TOL);
  gv_check_grad ("sparse-causal dV", sparse_causal_loss, &c, c.v, dv, n, TOL);
  /* the last frame of a clip is read by no other frame: its keys get no gradient */
  for (gint64 i = 0; i < c.L * c.C; i++)
    g_assert_cmpfloat (dk[(c.frames - 1) * c.L * c.C + i], ==, GV_CHECK_PREFILL);

  gfloat *ref = gv_check_floats (2 * n);
  gv_ref_gather (ref, gv_check_to_float (c.k, n), c.index, 1, 1, N, 2 * N,
      (gint64) c.L * c.C);
  sparse_causal_loss (&c);
  gv_check_forward ("sparse-causal gather", c.kg, ref, 2 * n, GV_CHECK_FORWARD_TOL);
}

/* --- the regrouping [F, L, C] <-> [L, F, C] of temporal attention --- */
typedef struct {
  gint64 n, a, b, c;
  gdouble *x, *g, *y;
} Swap;

static gdouble
swap_loss (gpointer data)
{
  Swap *s = data;
  gv_ref_swap_axes_forward (s->y, s->x, s->n, s->a, s->b, s->c);
  return gv_check_dot (s->y, s->g, s->n * s->a * s->b * s->c);
}

static void
test_swap_axes (void)
{
  GRand *r = gv_check_rand (13);
  Swap s = { 2, 3, 5, 4 };
  gint64 n = s.n * s.a * s.b * s.c;
  s.x = gv_check_random (r, n);
  s.g = gv_check_random (r, n);
  s.y = gv_check_zeros (n);
  gdouble *dx = gv_check_grad_buffer (n);
  gv_ref_swap_axes_backward (dx, s.g, s.n, s.a, s.b, s.c);
  gv_check_grad ("swap axes dX", swap_loss, &s, s.x, dx, n, TOL);

  gfloat *ref = gv_check_floats (n);
  gv_ref_permute (ref, gv_check_to_float (s.x, n), (const gint64[]) { s.n, s.a, s.b, s.c }, 4,
      (const gint[]) { 0, 2, 1, 3 });
  swap_loss (&s);
  gv_check_forward ("swap axes", s.y, ref, n, GV_CHECK_FORWARD_TOL);
}

/* --- Tune-A-Video's temporal block --- */
typedef struct {
  GvRefTemporal t;
  GvRefTemporalParams p;
  GvRefTemporalActs acts;
  gdouble *h, *g, *y;
  gint64 n;
} Temporal;

static gdouble
temporal_loss (gpointer data)
{
  Temporal *c = data;
  gv_ref_temporal_forward (c->y, &c->acts, c->h, &c->p, &c->t);
  return gv_check_dot (c->y, c->g, c->n);
}

static void
test_temporal (void)
{
  GRand *r = gv_check_rand (14);
  Temporal c = { { .clips = 2, .frames = 3, .tokens = 5, .channels = 4, .heads = 2,
      .eps = 1e-5 } };
  gint64 C = c.t.channels;
  c.n = (gint64) c.t.clips * c.t.frames * c.t.tokens * C;
  GvRefTemporalParams grads;
  gdouble **params[] = { &c.p.norm_w, &c.p.norm_b, &c.p.wq, &c.p.wk, &c.p.wv, &c.p.wo,
    &c.p.bo };
  gdouble **grad[] = { &grads.norm_w, &grads.norm_b, &grads.wq, &grads.wk, &grads.wv,
    &grads.wo, &grads.bo };
  const gchar *names[] = { "temporal d norm_temp.weight", "temporal d norm_temp.bias",
    "temporal d to_q", "temporal d to_k", "temporal d to_v", "temporal d to_out.0.weight",
    "temporal d to_out.0.bias" };
  const gint64 sizes[] = { C, C, C * C, C * C, C * C, C * C, C };
  /* random, not the zero to_out of a fresh inflation: that would check nothing upstream */
  for (guint i = 0; i < G_N_ELEMENTS (params); i++) {
    *params[i] = gv_check_random (r, sizes[i]);
    *grad[i] = gv_check_grad_buffer (sizes[i]);
  }
  c.h = gv_check_random (r, c.n);
  c.g = gv_check_random (r, c.n);
  c.y = gv_check_zeros (c.n);
  gv_ref_temporal_acts_init (&c.acts, &c.t);
  gdouble *dh = gv_check_grad_buffer (c.n);

  temporal_loss (&c);
  gv_ref_temporal_backward (dh, &grads, c.g, &c.acts, &c.p, &c.t);
  gv_check_grad ("temporal dh", temporal_loss, &c, c.h, dh, c.n, TOL);
  for (guint i = 0; i < G_N_ELEMENTS (params); i++)
    gv_check_grad (names[i], temporal_loss, &c, *params[i], *grad[i], sizes[i], TOL);
  gv_ref_temporal_acts_clear (&c.acts);
}

/* --- the time and class embedding path --- */
typedef struct {
  GvRefEmbedding e;
  GvRefEmbeddingParams p;
  GvRefEmbeddingActs acts;
  gdouble *proj, *labels, *g, *y;
  gint64 n;
} Embedding;

static gdouble
embedding_loss (gpointer data)
{
  Embedding *c = data;
  gv_ref_embedding_forward (c->y, &c->acts, c->proj, c->labels, &c->p, &c->e);
  return gv_check_dot (c->y, c->g, c->n);
}

static void
test_embedding (gconstpointer with_class)
{
  GRand *r = gv_check_rand (15);
  Embedding c = { { .clips = 2, .frames = 3, .in = 6, .dim = 5,
      .class_in = with_class ? 7 : 0 } };
  gint64 in = c.e.in, dim = c.e.dim, cin = c.e.class_in, clips = c.e.clips;
  c.n = clips * c.e.frames * dim;
  GvRefEmbeddingParams grads = { 0 };
  gdouble **params[] = { &c.p.w1, &c.p.b1, &c.p.w2, &c.p.b2, &c.p.wc1, &c.p.bc1, &c.p.wc2,
    &c.p.bc2 };
  gdouble **grad[] = { &grads.w1, &grads.b1, &grads.w2, &grads.b2, &grads.wc1, &grads.bc1,
    &grads.wc2, &grads.bc2 };
  const gchar *names[] = { "embedding d time linear_1.weight", "embedding d time linear_1.bias",
    "embedding d time linear_2.weight", "embedding d time linear_2.bias",
    "embedding d class linear_1.weight", "embedding d class linear_1.bias",
    "embedding d class linear_2.weight", "embedding d class linear_2.bias" };
  const gint64 sizes[] = { dim * in, dim, dim * dim, dim, dim * cin, dim, dim * dim, dim };
  guint n_params = with_class ? G_N_ELEMENTS (params) : 4;
  for (guint i = 0; i < n_params; i++) {
    *params[i] = gv_check_random (r, sizes[i]);
    *grad[i] = gv_check_grad_buffer (sizes[i]);
  }

  /* the sinusoidal embedding of two timesteps, as the UNet makes it */
  gfloat t[] = { 981.0f, 37.0f }, *proj = gv_check_floats (clips * in);
  gv_ref_timestep_embedding (proj, t, clips, in, TRUE, 0.0f, 10000.0f);
  c.proj = gv_check_zeros (clips * in);
  for (gint64 i = 0; i < clips * in; i++)
    c.proj[i] = proj[i];
  c.labels = with_class ? gv_check_random (r, clips * cin) : NULL;
  c.g = gv_check_random (r, c.n);
  c.y = gv_check_zeros (c.n);
  gv_ref_embedding_acts_init (&c.acts, &c.e);
  gdouble *dlabels = gv_check_grad_buffer (clips * cin);

  embedding_loss (&c);
  gv_ref_embedding_backward (&grads, with_class ? dlabels : NULL, c.g, &c.acts, c.proj,
      c.labels, &c.p, &c.e);
  for (guint i = 0; i < n_params; i++)
    gv_check_grad (names[i], embedding_loss, &c, *params[i], *grad[i], sizes[i], TOL);
  if (with_class)
    gv_check_grad ("embedding d class_labels", embedding_loss, &c, c.labels, dlabels,
        clips * cin, TOL);
  gv_ref_embedding_acts_clear (&c.acts);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ref-backward/attention", test_attention);
  g_test_add_func ("/ref-backward/sparse-causal", test_sparse_causal);
  g_test_add_func ("/ref-backward/swap-axes", test_swap_axes);
  g_test_add_func ("/ref-backward/temporal", test_temporal);
  g_test_add_data_func ("/ref-backward/embedding", GINT_TO_POINTER (FALSE), test_embedding);
  g_test_add_data_func ("/ref-backward/embedding-class", GINT_TO_POINTER (TRUE),
      test_embedding);
  return g_test_run ();
}
