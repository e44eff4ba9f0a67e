#include "models/gv-clip.h"

/* one pre-LN encoder layer (CLIPEncoderLayer) */
typedef struct {
  GvLayerNorm ln1, ln2;
  GvLinear q, k, v, out, fc1, fc2;
} ClipLayer;

typedef struct {
  gint n_layers, heads;
  ClipLayer *layers;
  GvHiddenAct act;
} ClipEncoder;

struct _GvClipText {
  GvClipTextConfig cfg;
  GvDevice *dev;
  GvTensor *token_embedding;      /* [vocab, hidden] */
  GvTensor *position_embedding;   /* [positions, hidden] */
  ClipEncoder enc;
  GvLayerNorm final_ln;
};

struct _GvClipVision {
  GvClipVisionConfig cfg;
  GvDevice *dev;
  GvTensor *class_embedding;      /* [hidden] */
  GvConv2d patch;                 /* no bias */
  GvTensor *position_embedding;   /* [1 + patches, hidden] */
  GvLayerNorm pre_ln, post_ln;
  ClipEncoder enc;
  GvLinear projection;            /* no bias */
};

static void
encoder_load (ClipEncoder *e, GvLoader *ld, gint layers, gint heads, gint hidden, gint inner,
    gfloat eps, GvHiddenAct act)
{
  e->n_layers = layers;
  e->heads = heads;
  e->act = act;
  e->layers = g_new0 (ClipLayer, layers);
  if (heads <= 0 || hidden % heads != 0)
    gv_loader_failf (ld, GV_ERROR_UNSUPPORTED, "hidden size %d does not split into %d heads",
        hidden, heads);
  for (gint i = 0; i < layers; i++) {
    ClipLayer *l = &e->layers[i];
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

static void
encoder_clear (ClipEncoder *e)
{
  for (gint i = 0; e->layers && i < e->n_layers; i++) {
    ClipLayer *l = &e->layers[i];
    gv_layer_norm_clear (&l->ln1);
    gv_layer_norm_clear (&l->ln2);
    GvLinear *lin[] = { &l->q, &l->k, &l->v, &l->out, &l->fc1, &l->fc2 };
    for (guint j = 0; j < G_N_ELEMENTS (lin); j++)
      gv_linear_clear (lin[j]);
  }
  g_clear_pointer (&e->layers, g_free);
}

static void
tap_layer (GvTapFunc tap, gpointer data, gint i, GvTensor *t)
{
  if (tap != NULL) {
    gchar *name = g_strdup_printf ("hidden_states.%d", i);
    tap (name, t, data);
    g_free (name);
  }
}

/* consumes @h */
static GvTensor *
encoder_forward (ClipEncoder *e, GvCmd *cmd, GvTensor *h, gboolean causal, GvTapFunc tap,
    gpointer tap_data)
{
  for (gint i = 0; i < e->n_layers; i++) {
    ClipLayer *l = &e->layers[i];
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
    tap_layer (tap, tap_data, i + 1, h);
  }
  return h;
}

/* rows @rows of the 2-D [R, D] @table: [count, D] */
static GvTensor *
gather_rows (GvCmd *cmd, GvTensor *table, const gint32 *rows, gint64 count)
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

GvClipText *
gv_clip_text_load (GvDevice *dev, const gchar *folder, const GvClipTextConfig *cfg,
    GError **error)
{
  GvWeights *w = gv_weights_open (folder, FALSE, error);
  if (w == NULL)
    return NULL;
  GvClipText *c = g_new0 (GvClipText, 1);
  GvLoader *ld = gv_loader_new (w, dev);
  gint d = cfg->hidden_size;

  c->cfg = *cfg;
  c->dev = gv_device_ref (dev);
  gv_loader_push (ld, "text_model");
  c->token_embedding = GV_LOAD (ld, "embeddings.token_embedding.weight", cfg->vocab_size, d);
  c->position_embedding = GV_LOAD (ld, "embeddings.position_embedding.weight",
      cfg->max_position_embeddings, d);
  encoder_load (&c->enc, ld, cfg->num_hidden_layers, cfg->num_attention_heads, d,
      cfg->intermediate_size, cfg->layer_norm_eps, cfg->hidden_act);
  gv_layer_norm_load (&c->final_ln, ld, "final_layer_norm", d, cfg->layer_norm_eps);
  gv_loader_pop (ld);
  gboolean ok = gv_loader_finish (ld, error);
  gv_weights_free (w);
  if (!ok) {
    gv_clip_text_free (c);
    return NULL;
  }
  return c;
}

void
gv_clip_text_free (GvClipText *c)
{
  if (c == NULL)
    return;
  g_clear_pointer (&c->token_embedding, gv_tensor_unref);
  g_clear_pointer (&c->position_embedding, gv_tensor_unref);
  encoder_clear (&c->enc);
  gv_layer_norm_clear (&c->final_ln);
  gv_device_unref (c->dev);
  g_free (c);
}

/* where transformers 4.33 pools: the highest id (the legacy eos_token_id == 2 configs), else
 * the first end-of-text token */
static gint
pooled_position (const GvClipTextConfig *cfg, const gint32 *ids, gint length)
{
  gint best = 0;
  for (gint j = 0; j < length; j++) {
    if (cfg->eos_token_id == 2) {
      if (ids[j] > ids[best])
        best = j;
    } else if (ids[j] == cfg->eos_token_id) {
      return j;
    }
  }
  return best;
}

GvTensor *
gv_clip_text_forward (GvClipText *c, GvCmd *cmd, const gint32 *ids, gint n, gint length,
    GvTensor **pooled, GvTapFunc tap, gpointer tap_data)
{
  gint64 d = c->cfg.hidden_size;

  if (length > c->cfg.max_position_embeddings) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "CLIP text: %d tokens, more than the %d positions",
        length, c->cfg.max_position_embeddings);
    return GV_TENSOR (cmd, n, MAX (length, 1), d);
  }
  for (gint i = 0; i < n * length; i++) {
    if (ids[i] < 0 || ids[i] >= c->cfg.vocab_size) {
      gv_cmd_failf (cmd, GV_ERROR_INVALID, "CLIP text: token id %d outside the vocabulary of "
          "%d", ids[i], c->cfg.vocab_size);
      return GV_TENSOR (cmd, n, length, d);
    }
  }
  GvTensor *tokens = gather_rows (cmd, c->token_embedding, ids, (gint64) n * length);
  GvTensor *h = GV_VIEW (tokens, 0, n, length, d);
  gv_tensor_unref (tokens);
  GvTensor *pos = GV_VIEW (c->position_embedding, 0, length, d);
  gv_op_add (cmd, h, h, pos);
  gv_tensor_unref (pos);
  tap_layer (tap, tap_data, 0, h);

  h = encoder_forward (&c->enc, cmd, h, TRUE, tap, tap_data);
  GvTensor *last = gv_layer_norm_apply (&c->final_ln, cmd, h);
  gv_tensor_unref (h);

  if (pooled != NULL) {
    gint32 *rows = g_new (gint32, n);
    for (gint i = 0; i < n; i++)
      rows[i] = i * length + pooled_position (&c->cfg, ids + (gsize) i * length, length);
    GvTensor *flat = GV_VIEW (last, 0, (gint64) n * length, d);
    *pooled = gather_rows (cmd, flat, rows, n);
    gv_tensor_unref (flat);
    g_free (rows);
  }
  return last;
}

GvClipVision *
gv_clip_vision_load (GvDevice *dev, const gchar *folder, const GvClipVisionConfig *cfg,
    GError **error)
{
  GvWeights *w = gv_weights_open (folder, FALSE, error);
  if (w == NULL)
    return NULL;
  GvClipVision *c = g_new0 (GvClipVision, 1);
  GvLoader *ld = gv_loader_new (w, dev);
  gint d = cfg->hidden_size, p = cfg->patch_size;
  gint grid = p > 0 ? cfg->image_size / p : 0;

  c->cfg = *cfg;
  c->dev = gv_device_ref (dev);
  if (grid <= 0 || grid * p != cfg->image_size)
    gv_loader_failf (ld, GV_ERROR_UNSUPPORTED, "image_size %d is not a multiple of patch_size "
        "%d", cfg->image_size, p);
  gv_loader_push (ld, "vision_model");
  c->class_embedding = GV_LOAD (ld, "embeddings.class_embedding", d);
  gv_conv2d_load (&c->patch, ld, "embeddings.patch_embedding", cfg->num_channels, d, p, p, 0,
      FALSE);
  c->position_embedding = GV_LOAD (ld, "embeddings.position_embedding.weight",
      1 + grid * grid, d);
  gv_layer_norm_load (&c->pre_ln, ld, "pre_layrnorm", d, cfg->layer_norm_eps);
  encoder_load (&c->enc, ld, cfg->num_hidden_layers, cfg->num_attention_heads, d,
      cfg->intermediate_size, cfg->layer_norm_eps, cfg->hidden_act);
  gv_layer_norm_load (&c->post_ln, ld, "post_layernorm", d, cfg->layer_norm_eps);
  gv_loader_pop (ld);
  gv_linear_load (&c->projection, ld, "visual_projection", d, cfg->projection_dim, FALSE);
  gboolean ok = gv_loader_finish (ld, error);
  gv_weights_free (w);
  if (!ok) {
    gv_clip_vision_free (c);
    return NULL;
  }
  return c;
}

void
gv_clip_vision_free (GvClipVision *c)
{
  if (c == NULL)
    return;
  g_clear_pointer (&c->class_embedding, gv_tensor_unref);
  g_clear_pointer (&c->position_embedding, gv_tensor_unref);
  gv_conv2d_clear (&c->patch);
  gv_layer_norm_clear (&c->pre_ln);
  gv_layer_norm_clear (&c->post_ln);
  encoder_clear (&c->enc);
  gv_linear_clear (&c->projection);
  gv_device_unref (c->dev);
  g_free (c);
}

GvTensor *
gv_clip_vision_forward (GvClipVision *c, GvCmd *cmd, GvTensor *pixel_values,
    GvTensor **last_hidden_state, GvTapFunc tap, gpointer tap_data)
{
  gint64 n = pixel_values->shape[0], d = c->cfg.hidden_size;
  gint64 s = c->cfg.image_size;

  if (pixel_values->ndim != 4 || pixel_values->shape[1] != c->cfg.num_channels ||
      pixel_values->shape[2] != s || pixel_values->shape[3] != s) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "CLIP vision: pixel values must be [N, %d, %"
        G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]", c->cfg.num_channels, s, s);
    return GV_TENSOR (cmd, n, c->cfg.projection_dim);
  }

  /* patches [N, D, g, g] -> tokens [N, g*g, D] */
  GvTensor *patches = gv_conv2d_apply (&c->patch, cmd, pixel_values, NULL, GV_ACT_NONE, NULL);
  gint64 np = patches->shape[2] * patches->shape[3];
  GvTensor *p3 = GV_VIEW (patches, 0, n, d, np);
  GvTensor *tokens = GV_TENSOR (cmd, n, np, d);
  gv_op_permute (cmd, tokens, p3, (const gint[]) { 0, 2, 1 });
  gv_tensor_unref (p3);
  gv_tensor_unref (patches);

  /* the class token first, then the patches, plus positions */
  GvTensor *cls_table = GV_VIEW (c->class_embedding, 0, 1, d);
  gint32 *zeros = g_new0 (gint32, n);
  GvTensor *cls = gather_rows (cmd, cls_table, zeros, n);
  g_free (zeros);
  gv_tensor_unref (cls_table);
  GvTensor *cls3 = GV_VIEW (cls, 0, n, 1, d);
  GvTensor *h = GV_TENSOR (cmd, n, 1 + np, d);
  gv_op_concat (cmd, h, cls3, tokens, 1);
  gv_tensor_unref (cls3);
  gv_tensor_unref (cls);
  gv_tensor_unref (tokens);
  gv_op_add (cmd, h, h, c->position_embedding);
  tap_layer (tap, tap_data, 0, h);

  GvTensor *pre = gv_layer_norm_apply (&c->pre_ln, cmd, h);
  gv_tensor_unref (h);
  GvTensor *last = encoder_forward (&c->enc, cmd, pre, FALSE, tap, tap_data);

  GvTensor *flat = GV_VIEW (last, 0, n * (1 + np), d);
  gint32 *rows = g_new (gint32, n);
  for (gint64 i = 0; i < n; i++)
    rows[i] = (gint32) (i * (1 + np));
  GvTensor *cls_out = gather_rows (cmd, flat, rows, n);
  g_free (rows);
  gv_tensor_unref (flat);
  GvTensor *pooled = gv_layer_norm_apply (&c->post_ln, cmd, cls_out);
  gv_tensor_unref (cls_out);
  GvTensor *embeds = gv_linear_apply (&c->projection, cmd, pooled, GV_ACT_NONE, NULL);
  gv_tensor_unref (pooled);

  if (last_hidden_state != NULL)
    *last_hidden_state = last;
  else
    gv_tensor_unref (last);
  return embeds;
}
