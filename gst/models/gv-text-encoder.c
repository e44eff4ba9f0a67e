#include "models/gv-encoder-stack.h"
#include "models/gv-text-encoder.h"

struct _GvTextEncoder {
  GvClipTextConfig cfg;
  GvDevice *dev;
  GvTensor *token_embedding;      /* [vocab, hidden] */
  GvTensor *position_embedding;   /* [positions, hidden] */
  GvEncoderStack enc;
  GvLayerNorm final_ln;
};

GvTextEncoder *
gv_text_encoder_new_from_loader (GvDevice *dev, GvLoader *ld, const GvClipTextConfig *cfg,
    GError **error)
{
  GvTextEncoder *c = g_new0 (GvTextEncoder, 1);
  gint d = cfg->hidden_size;

  c->cfg = *cfg;
  c->dev = gv_device_ref (dev);
  gv_loader_push (ld, "text_model");
  c->token_embedding = GV_LOAD (ld, "embeddings.token_embedding.weight", cfg->vocab_size, d);
  c->position_embedding = GV_LOAD (ld, "embeddings.position_embedding.weight",
      cfg->max_position_embeddings, d);
  gv_encoder_stack_load (&c->enc, ld, cfg->num_hidden_layers, cfg->num_attention_heads, d,
      cfg->intermediate_size, cfg->layer_norm_eps, cfg->hidden_act);
  gv_layer_norm_load (&c->final_ln, ld, "final_layer_norm", d, cfg->layer_norm_eps);
  gv_loader_pop (ld);
  if (!gv_loader_finish (ld, error)) {
    gv_text_encoder_free (c);
    return NULL;
  }
  return c;
}

GvTextEncoder *
gv_text_encoder_load (GvDevice *dev, const gchar *folder, const GvClipTextConfig *cfg,
    GError **error)
{
  GvWeights *w = gv_weights_open (folder, FALSE, error);
  if (w == NULL)
    return NULL;
  GvTextEncoder *c = gv_text_encoder_new_from_loader (dev, gv_loader_new (w, dev), cfg, error);
  gv_weights_free (w);
  return c;
}

void
gv_text_encoder_free (GvTextEncoder *c)
{
  if (c == NULL)
    return;
  g_clear_pointer (&c->token_embedding, gv_tensor_unref);
  g_clear_pointer (&c->position_embedding, gv_tensor_unref);
  gv_encoder_stack_clear (&c->enc);
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

gint
gv_text_encoder_get_pooled_position (GvTextEncoder *c, const gint32 *ids, gint length)
{
  return pooled_position (&c->cfg, ids, length);
}

/* FALSE (and @cmd failed) when @ids do not fit the model */
static gboolean
check_ids (GvTextEncoder *c, GvCmd *cmd, const gint32 *ids, gint n, gint length)
{
  if (length < 1 || length > c->cfg.max_position_embeddings) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "CLIP text: %d tokens, not within 1 to the %d "
        "positions", length, c->cfg.max_position_embeddings);
    return FALSE;
  }
  for (gint i = 0; i < n * length; i++) {
    if (ids[i] < 0 || ids[i] >= c->cfg.vocab_size) {
      gv_cmd_failf (cmd, GV_ERROR_INVALID, "CLIP text: token id %d outside the vocabulary of "
          "%d", ids[i], c->cfg.vocab_size);
      return FALSE;
    }
  }
  return TRUE;
}

/* token + position embeddings [N, L, hidden] */
static GvTensor *
embed (GvTextEncoder *c, GvCmd *cmd, const gint32 *ids, gint n, gint length)
{
  gint64 d = c->cfg.hidden_size;
  GvTensor *tokens = gv_encoder_gather_rows (cmd, c->token_embedding, ids,
      (gint64) n * length);
  GvTensor *h = GV_VIEW (tokens, 0, n, length, d);
  gv_tensor_unref (tokens);
  GvTensor *pos = GV_VIEW (c->position_embedding, 0, length, d);
  gv_op_add (cmd, h, h, pos);
  gv_tensor_unref (pos);
  return h;
}

/* the rows of the flattened [N * L, hidden] states that the pooled output reads; g_free () */
static gint32 *
pooled_rows (GvTextEncoder *c, const gint32 *ids, gint n, gint length)
{
  gint32 *rows = g_new (gint32, n);
  for (gint i = 0; i < n; i++)
    rows[i] = i * length + pooled_position (&c->cfg, ids + (gsize) i * length, length);
  return rows;
}

GvTensor *
gv_text_encoder_forward (GvTextEncoder *c, GvCmd *cmd, const gint32 *ids, gint n,
    gint length, GvTensor **pooled, GvTapFunc tap, gpointer tap_data)
{
  gint64 d = c->cfg.hidden_size;

  if (!check_ids (c, cmd, ids, n, length))
    return GV_TENSOR (cmd, n, MAX (length, 1), d);
  GvTensor *h = embed (c, cmd, ids, n, length);
  gv_encoder_tap_layer (tap, tap_data, cmd, 0, h);

  h = gv_encoder_stack_forward (&c->enc, cmd, h, TRUE, tap, tap_data);
  GvTensor *last = gv_layer_norm_apply (&c->final_ln, cmd, h);
  gv_tensor_unref (h);

  if (pooled != NULL) {
    gint32 *rows = pooled_rows (c, ids, n, length);
    GvTensor *flat = GV_VIEW (last, 0, (gint64) n * length, d);
    *pooled = gv_encoder_gather_rows (cmd, flat, rows, n);
    gv_tensor_unref (flat);
    g_free (rows);
  }
  return last;
}

void
gv_text_encoder_forward_backward (GvTextEncoder *c, GvCmd *cmd, const gint32 *ids, gint n,
    gint length, gboolean recompute, const GvGrads *g, GvLossGradFunc loss_grad,
    gpointer data)
{
  gint64 d = c->cfg.hidden_size, rows_n = (gint64) n * length;

  if (gv_cmd_failed (cmd) || !check_ids (c, cmd, ids, n, length))
    return;
  /* forward, keeping what the backward reads */
  GvTensor *h0 = embed (c, cmd, ids, n, length);
  GvTensor *h;
  GvEncoderTape *tape = gv_encoder_stack_forward_train (&c->enc, cmd, h0, TRUE, recompute, &h);
  GvTensor *last = gv_layer_norm_apply (&c->final_ln, cmd, h);
  gint32 *rows = pooled_rows (c, ids, n, length);
  GvTensor *flat = GV_VIEW (last, 0, rows_n, d);
  GvTensor *pooled = gv_encoder_gather_rows (cmd, flat, rows, n);
  gv_tensor_unref (flat);
  gv_tensor_unref (last);

  GvTensor *dpooled = loss_grad (cmd, pooled, data);
  gv_tensor_unref (pooled);

  /* backward: the pooled rows, the final norm, the layers, the embeddings */
  GvTensor *dlast = GV_TENSOR (cmd, n, length, d);
  GvTensor *dflat = GV_VIEW (dlast, 0, rows_n, d);
  gv_encoder_gather_rows_backward (cmd, dflat, dpooled, rows, n, FALSE);
  gv_tensor_unref (dflat);
  gv_tensor_unref (dpooled);
  GvTensor *dh = gv_tensor_like (cmd, h);
  gv_layer_norm_backward (&c->final_ln, cmd, g, dh, dlast, h, FALSE);
  gv_tensor_unref (dlast);
  gv_tensor_unref (h);
  GvTensor *dh0 = gv_encoder_stack_backward (&c->enc, cmd, g, dh, tape);
  gv_tensor_unref (dh);
  GvTensor *dpos = gv_grads_lookup (g, c->position_embedding);
  if (dpos != NULL) {
    /* positions 0..L-1, each summed over the batch (the bias gradient of [N, L * hidden]) */
    GvTensor *dpos_used = GV_VIEW (dpos, 0, length * d);
    GvTensor *dh0_rows = GV_VIEW (dh0, 0, n, length * d);
    gv_op_linear_backward_bias (cmd, dpos_used, dh0_rows, TRUE);
    gv_tensor_unref (dh0_rows);
    gv_tensor_unref (dpos_used);
  }
  GvTensor *dtok = gv_grads_lookup (g, c->token_embedding);
  if (dtok != NULL) {
    GvTensor *dh0_flat = GV_VIEW (dh0, 0, rows_n, d);
    gv_encoder_gather_rows_backward (cmd, dtok, dh0_flat, ids, rows_n, TRUE);
    gv_tensor_unref (dh0_flat);
  }
  gv_tensor_unref (dh0);
  gv_tensor_unref (h0);
  g_free (rows);
}

void
gv_text_encoder_foreach_param (GvTextEncoder *c, GvParamFunc fn, gpointer data)
{
  fn ("text_model.embeddings.token_embedding.weight", c->token_embedding, data);
  fn ("text_model.embeddings.position_embedding.weight", c->position_embedding, data);
  gv_encoder_stack_foreach_param (&c->enc, "text_model.", fn, data);
  gv_layer_norm_foreach_param (&c->final_ln, "text_model.", "final_layer_norm", fn, data);
}

const GvClipTextConfig *
gv_text_encoder_get_config (GvTextEncoder *c)
{
  return &c->cfg;
}

GvDevice *
gv_text_encoder_get_device (GvTextEncoder *c)
{
  return c->dev;
}
