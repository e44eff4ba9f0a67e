#include <string.h>

#include "models/gv-resnet.h"
#include "models/gv-transformer.h"
#include "models/gv-unet.h"

typedef struct {
  gint n_layers;                 /* resnets */
  GvResnet *resnets;
  gint n_attentions;
  GvTransformer2D *attentions;   /* NULL for plain blocks */
  GvConv2d sampler;              /* down- or upsampler conv; weight NULL when absent */
} GvUNetBlock;

struct _GvUNetTemporal {
  GvUNet *unet;
  gint n;
  GvTemporalBlock *blocks;
  GvTemporalBlock **order;    /* pointers in forward order */
};

struct _GvUNet {
  GvUNetConfig cfg;
  GvDevice *dev;
  gint n_transformer_blocks;
  GvLinear time_1, time_2, class_1, class_2;
  GvConv2d conv_in, conv_out;
  GvGroupNorm norm_out;
  GvUNetBlock down[GV_MAX_BLOCKS], up[GV_MAX_BLOCKS], mid;
};

static void
block_alloc (GvUNetBlock *b, gint n_resnets, gint n_attentions)
{
  b->n_layers = n_resnets;
  b->resnets = g_new0 (GvResnet, n_resnets);
  b->n_attentions = n_attentions;
  if (n_attentions > 0)
    b->attentions = g_new0 (GvTransformer2D, n_attentions);
}

static void
block_clear (GvUNetBlock *b)
{
  for (gint i = 0; b->resnets && i < b->n_layers; i++)
    gv_resnet_clear (&b->resnets[i]);
  for (gint i = 0; i < b->n_attentions; i++)
    gv_transformer_clear (&b->attentions[i]);
  g_clear_pointer (&b->resnets, g_free);
  g_clear_pointer (&b->attentions, g_free);
  gv_conv2d_clear (&b->sampler);
}

static GvTransformerSpec
transformer_spec (GvUNet *u, gint block)
{
  const GvUNetConfig *c = &u->cfg;
  u->n_transformer_blocks += c->transformer_layers_per_block[block];
  return (GvTransformerSpec) {
    .heads = c->heads[block],
    .cross_attention_dim = c->cross_attention_dim,
    .n_layers = c->transformer_layers_per_block[block],
    .groups = c->norm_num_groups,
    .linear_projection = c->use_linear_projection,
  };
}

static void
load_network (GvUNet *u, GvLoader *ld)
{
  const GvUNetConfig *c = &u->cfg;
  gint n = c->n_blocks, c0 = c->block_out_channels[0], t = c->time_embedding_dim;
  gint groups = c->norm_num_groups;
  gfloat eps = c->norm_eps;

  gv_conv2d_load (&u->conv_in, ld, "conv_in", c->in_channels, c0, c->conv_in_kernel, 1,
      (c->conv_in_kernel - 1) / 2, TRUE);
  gv_linear_load (&u->time_1, ld, "time_embedding.linear_1", c0, t, TRUE);
  gv_linear_load (&u->time_2, ld, "time_embedding.linear_2", t, t, TRUE);
  if (c->class_embed_type == GV_CLASS_EMBED_PROJECTION) {
    gv_linear_load (&u->class_1, ld, "class_embedding.linear_1",
        c->projection_class_embeddings_input_dim, t, TRUE);
    gv_linear_load (&u->class_2, ld, "class_embedding.linear_2", t, t, TRUE);
  }

  gint out_ch = c0;
  for (gint i = 0; i < n; i++) {
    gint in_ch = out_ch;
    GvUNetBlock *b = &u->down[i];
    gboolean attention = c->down_blocks[i] == GV_BLOCK_CROSS_ATTN;
    out_ch = c->block_out_channels[i];
    block_alloc (b, c->layers_per_block[i], attention ? c->layers_per_block[i] : 0);
    gv_loader_push (ld, "down_blocks.%d", i);
    for (gint j = 0; j < b->n_layers; j++) {
      gchar *name = g_strdup_printf ("resnets.%d", j);
      gv_resnet_load (&b->resnets[j], ld, name, j == 0 ? in_ch : out_ch, out_ch, t, groups, eps);
      g_free (name);
      if (attention) {
        GvTransformerSpec spec = transformer_spec (u, i);
        name = g_strdup_printf ("attentions.%d", j);
        gv_transformer_load (&b->attentions[j], ld, name, out_ch, &spec);
        g_free (name);
      }
    }
    if (i < n - 1)
      gv_conv2d_load (&b->sampler, ld, "downsamplers.0.conv", out_ch, out_ch, 3, 2,
          c->downsample_padding, TRUE);
    gv_loader_pop (ld);
  }

  gint top = c->block_out_channels[n - 1];
  GvUNetBlock *mid = &u->mid;
  gv_loader_push (ld, "mid_block");
  /* resnets.0, attentions.0, resnets.1 (UNetMidBlock2DCrossAttn with one layer) */
  block_alloc (mid, 2, c->mid_block_cross_attn ? 1 : 0);
  gv_resnet_load (&mid->resnets[0], ld, "resnets.0", top, top, t, groups, eps);
  gv_resnet_load (&mid->resnets[1], ld, "resnets.1", top, top, t, groups, eps);
  if (c->mid_block_cross_attn) {
    GvTransformerSpec spec = transformer_spec (u, n - 1);
    gv_transformer_load (&mid->attentions[0], ld, "attentions.0", top, &spec);
  }
  gv_loader_pop (ld);

  out_ch = c->block_out_channels[n - 1];
  for (gint i = 0; i < n; i++) {
    gint r = n - 1 - i;           /* the down block this up block mirrors */
    gint prev_ch = out_ch;
    gint in_ch = c->block_out_channels[MAX (r - 1, 0)];
    GvUNetBlock *b = &u->up[i];
    gboolean attention = c->up_blocks[i] == GV_BLOCK_CROSS_ATTN;
    out_ch = c->block_out_channels[r];
    block_alloc (b, c->layers_per_block[r] + 1, attention ? c->layers_per_block[r] + 1 : 0);
    gv_loader_push (ld, "up_blocks.%d", i);
    for (gint j = 0; j < b->n_layers; j++) {
      gint skip_ch = j == b->n_layers - 1 ? in_ch : out_ch;
      gint res_in = (j == 0 ? prev_ch : out_ch) + skip_ch;
      gchar *name = g_strdup_printf ("resnets.%d", j);
      gv_resnet_load (&b->resnets[j], ld, name, res_in, out_ch, t, groups, eps);
      g_free (name);
      if (attention) {
        GvTransformerSpec spec = transformer_spec (u, r);
        name = g_strdup_printf ("attentions.%d", j);
        gv_transformer_load (&b->attentions[j], ld, name, out_ch, &spec);
        g_free (name);
      }
    }
    if (i < n - 1)
      gv_conv2d_load (&b->sampler, ld, "upsamplers.0.conv", out_ch, out_ch, 3, 1, 1, TRUE);
    gv_loader_pop (ld);
  }

  gv_group_norm_load (&u->norm_out, ld, "conv_norm_out", c0, groups, eps);
  gv_conv2d_load (&u->conv_out, ld, "conv_out", c0, c->out_channels, c->conv_out_kernel, 1,
      (c->conv_out_kernel - 1) / 2, TRUE);
}

GvUNet *
gv_unet_new_from_loader (GvDevice *dev, GvLoader *ld, const GvUNetConfig *cfg, GError **error)
{
  GvUNet *u = g_new0 (GvUNet, 1);
  u->cfg = *cfg;
  u->dev = gv_device_ref (dev);
  load_network (u, ld);
  if (!gv_loader_finish (ld, error)) {
    gv_unet_free (u);
    return NULL;
  }
  return u;
}

GvUNet *
gv_unet_load (GvDevice *dev, const gchar *folder, const GvUNetConfig *cfg, GError **error)
{
  GvWeights *w = gv_weights_open (folder, FALSE, error);
  if (w == NULL)
    return NULL;
  GvUNet *u = gv_unet_new_from_loader (dev, gv_loader_new (w, dev), cfg, error);
  gv_weights_free (w);
  return u;
}

void
gv_unet_free (GvUNet *u)
{
  if (u == NULL)
    return;
  gv_linear_clear (&u->time_1);
  gv_linear_clear (&u->time_2);
  gv_linear_clear (&u->class_1);
  gv_linear_clear (&u->class_2);
  gv_conv2d_clear (&u->conv_in);
  gv_conv2d_clear (&u->conv_out);
  gv_group_norm_clear (&u->norm_out);
  for (gint i = 0; i < GV_MAX_BLOCKS; i++) {
    block_clear (&u->down[i]);
    block_clear (&u->up[i]);
  }
  block_clear (&u->mid);
  gv_device_unref (u->dev);
  g_free (u);
}

const GvUNetConfig *
gv_unet_get_config (GvUNet *u)
{
  return &u->cfg;
}

GvDevice *
gv_unet_get_device (GvUNet *u)
{
  return u->dev;
}

/* State of one forward pass. */
typedef struct {
  GvUNet *u;
  GvCmd *cmd;
  const GvUNetInputs *in;
  gint frames;
  GvResnetEmb emb;
  GvTensor *frame_index;      /* sparse-causal gather index, or NULL */
  GvTemporalBlock **temporal; /* next transformer block's temporal layers, or NULL */
  gint group_frames;          /* frames sharing GroupNorm statistics in ResNets */
  GPtrArray *masks;           /* the mask at each resolution met so far */
} Pass;

static void
tap (Pass *p, const gchar *name, GvTensor *t)
{
  if (p->in->tap != NULL)
    p->in->tap (name, p->cmd, t, p->in->tap_data);
}

static void
tap_printf (Pass *p, GvTensor *t, const gchar *format, gint i)
{
  if (p->in->tap != NULL) {
    gchar *name = g_strdup_printf (format, i);
    p->in->tap (name, p->cmd, t, p->in->tap_data);
    g_free (name);
  }
}

/* The mask at the resolution of @x (nearest resize, as GenVideo gates each block). */
static GvTensor *
mask_for (Pass *p, GvTensor *x)
{
  if (p->in->mask == NULL)
    return NULL;
  for (guint i = 0; i < p->masks->len; i++) {
    GvTensor *m = g_ptr_array_index (p->masks, i);
    if (m->shape[2] == x->shape[2] && m->shape[3] == x->shape[3])
      return m;
  }
  GvTensor *m = GV_TENSOR (p->cmd, x->shape[0], 1, x->shape[2], x->shape[3]);
  gv_op_resize_nearest (p->cmd, m, p->in->mask);
  g_ptr_array_add (p->masks, m);
  return m;
}

static GvTensor *
resnet (Pass *p, GvResnet *r, GvTensor *x)
{
  GvResnetEmb emb = p->emb;
  emb.mask = mask_for (p, x);
  return gv_resnet_forward (r, p->cmd, x, &emb, p->group_frames);
}

static GvTensor *
transformer (Pass *p, GvTransformer2D *t, GvTensor *x)
{
  GvTensor *out = gv_transformer_forward (t, p->cmd, x, p->in->encoder_hidden_states,
      p->frames, p->frame_index, p->temporal);
  if (p->temporal != NULL)
    p->temporal += t->n_blocks;
  return out;
}

/* rows of a [B, D] tensor repeated for the F frames of each clip: [B*F, D] */
static GvTensor *
repeat_per_frame (Pass *p, GvTensor *x)
{
  if (p->frames == 1)
    return gv_tensor_ref (x);
  gint64 b = x->shape[0], d = x->shape[1], n = b * p->frames;
  gint32 *idx = g_new (gint32, n);
  for (gint64 i = 0; i < n; i++)
    idx[i] = (gint32) (i / p->frames);
  GvTensor *index = gv_tensor_alloc_typed (p->cmd, GV_DTYPE_I32, 2, (const gint64[]) { 1, n });
  gv_tensor_record_upload (p->cmd, index, idx);
  g_free (idx);
  GvTensor *src = GV_VIEW (x, 0, 1, 1, b, d);
  GvTensor *out = GV_TENSOR (p->cmd, 1, 1, n, d);
  gv_op_gather (p->cmd, out, src, index);
  GvTensor *out2 = GV_VIEW (out, 0, n, d);
  gv_tensor_unref (src);
  gv_tensor_unref (out);
  gv_tensor_unref (index);
  return out2;
}

/* SiLU (time embedding + class embedding of @labels), per image */
static GvTensor *
embedding_silu (Pass *p, GvTensor *time_emb, GvTensor *labels, gboolean tap_class)
{
  GvUNet *u = p->u;
  GvTensor *emb = gv_tensor_ref (time_emb);
  if (labels != NULL && u->class_1.weight != NULL) {
    GvTensor *c1 = gv_linear_apply (&u->class_1, p->cmd, labels, GV_ACT_SILU, NULL);
    GvTensor *sum = gv_linear_apply (&u->class_2, p->cmd, c1, GV_ACT_NONE, NULL);
    if (tap_class && p->in->tap != NULL) {
      GvTensor *cemb = gv_linear_apply (&u->class_2, p->cmd, c1, GV_ACT_NONE, NULL);
      tap (p, "class_embedding", cemb);
      gv_tensor_unref (cemb);
    }
    gv_op_add (p->cmd, sum, sum, emb);
    gv_tensor_unref (c1);
    gv_tensor_unref (emb);
    emb = sum;
  }
  GvTensor *silu = gv_tensor_like (p->cmd, emb);
  gv_op_activation (p->cmd, silu, emb, GV_ACT_SILU);
  gv_tensor_unref (emb);
  GvTensor *per_image = repeat_per_frame (p, silu);
  gv_tensor_unref (silu);
  return per_image;
}

static gboolean
check_inputs (GvUNet *u, GvCmd *cmd, GvTensor *sample, const GvUNetInputs *in)
{
  const GvUNetConfig *c = &u->cfg;
  gint frames = MAX (in->frames, 1);

  if (sample->ndim != 4 || sample->shape[1] != c->in_channels ||
      sample->shape[0] % frames != 0) {
    gchar *s = gv_tensor_shape_string (sample);
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "UNet input %s is not [clips*%d, %d, h, w]", s,
        frames, c->in_channels);
    g_free (s);
    return FALSE;
  }
  gint64 clips = sample->shape[0] / frames;
  if (in->encoder_hidden_states == NULL || in->encoder_hidden_states->shape[0] != clips ||
      in->encoder_hidden_states->shape[2] != c->cross_attention_dim) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "UNet: encoder_hidden_states must be [%"
        G_GINT64_FORMAT ", L, %d]", clips, c->cross_attention_dim);
    return FALSE;
  }
  if (c->class_embed_type != GV_CLASS_EMBED_NONE && (in->class_labels == NULL ||
          in->class_labels->shape[0] != clips ||
          in->class_labels->shape[1] != c->projection_class_embeddings_input_dim)) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "UNet: class_labels must be [%" G_GINT64_FORMAT
        ", %d]", clips, c->projection_class_embeddings_input_dim);
    return FALSE;
  }
  if (in->mask != NULL && (in->class_labels_alt == NULL ||
          in->mask->shape[0] != sample->shape[0] || in->mask->shape[2] != sample->shape[2] ||
          in->mask->shape[3] != sample->shape[3])) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "UNet: the mask must be [%" G_GINT64_FORMAT ", 1, %"
        G_GINT64_FORMAT ", %" G_GINT64_FORMAT "] with alternative class labels",
        sample->shape[0], sample->shape[2], sample->shape[3]);
    return FALSE;
  }
  /* latents smaller than the downsampling work too: a 1-pixel map stays one pixel, and the
   * up path takes the size of each skip connection */
  return TRUE;
}

GvTensor *
gv_unet_forward (GvUNet *u, GvCmd *cmd, GvTensor *sample, const GvUNetInputs *in)
{
  const GvUNetConfig *c = &u->cfg;
  Pass pass = { u, cmd, in, MAX (in->frames, 1) }, *p = &pass;

  if (gv_cmd_failed (cmd) || !check_inputs (u, cmd, sample, in))
    return GV_TENSOR (cmd, 1);
  if (in->temporal != NULL && in->temporal->unet != u) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "UNet: temporal layers of another UNet");
    return GV_TENSOR (cmd, 1);
  }
  gint64 clips = sample->shape[0] / p->frames;
  p->masks = g_ptr_array_new_with_free_func ((GDestroyNotify) gv_tensor_unref);
  if (in->temporal != NULL) {
    /* Tune-A-Video: sparse-causal attention, GroupNorm across frames, temporal attention */
    p->frame_index = gv_sparse_causal_index (cmd, clips, p->frames);
    p->temporal = in->temporal->order;
    p->group_frames = p->frames;
  } else {
    p->group_frames = 1;
  }

  /* time (and class) embedding, per clip */
  GvTensor *ts = GV_TENSOR (cmd, clips);
  gv_tensor_record_upload (cmd, ts, in->timesteps);
  GvTensor *proj = GV_TENSOR (cmd, clips, c->block_out_channels[0]);
  gv_op_timestep_embedding (cmd, proj, ts, c->flip_sin_to_cos, c->freq_shift, 10000.0f);
  GvTensor *t1 = gv_linear_apply (&u->time_1, cmd, proj, GV_ACT_SILU, NULL);
  GvTensor *temb = gv_linear_apply (&u->time_2, cmd, t1, GV_ACT_NONE, NULL);
  tap (p, "time_embedding", temb);
  p->emb.emb_silu = embedding_silu (p, temb, in->class_labels, TRUE);
  if (in->mask != NULL)
    p->emb.emb_silu_alt = embedding_silu (p, temb, in->class_labels_alt, FALSE);
  gv_tensor_unref (ts);
  gv_tensor_unref (proj);
  gv_tensor_unref (t1);
  gv_tensor_unref (temb);

  GvTensor *h = gv_conv2d_apply (&u->conv_in, cmd, sample, NULL, GV_ACT_NONE, NULL);
  tap (p, "conv_in", h);
  GPtrArray *skips = g_ptr_array_new_with_free_func ((GDestroyNotify) gv_tensor_unref);
  g_ptr_array_add (skips, gv_tensor_ref (h));

  for (gint i = 0; i < c->n_blocks; i++) {
    GvUNetBlock *b = &u->down[i];
    for (gint j = 0; j < b->n_layers; j++) {
      GvTensor *next = resnet (p, &b->resnets[j], h);
      gv_tensor_unref (h);
      h = next;
      if (b->attentions) {
        next = transformer (p, &b->attentions[j], h);
        gv_tensor_unref (h);
        h = next;
      }
      g_ptr_array_add (skips, gv_tensor_ref (h));
    }
    if (b->sampler.weight) {
      GvTensor *next = gv_conv2d_apply (&b->sampler, cmd, h, NULL, GV_ACT_NONE, NULL);
      gv_tensor_unref (h);
      h = next;
      g_ptr_array_add (skips, gv_tensor_ref (h));
    }
    tap_printf (p, h, "down_blocks.%d", i);
  }

  GvTensor *next = resnet (p, &u->mid.resnets[0], h);
  gv_tensor_unref (h);
  h = next;
  if (u->mid.attentions) {
    next = transformer (p, &u->mid.attentions[0], h);
    gv_tensor_unref (h);
    h = next;
  }
  next = resnet (p, &u->mid.resnets[1], h);
  gv_tensor_unref (h);
  h = next;
  tap (p, "mid_block", h);

  for (gint i = 0; i < c->n_blocks; i++) {
    GvUNetBlock *b = &u->up[i];
    for (gint j = 0; j < b->n_layers; j++) {
      GvTensor *skip = g_ptr_array_steal_index (skips, skips->len - 1);
      GvTensor *cat = GV_TENSOR (cmd, h->shape[0], h->shape[1] + skip->shape[1], h->shape[2],
          h->shape[3]);
      gv_op_concat (cmd, cat, h, skip, 1);
      gv_tensor_unref (skip);
      gv_tensor_unref (h);
      h = resnet (p, &b->resnets[j], cat);
      gv_tensor_unref (cat);
      if (b->attentions) {
        next = transformer (p, &b->attentions[j], h);
        gv_tensor_unref (h);
        h = next;
      }
    }
    if (b->sampler.weight && skips->len > 0) {
      /* nearest upsampling to the size of the skip it meets next (2x unless odd sizes) */
      GvTensor *target = g_ptr_array_index (skips, skips->len - 1);
      GvTensor *up = GV_TENSOR (cmd, h->shape[0], h->shape[1], target->shape[2],
          target->shape[3]);
      gv_op_resize_nearest (cmd, up, h);
      gv_tensor_unref (h);
      h = gv_conv2d_apply (&b->sampler, cmd, up, NULL, GV_ACT_NONE, NULL);
      gv_tensor_unref (up);
    }
    tap_printf (p, h, "up_blocks.%d", i);
  }
  g_ptr_array_unref (skips);

  GvTensor *normed;
  if (in->tap != NULL) {
    GvTensor *plain = gv_group_norm_apply (&u->norm_out, cmd, h, p->group_frames, FALSE);
    tap (p, "conv_norm_out", plain);
    normed = gv_tensor_like (cmd, plain);
    gv_op_activation (cmd, normed, plain, GV_ACT_SILU);
    gv_tensor_unref (plain);
  } else {
    normed = gv_group_norm_apply (&u->norm_out, cmd, h, p->group_frames, TRUE);
  }
  gv_tensor_unref (h);
  GvTensor *out = gv_conv2d_apply (&u->conv_out, cmd, normed, NULL, GV_ACT_NONE, NULL);
  gv_tensor_unref (normed);

  g_clear_pointer (&p->emb.emb_silu, gv_tensor_unref);
  g_clear_pointer (&p->emb.emb_silu_alt, gv_tensor_unref);
  g_clear_pointer (&p->frame_index, gv_tensor_unref);
  g_ptr_array_unref (p->masks);
  return out;
}

GvTensor *
gv_video_to_images (GvCmd *cmd, GvTensor *video)
{
  gint64 b = video->shape[0], c = video->shape[1], f = video->shape[2];
  gint64 h = video->shape[3], w = video->shape[4];
  GvTensor *out = GV_TENSOR (cmd, b, f, c, h, w);
  gv_op_permute (cmd, out, video, (const gint[]) { 0, 2, 1, 3, 4 });
  GvTensor *images = GV_VIEW (out, 0, b * f, c, h, w);
  gv_tensor_unref (out);
  return images;
}

GvTensor *
gv_images_to_video (GvCmd *cmd, GvTensor *images, gint frames)
{
  gint64 n = images->shape[0], c = images->shape[1], h = images->shape[2], w = images->shape[3];
  GvTensor *in = GV_VIEW (images, 0, n / frames, frames, c, h, w);
  GvTensor *out = GV_TENSOR (cmd, n / frames, c, frames, h, w);
  gv_op_permute (cmd, out, in, (const gint[]) { 0, 2, 1, 3, 4 });
  gv_tensor_unref (in);
  return out;
}

/* --- Tune-A-Video layers --- */

/* calls @fn for every transformer block of @u in forward order, with its state-dict path */
static void
foreach_transformer_block (GvUNet *u, void (*fn) (const gchar *path, gint dim, gpointer data),
    gpointer data)
{
  const GvUNetConfig *c = &u->cfg;
  for (gint i = 0; i < c->n_blocks; i++) {
    GvUNetBlock *b = &u->down[i];
    for (gint j = 0; j < b->n_attentions; j++) {
      for (gint k = 0; k < b->attentions[j].n_blocks; k++) {
        gchar *path = g_strdup_printf ("down_blocks.%d.attentions.%d.transformer_blocks.%d", i,
            j, k);
        fn (path, b->attentions[j].channels, data);
        g_free (path);
      }
    }
  }
  for (gint j = 0; j < u->mid.n_attentions; j++) {
    for (gint k = 0; k < u->mid.attentions[j].n_blocks; k++) {
      gchar *path = g_strdup_printf ("mid_block.attentions.%d.transformer_blocks.%d", j, k);
      fn (path, u->mid.attentions[j].channels, data);
      g_free (path);
    }
  }
  for (gint i = 0; i < c->n_blocks; i++) {
    GvUNetBlock *b = &u->up[i];
    for (gint j = 0; j < b->n_attentions; j++) {
      for (gint k = 0; k < b->attentions[j].n_blocks; k++) {
        gchar *path = g_strdup_printf ("up_blocks.%d.attentions.%d.transformer_blocks.%d", i,
            j, k);
        fn (path, b->attentions[j].channels, data);
        g_free (path);
      }
    }
  }
}

typedef struct {
  GvUNetTemporal *t;
  GvLoader *ld;
  GRand *rand;
  gint next;
} TemporalLoad;

static void
load_temporal_block (const gchar *path, gint dim, gpointer data)
{
  TemporalLoad *tl = data;
  GvTemporalBlock *b = &tl->t->blocks[tl->next];
  tl->t->order[tl->next++] = b;
  gv_temporal_block_load (b, tl->ld, path, dim, tl->t->unet->dev, tl->rand);
}

GvUNetTemporal *
gv_unet_temporal_new (GvUNet *u, const gchar *path, const gchar *prefix, guint32 seed,
    GError **error)
{
  GvWeights *w = NULL;
  if (path != NULL && (w = gv_weights_open_file (path, error)) == NULL)
    return NULL;

  GvUNetTemporal *t = g_new0 (GvUNetTemporal, 1);
  t->unet = u;
  t->n = u->n_transformer_blocks;
  t->blocks = g_new0 (GvTemporalBlock, t->n);
  t->order = g_new0 (GvTemporalBlock *, t->n + 1);
  TemporalLoad tl = { t, gv_loader_new (w, u->dev), g_rand_new_with_seed (seed), 0 };
  gchar *trimmed = g_strdup (prefix ? prefix : "");
  if (g_str_has_suffix (trimmed, "."))
    trimmed[strlen (trimmed) - 1] = '\0';
  if (trimmed[0] != '\0')
    gv_loader_push (tl.ld, "%s", trimmed);
  foreach_transformer_block (u, load_temporal_block, &tl);
  if (trimmed[0] != '\0')
    gv_loader_pop (tl.ld);
  g_free (trimmed);
  g_rand_free (tl.rand);
  gboolean ok = gv_loader_finish (tl.ld, error);
  if (w != NULL)
    gv_weights_free (w);
  if (!ok) {
    gv_unet_temporal_free (t);
    return NULL;
  }
  return t;
}

void
gv_unet_temporal_free (GvUNetTemporal *t)
{
  if (t == NULL)
    return;
  for (gint i = 0; i < t->n; i++)
    gv_temporal_block_clear (&t->blocks[i]);
  g_free (t->blocks);
  g_free (t->order);
  g_free (t);
}

/* --- training: the parameters by name --- */

typedef struct {
  GvParamFunc fn;
  gpointer data;
  gboolean tav_only;
  GError *error;
} Walk;

static void
walk_tensor (Walk *w, GvTensor *t, const gchar *prefix, const gchar *name)
{
  if (t == NULL || w->error != NULL)
    return;
  gchar *full = g_strdup_printf ("%s.%s", prefix, name);
  w->fn (full, t, w->data);
  g_free (full);
}

/* weight and bias of a Linear, Conv2d, GroupNorm or LayerNorm under @prefix.@name */
static void
walk_pair (Walk *w, GvTensor *weight, GvTensor *bias, const gchar *prefix, const gchar *name)
{
  gchar *p = name[0] ? g_strdup_printf ("%s.%s", prefix, name) : g_strdup (prefix);
  walk_tensor (w, weight, p, "weight");
  walk_tensor (w, bias, p, "bias");
  g_free (p);
}

static void
walk_attention (Walk *w, GvAttentionProj *a, GvTensor *tuned_q, const gchar *prefix,
    const gchar *name, gboolean with_q)
{
  gchar *p = g_strdup_printf ("%s.%s", prefix, name);
  if (with_q)
    walk_pair (w, tuned_q ? tuned_q : a->to_q.weight, NULL, p, "to_q");
  if (!w->tav_only || g_str_equal (name, "attn_temp")) {
    walk_pair (w, a->to_k.weight, NULL, p, "to_k");
    walk_pair (w, a->to_v.weight, NULL, p, "to_v");
    walk_pair (w, a->to_out.weight, a->to_out.bias, p, "to_out.0");
  }
  g_free (p);
}

/* a tuned query weight of its own for @tb (a copy of the base's @base) */
static GvTensor *
own_query (Walk *w, GvTensor **tuned, GvTensor *base)
{
  if (*tuned != NULL || w->error != NULL)
    return *tuned;
  gfloat *buf = g_new (gfloat, base->numel);
  if (gv_tensor_download (base, buf, &w->error))
    *tuned = gv_tensor_new_from_data (base->dev, base->ndim, base->shape, buf, &w->error);
  g_free (buf);
  return *tuned;
}

static void
walk_transformer (Walk *w, GvTransformer2D *t, GvTemporalBlock **temporal, const gchar *prefix)
{
  if (!w->tav_only) {
    walk_pair (w, t->norm.weight, t->norm.bias, prefix, "norm");
    walk_pair (w, t->proj_in.weight, t->proj_in.bias, prefix, "proj_in");
  }
  for (gint k = 0; k < t->n_blocks; k++) {
    GvTransformerBlock *b = &t->blocks[k];
    GvTemporalBlock *tb = temporal ? temporal[k] : NULL;
    gchar *p = g_strdup_printf ("%s.transformer_blocks.%d", prefix, k);
    if (w->tav_only) {
      own_query (w, &tb->attn1_q, b->attn1.to_q.weight);
      own_query (w, &tb->attn2_q, b->attn2.to_q.weight);
      walk_attention (w, &b->attn1, tb->attn1_q, p, "attn1", TRUE);
      walk_attention (w, &b->attn2, tb->attn2_q, p, "attn2", TRUE);
      walk_attention (w, &tb->attn_temp, NULL, p, "attn_temp", TRUE);
    } else {
      walk_pair (w, b->norm1.weight, b->norm1.bias, p, "norm1");
      walk_attention (w, &b->attn1, tb ? tb->attn1_q : NULL, p, "attn1", TRUE);
      walk_pair (w, b->norm2.weight, b->norm2.bias, p, "norm2");
      walk_attention (w, &b->attn2, tb ? tb->attn2_q : NULL, p, "attn2", TRUE);
      walk_pair (w, b->norm3.weight, b->norm3.bias, p, "norm3");
      walk_pair (w, b->ff_proj.weight, b->ff_proj.bias, p, "ff.net.0.proj");
      walk_pair (w, b->ff_out.weight, b->ff_out.bias, p, "ff.net.2");
      if (tb != NULL) {
        walk_pair (w, tb->norm_temp.weight, tb->norm_temp.bias, p, "norm_temp");
        walk_attention (w, &tb->attn_temp, NULL, p, "attn_temp", TRUE);
      }
    }
    g_free (p);
  }
  if (!w->tav_only)
    walk_pair (w, t->proj_out.weight, t->proj_out.bias, prefix, "proj_out");
}

static void
walk_resnet (Walk *w, GvResnet *r, const gchar *prefix)
{
  if (w->tav_only)
    return;
  walk_pair (w, r->norm1.weight, r->norm1.bias, prefix, "norm1");
  walk_pair (w, r->conv1.weight, r->conv1.bias, prefix, "conv1");
  walk_pair (w, r->time_emb_proj.weight, r->time_emb_proj.bias, prefix, "time_emb_proj");
  walk_pair (w, r->norm2.weight, r->norm2.bias, prefix, "norm2");
  walk_pair (w, r->conv2.weight, r->conv2.bias, prefix, "conv2");
  walk_pair (w, r->conv_shortcut.weight, r->conv_shortcut.bias, prefix, "conv_shortcut");
}

static void
walk_block (Walk *w, GvUNetBlock *b, GvTemporalBlock ***temporal, const gchar *prefix,
    gboolean mid, gboolean up)
{
  for (gint j = 0; j < b->n_layers; j++) {
    gchar *p = g_strdup_printf ("%s.resnets.%d", prefix, j);
    walk_resnet (w, &b->resnets[j], p);
    g_free (p);
    /* the mid block is resnets.0, attentions.0, resnets.1 */
    if (b->attentions != NULL && j < b->n_attentions && !(mid && j == 1)) {
      p = g_strdup_printf ("%s.attentions.%d", prefix, j);
      walk_transformer (w, &b->attentions[j], *temporal, p);
      if (*temporal != NULL)
        *temporal += b->attentions[j].n_blocks;
      g_free (p);
    }
  }
  if (b->sampler.weight != NULL && !w->tav_only) {
    gchar *p = g_strdup_printf ("%s.%s.0", prefix, up ? "upsamplers" : "downsamplers");
    walk_pair (w, b->sampler.weight, b->sampler.bias, p, "conv");
    g_free (p);
  }
}

gboolean
gv_unet_foreach_param (GvUNet *u, GvUNetTemporal *temporal, gboolean tav_only,
    GvParamFunc fn, gpointer data, GError **error)
{
  Walk w = { fn, data, tav_only, NULL };
  GvTemporalBlock **order = temporal ? temporal->order : NULL;

  if (tav_only && temporal == NULL) {
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID,
        "Tune-A-Video training needs the UNet's temporal layers");
    return FALSE;
  }
  if (!tav_only) {
    walk_pair (&w, u->conv_in.weight, u->conv_in.bias, "conv_in", "");
    walk_pair (&w, u->time_1.weight, u->time_1.bias, "time_embedding", "linear_1");
    walk_pair (&w, u->time_2.weight, u->time_2.bias, "time_embedding", "linear_2");
    walk_pair (&w, u->class_1.weight, u->class_1.bias, "class_embedding", "linear_1");
    walk_pair (&w, u->class_2.weight, u->class_2.bias, "class_embedding", "linear_2");
  }
  for (gint i = 0; i < u->cfg.n_blocks; i++) {
    gchar *p = g_strdup_printf ("down_blocks.%d", i);
    walk_block (&w, &u->down[i], &order, p, FALSE, FALSE);
    g_free (p);
  }
  walk_block (&w, &u->mid, &order, "mid_block", TRUE, FALSE);
  for (gint i = 0; i < u->cfg.n_blocks; i++) {
    gchar *p = g_strdup_printf ("up_blocks.%d", i);
    walk_block (&w, &u->up[i], &order, p, FALSE, TRUE);
    g_free (p);
  }
  if (!tav_only) {
    walk_pair (&w, u->norm_out.weight, u->norm_out.bias, "conv_norm_out", "");
    walk_pair (&w, u->conv_out.weight, u->conv_out.bias, "conv_out", "");
  }
  if (w.error != NULL) {
    g_propagate_error (error, w.error);
    return FALSE;
  }
  return TRUE;
}

/* --- training: forward and backward of one step --- */

/* The embedding path of a step, kept for its backward. */
typedef struct {
  GvTensor *proj, *t1_pre, *t1, *c1_pre, *c1, *emb;
} EmbeddingTape;

static GvTensor *
silu_of (GvCmd *cmd, GvTensor *x)
{
  GvTensor *y = gv_tensor_like (cmd, x);
  gv_op_activation (cmd, y, x, GV_ACT_SILU);
  return y;
}

static void
embedding_train_forward (Pass *p, EmbeddingTape *e, gint64 clips)
{
  GvUNet *u = p->u;
  const GvUNetConfig *c = &u->cfg;
  GvTensor *ts = GV_TENSOR (p->cmd, clips);
  gv_tensor_record_upload (p->cmd, ts, p->in->timesteps);
  e->proj = GV_TENSOR (p->cmd, clips, c->block_out_channels[0]);
  gv_op_timestep_embedding (p->cmd, e->proj, ts, c->flip_sin_to_cos, c->freq_shift, 10000.0f);
  gv_tensor_unref (ts);
  e->t1_pre = gv_linear_apply (&u->time_1, p->cmd, e->proj, GV_ACT_NONE, NULL);
  e->t1 = silu_of (p->cmd, e->t1_pre);
  e->emb = gv_linear_apply (&u->time_2, p->cmd, e->t1, GV_ACT_NONE, NULL);
  if (p->in->class_labels != NULL && u->class_1.weight != NULL) {
    e->c1_pre = gv_linear_apply (&u->class_1, p->cmd, p->in->class_labels, GV_ACT_NONE, NULL);
    e->c1 = silu_of (p->cmd, e->c1_pre);
    GvTensor *sum = gv_linear_apply (&u->class_2, p->cmd, e->c1, GV_ACT_NONE, e->emb);
    gv_tensor_unref (e->emb);
    e->emb = sum;
  }
  GvTensor *silu = silu_of (p->cmd, e->emb);
  p->emb.emb_silu = repeat_per_frame (p, silu);
  gv_tensor_unref (silu);
}

/* from demb_silu [B*F, T], the gradient of every image's SiLU (embedding) */
static void
embedding_backward (Pass *p, EmbeddingTape *e, const GvGrads *g, GvTensor *demb_silu)
{
  GvUNet *u = p->u;
  GvCmd *cmd = p->cmd;
  GvTensor *demb = gv_tensor_like (cmd, e->emb);
  gv_op_repeat_frames_backward (cmd, demb, demb_silu, p->frames, FALSE);
  gv_op_activation_backward (cmd, demb, demb, e->emb, GV_ACT_SILU, FALSE);
  if (e->c1 != NULL) {
    GvTensor *dc1 = gv_tensor_like (cmd, e->c1);
    gv_linear_backward (&u->class_2, cmd, g, NULL, dc1, demb, e->c1, FALSE);
    gv_op_activation_backward (cmd, dc1, dc1, e->c1_pre, GV_ACT_SILU, FALSE);
    gv_linear_backward (&u->class_1, cmd, g, NULL, NULL, dc1, p->in->class_labels, FALSE);
    gv_tensor_unref (dc1);
  }
  GvTensor *dt1 = gv_tensor_like (cmd, e->t1);
  gv_linear_backward (&u->time_2, cmd, g, NULL, dt1, demb, e->t1, FALSE);
  gv_op_activation_backward (cmd, dt1, dt1, e->t1_pre, GV_ACT_SILU, FALSE);
  gv_linear_backward (&u->time_1, cmd, g, NULL, NULL, dt1, e->proj, FALSE);
  gv_tensor_unref (dt1);
  gv_tensor_unref (demb);
}

static void
embedding_tape_clear (EmbeddingTape *e)
{
  GvTensor **all[] = { &e->proj, &e->t1_pre, &e->t1, &e->c1_pre, &e->c1, &e->emb };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    g_clear_pointer (all[i], gv_tensor_unref);
}

/* dh += *@d (a second consumer's gradient), then *@d is released */
static void
grad_add (GvCmd *cmd, GvTensor *dh, GvTensor **d)
{
  gv_op_add_backward (cmd, dh, NULL, *d, TRUE);
  g_clear_pointer (d, gv_tensor_unref);
}

/* What a step keeps of one block for its backward: the input, and with @keep its inside. */
typedef struct {
  GvTensor *x;
  GvResnetInside res;
  GvTransformerInside *tr;
} Kept;

static void
kept_free (Kept *k)
{
  g_clear_pointer (&k->x, gv_tensor_unref);
  gv_resnet_inside_clear (&k->res);
  gv_transformer_inside_free (k->tr);
  g_free (k);
}

/* State of a step: what is kept of the blocks in forward order (popped by the backward). */
typedef struct {
  Pass *p;
  const GvGrads *g;
  gboolean keep;                 /* keep every block's inside (no recompute) */
  GPtrArray *saved;              /* Kept * */
  guint next;
  GvTensor *demb;                /* [B*F, T] embedding gradient, or NULL (frozen) */
  GvTemporalBlock **temporal;    /* backward: one past the next transformer's layers */
  Kept *last;                    /* the entry popped last, released at the next pop */
} Tape;

static Kept *
save (Tape *t, GvTensor *x)
{
  Kept *k = g_new0 (Kept, 1);
  k->x = gv_tensor_ref (x);
  g_ptr_array_add (t->saved, k);
  return k;
}

/* the last saved entry, released from the tape (each is read by one block's backward only,
 * which ends before the next pop) */
static Kept *
pop (Tape *t)
{
  g_clear_pointer (&t->last, kept_free);
  t->last = g_ptr_array_steal_index (t->saved, --t->next);
  return t->last;
}

/* the training forward of a ResNet on @x, its inside kept in @k (when the tape keeps) */
static GvTensor *
resnet_train (Tape *t, GvResnet *r, GvTensor *x, Kept *k)
{
  return gv_resnet_forward_train (r, t->p->cmd, x, t->p->emb.emb_silu, t->p->group_frames,
      t->keep ? &k->res : NULL);
}

static GvTensor *
transformer_train (Tape *t, GvTransformer2D *tr, GvTensor *x)
{
  Pass *p = t->p;
  Kept *k = save (t, x);
  GvTensor *out = gv_transformer_forward_train (tr, p->cmd, x, p->in->encoder_hidden_states,
      p->frames, p->frame_index, p->temporal, t->keep ? &k->tr : NULL);
  if (p->temporal != NULL)
    p->temporal += tr->n_blocks;
  return out;
}

/* the backward of resnet_train (t, r, x, k): returns dx */
static GvTensor *
resnet_back (Tape *t, GvResnet *r, GvTensor *dout, GvTensor *x, Kept *k)
{
  GvTensor *dx = gv_tensor_like (t->p->cmd, x);
  gv_resnet_backward (r, t->p->cmd, t->g, dx, t->demb, dout, x, t->p->emb.emb_silu,
      t->p->group_frames, FALSE, &k->res);
  gv_tensor_unref (dout);
  return dx;
}

static GvTensor *
transformer_back (Tape *t, GvTransformer2D *tr, GvTensor *dout)
{
  Pass *p = t->p;
  Kept *k = pop (t);
  GvTensor *dx = gv_tensor_like (p->cmd, k->x);
  if (t->temporal != NULL)
    t->temporal -= tr->n_blocks;
  gv_transformer_backward (tr, p->cmd, t->g, dx, dout, k->x, p->in->encoder_hidden_states,
      p->frames, p->frame_index, t->temporal, FALSE, g_steal_pointer (&k->tr));
  gv_tensor_unref (dout);
  return dx;
}

static GvTensor *
conv_back (Tape *t, GvConv2d *c, GvTensor *dout, GvTensor *x)
{
  GvTensor *dx = x ? gv_tensor_like (t->p->cmd, x) : NULL;
  gv_conv2d_backward (c, t->p->cmd, t->g, dx, NULL, dout, x, FALSE);
  gv_tensor_unref (dout);
  return dx;
}

void
gv_unet_forward_backward (GvUNet *u, GvCmd *cmd, GvTensor *sample, const GvUNetInputs *in,
    const GvGrads *g, gboolean recompute, GvLossGradFunc loss_grad, gpointer data)
{
  const GvUNetConfig *c = &u->cfg;
  Pass pass = { u, cmd, in, MAX (in->frames, 1) }, *p = &pass;
  EmbeddingTape e = { NULL };

  if (gv_cmd_failed (cmd) || !check_inputs (u, cmd, sample, in))
    return;
  if (in->mask != NULL || in->tap != NULL) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "UNet training takes no mask and no tap");
    return;
  }
  if (in->temporal != NULL && in->temporal->unet != u) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "UNet: temporal layers of another UNet");
    return;
  }
  gint64 clips = sample->shape[0] / p->frames;
  p->masks = g_ptr_array_new_with_free_func ((GDestroyNotify) gv_tensor_unref);
  p->group_frames = 1;
  if (in->temporal != NULL) {
    p->frame_index = gv_sparse_causal_index (cmd, clips, p->frames);
    p->temporal = in->temporal->order;
    p->group_frames = p->frames;
  }
  embedding_train_forward (p, &e, clips);

  /* forward, keeping each block's input (and without recompute its inside) */
  Tape tape = { p, g, !recompute, g_ptr_array_new_with_free_func ((GDestroyNotify) kept_free) };
  Tape *t = &tape;
  GPtrArray *skips = g_ptr_array_new_with_free_func ((GDestroyNotify) gv_tensor_unref);
  GArray *popped = g_array_new (FALSE, FALSE, sizeof (guint));
  gboolean upsampled[GV_MAX_BLOCKS] = { FALSE };
  GvTensor *h = gv_conv2d_apply (&u->conv_in, cmd, sample, NULL, GV_ACT_NONE, NULL), *next;
  guint n_skips = 0;
  g_ptr_array_add (skips, gv_tensor_ref (h));
  for (gint i = 0; i < c->n_blocks; i++) {
    GvUNetBlock *b = &u->down[i];
    for (gint j = 0; j < b->n_layers; j++) {
      next = resnet_train (t, &b->resnets[j], h, save (t, h));
      gv_tensor_unref (h);
      h = next;
      if (b->attentions) {
        next = transformer_train (t, &b->attentions[j], h);
        gv_tensor_unref (h);
        h = next;
      }
      g_ptr_array_add (skips, gv_tensor_ref (h));
    }
    if (b->sampler.weight) {
      save (t, h);
      next = gv_conv2d_apply (&b->sampler, cmd, h, NULL, GV_ACT_NONE, NULL);
      gv_tensor_unref (h);
      h = next;
      g_ptr_array_add (skips, gv_tensor_ref (h));
    }
  }
  n_skips = skips->len;
  GvTensor **skip_of = g_new0 (GvTensor *, n_skips);
  for (guint k = 0; k < n_skips; k++)
    skip_of[k] = gv_tensor_ref (g_ptr_array_index (skips, k));
  next = resnet_train (t, &u->mid.resnets[0], h, save (t, h));
  gv_tensor_unref (h);
  h = next;
  if (u->mid.attentions) {
    next = transformer_train (t, &u->mid.attentions[0], h);
    gv_tensor_unref (h);
    h = next;
  }
  next = resnet_train (t, &u->mid.resnets[1], h, save (t, h));
  gv_tensor_unref (h);
  h = next;
  for (gint i = 0; i < c->n_blocks; i++) {
    GvUNetBlock *b = &u->up[i];
    for (gint j = 0; j < b->n_layers; j++) {
      guint k = skips->len - 1;
      GvTensor *skip = g_ptr_array_steal_index (skips, k);
      g_array_append_val (popped, k);
      GvTensor *cat = GV_TENSOR (cmd, h->shape[0], h->shape[1] + skip->shape[1], h->shape[2],
          h->shape[3]);
      Kept *kh = save (t, h);
      gv_op_concat (cmd, cat, h, skip, 1);
      gv_tensor_unref (skip);
      gv_tensor_unref (h);
      h = resnet_train (t, &b->resnets[j], cat, kh);
      gv_tensor_unref (cat);
      if (b->attentions) {
        next = transformer_train (t, &b->attentions[j], h);
        gv_tensor_unref (h);
        h = next;
      }
    }
    if (b->sampler.weight && skips->len > 0) {
      GvTensor *target = g_ptr_array_index (skips, skips->len - 1);
      GvTensor *up = GV_TENSOR (cmd, h->shape[0], h->shape[1], target->shape[2],
          target->shape[3]);
      save (t, h);
      gv_op_resize_nearest (cmd, up, h);
      gv_tensor_unref (h);
      h = gv_conv2d_apply (&b->sampler, cmd, up, NULL, GV_ACT_NONE, NULL);
      gv_tensor_unref (up);
      upsampled[i] = TRUE;
    }
  }
  g_ptr_array_unref (skips);
  save (t, h);
  GvTensor *normed = gv_group_norm_apply (&u->norm_out, cmd, h, p->group_frames, TRUE);
  gv_tensor_unref (h);
  GvTensor *out = gv_conv2d_apply (&u->conv_out, cmd, normed, NULL, GV_ACT_NONE, NULL);

  /* the loss and its gradient */
  GvTensor *dh = loss_grad (cmd, out, data);
  gv_tensor_unref (out);

  /* backward */
  t->next = t->saved->len;
  t->temporal = in->temporal ? in->temporal->order + in->temporal->n : NULL;
  if (gv_grads_lookup (g, u->time_1.weight) != NULL) {
    t->demb = gv_tensor_like (cmd, p->emb.emb_silu);
    gv_tensor_record_fill (cmd, t->demb, 0.0f);
  }
  GvTensor *x = pop (t)->x, *dnormed = gv_tensor_like (cmd, normed);
  gv_conv2d_backward (&u->conv_out, cmd, g, dnormed, NULL, dh, normed, FALSE);
  gv_tensor_unref (dh);
  gv_tensor_unref (normed);
  dh = gv_tensor_like (cmd, x);
  gv_group_norm_backward (&u->norm_out, cmd, g, dh, dnormed, x, p->group_frames, TRUE, FALSE);
  gv_tensor_unref (dnormed);

  GvTensor **dskip = g_new0 (GvTensor *, n_skips);
  guint m = popped->len;
  for (gint i = c->n_blocks - 1; i >= 0; i--) {
    GvUNetBlock *b = &u->up[i];
    if (upsampled[i]) {
      GvTensor *hx = pop (t)->x;
      GvTensor *up = GV_TENSOR (cmd, hx->shape[0], hx->shape[1], dh->shape[2], dh->shape[3]);
      gv_op_resize_nearest (cmd, up, hx);
      GvTensor *dup = conv_back (t, &b->sampler, dh, up);
      gv_tensor_unref (up);
      dh = gv_tensor_like (cmd, hx);
      gv_op_resize_nearest_backward (cmd, dh, dup, FALSE);
      gv_tensor_unref (dup);
    }
    for (gint j = b->n_layers - 1; j >= 0; j--) {
      if (b->attentions)
        dh = transformer_back (t, &b->attentions[j], dh);
      /* the resnet's input is the concatenation of the saved h and the skip */
      guint k = g_array_index (popped, guint, --m);
      Kept *kept = pop (t);
      GvTensor *hx = kept->x, *skip = skip_of[k];
      GvTensor *cat = GV_TENSOR (cmd, hx->shape[0], hx->shape[1] + skip->shape[1],
          hx->shape[2], hx->shape[3]);
      gv_op_concat (cmd, cat, hx, skip, 1);
      GvTensor *dcat = resnet_back (t, &b->resnets[j], dh, cat, kept);
      gv_tensor_unref (cat);
      dh = gv_tensor_like (cmd, hx);
      dskip[k] = gv_tensor_like (cmd, skip);
      gv_op_concat_backward (cmd, dh, dskip[k], dcat, 1, FALSE);
      gv_tensor_unref (dcat);
      g_clear_pointer (&skip_of[k], gv_tensor_unref);
    }
  }
  Kept *kept = pop (t);
  dh = resnet_back (t, &u->mid.resnets[1], dh, kept->x, kept);
  if (u->mid.attentions)
    dh = transformer_back (t, &u->mid.attentions[0], dh);
  kept = pop (t);
  dh = resnet_back (t, &u->mid.resnets[0], dh, kept->x, kept);
  guint k = n_skips;
  for (gint i = c->n_blocks - 1; i >= 0; i--) {
    GvUNetBlock *b = &u->down[i];
    if (b->sampler.weight) {
      grad_add (cmd, dh, &dskip[--k]);
      dh = conv_back (t, &b->sampler, dh, pop (t)->x);
    }
    for (gint j = b->n_layers - 1; j >= 0; j--) {
      grad_add (cmd, dh, &dskip[--k]);
      if (b->attentions)
        dh = transformer_back (t, &b->attentions[j], dh);
      kept = pop (t);
      dh = resnet_back (t, &b->resnets[j], dh, kept->x, kept);
    }
  }
  grad_add (cmd, dh, &dskip[--k]);
  gv_conv2d_backward (&u->conv_in, cmd, g, NULL, NULL, dh, sample, FALSE);
  gv_tensor_unref (dh);
  if (t->demb != NULL) {
    embedding_backward (p, &e, g, t->demb);
    gv_tensor_unref (t->demb);
  }

  for (guint i = 0; i < n_skips; i++) {
    g_clear_pointer (&dskip[i], gv_tensor_unref);
    g_clear_pointer (&skip_of[i], gv_tensor_unref);
  }
  g_free (dskip);
  g_free (skip_of);
  g_array_unref (popped);
  g_clear_pointer (&t->last, kept_free);
  g_ptr_array_unref (t->saved);
  embedding_tape_clear (&e);
  g_clear_pointer (&p->emb.emb_silu, gv_tensor_unref);
  g_clear_pointer (&p->frame_index, gv_tensor_unref);
  g_ptr_array_unref (p->masks);
}
