#include "models/gv-encoder-stack.h"

/* one pre-LN encoder layer (CLIPEncoderLayer) */
struct _GvEncoderLayer {
  GvLayerNorm ln1, ln2;
  GvLinear q, k, v, out, fc1, fc2;
};

void
gv_encoder_stack_load (GvEncoderStack *e, GvLoader *ld, gint layers, gint heads, gint hidden,
    gint inner, gfloat eps, GvHiddenAct act)
{
  e->n_layers = layers;
  e->heads = heads;
  e->act = act;
  e->layers = g_new0 (GvEncoderLayer, layers);
  if (heads <= 0 || hidden % heads != 0)
    gv_loader_failf (ld, GV_ERROR_UNSUPPORTED, "hidden size %d does not split into %d heads",
        hidden, heads);
  for (gint i = 0; i < layers; i++) {
    GvEncoderLayer *l = &e->layers[i];
    gv_loader_push (ld, "encoder.layers.%d", i);
    gv_layer_norm_load (&l->ln1, ld, "layer_norm1", hidden, eps);
    gv_linear_load (&l->q, ld, "self_attn.q_proj", hidden, hidden, TRUE);
    gv_linear_load (&l->k, ld, "self_attn.k_proj", hidden, hidden, TRUE);
    gv_linear_load (&l->v, ld, "self_attn.v_proj", hidden, hidden, TRUE);
    gv_linear_load (&l->out, ld, "self_attn.out_proj", hidden, hidden, TRUE);
    gv_layer_norm_load (&l->ln2, ld, "layer_norm2", hidden, eps);
    gv_linear_load (&l->fc1, ld, "mlp.fc1", hidden, inner, TRUE);
    gv_linear_load (&l->fc2, ld, "mlp.fc2", inner, hidden, TRUE);
    gv_loader_pop (ld);
  }
}

void
gv_encoder_stack_clear (GvEncoderStack *e)
{
  for (gint i = 0; e->layers && i < e->n_layers; i++) {
    GvEncoderLayer *l = &e->layers[i];
    gv_layer_norm_clear (&l->ln1);
    gv_layer_norm_clear (&l->ln2);
    GvLinear *lin[] = { &l->q, &l->k, &l->v, &l->out, &l->fc1, &l->fc2 };
    for (guint j = 0; j < G_N_ELEMENTS (lin); j++)
      gv_linear_clear (lin[j]);
  }
  g_clear_pointer (&e->layers, g_free);
}

void
gv_encoder_tap_layer (GvTapFunc tap, gpointer data, GvCmd *cmd, gint i, GvTensor *t)
{
  if (tap != NULL) {
    gchar *name = g_strdup_printf ("hidden_states.%d", i);
    tap (name, cmd, t, data);
    g_free (name);
  }
}

/* What one layer's backward reads, kept by its recomputed forward. */
typedef struct {
  GvTensor *n1, *q, *k, *v, *att, *lse, *h1, *n2, *pre, *m;
} LayerTape;

static void
layer_tape_clear (LayerTape *t)
{
  GvTensor **all[] = { &t->n1, &t->q, &t->k, &t->v, &t->att, &t->lse, &t->h1, &t->n2,
    &t->pre, &t->m };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    g_clear_pointer (all[i], gv_tensor_unref);
}

/* keeps @t in the tape's @slot when there is a tape, else releases it */
#define KEEP(tape, slot, t) G_STMT_START { \
    if ((tape) != NULL) \
      (tape)->slot = (t); \
    else \
      gv_tensor_unref (t); \
  } G_STMT_END

/* One layer on @h (borrowed): h1 = h + out (attention (ln1 (h))), h1 + fc2 (act (fc1 (ln2
 * (h1)))). With @tape (training) the activation runs apart from fc1, so that its input is
 * kept, and the attention keeps its log-sum-exp. */
static GvTensor *
layer_forward (GvEncoderStack *e, GvEncoderLayer *l, GvCmd *cmd, GvTensor *h, gboolean causal,
    LayerTape *tape)
{
  GvTensor *n = gv_layer_norm_apply (&l->ln1, cmd, h);
  GvTensor *q = gv_linear_apply (&l->q, cmd, n, GV_ACT_NONE, NULL);
  GvTensor *k = gv_linear_apply (&l->k, cmd, n, GV_ACT_NONE, NULL);
  GvTensor *v = gv_linear_apply (&l->v, cmd, n, GV_ACT_NONE, NULL);
  KEEP (tape, n1, n);
  GvTensor *att = gv_tensor_like (cmd, q);
  GvAttentionArgs args = { .heads = e->heads, .causal = causal };
  if (tape != NULL) {
    tape->lse = GV_TENSOR (cmd, q->shape[0], e->heads, q->shape[1]);
    gv_op_attention_lse (cmd, att, tape->lse, q, k, v, &args);
  } else {
    gv_op_attention (cmd, att, q, k, v, &args);
  }
  KEEP (tape, q, q);
  KEEP (tape, k, k);
  KEEP (tape, v, v);
  GvTensor *h1 = gv_linear_apply (&l->out, cmd, att, GV_ACT_NONE, h);
  KEEP (tape, att, att);

  n = gv_layer_norm_apply (&l->ln2, cmd, h1);
  GvTensor *m;
  if (e->act == GV_HIDDEN_ACT_GELU && tape == NULL) {
    m = gv_linear_apply (&l->fc1, cmd, n, GV_ACT_GELU, NULL);
  } else {
    GvTensor *pre = gv_linear_apply (&l->fc1, cmd, n, GV_ACT_NONE, NULL);
    m = gv_tensor_like (cmd, pre);
    gv_op_activation (cmd, m, pre, e->act == GV_HIDDEN_ACT_GELU ? GV_ACT_GELU :
        GV_ACT_QUICK_GELU);
    KEEP (tape, pre, pre);
  }
  GvTensor *out = gv_linear_apply (&l->fc2, cmd, m, GV_ACT_NONE, h1);
  KEEP (tape, n2, n);
  KEEP (tape, m, m);
  KEEP (tape, h1, h1);
  return out;
}

GvTensor *
gv_encoder_stack_forward (GvEncoderStack *e, GvCmd *cmd, GvTensor *h, gboolean causal,
    GvTapFunc tap, gpointer tap_data)
{
  for (gint i = 0; i < e->n_layers; i++) {
    GvTensor *next = layer_forward (e, &e->layers[i], cmd, h, causal, NULL);
    gv_tensor_unref (h);
    h = next;
    gv_encoder_tap_layer (tap, tap_data, cmd, i + 1, h);
  }
  return h;
}

struct _GvEncoderTape {
  gboolean causal, recompute;
  GvTensor **inputs;          /* each layer's input */
  LayerTape *layers;          /* each layer's inside, unless recomputed */
};

GvEncoderTape *
gv_encoder_stack_forward_train (GvEncoderStack *e, GvCmd *cmd, GvTensor *h, gboolean causal,
    gboolean recompute, GvTensor **out)
{
  GvEncoderTape *t = g_new0 (GvEncoderTape, 1);
  t->causal = causal;
  t->recompute = recompute;
  t->inputs = g_new0 (GvTensor *, e->n_layers);
  t->layers = g_new0 (LayerTape, e->n_layers);
  gv_tensor_ref (h);
  for (gint i = 0; i < e->n_layers; i++) {
    t->inputs[i] = h;
    h = layer_forward (e, &e->layers[i], cmd, h, causal, recompute ? NULL : &t->layers[i]);
  }
  *out = h;
  return t;
}

/* the backward of layer_forward (): dx = dL/dh from dout; @t is what the forward kept, or
 * empty (then the layer is recomputed from h); it is cleared */
static void
layer_backward (GvEncoderStack *e, GvEncoderLayer *l, GvCmd *cmd, const GvGrads *g,
    GvTensor *dx, GvTensor *dout, GvTensor *h, gboolean causal, LayerTape *tape)
{
  LayerTape t = *tape;
  if (t.m == NULL)
    gv_tensor_unref (layer_forward (e, l, cmd, h, causal, &t));

  /* out = h1 + fc2 (act (fc1 (ln2 (h1)))) */
  GvTensor *dm = gv_tensor_like (cmd, t.m);
  gv_linear_backward (&l->fc2, cmd, g, NULL, dm, dout, t.m, FALSE);
  gv_op_activation_backward (cmd, dm, dm, t.pre, e->act == GV_HIDDEN_ACT_GELU ? GV_ACT_GELU :
      GV_ACT_QUICK_GELU, FALSE);
  GvTensor *dn = gv_tensor_like (cmd, t.n2);
  gv_linear_backward (&l->fc1, cmd, g, NULL, dn, dm, t.n2, FALSE);
  GvTensor *dh1 = gv_tensor_like (cmd, t.h1);
  gv_tensor_record_copy (cmd, dh1, dout);
  gv_layer_norm_backward (&l->ln2, cmd, g, dh1, dn, t.h1, TRUE);
  gv_tensor_unref (dm);

  /* h1 = h + out (attention (q, k, v of ln1 (h))) */
  GvTensor *datt = gv_tensor_like (cmd, t.att);
  gv_linear_backward (&l->out, cmd, g, NULL, datt, dh1, t.att, FALSE);
  GvTensor *dq = gv_tensor_like (cmd, t.q), *dk = gv_tensor_like (cmd, t.k);
  GvTensor *dv = gv_tensor_like (cmd, t.v);
  GvAttentionArgs args = { .heads = e->heads, .causal = causal };
  gv_op_attention_backward (cmd, dq, dk, dv, datt, t.q, t.k, t.v, t.att, t.lse, &args, FALSE);
  gv_linear_backward (&l->q, cmd, g, NULL, dn, dq, t.n1, FALSE);
  gv_linear_backward (&l->k, cmd, g, NULL, dn, dk, t.n1, TRUE);
  gv_linear_backward (&l->v, cmd, g, NULL, dn, dv, t.n1, TRUE);
  gv_tensor_record_copy (cmd, dx, dh1);
  gv_layer_norm_backward (&l->ln1, cmd, g, dx, dn, h, TRUE);
  GvTensor *done[] = { dn, dh1, datt, dq, dk, dv };
  for (guint i = 0; i < G_N_ELEMENTS (done); i++)
    gv_tensor_unref (done[i]);
  layer_tape_clear (&t);
}

GvTensor *
gv_encoder_stack_backward (GvEncoderStack *e, GvCmd *cmd, const GvGrads *g, GvTensor *dout,
    GvEncoderTape *t)
{
  GvTensor *dh = gv_tensor_ref (dout);
  for (gint i = e->n_layers - 1; i >= 0; i--) {
    GvTensor *dx = gv_tensor_like (cmd, t->inputs[i]);
    layer_backward (e, &e->layers[i], cmd, g, dx, dh, t->inputs[i], t->causal, &t->layers[i]);
    gv_tensor_unref (dh);
    g_clear_pointer (&t->inputs[i], gv_tensor_unref);
    dh = dx;
  }
  g_free (t->inputs);
  g_free (t->layers);
  g_free (t);
  return dh;
}

static void
param_pair (GvParamFunc fn, gpointer data, const gchar *prefix, const gchar *name,
    GvTensor *weight, GvTensor *bias)
{
  gchar *w = g_strdup_printf ("%s%s.weight", prefix, name);
  fn (w, weight, data);
  g_free (w);
  if (bias != NULL) {
    gchar *b = g_strdup_printf ("%s%s.bias", prefix, name);
    fn (b, bias, data);
    g_free (b);
  }
}

void
gv_linear_foreach_param (GvLinear *l, const gchar *prefix, const gchar *name, GvParamFunc fn,
    gpointer data)
{
  param_pair (fn, data, prefix, name, l->weight, l->bias);
}

void
gv_layer_norm_foreach_param (GvLayerNorm *n, const gchar *prefix, const gchar *name,
    GvParamFunc fn, gpointer data)
{
  param_pair (fn, data, prefix, name, n->weight, n->bias);
}

void
gv_encoder_stack_foreach_param (GvEncoderStack *e, const gchar *prefix, GvParamFunc fn,
    gpointer data)
{
  for (gint i = 0; i < e->n_layers; i++) {
    GvEncoderLayer *l = &e->layers[i];
    gchar *p = g_strdup_printf ("%sencoder.layers.%d.", prefix, i);
    gv_layer_norm_foreach_param (&l->ln1, p, "layer_norm1", fn, data);
    gv_linear_foreach_param (&l->q, p, "self_attn.q_proj", fn, data);
    gv_linear_foreach_param (&l->k, p, "self_attn.k_proj", fn, data);
    gv_linear_foreach_param (&l->v, p, "self_attn.v_proj", fn, data);
    gv_linear_foreach_param (&l->out, p, "self_attn.out_proj", fn, data);
    gv_layer_norm_foreach_param (&l->ln2, p, "layer_norm2", fn, data);
    gv_linear_foreach_param (&l->fc1, p, "mlp.fc1", fn, data);
    gv_linear_foreach_param (&l->fc2, p, "mlp.fc2", fn, data);
    g_free (p);
  }
}

GvTensor *
gv_encoder_gather_rows (GvCmd *cmd, GvTensor *table, const gint32 *rows, gint64 count)
{
  gint64 r = table->shape[0], d = table->shape[1];
  GvTensor *index = gv_tensor_alloc_typed (cmd, GV_DTYPE_I32, 2, (const gint64[]) { 1, count });
  gv_tensor_record_upload (cmd, index, rows);
  GvTensor *src = GV_VIEW (table, 0, 1, 1, r, d);
  GvTensor *out = GV_TENSOR (cmd, 1, 1, count, d);
  gv_op_gather (cmd, out, src, index);
  GvTensor *out2 = GV_VIEW (out, 0, count, d);
  gv_tensor_unref (out);
  gv_tensor_unref (src);
  gv_tensor_unref (index);
  return out2;
}

void
gv_encoder_gather_rows_backward (GvCmd *cmd, GvTensor *dtable, GvTensor *drows,
    const gint32 *rows, gint64 count, gboolean accumulate)
{
  gint64 r = dtable->shape[0], d = dtable->shape[1];
  GvTensor *index = gv_tensor_alloc_typed (cmd, GV_DTYPE_I32, 2, (const gint64[]) { 1, count });
  gv_tensor_record_upload (cmd, index, rows);
  GvTensor *dsrc = GV_VIEW (dtable, 0, 1, 1, r, d);
  GvTensor *dout = GV_VIEW (drows, 0, 1, 1, count, d);
  gv_op_gather_backward (cmd, dsrc, dout, index, accumulate);
  gv_tensor_unref (dout);
  gv_tensor_unref (dsrc);
  gv_tensor_unref (index);
}
