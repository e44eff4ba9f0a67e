#include "models/gv-encoder-stack.h"
#include "models/gv-image-encoder.h"

struct _GvImageEncoder {
  GvClipVisionConfig cfg;
  GvDevice *dev;
  GvTensor *class_embedding;      /* [hidden] */
  GvConv2d patch;                 /* no bias */
  GvTensor *position_embedding;   /* [1 + patches, hidden] */
  GvLayerNorm pre_ln, post_ln;
  GvEncoderStack enc;
  GvLinear projection;            /* no bias */
};

GvImageEncoder *
gv_image_encoder_new_from_loader (GvDevice *dev, GvLoader *ld, const GvClipVisionConfig *cfg,
    GError **error)
{
  GvImageEncoder *c = g_new0 (GvImageEncoder, 1);
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
  gv_encoder_stack_load (&c->enc, ld, cfg->num_hidden_layers, cfg->num_attention_heads, d,
      cfg->intermediate_size, cfg->layer_norm_eps, cfg->hidden_act);
  gv_layer_norm_load (&c->post_ln, ld, "post_layernorm", d, cfg->layer_norm_eps);
  gv_loader_pop (ld);
  gv_linear_load (&c->projection, ld, "visual_projection", d, cfg->projection_dim, FALSE);
  if (!gv_loader_finish (ld, error)) {
    gv_image_encoder_free (c);
    return NULL;
  }
  return c;
}

GvImageEncoder *
gv_image_encoder_load (GvDevice *dev, const gchar *folder, const GvClipVisionConfig *cfg,
    GError **error)
{
  GvWeights *w = gv_weights_open (folder, FALSE, error);
  if (w == NULL)
    return NULL;
  GvImageEncoder *c = gv_image_encoder_new_from_loader (dev, gv_loader_new (w, dev), cfg,
      error);
  gv_weights_free (w);
  return c;
}

void
gv_image_encoder_free (GvImageEncoder *c)
{
  if (c == NULL)
    return;
  g_clear_pointer (&c->class_embedding, gv_tensor_unref);
  g_clear_pointer (&c->position_embedding, gv_tensor_unref);
  gv_conv2d_clear (&c->patch);
  gv_layer_norm_clear (&c->pre_ln);
  gv_layer_norm_clear (&c->post_ln);
  gv_encoder_stack_clear (&c->enc);
  gv_linear_clear (&c->projection);
  gv_device_unref (c->dev);
  g_free (c);
}

static gboolean
check_pixels (GvImageEncoder *c, GvCmd *cmd, GvTensor *pixel_values)
{
  gint64 s = c->cfg.image_size;
  if (pixel_values->ndim != 4 || pixel_values->shape[1] != c->cfg.num_channels ||
      pixel_values->shape[2] != s || pixel_values->shape[3] != s) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "CLIP vision: pixel values must be [N, %d, %"
        G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]", c->cfg.num_channels, s, s);
    return FALSE;
  }
  return TRUE;
}

/* The patch tokens [N, g*g, hidden] of the patch convolution's output @patches [N, hidden,
 * g, g]: the permute. */
static GvTensor *
patch_tokens (GvImageEncoder *c, GvCmd *cmd, GvTensor *patches)
{
  gint64 n = patches->shape[0], d = c->cfg.hidden_size;
  gint64 np = patches->shape[2] * patches->shape[3];
  GvTensor *p3 = GV_VIEW (patches, 0, n, d, np);
  GvTensor *tokens = GV_TENSOR (cmd, n, np, d);
  gv_op_permute (cmd, tokens, p3, (const gint[]) { 0, 2, 1 });
  gv_tensor_unref (p3);
  return tokens;
}

/* the embeddings [N, 1 + g*g, hidden]: the class token first, then the patches, plus
 * positions (before pre_layrnorm) */
static GvTensor *
embed (GvImageEncoder *c, GvCmd *cmd, GvTensor *patches)
{
  gint64 n = patches->shape[0], d = c->cfg.hidden_size;
  GvTensor *tokens = patch_tokens (c, cmd, patches);
  gint64 np = tokens->shape[1];
  GvTensor *cls_table = GV_VIEW (c->class_embedding, 0, 1, d);
  gint32 *zeros = g_new0 (gint32, n);
  GvTensor *cls = gv_encoder_gather_rows (cmd, cls_table, zeros, n);
  g_free (zeros);
  gv_tensor_unref (cls_table);
  GvTensor *cls3 = GV_VIEW (cls, 0, n, 1, d);
  GvTensor *h = GV_TENSOR (cmd, n, 1 + np, d);
  gv_op_concat (cmd, h, cls3, tokens, 1);
  gv_tensor_unref (cls3);
  gv_tensor_unref (cls);
  gv_tensor_unref (tokens);
  gv_op_add (cmd, h, h, c->position_embedding);
  return h;
}

/* the rows of the flattened [N * (1 + g*g), hidden] states that hold the class tokens */
static gint32 *
class_rows (gint64 n, gint64 tokens)
{
  gint32 *rows = g_new (gint32, n);
  for (gint64 i = 0; i < n; i++)
    rows[i] = (gint32) (i * tokens);
  return rows;
}

/* the class token's state of @last [N, T, hidden]: [N, hidden] */
static GvTensor *
class_states (GvCmd *cmd, GvTensor *last)
{
  gint64 n = last->shape[0], t = last->shape[1], d = last->shape[2];
  GvTensor *flat = GV_VIEW (last, 0, n * t, d);
  gint32 *rows = class_rows (n, t);
  GvTensor *cls_out = gv_encoder_gather_rows (cmd, flat, rows, n);
  g_free (rows);
  gv_tensor_unref (flat);
  return cls_out;
}

GvTensor *
gv_image_encoder_forward (GvImageEncoder *c, GvCmd *cmd, GvTensor *pixel_values,
    GvTensor **last_hidden_state, GvTapFunc tap, gpointer tap_data)
{
  if (!check_pixels (c, cmd, pixel_values))
    return GV_TENSOR (cmd, pixel_values->shape[0], c->cfg.projection_dim);

  GvTensor *patches = gv_conv2d_apply (&c->patch, cmd, pixel_values, NULL, GV_ACT_NONE, NULL);
  GvTensor *h = embed (c, cmd, patches);
  gv_tensor_unref (patches);

  /* transformers' hidden_states[0] is the encoder's input: after pre_layrnorm */
  GvTensor *pre = gv_layer_norm_apply (&c->pre_ln, cmd, h);
  gv_tensor_unref (h);
  gv_encoder_tap_layer (tap, tap_data, cmd, 0, pre);
  GvTensor *last = gv_encoder_stack_forward (&c->enc, cmd, pre, FALSE, tap, tap_data);

  GvTensor *cls_out = class_states (cmd, last);
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

void
gv_image_encoder_forward_backward (GvImageEncoder *c, GvCmd *cmd, GvTensor *pixel_values,
    gboolean recompute, const GvGrads *g, GvLossGradFunc loss_grad, gpointer data)
{
  if (gv_cmd_failed (cmd) || !check_pixels (c, cmd, pixel_values))
    return;
  gint64 n = pixel_values->shape[0], d = c->cfg.hidden_size;

  /* forward, keeping what the backward reads */
  GvTensor *patches = gv_conv2d_apply (&c->patch, cmd, pixel_values, NULL, GV_ACT_NONE, NULL);
  GvTensor *h = embed (c, cmd, patches);
  gint64 t = h->shape[1];
  GvTensor *pre = gv_layer_norm_apply (&c->pre_ln, cmd, h);
  GvTensor *last;
  GvEncoderTape *tape = gv_encoder_stack_forward_train (&c->enc, cmd, pre, FALSE, recompute,
      &last);
  gv_tensor_unref (pre);
  GvTensor *cls_out = class_states (cmd, last);
  GvTensor *pooled = gv_layer_norm_apply (&c->post_ln, cmd, cls_out);
  GvTensor *embeds = gv_linear_apply (&c->projection, cmd, pooled, GV_ACT_NONE, NULL);

  GvTensor *dembeds = loss_grad (cmd, embeds, data);
  gv_tensor_unref (embeds);

  /* backward: projection, post norm, the class rows, the layers, pre norm, embeddings */
  GvTensor *dpooled = gv_tensor_like (cmd, pooled);
  gv_linear_backward (&c->projection, cmd, g, NULL, dpooled, dembeds, pooled, FALSE);
  gv_tensor_unref (dembeds);
  gv_tensor_unref (pooled);
  GvTensor *dcls_out = gv_tensor_like (cmd, cls_out);
  gv_layer_norm_backward (&c->post_ln, cmd, g, dcls_out, dpooled, cls_out, FALSE);
  gv_tensor_unref (dpooled);
  gv_tensor_unref (cls_out);
  GvTensor *dlast = gv_tensor_like (cmd, last);
  GvTensor *dflat = GV_VIEW (dlast, 0, n * t, d);
  gint32 *rows = class_rows (n, t);
  gv_encoder_gather_rows_backward (cmd, dflat, dcls_out, rows, n, FALSE);
  g_free (rows);
  gv_tensor_unref (dflat);
  gv_tensor_unref (dcls_out);
  gv_tensor_unref (last);
  GvTensor *dpre = gv_encoder_stack_backward (&c->enc, cmd, g, dlast, tape);
  gv_tensor_unref (dlast);
  GvTensor *dh = gv_tensor_like (cmd, h);
  gv_layer_norm_backward (&c->pre_ln, cmd, g, dh, dpre, h, FALSE);
  gv_tensor_unref (dpre);
  gv_tensor_unref (h);

  /* h = concat (class, tokens) + positions */
  GvTensor *dposition = gv_grads_lookup (g, c->position_embedding);
  if (dposition != NULL) {
    GvTensor *rows_of = GV_VIEW (dh, 0, n, t * d);
    GvTensor *dpos = GV_VIEW (dposition, 0, t * d);
    gv_op_linear_backward_bias (cmd, dpos, rows_of, TRUE);
    gv_tensor_unref (dpos);
    gv_tensor_unref (rows_of);
  }
  GvTensor *dcls = GV_TENSOR (cmd, n, 1, d), *dtokens = GV_TENSOR (cmd, n, t - 1, d);
  gv_op_concat_backward (cmd, dcls, dtokens, dh, 1, FALSE);
  gv_tensor_unref (dh);
  GvTensor *dclass = gv_grads_lookup (g, c->class_embedding);
  if (dclass != NULL) {
    GvTensor *dcls2 = GV_VIEW (dcls, 0, n, d);
    gv_op_linear_backward_bias (cmd, dclass, dcls2, TRUE);
    gv_tensor_unref (dcls2);
  }
  gv_tensor_unref (dcls);
  if (gv_grads_lookup (g, c->patch.weight) != NULL) {
    GvTensor *dpatches = gv_tensor_like (cmd, patches);
    GvTensor *dp3 = GV_VIEW (dpatches, 0, n, d, t - 1);
    gv_op_permute_backward (cmd, dp3, dtokens, (const gint[]) { 0, 2, 1 }, FALSE);
    gv_tensor_unref (dp3);
    gv_conv2d_backward (&c->patch, cmd, g, NULL, NULL, dpatches, pixel_values, FALSE);
    gv_tensor_unref (dpatches);
  }
  gv_tensor_unref (dtokens);
  gv_tensor_unref (patches);
}

void
gv_image_encoder_foreach_param (GvImageEncoder *c, GvParamFunc fn, gpointer data)
{
  fn ("vision_model.embeddings.class_embedding", c->class_embedding, data);
  fn ("vision_model.embeddings.patch_embedding.weight", c->patch.weight, data);
  fn ("vision_model.embeddings.position_embedding.weight", c->position_embedding, data);
  gv_layer_norm_foreach_param (&c->pre_ln, "vision_model.", "pre_layrnorm", fn, data);
  gv_encoder_stack_foreach_param (&c->enc, "vision_model.", fn, data);
  gv_layer_norm_foreach_param (&c->post_ln, "vision_model.", "post_layernorm", fn, data);
  gv_linear_foreach_param (&c->projection, "", "visual_projection", fn, data);
}

const GvClipVisionConfig *
gv_image_encoder_get_config (GvImageEncoder *c)
{
  return &c->cfg;
}

GvDevice *
gv_image_encoder_get_device (GvImageEncoder *c)
{
  return c->dev;
}
