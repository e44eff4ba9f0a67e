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
gv_image_encoder_load (GvDevice *dev, const gchar *folder, const GvClipVisionConfig *cfg,
    GError **error)
{
  GvWeights *w = gv_weights_open (folder, FALSE, error);
  if (w == NULL)
    return NULL;
  GvImageEncoder *c = g_new0 (GvImageEncoder, 1);
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
  gv_encoder_stack_load (&c->enc, ld, cfg->num_hidden_layers, cfg->num_attention_heads, d,
      cfg->intermediate_size, cfg->layer_norm_eps, cfg->hidden_act);
  gv_layer_norm_load (&c->post_ln, ld, "post_layernorm", d, cfg->layer_norm_eps);
  gv_loader_pop (ld);
  gv_linear_load (&c->projection, ld, "visual_projection", d, cfg->projection_dim, FALSE);
  gboolean ok = gv_loader_finish (ld, error);
  gv_weights_free (w);
  if (!ok) {
    gv_image_encoder_free (c);
    return NULL;
  }
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

GvTensor *
gv_image_encoder_forward (GvImageEncoder *c, GvCmd *cmd, GvTensor *pixel_values,
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

  /* transformers' hidden_states[0] is the encoder's input: after pre_layrnorm */
  GvTensor *pre = gv_layer_norm_apply (&c->pre_ln, cmd, h);
  gv_tensor_unref (h);
  gv_encoder_tap_layer (tap, tap_data, cmd, 0, pre);
  GvTensor *last = gv_encoder_stack_forward (&c->enc, cmd, pre, FALSE, tap, tap_data);

  GvTensor *flat = GV_VIEW (last, 0, n * (1 + np), d);
  gint32 *rows = g_new (gint32, n);
  for (gint64 i = 0; i < n; i++)
    rows[i] = (gint32) (i * (1 + np));
  GvTensor *cls_out = gv_encoder_gather_rows (cmd, flat, rows, n);
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
