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

GvTensor *
gv_encoder_stack_forward (GvEncoderStack *e, GvCmd *cmd, GvTensor *h, gboolean causal,
    GvTapFunc tap, gpointer tap_data)
{
  for (gint i = 0; i < e->n_layers; i++) {
    GvEncoderLayer *l = &e->layers[i];
    GvTensor *n = gv_layer_norm_apply (&l->ln1, cmd, h);
    GvTensor *q = gv_linear_apply (&l->q, cmd, n, GV_ACT_NONE, NULL);
    GvTensor *k = gv_linear_apply (&l->k, cmd, n, GV_ACT_NONE, NULL);
    GvTensor *v = gv_linear_apply (&l->v, cmd, n, GV_ACT_NONE, NULL);
    gv_tensor_unref (n);
    GvTensor *att = gv_tensor_like (cmd, q);
    GvAttentionArgs args = { .heads = e->heads, .causal = causal };
    gv_op_attention (cmd, att, q, k, v, &args);
    gv_tensor_unref (q);
    gv_tensor_unref (k);
    gv_tensor_unref (v);
    GvTensor *h1 = gv_linear_apply (&l->out, cmd, att, GV_ACT_NONE, h);
    gv_tensor_unref (att);
    gv_tensor_unref (h);

    n = gv_layer_norm_apply (&l->ln2, cmd, h1);
    GvTensor *m;
    if (e->act == GV_HIDDEN_ACT_GELU) {
      m = gv_linear_apply (&l->fc1, cmd, n, GV_ACT_GELU, NULL);
    } else {
      m = gv_linear_apply (&l->fc1, cmd, n, GV_ACT_NONE, NULL);
      gv_op_activation (cmd, m, m, GV_ACT_QUICK_GELU);
    }
    gv_tensor_unref (n);
    h = gv_linear_apply (&l->fc2, cmd, m, GV_ACT_NONE, h1);
    gv_tensor_unref (m);
    gv_tensor_unref (h1);
    gv_encoder_tap_layer (tap, tap_data, cmd, i + 1, h);
  }
  return h;
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
