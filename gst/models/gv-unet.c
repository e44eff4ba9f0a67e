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
