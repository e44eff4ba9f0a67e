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
  /* every tensor by its state-dict name, in load order (training) */
  GPtrArray *param_names, *params;
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

static void
record_param (const gchar *name, GvTensor *t, gpointer data)
{
  GvVae *v = data;
  g_ptr_array_add (v->param_names, g_strdup (name));
  g_ptr_array_add (v->params, gv_tensor_ref (t));
}

GvVae *
gv_vae_new_from_loader (GvDevice *dev, GvLoader *ld, const GvVaeConfig *cfg, GError **error)
{
  GvVae *v = g_new0 (GvVae, 1);
  v->cfg = *cfg;
  v->dev = gv_device_ref (dev);
  v->param_names = g_ptr_array_new_with_free_func (g_free);
  v->params = g_ptr_array_new_with_free_func ((GDestroyNotify) gv_tensor_unref);
  gv_loader_set_name_func (ld, record_param, v);
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
  g_clear_pointer (&v->param_names, g_ptr_array_unref);
  g_clear_pointer (&v->params, g_ptr_array_unref);
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

GvDevice *
gv_vae_get_device (GvVae *v)
{
  return v->dev;
}

void
gv_vae_foreach_param (GvVae *v, GvLoaderNameFunc fn, gpointer data)
{
  for (guint i = 0; i < v->params->len; i++)
    fn (g_ptr_array_index (v->param_names, i), g_ptr_array_index (v->params, i), data);
}

/* Training keeps each layer's input on a tape (pushed by the forward, popped by the backward
 * in reverse order); the layers' insides are recomputed (per-block checkpoint, as the UNet). */
typedef struct {
  GvCmd *cmd;
  const GvGrads *g;
  GPtrArray *saved;
} Tape;

/* @x, after keeping a reference on the tape (when there is one) */
static GvTensor *
save (Tape *t, GvTensor *x)
{
  if (t != NULL)
    g_ptr_array_add (t->saved, gv_tensor_ref (x));
  return x;
}

/* the last saved input (the caller unrefs it) */
static GvTensor *
pop (Tape *t)
{
  return g_ptr_array_steal_index (t->saved, t->saved->len - 1);
}

/* the attention's inputs: the normed image and q, k, v as tokens [N, H*W, C] */
typedef struct {
  GvTensor *normed, *q, *k, *v;
} Qkv;

static void
qkv_forward (VaeAttention *a, GvCmd *cmd, GvTensor *x, Qkv *r)
{
  r->normed = gv_group_norm_apply (&a->norm, cmd, x, 1, FALSE);
  r->q = gv_linear_apply_pixels (&a->to_q, cmd, r->normed);
  r->k = gv_linear_apply_pixels (&a->to_k, cmd, r->normed);
  r->v = gv_linear_apply_pixels (&a->to_v, cmd, r->normed);
}

static void
qkv_clear (Qkv *r)
{
  g_clear_pointer (&r->normed, gv_tensor_unref);
  g_clear_pointer (&r->q, gv_tensor_unref);
  g_clear_pointer (&r->k, gv_tensor_unref);
  g_clear_pointer (&r->v, gv_tensor_unref);
}

static GvTensor *
attention_forward (VaeAttention *a, GvCmd *cmd, GvTensor *x)
{
  Qkv r;
  qkv_forward (a, cmd, x, &r);
  GvTensor *att = gv_tensor_like (cmd, r.q);
  GvAttentionArgs args = { .heads = 1 };
  gv_op_attention (cmd, att, r.q, r.k, r.v, &args);
  qkv_clear (&r);
  GvTensor *out = gv_linear_apply_to_pixels (&a->to_out, cmd, att, x->shape[2], x->shape[3], x);
  gv_tensor_unref (att);
  return out;
}

/* @tape: NULL (inference) or where each layer's input is kept */
static GvTensor *
mid_forward (VaeMid *m, GvCmd *cmd, GvTensor *h, Tape *tape)
{
  GvTensor *a = gv_resnet_forward (&m->res[0], cmd, save (tape, h), NULL, 1);
  if (m->has_attn) {
    GvTensor *b = attention_forward (&m->attn, cmd, save (tape, a));
    gv_tensor_unref (a);
    a = b;
  }
  GvTensor *out = gv_resnet_forward (&m->res[1], cmd, save (tape, a), NULL, 1);
  gv_tensor_unref (a);
  return out;
}

/* consumes @h */
static GvTensor *
block_forward (VaeBlock *b, GvCmd *cmd, GvTensor *h, gboolean upsample, Tape *tape)
{
  for (gint j = 0; j < b->n_layers; j++) {
    GvTensor *next = gv_resnet_forward (&b->resnets[j], cmd, save (tape, h), NULL, 1);
    gv_tensor_unref (h);
    h = next;
  }
  if (b->sampler.weight != NULL) {
    save (tape, h);
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

/* image -> the encoder's output before the split into mean and log-variance (the quant_conv's
 * [N, 2 lat, h, w]) */
static GvTensor *
encoder_forward (GvVae *v, GvCmd *cmd, GvTensor *image, Tape *tape)
{
  GvTensor *h = gv_conv2d_apply (&v->enc_in, cmd, image, NULL, GV_ACT_NONE, NULL);
  for (gint i = 0; i < v->cfg.n_blocks; i++)
    h = block_forward (&v->enc[i], cmd, h, FALSE, tape);
  GvTensor *m = mid_forward (&v->enc_mid, cmd, h, tape);
  gv_tensor_unref (h);
  GvTensor *normed = gv_group_norm_apply (&v->enc_norm, cmd, save (tape, m), 1, TRUE);
  gv_tensor_unref (m);
  GvTensor *moments = gv_conv2d_apply (&v->enc_out, cmd, save (tape, normed), NULL,
      GV_ACT_NONE, NULL);
  gv_tensor_unref (normed);
  GvTensor *q = gv_conv2d_apply (&v->quant, cmd, save (tape, moments), NULL, GV_ACT_NONE,
      NULL);
  gv_tensor_unref (moments);
  return q;
}

/* channels [0, lat) of @q are the mean, [lat, 2 lat) the log-variance, per image: the halves
 * [2, N, lat h w] (all means, then all log-variances) */
static const gint split_perm[] = { 1, 0, 2 };

static GvTensor *
split_moments (GvCmd *cmd, GvTensor *q, gint lat)
{
  gint64 n = q->shape[0], size = lat * q->shape[2] * q->shape[3];
  GvTensor *q3 = GV_VIEW (q, 0, n, 2, size);
  GvTensor *halves = GV_TENSOR (cmd, 2, n, size);
  gv_op_permute (cmd, halves, q3, split_perm);
  gv_tensor_unref (q3);
  return halves;
}

/* half @which (0: mean, 1: log-variance) of @halves as [N, lat, h, w] (a view) */
static GvTensor *
half_of (GvTensor *halves, gint which, const GvTensor *q, gint lat)
{
  return GV_VIEW (halves, which * halves->numel / 2, q->shape[0], lat, q->shape[2],
      q->shape[3]);
}

static GvTensor *
clamped_logvar (GvCmd *cmd, GvTensor *halves, const GvTensor *q, gint lat)
{
  GvTensor *raw = half_of (halves, 1, q, lat), *logvar = gv_tensor_like (cmd, raw);
  gv_op_clamp (cmd, logvar, raw, -30.0f, 20.0f);
  gv_tensor_unref (raw);
  return logvar;
}

void
gv_vae_encode (GvVae *v, GvCmd *cmd, GvTensor *image, GvTensor **mean, GvTensor **logvar)
{
  gint lat = v->cfg.latent_channels;
  GvTensor *q = encoder_forward (v, cmd, image, NULL);
  GvTensor *halves = split_moments (cmd, q, lat);
  *mean = half_of (halves, 0, q, lat);
  if (logvar != NULL)
    *logvar = clamped_logvar (cmd, halves, q, lat);
  gv_tensor_unref (halves);
  gv_tensor_unref (q);
}

static GvTensor *
decoder_forward (GvVae *v, GvCmd *cmd, GvTensor *latents, Tape *tape)
{
  GvTensor *z = gv_conv2d_apply (&v->post_quant, cmd, latents, NULL, GV_ACT_NONE, NULL);
  GvTensor *h = gv_conv2d_apply (&v->dec_in, cmd, save (tape, z), NULL, GV_ACT_NONE, NULL);
  gv_tensor_unref (z);
  GvTensor *m = mid_forward (&v->dec_mid, cmd, h, tape);
  gv_tensor_unref (h);
  for (gint i = 0; i < v->cfg.n_blocks; i++)
    m = block_forward (&v->dec[i], cmd, m, TRUE, tape);
  GvTensor *normed = gv_group_norm_apply (&v->dec_norm, cmd, save (tape, m), 1, TRUE);
  gv_tensor_unref (m);
  GvTensor *out = gv_conv2d_apply (&v->dec_out, cmd, save (tape, normed), NULL, GV_ACT_NONE,
      NULL);
  gv_tensor_unref (normed);
  return out;
}

GvTensor *
gv_vae_decode (GvVae *v, GvCmd *cmd, GvTensor *latents)
{
  return decoder_forward (v, cmd, latents, NULL);
}

/* --- training: the backward of the forwards above, popping their tape --- */

/* the gradient at conv @c's input @x, consuming @dout */
static GvTensor *
conv_back (Tape *t, GvConv2d *c, GvTensor *dout, GvTensor *x)
{
  GvTensor *dx = gv_tensor_like (t->cmd, x);
  gv_conv2d_backward (c, t->cmd, t->g, dx, NULL, dout, x, FALSE);
  gv_tensor_unref (dout);
  return dx;
}

static GvTensor *
resnet_back (Tape *t, GvResnet *r, GvTensor *dout)
{
  GvTensor *x = pop (t), *dx = gv_tensor_like (t->cmd, x);
  gv_resnet_backward (r, t->cmd, t->g, dx, NULL, dout, x, NULL, 1, FALSE, NULL);
  gv_tensor_unref (dout);
  gv_tensor_unref (x);
  return dx;
}

/* out = x + to_out (attention (q, k, v) of norm (x)), recomputed from x */
static GvTensor *
attention_back (Tape *t, VaeAttention *a, GvTensor *dout)
{
  GvCmd *cmd = t->cmd;
  GvTensor *x = pop (t);
  Qkv r;
  qkv_forward (a, cmd, x, &r);
  GvAttentionArgs args = { .heads = 1 };
  GvTensor *att = gv_tensor_like (cmd, r.q);
  GvTensor *lse = GV_TENSOR (cmd, r.q->shape[0], 1, r.q->shape[1]);
  gv_op_attention_lse (cmd, att, lse, r.q, r.k, r.v, &args);

  GvTensor *datt = gv_tensor_like (cmd, att);
  gv_linear_to_pixels_backward (&a->to_out, cmd, t->g, datt, dout, att, FALSE);
  GvTensor *dq = gv_tensor_like (cmd, r.q), *dk = gv_tensor_like (cmd, r.k);
  GvTensor *dv = gv_tensor_like (cmd, r.v);
  gv_op_attention_backward (cmd, dq, dk, dv, datt, r.q, r.k, r.v, att, lse, &args, FALSE);
  gv_tensor_unref (datt);
  gv_tensor_unref (att);
  gv_tensor_unref (lse);

  GvTensor *dnormed = gv_tensor_like (cmd, r.normed);
  gv_linear_pixels_backward (&a->to_q, cmd, t->g, dnormed, dq, r.normed, FALSE);
  gv_linear_pixels_backward (&a->to_k, cmd, t->g, dnormed, dk, r.normed, TRUE);
  gv_linear_pixels_backward (&a->to_v, cmd, t->g, dnormed, dv, r.normed, TRUE);
  gv_tensor_unref (dq);
  gv_tensor_unref (dk);
  gv_tensor_unref (dv);
  GvTensor *dx = gv_tensor_like (cmd, x);
  gv_group_norm_backward (&a->norm, cmd, t->g, dx, dnormed, x, 1, FALSE, FALSE);
  gv_tensor_unref (dnormed);
  qkv_clear (&r);
  /* the residual */
  gv_op_add_backward (cmd, dx, NULL, dout, TRUE);
  gv_tensor_unref (dout);
  gv_tensor_unref (x);
  return dx;
}

static GvTensor *
mid_back (Tape *t, VaeMid *m, GvTensor *dh)
{
  dh = resnet_back (t, &m->res[1], dh);
  if (m->has_attn)
    dh = attention_back (t, &m->attn, dh);
  return resnet_back (t, &m->res[0], dh);
}

static GvTensor *
block_back (Tape *t, VaeBlock *b, GvTensor *dh, gboolean upsample)
{
  if (b->sampler.weight != NULL) {
    GvTensor *x = pop (t);
    if (upsample) {
      GvTensor *up = GV_TENSOR (t->cmd, x->shape[0], x->shape[1], 2 * x->shape[2],
          2 * x->shape[3]);
      gv_op_resize_nearest (t->cmd, up, x);
      GvTensor *dup = conv_back (t, &b->sampler, dh, up);
      gv_tensor_unref (up);
      dh = gv_tensor_like (t->cmd, x);
      gv_op_resize_nearest_backward (t->cmd, dh, dup, FALSE);
      gv_tensor_unref (dup);
    } else {
      dh = conv_back (t, &b->sampler, dh, x);
    }
    gv_tensor_unref (x);
  }
  for (gint j = b->n_layers - 1; j >= 0; j--)
    dh = resnet_back (t, &b->resnets[j], dh);
  return dh;
}

/* the gradient at the input (popped) of conv_norm_out @norm (with its SiLU), consuming
 * @dnormed */
static GvTensor *
norm_out_back (Tape *t, GvGroupNorm *norm, GvTensor *dnormed)
{
  GvTensor *m = pop (t), *dm = gv_tensor_like (t->cmd, m);
  gv_group_norm_backward (norm, t->cmd, t->g, dm, dnormed, m, 1, TRUE, FALSE);
  gv_tensor_unref (dnormed);
  gv_tensor_unref (m);
  return dm;
}

void
gv_vae_encode_backward (GvVae *v, GvCmd *cmd, GvTensor *image, const GvGrads *g,
    GvVaeLatentGradFunc latent_grad, gpointer data)
{
  Tape tape = { cmd, g, g_ptr_array_new_with_free_func ((GDestroyNotify) gv_tensor_unref) };
  Tape *t = &tape;
  gint lat = v->cfg.latent_channels;

  GvTensor *q = encoder_forward (v, cmd, image, t);
  GvTensor *halves = split_moments (cmd, q, lat);
  GvTensor *mean = half_of (halves, 0, q, lat), *logvar = clamped_logvar (cmd, halves, q, lat);
  GvTensor *dhalves = gv_tensor_like (cmd, halves);
  GvTensor *dmean = half_of (dhalves, 0, q, lat), *dlogvar = half_of (dhalves, 1, q, lat);
  latent_grad (cmd, mean, logvar, dmean, dlogvar, data);
  gv_tensor_unref (dmean);
  gv_tensor_unref (dlogvar);
  gv_tensor_unref (mean);
  gv_tensor_unref (logvar);
  gv_tensor_unref (halves);

  GvTensor *dq = gv_tensor_like (cmd, q);
  GvTensor *dq3 = GV_VIEW (dq, 0, q->shape[0], 2, dhalves->numel / (2 * q->shape[0]));
  gv_op_permute_backward (cmd, dq3, dhalves, split_perm, FALSE);
  gv_tensor_unref (dq3);
  gv_tensor_unref (dhalves);
  gv_tensor_unref (q);

  GvTensor *x = pop (t), *dh = conv_back (t, &v->quant, dq, x);
  gv_tensor_unref (x);
  x = pop (t);
  dh = conv_back (t, &v->enc_out, dh, x);
  gv_tensor_unref (x);
  dh = norm_out_back (t, &v->enc_norm, dh);
  dh = mid_back (t, &v->enc_mid, dh);
  for (gint i = v->cfg.n_blocks - 1; i >= 0; i--)
    dh = block_back (t, &v->enc[i], dh, FALSE);
  gv_conv2d_backward (&v->enc_in, cmd, g, NULL, NULL, dh, image, FALSE);
  gv_tensor_unref (dh);
  g_warn_if_fail (t->saved->len == 0);
  g_ptr_array_unref (t->saved);
}

void
gv_vae_decode_backward (GvVae *v, GvCmd *cmd, GvTensor *latents, const GvGrads *g,
    GvImageGradFunc image_grad, gpointer data, GvTensor *dlatents)
{
  Tape tape = { cmd, g, g_ptr_array_new_with_free_func ((GDestroyNotify) gv_tensor_unref) };
  Tape *t = &tape;

  GvTensor *out = decoder_forward (v, cmd, latents, t);
  GvTensor *dh = image_grad (cmd, out, data);
  gv_tensor_unref (out);

  GvTensor *x = pop (t);
  dh = conv_back (t, &v->dec_out, dh, x);
  gv_tensor_unref (x);
  dh = norm_out_back (t, &v->dec_norm, dh);
  for (gint i = v->cfg.n_blocks - 1; i >= 0; i--)
    dh = block_back (t, &v->dec[i], dh, TRUE);
  dh = mid_back (t, &v->dec_mid, dh);
  x = pop (t);
  dh = conv_back (t, &v->dec_in, dh, x);
  gv_tensor_unref (x);
  gv_conv2d_backward (&v->post_quant, cmd, g, dlatents, NULL, dh, latents, FALSE);
  gv_tensor_unref (dh);
  g_warn_if_fail (t->saved->len == 0);
  g_ptr_array_unref (t->saved);
}
