#include "models/gv-resnet.h"
#include "models/gv-vae.h"

/* the mid block's single-head self-attention (diffusers Attention with residual connection) */
typedef struct {
  GvGroupNorm norm;
  GvLinear to_q, to_k, to_v, to_out;
} VaeAttention;

typedef struct {
  GvResnet res[2];
  VaeAttention attn;
  gboolean has_attn;
} VaeMid;

typedef struct {
  gint n_layers;
  GvResnet *resnets;
  GvConv2d sampler;   /* weight NULL when absent */
} VaeBlock;

struct _GvVae {
  GvVaeConfig cfg;
  GvDevice *dev;
  /* encoder */
  GvConv2d enc_in, enc_out, quant;
  VaeBlock enc[GV_MAX_BLOCKS];
  VaeMid enc_mid;
  GvGroupNorm enc_norm;
  /* decoder */
  GvConv2d post_quant, dec_in, dec_out;
  VaeBlock dec[GV_MAX_BLOCKS];
  VaeMid dec_mid;
  GvGroupNorm dec_norm;
};

#define VAE_EPS 1e-6f

static void
attention_load (VaeAttention *a, GvLoader *ld, gint c, gint groups)
{
  gv_loader_push (ld, "attentions.0");
  gv_group_norm_load (&a->norm, ld, "group_norm", c, groups, VAE_EPS);
  gv_linear_load (&a->to_q, ld, "to_q", c, c, TRUE);
  gv_linear_load (&a->to_k, ld, "to_k", c, c, TRUE);
  gv_linear_load (&a->to_v, ld, "to_v", c, c, TRUE);
  gv_linear_load (&a->to_out, ld, "to_out.0", c, c, TRUE);
  gv_loader_pop (ld);
}

static void
mid_load (VaeMid *m, GvLoader *ld, gint c, gint groups, gboolean attention)
{
  gv_loader_push (ld, "mid_block");
  gv_resnet_load (&m->res[0], ld, "resnets.0", c, c, 0, groups, VAE_EPS);
  m->has_attn = attention;
  if (attention)
    attention_load (&m->attn, ld, c, groups);
  gv_resnet_load (&m->res[1], ld, "resnets.1", c, c, 0, groups, VAE_EPS);
  gv_loader_pop (ld);
}

static void
block_load (VaeBlock *b, GvLoader *ld, const gchar *kind, gint index, gint n_layers, gint in,
    gint out, gint groups)
{
  b->n_layers = n_layers;
  b->resnets = g_new0 (GvResnet, n_layers);
  gv_loader_push (ld, "%s.%d", kind, index);
  for (gint j = 0; j < n_layers; j++) {
    gchar *name = g_strdup_printf ("resnets.%d", j);
    gv_resnet_load (&b->resnets[j], ld, name, j == 0 ? in : out, out, 0, groups, VAE_EPS);
    g_free (name);
  }
  gv_loader_pop (ld);
}

static void
load_network (GvVae *v, GvLoader *ld)
{
  const GvVaeConfig *c = &v->cfg;
  gint n = c->n_blocks, g = c->norm_num_groups, lat = c->latent_channels;
  gint top = c->block_out_channels[n - 1];

  gv_loader_push (ld, "encoder");
  gv_conv2d_load (&v->enc_in, ld, "conv_in", c->in_channels, c->block_out_channels[0], 3, 1, 1,
      TRUE);
  gint out_ch = c->block_out_channels[0];
  for (gint i = 0; i < n; i++) {
    gint in_ch = out_ch;
    out_ch = c->block_out_channels[i];
    block_load (&v->enc[i], ld, "down_blocks", i, c->layers_per_block, in_ch, out_ch, g);
    if (i < n - 1) {
      gchar *name = g_strdup_printf ("down_blocks.%d.downsamplers.0.conv", i);
      gv_conv2d_load (&v->enc[i].sampler, ld, name, out_ch, out_ch, 3, 2, 0, TRUE);
      /* diffusers pads (0, 1, 0, 1) before this conv */
      v->enc[i].sampler.pad_bottom = v->enc[i].sampler.pad_right = 1;
      g_free (name);
    }
  }
  mid_load (&v->enc_mid, ld, top, g, c->mid_block_add_attention);
  gv_group_norm_load (&v->enc_norm, ld, "conv_norm_out", top, g, VAE_EPS);
  gv_conv2d_load (&v->enc_out, ld, "conv_out", top, 2 * lat, 3, 1, 1, TRUE);
  gv_loader_pop (ld);
  gv_conv2d_load (&v->quant, ld, "quant_conv", 2 * lat, 2 * lat, 1, 1, 0, TRUE);

  gv_conv2d_load (&v->post_quant, ld, "post_quant_conv", lat, lat, 1, 1, 0, TRUE);
  gv_loader_push (ld, "decoder");
  gv_conv2d_load (&v->dec_in, ld, "conv_in", lat, top, 3, 1, 1, TRUE);
  mid_load (&v->dec_mid, ld, top, g, c->mid_block_add_attention);
  out_ch = top;
  for (gint i = 0; i < n; i++) {
    gint prev = out_ch;
    out_ch = c->block_out_channels[n - 1 - i];
    block_load (&v->dec[i], ld, "up_blocks", i, c->layers_per_block + 1, prev, out_ch, g);
    if (i < n - 1) {
      gchar *name = g_strdup_printf ("up_blocks.%d.upsamplers.0.conv", i);
      gv_conv2d_load (&v->dec[i].sampler, ld, name, out_ch, out_ch, 3, 1, 1, TRUE);
      g_free (name);
    }
  }
  gv_group_norm_load (&v->dec_norm, ld, "conv_norm_out", c->block_out_channels[0], g, VAE_EPS);
  gv_conv2d_load (&v->dec_out, ld, "conv_out", c->block_out_channels[0], c->out_channels, 3, 1,
      1, TRUE);
  gv_loader_pop (ld);
}

GvVae *
gv_vae_new_from_loader (GvDevice *dev, GvLoader *ld, const GvVaeConfig *cfg, GError **error)
{
  GvVae *v = g_new0 (GvVae, 1);
  v->cfg = *cfg;
  v->dev = gv_device_ref (dev);
  load_network (v, ld);
  if (!gv_loader_finish (ld, error)) {
    gv_vae_free (v);
    return NULL;
  }
  return v;
}

GvVae *
gv_vae_load (GvDevice *dev, const gchar *folder, const GvVaeConfig *cfg, GError **error)
{
  GvWeights *w = gv_weights_open (folder, FALSE, error);
  if (w == NULL)
    return NULL;
  GvVae *v = gv_vae_new_from_loader (dev, gv_loader_new (w, dev), cfg, error);
  gv_weights_free (w);
  return v;
}

static void
attention_clear (VaeAttention *a)
{
  gv_group_norm_clear (&a->norm);
  gv_linear_clear (&a->to_q);
  gv_linear_clear (&a->to_k);
  gv_linear_clear (&a->to_v);
  gv_linear_clear (&a->to_out);
}

static void
mid_clear (VaeMid *m)
{
  gv_resnet_clear (&m->res[0]);
  gv_resnet_clear (&m->res[1]);
  attention_clear (&m->attn);
}

static void
block_clear (VaeBlock *b)
{
  for (gint j = 0; b->resnets && j < b->n_layers; j++)
    gv_resnet_clear (&b->resnets[j]);
  g_clear_pointer (&b->resnets, g_free);
  gv_conv2d_clear (&b->sampler);
}

void
gv_vae_free (GvVae *v)
{
  if (v == NULL)
    return;
  GvConv2d *convs[] = { &v->enc_in, &v->enc_out, &v->quant, &v->post_quant, &v->dec_in,
    &v->dec_out };
  for (guint i = 0; i < G_N_ELEMENTS (convs); i++)
    gv_conv2d_clear (convs[i]);
  for (gint i = 0; i < GV_MAX_BLOCKS; i++) {
    block_clear (&v->enc[i]);
    block_clear (&v->dec[i]);
  }
  mid_clear (&v->enc_mid);
  mid_clear (&v->dec_mid);
  gv_group_norm_clear (&v->enc_norm);
  gv_group_norm_clear (&v->dec_norm);
  gv_device_unref (v->dev);
  g_free (v);
}

const GvVaeConfig *
gv_vae_get_config (GvVae *v)
{
  return &v->cfg;
}

gint
gv_vae_get_factor (GvVae *v)
{
  return 1 << (v->cfg.n_blocks - 1);
}

static GvTensor *
attention_forward (VaeAttention *a, GvCmd *cmd, GvTensor *x)
{
  GvTensor *normed = gv_group_norm_apply (&a->norm, cmd, x, 1, FALSE);
  GvTensor *q = gv_linear_apply_pixels (&a->to_q, cmd, normed);
  GvTensor *k = gv_linear_apply_pixels (&a->to_k, cmd, normed);
  GvTensor *v = gv_linear_apply_pixels (&a->to_v, cmd, normed);
  gv_tensor_unref (normed);
  GvTensor *att = gv_tensor_like (cmd, q);
  GvAttentionArgs args = { .heads = 1 };
  gv_op_attention (cmd, att, q, k, v, &args);
  gv_tensor_unref (q);
  gv_tensor_unref (k);
  gv_tensor_unref (v);
  GvTensor *out = gv_linear_apply_to_pixels (&a->to_out, cmd, att, x->shape[2], x->shape[3], x);
  gv_tensor_unref (att);
  return out;
}

static GvTensor *
mid_forward (VaeMid *m, GvCmd *cmd, GvTensor *h)
{
  GvTensor *a = gv_resnet_forward (&m->res[0], cmd, h, NULL, 1);
  if (m->has_attn) {
    GvTensor *b = attention_forward (&m->attn, cmd, a);
    gv_tensor_unref (a);
    a = b;
  }
  GvTensor *out = gv_resnet_forward (&m->res[1], cmd, a, NULL, 1);
  gv_tensor_unref (a);
  return out;
}

/* consumes @h */
static GvTensor *
block_forward (VaeBlock *b, GvCmd *cmd, GvTensor *h, gboolean upsample)
{
  for (gint j = 0; j < b->n_layers; j++) {
    GvTensor *next = gv_resnet_forward (&b->resnets[j], cmd, h, NULL, 1);
    gv_tensor_unref (h);
    h = next;
  }
  if (b->sampler.weight != NULL) {
    if (upsample) {
      GvTensor *up = GV_TENSOR (cmd, h->shape[0], h->shape[1], 2 * h->shape[2], 2 * h->shape[3]);
      gv_op_resize_nearest (cmd, up, h);
      gv_tensor_unref (h);
      h = up;
    }
    GvTensor *next = gv_conv2d_apply (&b->sampler, cmd, h, NULL, GV_ACT_NONE, NULL);
    gv_tensor_unref (h);
    h = next;
  }
  return h;
}

void
gv_vae_encode (GvVae *v, GvCmd *cmd, GvTensor *image, GvTensor **mean, GvTensor **logvar)
{
  gint lat = v->cfg.latent_channels;
  GvTensor *h = gv_conv2d_apply (&v->enc_in, cmd, image, NULL, GV_ACT_NONE, NULL);
  for (gint i = 0; i < v->cfg.n_blocks; i++)
    h = block_forward (&v->enc[i], cmd, h, FALSE);
  GvTensor *m = mid_forward (&v->enc_mid, cmd, h);
  gv_tensor_unref (h);
  GvTensor *normed = gv_group_norm_apply (&v->enc_norm, cmd, m, 1, TRUE);
  gv_tensor_unref (m);
  GvTensor *moments = gv_conv2d_apply (&v->enc_out, cmd, normed, NULL, GV_ACT_NONE, NULL);
  gv_tensor_unref (normed);
  GvTensor *q = gv_conv2d_apply (&v->quant, cmd, moments, NULL, GV_ACT_NONE, NULL);
  gv_tensor_unref (moments);

  /* channels [0, lat) are the mean, [lat, 2 lat) the log-variance, per image */
  gint64 n = q->shape[0], h2 = q->shape[2], w2 = q->shape[3], hw = h2 * w2;
  GvTensor *q3 = GV_VIEW (q, 0, n, 2, lat * hw);
  GvTensor *halves = GV_TENSOR (cmd, 2, n, lat * hw);
  gv_op_permute (cmd, halves, q3, (const gint[]) { 1, 0, 2 });
  gv_tensor_unref (q3);
  gv_tensor_unref (q);
  *mean = GV_VIEW (halves, 0, n, lat, h2, w2);
  if (logvar != NULL) {
    GvTensor *raw = GV_VIEW (halves, n * lat * hw, n, lat, h2, w2);
    *logvar = gv_tensor_like (cmd, raw);
    gv_op_clamp (cmd, *logvar, raw, -30.0f, 20.0f);
    gv_tensor_unref (raw);
  }
  gv_tensor_unref (halves);
}

GvTensor *
gv_vae_decode (GvVae *v, GvCmd *cmd, GvTensor *latents)
{
  GvTensor *z = gv_conv2d_apply (&v->post_quant, cmd, latents, NULL, GV_ACT_NONE, NULL);
  GvTensor *h = gv_conv2d_apply (&v->dec_in, cmd, z, NULL, GV_ACT_NONE, NULL);
  gv_tensor_unref (z);
  GvTensor *m = mid_forward (&v->dec_mid, cmd, h);
  gv_tensor_unref (h);
  for (gint i = 0; i < v->cfg.n_blocks; i++)
    m = block_forward (&v->dec[i], cmd, m, TRUE);
  GvTensor *normed = gv_group_norm_apply (&v->dec_norm, cmd, m, 1, TRUE);
  gv_tensor_unref (m);
  GvTensor *out = gv_conv2d_apply (&v->dec_out, cmd, normed, NULL, GV_ACT_NONE, NULL);
  gv_tensor_unref (normed);
  return out;
}
