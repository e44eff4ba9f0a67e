#include <math.h>

#include "models/gv-transformer.h"

/* A Linear initialised as torch.nn.Linear is (uniform in +-1/sqrt(in)), or to zero. */
static void
init_linear (GvLinear *l, GvLoader *ld, GvDevice *dev, gint in, gint out, gboolean bias,
    gboolean zero, GRand *rand)
{
  gfloat bound = 1.0f / sqrtf ((gfloat) in);
  gfloat *w = g_new0 (gfloat, (gsize) in * out);
  gfloat *b = g_new0 (gfloat, out);
  GError *error = NULL;

  for (gsize i = 0; !zero && i < (gsize) in * out; i++)
    w[i] = (gfloat) g_rand_double_range (rand, -bound, bound);
  l->in = in;
  l->out = out;
  l->weight = gv_tensor_new_from_data (dev, 2, (const gint64[]) { out, in }, w, &error);
  if (l->weight != NULL && bias)
    l->bias = gv_tensor_new_from_data (dev, 1, (const gint64[]) { out }, b, &error);
  if (error != NULL) {
    gv_loader_failf (ld, (GvErrorCode) error->code, "initialising a temporal layer: %s",
        error->message);
    g_error_free (error);
  }
  g_free (w);
  g_free (b);
}

static void
init_layer_norm (GvLayerNorm *n, GvLoader *ld, GvDevice *dev, gint dim)
{
  gfloat *ones = g_new (gfloat, dim), *zeros = g_new0 (gfloat, dim);
  GError *error = NULL;

  for (gint i = 0; i < dim; i++)
    ones[i] = 1.0f;
  n->dim = dim;
  n->eps = 1e-5f;
  n->weight = gv_tensor_new_from_data (dev, 1, (const gint64[]) { dim }, ones, &error);
  if (n->weight != NULL)
    n->bias = gv_tensor_new_from_data (dev, 1, (const gint64[]) { dim }, zeros, &error);
  if (error != NULL) {
    gv_loader_failf (ld, (GvErrorCode) error->code, "initialising norm_temp: %s",
        error->message);
    g_error_free (error);
  }
  g_free (ones);
  g_free (zeros);
}

static void
load_attention (GvAttentionProj *a, GvLoader *ld, const gchar *name, gint dim, gint context)
{
  gv_loader_push (ld, "%s", name);
  gv_linear_load (&a->to_q, ld, "to_q", dim, dim, FALSE);
  gv_linear_load (&a->to_k, ld, "to_k", context, dim, FALSE);
  gv_linear_load (&a->to_v, ld, "to_v", context, dim, FALSE);
  gv_linear_load (&a->to_out, ld, "to_out.0", dim, dim, TRUE);
  gv_loader_pop (ld);
}

void
gv_temporal_block_load (GvTemporalBlock *b, GvLoader *ld, const gchar *name, gint dim,
    GvDevice *dev, GRand *rand)
{
  gv_loader_push (ld, "%s", name);
  b->attn1_q = GV_LOAD_OPTIONAL (ld, "attn1.to_q.weight", dim, dim);
  b->attn2_q = GV_LOAD_OPTIONAL (ld, "attn2.to_q.weight", dim, dim);
  b->norm_temp.weight = GV_LOAD_OPTIONAL (ld, "norm_temp.weight", dim);
  if (b->norm_temp.weight != NULL) {
    gv_layer_norm_clear (&b->norm_temp);
    gv_layer_norm_load (&b->norm_temp, ld, "norm_temp", dim, 1e-5f);
    load_attention (&b->attn_temp, ld, "attn_temp", dim, dim);
  } else {
    init_layer_norm (&b->norm_temp, ld, dev, dim);
    init_linear (&b->attn_temp.to_q, ld, dev, dim, dim, FALSE, FALSE, rand);
    init_linear (&b->attn_temp.to_k, ld, dev, dim, dim, FALSE, FALSE, rand);
    init_linear (&b->attn_temp.to_v, ld, dev, dim, dim, FALSE, FALSE, rand);
    init_linear (&b->attn_temp.to_out, ld, dev, dim, dim, TRUE, TRUE, rand);
  }
  gv_loader_pop (ld);
}

void
gv_temporal_block_clear (GvTemporalBlock *b)
{
  g_clear_pointer (&b->attn1_q, gv_tensor_unref);
  g_clear_pointer (&b->attn2_q, gv_tensor_unref);
  gv_layer_norm_clear (&b->norm_temp);
  gv_linear_clear (&b->attn_temp.to_q);
  gv_linear_clear (&b->attn_temp.to_k);
  gv_linear_clear (&b->attn_temp.to_v);
  gv_linear_clear (&b->attn_temp.to_out);
}

void
gv_transformer_load (GvTransformer2D *t, GvLoader *ld, const gchar *name, gint channels,
    const GvTransformerSpec *spec)
{
  gint dim = channels;   /* inner dim = heads * head size = channels in SD */

  t->channels = channels;
  t->heads = spec->heads;
  t->n_blocks = spec->n_layers;
  t->blocks = g_new0 (GvTransformerBlock, spec->n_layers);
  gv_loader_push (ld, "%s", name);
  gv_group_norm_load (&t->norm, ld, "norm", channels, spec->groups, 1e-6f);
  if (spec->heads <= 0 || channels % spec->heads != 0)
    gv_loader_failf (ld, GV_ERROR_UNSUPPORTED, "%s: %d channels do not split into %d heads",
        name, channels, spec->heads);
  if (spec->linear_projection)
    gv_linear_load (&t->proj_in, ld, "proj_in", channels, dim, TRUE);
  else
    gv_linear_load_conv1x1 (&t->proj_in, ld, "proj_in", channels, dim, TRUE);
  for (gint i = 0; i < spec->n_layers; i++) {
    GvTransformerBlock *b = &t->blocks[i];
    gv_loader_push (ld, "transformer_blocks.%d", i);
    gv_layer_norm_load (&b->norm1, ld, "norm1", dim, 1e-5f);
    load_attention (&b->attn1, ld, "attn1", dim, dim);
    gv_layer_norm_load (&b->norm2, ld, "norm2", dim, 1e-5f);
    load_attention (&b->attn2, ld, "attn2", dim, spec->cross_attention_dim);
    gv_layer_norm_load (&b->norm3, ld, "norm3", dim, 1e-5f);
    gv_linear_load (&b->ff_proj, ld, "ff.net.0.proj", dim, 8 * dim, TRUE);
    gv_linear_load (&b->ff_out, ld, "ff.net.2", 4 * dim, dim, TRUE);
    gv_loader_pop (ld);
  }
  if (spec->linear_projection)
    gv_linear_load (&t->proj_out, ld, "proj_out", dim, channels, TRUE);
  else
    gv_linear_load_conv1x1 (&t->proj_out, ld, "proj_out", dim, channels, TRUE);
  gv_loader_pop (ld);
}

GvTensor *
gv_sparse_causal_index (GvCmd *cmd, gint clips, gint frames)
{
  if (frames <= 1)
    return NULL;
  gint n = clips * frames;
  gint32 *idx = g_new (gint32, 2 * n);
  for (gint c = 0; c < clips; c++) {
    for (gint f = 0; f < frames; f++) {
      idx[2 * (c * frames + f)] = c * frames;
      idx[2 * (c * frames + f) + 1] = c * frames + MAX (f - 1, 0);
    }
  }
  GvTensor *t = gv_tensor_alloc_typed (cmd, GV_DTYPE_I32, 2, (const gint64[]) { 1, 2 * n });
  gv_tensor_record_upload (cmd, t, idx);
  g_free (idx);
  return t;
}

/* keys or values [N, L, C] of each image gathered with those of the two images @frame_index
 * names (rows of one image each: [1, 1, N, L*C] gathered into [N, 2L, C]) */
static GvTensor *
gather_pairs (GvCmd *cmd, GvTensor *t, GvTensor *frame_index)
{
  gint64 n = t->shape[0], l = t->shape[1], c = t->shape[2];
  GvTensor *rows = GV_VIEW (t, 0, 1, 1, n, l * c);
  GvTensor *pairs = GV_TENSOR (cmd, 1, 1, 2 * n, l * c);
  gv_op_gather (cmd, pairs, rows, frame_index);
  GvTensor *out = GV_VIEW (pairs, 0, n, 2 * l, c);
  gv_tensor_unref (rows);
  gv_tensor_unref (pairs);
  return out;
}

/* What the backward of one attend () reads: the projections, the gathered keys and values,
 * the attention output and its log-sum-exp. */
typedef struct {
  GvTensor *q, *k0, *v0, *k, *v, *att, *lse;
} AttendInside;

static void
attend_inside_clear (AttendInside *a)
{
  GvTensor **all[] = { &a->q, &a->k0, &a->v0, &a->k, &a->v, &a->att, &a->lse };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    g_clear_pointer (all[i], gv_tensor_unref);
}

/* Multi-head attention of @x's tokens on @context (NULL: self-attention), output projection
 * with the residual @x fused. With @frame_index (sparse-causal), keys and values of each image
 * are those of the two images the index names, concatenated. @keep (training, or NULL) gets
 * what the backward reads; the attention then also writes its log-sum-exp. */
static GvTensor *
attend (GvAttentionProj *a, GvCmd *cmd, GvTensor *normed, GvTensor *context, GvTensor *residual,
    gint heads, GvTensor *frame_index, GvTensor *tuned_q, AttendInside *keep)
{
  GvTensor *src = context ? context : normed;
  GvLinear to_q = a->to_q;
  if (tuned_q != NULL)
    to_q.weight = tuned_q;
  GvTensor *q = gv_linear_apply (&to_q, cmd, normed, GV_ACT_NONE, NULL);
  GvTensor *k0 = gv_linear_apply (&a->to_k, cmd, src, GV_ACT_NONE, NULL);
  GvTensor *v0 = gv_linear_apply (&a->to_v, cmd, src, GV_ACT_NONE, NULL);
  GvTensor *k = frame_index ? gather_pairs (cmd, k0, frame_index) : gv_tensor_ref (k0);
  GvTensor *v = frame_index ? gather_pairs (cmd, v0, frame_index) : gv_tensor_ref (v0);

  GvTensor *att = gv_tensor_like (cmd, q), *lse = NULL;
  GvAttentionArgs args = { .heads = heads };
  if (keep != NULL) {
    lse = GV_TENSOR (cmd, q->shape[0], heads, q->shape[1]);
    gv_op_attention_lse (cmd, att, lse, q, k, v, &args);
  } else {
    gv_op_attention (cmd, att, q, k, v, &args);
  }
  GvTensor *out = gv_linear_apply (&a->to_out, cmd, att, GV_ACT_NONE, residual);
  AttendInside in = { q, k0, v0, k, v, att, lse };
  if (keep != NULL)
    *keep = in;
  else
    attend_inside_clear (&in);
  return out;
}

/* What the backward of temporal () reads: the permuted sequence, its norm, the attention. */
typedef struct {
  GvTensor *seq, *seq3, *normed;
  AttendInside att;
} TemporalInside;

/* Tune-A-Video's temporal attention: tokens [N*F, L, C] regrouped as [N*L, F, C]. */
static GvTensor *
temporal (GvTemporalBlock *b, GvCmd *cmd, GvTensor *h, gint heads, gint frames,
    TemporalInside *keep)
{
  gint64 nf = h->shape[0], l = h->shape[1], c = h->shape[2], n = nf / frames;
  GvTensor *in = GV_VIEW (h, 0, n, frames, l, c);
  GvTensor *seq = GV_TENSOR (cmd, n, l, frames, c);
  gv_op_permute (cmd, seq, in, (const gint[]) { 0, 2, 1, 3 });
  gv_tensor_unref (in);

  GvTensor *seq3 = GV_VIEW (seq, 0, n * l, frames, c);
  GvTensor *normed = gv_layer_norm_apply (&b->norm_temp, cmd, seq3);
  GvTensor *att = attend (&b->attn_temp, cmd, normed, NULL, seq3, heads, NULL, NULL,
      keep ? &keep->att : NULL);
  if (keep != NULL) {
    keep->seq = seq;
    keep->seq3 = seq3;
    keep->normed = normed;
  } else {
    gv_tensor_unref (normed);
    gv_tensor_unref (seq3);
    gv_tensor_unref (seq);
  }

  GvTensor *att4 = GV_VIEW (att, 0, n, l, frames, c);
  GvTensor *back = GV_TENSOR (cmd, n, frames, l, c);
  gv_op_permute (cmd, back, att4, (const gint[]) { 0, 2, 1, 3 });
  gv_tensor_unref (att4);
  gv_tensor_unref (att);
  GvTensor *out = GV_VIEW (back, 0, nf, l, c);
  gv_tensor_unref (back);
  return out;
}

/* What the backward of one BasicTransformerBlock reads (h: its input; h3: before the temporal
 * attention; temp: only with temporal layers). */
typedef struct {
  GvTensor *h, *n1, *h1, *n2, *h2, *n3, *proj, *gated, *h3;
  AttendInside a1, a2;
  TemporalInside temp;
} BlockInside;

static void
block_inside_clear (BlockInside *in)
{
  GvTensor **all[] = { &in->h, &in->n1, &in->h1, &in->n2, &in->h2, &in->n3, &in->proj,
    &in->gated, &in->h3, &in->temp.seq, &in->temp.seq3, &in->temp.normed };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    g_clear_pointer (all[i], gv_tensor_unref);
  attend_inside_clear (&in->a1);
  attend_inside_clear (&in->a2);
  attend_inside_clear (&in->temp.att);
}

/* releases *@t unless the block's inside is being kept (inference frees as it goes) */
static void
release (GvTensor **t, gboolean keep)
{
  if (!keep)
    g_clear_pointer (t, gv_tensor_unref);
}

/* @keep (training, or NULL) gets the block's inside */
static GvTensor *
block_forward (GvTransformerBlock *b, GvCmd *cmd, GvTensor *h, GvTensor *context, gint heads,
    gint frames, GvTensor *frame_index, GvTemporalBlock *tb, BlockInside *keep)
{
  gboolean k = keep != NULL;
  BlockInside in = { k ? gv_tensor_ref (h) : NULL };
  in.n1 = gv_layer_norm_apply (&b->norm1, cmd, h);
  in.h1 = attend (&b->attn1, cmd, in.n1, NULL, h, heads, frame_index, tb ? tb->attn1_q : NULL,
      k ? &in.a1 : NULL);
  release (&in.n1, k);

  in.n2 = gv_layer_norm_apply (&b->norm2, cmd, in.h1);
  in.h2 = attend (&b->attn2, cmd, in.n2, context, in.h1, heads, NULL, tb ? tb->attn2_q : NULL,
      k ? &in.a2 : NULL);
  release (&in.n2, k);
  release (&in.h1, k);

  in.n3 = gv_layer_norm_apply (&b->norm3, cmd, in.h2);
  in.proj = gv_linear_apply (&b->ff_proj, cmd, in.n3, GV_ACT_NONE, NULL);
  release (&in.n3, k);
  in.gated = gv_tensor_like_last (cmd, in.proj, in.proj->shape[in.proj->ndim - 1] / 2);
  gv_op_geglu (cmd, in.gated, in.proj);
  release (&in.proj, k);
  in.h3 = gv_linear_apply (&b->ff_out, cmd, in.gated, GV_ACT_NONE, in.h2);
  release (&in.gated, k);
  release (&in.h2, k);

  GvTensor *out = tb ? temporal (tb, cmd, in.h3, heads, frames, k ? &in.temp : NULL) :
      gv_tensor_ref (in.h3);
  release (&in.h3, k);
  if (k)
    *keep = in;
  return out;
}

/* What the backward of a Transformer2D reads: norm (x) and each block's inside (the input of
 * block i + 1 is the output of block i; the last output is proj_out's input). */
struct _GvTransformerInside {
  GvTensor *normed, *last;
  gint n_blocks;
  BlockInside *blocks;
};

void
gv_transformer_inside_free (GvTransformerInside *in)
{
  if (in == NULL)
    return;
  for (gint i = 0; i < in->n_blocks; i++)
    block_inside_clear (&in->blocks[i]);
  g_free (in->blocks);
  g_clear_pointer (&in->normed, gv_tensor_unref);
  g_clear_pointer (&in->last, gv_tensor_unref);
  g_free (in);
}

/* the forward; with @train the attentions write their log-sum-exp and the inside is recorded
 * (returned in *@keep when @keep is not NULL, else released block by block) */
static GvTensor *
forward (GvTransformer2D *t, GvCmd *cmd, GvTensor *x, GvTensor *context, gint frames,
    GvTensor *frame_index, GvTemporalBlock *const *temporal, gboolean train,
    GvTransformerInside **keep)
{
  GvTransformerInside *in = NULL;
  BlockInside scratch;
  GvTensor *normed = gv_group_norm_apply (&t->norm, cmd, x, 1, FALSE);
  GvTensor *h = gv_linear_apply_pixels (&t->proj_in, cmd, normed);

  if (keep != NULL) {
    in = g_new0 (GvTransformerInside, 1);
    in->n_blocks = t->n_blocks;
    in->blocks = g_new0 (BlockInside, t->n_blocks);
    in->normed = gv_tensor_ref (normed);
  }
  gv_tensor_unref (normed);
  for (gint i = 0; i < t->n_blocks; i++) {
    BlockInside *bi = in ? &in->blocks[i] : train ? &scratch : NULL;
    GvTensor *next = block_forward (&t->blocks[i], cmd, h, context, t->heads, frames,
        frame_index, temporal ? temporal[i] : NULL, bi);
    if (bi == &scratch)
      block_inside_clear (&scratch);
    gv_tensor_unref (h);
    h = next;
  }

  GvTensor *out = gv_linear_apply_to_pixels (&t->proj_out, cmd, h, x->shape[2], x->shape[3],
      x);
  if (in != NULL) {
    in->last = h;
    *keep = in;
  } else {
    gv_tensor_unref (h);
  }
  return out;
}

GvTensor *
gv_transformer_forward (GvTransformer2D *t, GvCmd *cmd, GvTensor *x, GvTensor *context,
    gint frames, GvTensor *frame_index, GvTemporalBlock *const *temporal)
{
  return forward (t, cmd, x, context, frames, frame_index, temporal, FALSE, NULL);
}

GvTensor *
gv_transformer_forward_train (GvTransformer2D *t, GvCmd *cmd, GvTensor *x, GvTensor *context,
    gint frames, GvTensor *frame_index, GvTemporalBlock *const *temporal,
    GvTransformerInside **keep)
{
  return forward (t, cmd, x, context, frames, frame_index, temporal, TRUE, keep);
}

/* --- backward --- */

/* dt [N, L, C] = the gradient of gather_pairs (t) from dpairs [N, 2L, C] */
static void
gather_pairs_backward (GvCmd *cmd, GvTensor *dt, GvTensor *dpairs, GvTensor *frame_index)
{
  gint64 n = dt->shape[0], lc = dt->shape[1] * dt->shape[2];
  GvTensor *rows = GV_VIEW (dt, 0, 1, 1, n, lc);
  GvTensor *pairs = GV_VIEW (dpairs, 0, 1, 1, 2 * n, lc);
  gv_op_gather_backward (cmd, rows, pairs, frame_index, FALSE);
  gv_tensor_unref (rows);
  gv_tensor_unref (pairs);
}

/* The backward of attend () without its residual (whose gradient is @dout itself: the
 * caller adds it), from its inside @in (released): dnormed (+)= as @accumulate. */
static void
attend_backward (GvAttentionProj *a, GvCmd *cmd, const GvGrads *g, GvTensor *dnormed,
    GvTensor *dout, GvTensor *normed, GvTensor *context, gint heads, GvTensor *frame_index,
    GvTensor *tuned_q, gboolean accumulate, AttendInside *in)
{
  GvTensor *src = context ? context : normed;
  GvLinear to_q = a->to_q;
  if (tuned_q != NULL)
    to_q.weight = tuned_q;
  GvAttentionArgs args = { .heads = heads };

  GvTensor *datt = gv_tensor_like (cmd, in->att);
  gv_linear_backward (&a->to_out, cmd, g, NULL, datt, dout, in->att, FALSE);
  GvTensor *dq = gv_tensor_like (cmd, in->q), *dk = gv_tensor_like (cmd, in->k);
  GvTensor *dv = gv_tensor_like (cmd, in->v);
  gv_op_attention_backward (cmd, dq, dk, dv, datt, in->q, in->k, in->v, in->att, in->lse,
      &args, FALSE);
  gv_tensor_unref (datt);
  if (frame_index != NULL) {
    GvTensor *dk0 = gv_tensor_like (cmd, in->k0), *dv0 = gv_tensor_like (cmd, in->v0);
    gather_pairs_backward (cmd, dk0, dk, frame_index);
    gather_pairs_backward (cmd, dv0, dv, frame_index);
    gv_tensor_unref (dk);
    gv_tensor_unref (dv);
    dk = dk0;
    dv = dv0;
  }
  attend_inside_clear (in);

  gv_linear_backward (&to_q, cmd, g, to_q.weight, dnormed, dq, normed, accumulate);
  gv_linear_backward (&a->to_k, cmd, g, NULL, context ? NULL : dnormed, dk, src, TRUE);
  gv_linear_backward (&a->to_v, cmd, g, NULL, context ? NULL : dnormed, dv, src, TRUE);
  gv_tensor_unref (dq);
  gv_tensor_unref (dk);
  gv_tensor_unref (dv);
}

/* the backward of temporal () from its inside @in (released): dh (+)= as @accumulate */
static void
temporal_backward (GvTemporalBlock *b, GvCmd *cmd, const GvGrads *g, GvTensor *dh,
    GvTensor *dout, gint heads, gint frames, gboolean accumulate, TemporalInside *in)
{
  const gint perm[] = { 0, 2, 1, 3 };
  gint64 nf = dh->shape[0], l = dh->shape[1], c = dh->shape[2], n = nf / frames;

  GvTensor *dout4 = GV_VIEW (dout, 0, n, frames, l, c);
  GvTensor *dseq = GV_TENSOR (cmd, n, l, frames, c);
  gv_op_permute_backward (cmd, dseq, dout4, perm, FALSE);
  gv_tensor_unref (dout4);
  GvTensor *datt3 = GV_VIEW (dseq, 0, n * l, frames, c);
  GvTensor *dnormed = gv_tensor_like (cmd, in->normed);
  attend_backward (&b->attn_temp, cmd, g, dnormed, datt3, in->normed, NULL, heads, NULL, NULL,
      FALSE, &in->att);
  /* the residual's gradient is datt3 itself: norm_temp's input gradient adds to it */
  gv_layer_norm_backward (&b->norm_temp, cmd, g, datt3, dnormed, in->seq3, TRUE);
  gv_tensor_unref (dnormed);
  g_clear_pointer (&in->normed, gv_tensor_unref);
  g_clear_pointer (&in->seq3, gv_tensor_unref);
  g_clear_pointer (&in->seq, gv_tensor_unref);

  GvTensor *dh4 = GV_VIEW (dh, 0, n, frames, l, c);
  GvTensor *dseq4 = GV_VIEW (dseq, 0, n, l, frames, c);
  gv_op_permute_backward (cmd, dh4, dseq4, perm, accumulate);
  gv_tensor_unref (dh4);
  gv_tensor_unref (dseq4);
  gv_tensor_unref (datt3);
  gv_tensor_unref (dseq);
}

/* dst = a copy of @src (a gradient that flows on through a residual) */
static GvTensor *
grad_copy (GvCmd *cmd, GvTensor *src)
{
  GvTensor *dst = gv_tensor_like (cmd, src);
  gv_tensor_record_copy (cmd, dst, src);
  return dst;
}

/* the backward of block_forward () from its inside @in (released as it is read) */
static void
block_backward (GvTransformerBlock *b, GvCmd *cmd, const GvGrads *g, GvTensor *dh,
    GvTensor *dout, GvTensor *context, gint heads, gint frames, GvTensor *frame_index,
    GvTemporalBlock *tb, BlockInside *in)
{
  GvTensor *q1 = tb ? tb->attn1_q : NULL, *q2 = tb ? tb->attn2_q : NULL;

  GvTensor *dh3;
  if (tb != NULL) {
    dh3 = gv_tensor_like (cmd, in->h3);
    temporal_backward (tb, cmd, g, dh3, dout, heads, frames, FALSE, &in->temp);
  } else {
    dh3 = gv_tensor_ref (dout);
  }
  g_clear_pointer (&in->h3, gv_tensor_unref);

  /* h3 = ff_out (geglu (ff_proj (norm3 (h2)))) + h2 */
  GvTensor *dgated = gv_tensor_like (cmd, in->gated);
  gv_linear_backward (&b->ff_out, cmd, g, NULL, dgated, dh3, in->gated, FALSE);
  GvTensor *dproj = gv_tensor_like (cmd, in->proj);
  gv_op_geglu_backward (cmd, dproj, dgated, in->proj, FALSE);
  GvTensor *dn3 = gv_tensor_like (cmd, in->n3);
  gv_linear_backward (&b->ff_proj, cmd, g, NULL, dn3, dproj, in->n3, FALSE);
  GvTensor *dh2 = grad_copy (cmd, dh3);
  gv_layer_norm_backward (&b->norm3, cmd, g, dh2, dn3, in->h2, TRUE);
  gv_tensor_unref (dh3);
  gv_tensor_unref (dgated);
  gv_tensor_unref (dproj);
  gv_tensor_unref (dn3);
  g_clear_pointer (&in->gated, gv_tensor_unref);
  g_clear_pointer (&in->proj, gv_tensor_unref);
  g_clear_pointer (&in->n3, gv_tensor_unref);
  g_clear_pointer (&in->h2, gv_tensor_unref);

  /* h2 = attn2 (norm2 (h1), context) + h1 */
  GvTensor *dn2 = gv_tensor_like (cmd, in->n2);
  attend_backward (&b->attn2, cmd, g, dn2, dh2, in->n2, context, heads, NULL, q2, FALSE,
      &in->a2);
  GvTensor *dh1 = dh2;
  gv_layer_norm_backward (&b->norm2, cmd, g, dh1, dn2, in->h1, TRUE);
  gv_tensor_unref (dn2);
  g_clear_pointer (&in->n2, gv_tensor_unref);
  g_clear_pointer (&in->h1, gv_tensor_unref);

  /* h1 = attn1 (norm1 (h)) + h */
  GvTensor *dn1 = gv_tensor_like (cmd, in->n1);
  attend_backward (&b->attn1, cmd, g, dn1, dh1, in->n1, NULL, heads, frame_index, q1, FALSE,
      &in->a1);
  gv_tensor_record_copy (cmd, dh, dh1);
  gv_layer_norm_backward (&b->norm1, cmd, g, dh, dn1, in->h, TRUE);
  gv_tensor_unref (dn1);
  gv_tensor_unref (dh1);
  block_inside_clear (in);
}

void
gv_transformer_backward (GvTransformer2D *t, GvCmd *cmd, const GvGrads *g, GvTensor *dx,
    GvTensor *dout, GvTensor *x, GvTensor *context, gint frames, GvTensor *frame_index,
    GvTemporalBlock *const *temporal, gboolean accumulate, GvTransformerInside *kept)
{
  GvTransformerInside *in = kept;
  /* recomputed as the forward kept it: the same bytes */
  if (in == NULL)
    gv_tensor_unref (forward (t, cmd, x, context, frames, frame_index, temporal, TRUE, &in));

  GvTensor *dh = gv_tensor_like (cmd, in->last);
  gv_linear_to_pixels_backward (&t->proj_out, cmd, g, dh, dout, in->last, FALSE);
  g_clear_pointer (&in->last, gv_tensor_unref);
  for (gint i = t->n_blocks - 1; i >= 0; i--) {
    GvTensor *dprev = gv_tensor_like (cmd, in->blocks[i].h);
    block_backward (&t->blocks[i], cmd, g, dprev, dh, context, t->heads, frames,
        frame_index, temporal ? temporal[i] : NULL, &in->blocks[i]);
    gv_tensor_unref (dh);
    dh = dprev;
  }

  GvTensor *dnormed = gv_tensor_like (cmd, in->normed);
  gv_linear_pixels_backward (&t->proj_in, cmd, g, dnormed, dh, in->normed, FALSE);
  gv_tensor_unref (dh);
  gv_group_norm_backward (&t->norm, cmd, g, dx, dnormed, x, 1, FALSE, accumulate);
  gv_tensor_unref (dnormed);
  gv_transformer_inside_free (in);
  if (dx != NULL)
    gv_op_add_backward (cmd, dx, NULL, dout, TRUE);
}

void
gv_transformer_clear (GvTransformer2D *t)
{
  gv_group_norm_clear (&t->norm);
  gv_linear_clear (&t->proj_in);
  gv_linear_clear (&t->proj_out);
  for (gint i = 0; i < t->n_blocks; i++) {
    GvTransformerBlock *b = &t->blocks[i];
    GvLayerNorm *norms[] = { &b->norm1, &b->norm2, &b->norm3 };
    GvAttentionProj *atts[] = { &b->attn1, &b->attn2 };
    for (guint j = 0; j < G_N_ELEMENTS (norms); j++)
      gv_layer_norm_clear (norms[j]);
    for (guint j = 0; j < G_N_ELEMENTS (atts); j++) {
      gv_linear_clear (&atts[j]->to_q);
      gv_linear_clear (&atts[j]->to_k);
      gv_linear_clear (&atts[j]->to_v);
      gv_linear_clear (&atts[j]->to_out);
    }
    gv_linear_clear (&b->ff_proj);
    gv_linear_clear (&b->ff_out);
  }
  g_clear_pointer (&t->blocks, g_free);
  t->n_blocks = 0;
}
