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
gv_text_encoder_load (GvDevice *dev, const gchar *folder, const GvClipTextConfig *cfg,
    GError **error)
{
  GvWeights *w = gv_weights_open (folder, FALSE, error);
  if (w == NULL)
    return NULL;
  GvTextEncoder *c = g_new0 (GvTextEncoder, 1);
  GvLoader *ld = gv_loader_new (w, dev);
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
  gboolean ok = gv_loader_finish (ld, error);
  gv_weights_free (w);
  if (!ok) {
    gv_text_encoder_free (c);
    return NULL;
  }
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

GvTensor *
gv_text_encoder_forward (GvTextEncoder *c, GvCmd *cmd, const gint32 *ids, gint n,
    gint length, GvTensor **pooled, GvTapFunc tap, gpointer tap_data)
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
  GvTensor *tokens = gv_encoder_gather_rows (cmd, c->token_embedding, ids,
      (gint64) n * length);
  GvTensor *h = GV_VIEW (tokens, 0, n, length, d);
  gv_tensor_unref (tokens);
  GvTensor *pos = GV_VIEW (c->position_embedding, 0, length, d);
  gv_op_add (cmd, h, h, pos);
  gv_tensor_unref (pos);
  gv_encoder_tap_layer (tap, tap_data, cmd, 0, h);

  h = gv_encoder_stack_forward (&c->enc, cmd, h, TRUE, tap, tap_data);
  GvTensor *last = gv_layer_norm_apply (&c->final_ln, cmd, h);
  gv_tensor_unref (h);

  if (pooled != NULL) {
    gint32 *rows = g_new (gint32, n);
    for (gint i = 0; i < n; i++)
      rows[i] = i * length + pooled_position (&c->cfg, ids + (gsize) i * length, length);
    GvTensor *flat = GV_VIEW (last, 0, (gint64) n * length, d);
    *pooled = gv_encoder_gather_rows (cmd, flat, rows, n);
    gv_tensor_unref (flat);
    g_free (rows);
  }
  return last;
}

