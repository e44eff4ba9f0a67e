/* A random-weight checkpoint in the diffusers layout. The tensor names below are those of
 * diffusers' UNet2DConditionModel / AutoencoderKL and transformers' CLIPTextModel /
 * CLIPVisionModelWithProjection, written from the configs as our loader reads them back. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "gv-random-checkpoint.h"
#include "models/gv-config.h"
#include "models/gv-json.h"
#include "models/gv-safetensors-write.h"

typedef enum { INIT_UNIFORM, INIT_ONES, INIT_ZEROS } InitKind;

typedef struct {
  InitKind kind;
  gdouble bound;
  guint64 seed;
} Init;

/* splitmix64: fast, and the same numbers on every machine */
static guint64
next_u64 (guint64 *state)
{
  guint64 z = (*state += G_GUINT64_CONSTANT (0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static void
fill (gfloat *out, gint64 n, gpointer data)
{
  Init *init = data;
  guint64 state = init->seed;
  for (gint64 i = 0; i < n; i++) {
    switch (init->kind) {
      case INIT_ONES:
        out[i] = 1.0f;
        break;
      case INIT_ZEROS:
        out[i] = 0.0f;
        break;
      case INIT_UNIFORM:{
        gdouble u = (next_u64 (&state) >> 11) * (1.0 / 9007199254740992.0);
        out[i] = (gfloat) ((2.0 * u - 1.0) * init->bound);
        break;
      }
    }
  }
}

/* the tensors of one safetensors file, named under a prefix stack as the loader names them */
typedef struct {
  GvStWriter *w;
  GString *prefix;
  GArray *marks;
  guint64 seed;
} Net;

static void
net_init (Net *n, guint64 seed)
{
  n->w = gv_st_writer_new ();
  n->prefix = g_string_new (NULL);
  n->marks = g_array_new (FALSE, FALSE, sizeof (gsize));
  n->seed = seed;
  gv_st_writer_set_metadata (n->w, "format", "pt");
}

static void
net_clear (Net *n)
{
  gv_st_writer_free (n->w);
  g_string_free (n->prefix, TRUE);
  g_array_unref (n->marks);
}

static void push (Net *n, const gchar *format, ...) G_GNUC_PRINTF (2, 3);

static void
push (Net *n, const gchar *format, ...)
{
  va_list args;
  g_array_append_val (n->marks, n->prefix->len);
  if (n->prefix->len)
    g_string_append_c (n->prefix, '.');
  va_start (args, format);
  g_string_append_vprintf (n->prefix, format, args);
  va_end (args);
}

static void
pop (Net *n)
{
  g_string_truncate (n->prefix, g_array_index (n->marks, gsize, n->marks->len - 1));
  g_array_set_size (n->marks, n->marks->len - 1);
}

static void
add (Net *n, const gchar *name, gint ndim, const gint64 *shape, InitKind kind, gdouble bound)
{
  gchar *full = n->prefix->len ? g_strconcat (n->prefix->str, ".", name, NULL) :
      g_strdup (name);
  Init *init = g_new (Init, 1);
  /* seeded by name: a tensor's values do not depend on what else the file holds */
  *init = (Init) { kind, bound, n->seed * G_GUINT64_CONSTANT (0x100000001B3) ^ g_str_hash (full) };
  gv_st_writer_add_lazy (n->w, full, ndim, shape, fill, init, g_free);
  g_free (full);
}

#define NDIMS(...) ((gint) (sizeof ((const gint64[]) { __VA_ARGS__ }) / sizeof (gint64)))
#define ADD(n, name, kind, bound, ...) \
  add ((n), (name), NDIMS (__VA_ARGS__), (const gint64[]) { __VA_ARGS__ }, (kind), (bound))

/* torch's Linear/Conv2d default: weight and bias uniform in +-1/sqrt(fan_in) */
static void
linear (Net *n, const gchar *name, gint in, gint out, gboolean bias)
{
  gdouble b = 1.0 / sqrt ((gdouble) in);
  push (n, "%s", name);
  ADD (n, "weight", INIT_UNIFORM, b, out, in);
  if (bias)
    ADD (n, "bias", INIT_UNIFORM, b, out);
  pop (n);
}

static void
conv (Net *n, const gchar *name, gint in, gint out, gint k, gboolean bias)
{
  gdouble b = 1.0 / sqrt ((gdouble) in * k * k);
  push (n, "%s", name);
  ADD (n, "weight", INIT_UNIFORM, b, out, in, k, k);
  if (bias)
    ADD (n, "bias", INIT_UNIFORM, b, out);
  pop (n);
}

static void
norm (Net *n, const gchar *name, gint channels)
{
  push (n, "%s", name);
  ADD (n, "weight", INIT_ONES, 0, channels);
  ADD (n, "bias", INIT_ZEROS, 0, channels);
  pop (n);
}

static void
embedding (Net *n, const gchar *name, gint rows, gint dim)
{
  ADD (n, name, INIT_UNIFORM, 1.0 / sqrt ((gdouble) dim), rows, dim);
}

/* ResnetBlock2D; @temb 0: none (the VAE's) */
static void
resnet (Net *n, const gchar *name, gint in, gint out, gint temb)
{
  push (n, "%s", name);
  norm (n, "norm1", in);
  conv (n, "conv1", in, out, 3, TRUE);
  if (temb > 0)
    linear (n, "time_emb_proj", temb, out, TRUE);
  norm (n, "norm2", out);
  conv (n, "conv2", out, out, 3, TRUE);
  if (in != out)
    conv (n, "conv_shortcut", in, out, 1, TRUE);
  pop (n);
}

static void
attention (Net *n, const gchar *name, gint dim, gint context)
{
  push (n, "%s", name);
  linear (n, "to_q", dim, dim, FALSE);
  linear (n, "to_k", context, dim, FALSE);
  linear (n, "to_v", context, dim, FALSE);
  linear (n, "to_out.0", dim, dim, TRUE);
  pop (n);
}

/* Transformer2DModel of @layers BasicTransformerBlocks (GEGLU feed-forward) */
static void
transformer (Net *n, const gchar *name, gint channels, gint context, gint layers,
    gboolean linear_projection)
{
  push (n, "%s", name);
  norm (n, "norm", channels);
  if (linear_projection)
    linear (n, "proj_in", channels, channels, TRUE);
  else
    conv (n, "proj_in", channels, channels, 1, TRUE);
  for (gint i = 0; i < layers; i++) {
    push (n, "transformer_blocks.%d", i);
    norm (n, "norm1", channels);
    attention (n, "attn1", channels, channels);
    norm (n, "norm2", channels);
    attention (n, "attn2", channels, context);
    norm (n, "norm3", channels);
    linear (n, "ff.net.0.proj", channels, 8 * channels, TRUE);
    linear (n, "ff.net.2", 4 * channels, channels, TRUE);
    pop (n);
  }
  if (linear_projection)
    linear (n, "proj_out", channels, channels, TRUE);
  else
    conv (n, "proj_out", channels, channels, 1, TRUE);
  pop (n);
}

static void
unet_tensors (Net *n, const GvUNetConfig *c)
{
  gint blocks = c->n_blocks, c0 = c->block_out_channels[0], t = c->time_embedding_dim;

  conv (n, "conv_in", c->in_channels, c0, c->conv_in_kernel, TRUE);
  linear (n, "time_embedding.linear_1", c0, t, TRUE);
  linear (n, "time_embedding.linear_2", t, t, TRUE);
  if (c->class_embed_type == GV_CLASS_EMBED_PROJECTION) {
    linear (n, "class_embedding.linear_1", c->projection_class_embeddings_input_dim, t, TRUE);
    linear (n, "class_embedding.linear_2", t, t, TRUE);
  }

  gint out = c0;
  for (gint i = 0; i < blocks; i++) {
    gint in = out;
    out = c->block_out_channels[i];
    push (n, "down_blocks.%d", i);
    for (gint j = 0; j < c->layers_per_block[i]; j++) {
      gchar *name = g_strdup_printf ("resnets.%d", j);
      resnet (n, name, j == 0 ? in : out, out, t);
      g_free (name);
      if (c->down_blocks[i] == GV_BLOCK_CROSS_ATTN) {
        name = g_strdup_printf ("attentions.%d", j);
        transformer (n, name, out, c->cross_attention_dim,
            c->transformer_layers_per_block[i], c->use_linear_projection);
        g_free (name);
      }
    }
    if (i < blocks - 1)
      conv (n, "downsamplers.0.conv", out, out, 3, TRUE);
    pop (n);
  }

  gint top = c->block_out_channels[blocks - 1];
  push (n, "mid_block");
  resnet (n, "resnets.0", top, top, t);
  if (c->mid_block_cross_attn)
    transformer (n, "attentions.0", top, c->cross_attention_dim,
        c->transformer_layers_per_block[blocks - 1], c->use_linear_projection);
  resnet (n, "resnets.1", top, top, t);
  pop (n);

  out = top;
  for (gint i = 0; i < blocks; i++) {
    gint r = blocks - 1 - i, prev = out, in = c->block_out_channels[MAX (r - 1, 0)];
    gint layers = c->layers_per_block[r] + 1;
    out = c->block_out_channels[r];
    push (n, "up_blocks.%d", i);
    for (gint j = 0; j < layers; j++) {
      gint skip = j == layers - 1 ? in : out;
      gchar *name = g_strdup_printf ("resnets.%d", j);
      resnet (n, name, (j == 0 ? prev : out) + skip, out, t);
      g_free (name);
      if (c->up_blocks[i] == GV_BLOCK_CROSS_ATTN) {
        name = g_strdup_printf ("attentions.%d", j);
        transformer (n, name, out, c->cross_attention_dim,
            c->transformer_layers_per_block[r], c->use_linear_projection);
        g_free (name);
      }
    }
    if (i < blocks - 1)
      conv (n, "upsamplers.0.conv", out, out, 3, TRUE);
    pop (n);
  }
  norm (n, "conv_norm_out", c0);
  conv (n, "conv_out", c0, c->out_channels, c->conv_out_kernel, TRUE);
}

static void
vae_mid (Net *n, gint c, gboolean attn)
{
  push (n, "mid_block");
  resnet (n, "resnets.0", c, c, 0);
  if (attn) {
    push (n, "attentions.0");
    norm (n, "group_norm", c);
    linear (n, "to_q", c, c, TRUE);
    linear (n, "to_k", c, c, TRUE);
    linear (n, "to_v", c, c, TRUE);
    linear (n, "to_out.0", c, c, TRUE);
    pop (n);
  }
  resnet (n, "resnets.1", c, c, 0);
  pop (n);
}

static void
vae_tensors (Net *n, const GvVaeConfig *c)
{
  gint blocks = c->n_blocks, lat = c->latent_channels, top = c->block_out_channels[blocks - 1];

  push (n, "encoder");
  conv (n, "conv_in", c->in_channels, c->block_out_channels[0], 3, TRUE);
  gint out = c->block_out_channels[0];
  for (gint i = 0; i < blocks; i++) {
    gint in = out;
    out = c->block_out_channels[i];
    push (n, "down_blocks.%d", i);
    for (gint j = 0; j < c->layers_per_block; j++) {
      gchar *name = g_strdup_printf ("resnets.%d", j);
      resnet (n, name, j == 0 ? in : out, out, 0);
      g_free (name);
    }
    if (i < blocks - 1)
      conv (n, "downsamplers.0.conv", out, out, 3, TRUE);
    pop (n);
  }
  vae_mid (n, top, c->mid_block_add_attention);
  norm (n, "conv_norm_out", top);
  conv (n, "conv_out", top, 2 * lat, 3, TRUE);
  pop (n);
  conv (n, "quant_conv", 2 * lat, 2 * lat, 1, TRUE);

  conv (n, "post_quant_conv", lat, lat, 1, TRUE);
  push (n, "decoder");
  conv (n, "conv_in", lat, top, 3, TRUE);
  vae_mid (n, top, c->mid_block_add_attention);
  out = top;
  for (gint i = 0; i < blocks; i++) {
    gint prev = out;
    out = c->block_out_channels[blocks - 1 - i];
    push (n, "up_blocks.%d", i);
    for (gint j = 0; j < c->layers_per_block + 1; j++) {
      gchar *name = g_strdup_printf ("resnets.%d", j);
      resnet (n, name, j == 0 ? prev : out, out, 0);
      g_free (name);
    }
    if (i < blocks - 1)
      conv (n, "upsamplers.0.conv", out, out, 3, TRUE);
    pop (n);
  }
  norm (n, "conv_norm_out", c->block_out_channels[0]);
  conv (n, "conv_out", c->block_out_channels[0], c->out_channels, 3, TRUE);
  pop (n);
}

/* CLIPEncoder: pre-LN layers */
static void
clip_encoder (Net *n, gint layers, gint hidden, gint inner)
{
  for (gint i = 0; i < layers; i++) {
    push (n, "encoder.layers.%d", i);
    norm (n, "layer_norm1", hidden);
    linear (n, "self_attn.q_proj", hidden, hidden, TRUE);
    linear (n, "self_attn.k_proj", hidden, hidden, TRUE);
    linear (n, "self_attn.v_proj", hidden, hidden, TRUE);
    linear (n, "self_attn.out_proj", hidden, hidden, TRUE);
    norm (n, "layer_norm2", hidden);
    linear (n, "mlp.fc1", hidden, inner, TRUE);
    linear (n, "mlp.fc2", inner, hidden, TRUE);
    pop (n);
  }
}

static void
text_tensors (Net *n, const GvClipTextConfig *c)
{
  push (n, "text_model");
  embedding (n, "embeddings.token_embedding.weight", c->vocab_size, c->hidden_size);
  embedding (n, "embeddings.position_embedding.weight", c->max_position_embeddings,
      c->hidden_size);
  clip_encoder (n, c->num_hidden_layers, c->hidden_size, c->intermediate_size);
  norm (n, "final_layer_norm", c->hidden_size);
  pop (n);
}

static void
vision_tensors (Net *n, const GvClipVisionConfig *c)
{
  gint d = c->hidden_size, grid = c->image_size / c->patch_size;
  push (n, "vision_model");
  ADD (n, "embeddings.class_embedding", INIT_UNIFORM, 1.0 / sqrt ((gdouble) d), d);
  conv (n, "embeddings.patch_embedding", c->num_channels, d, c->patch_size, FALSE);
  embedding (n, "embeddings.position_embedding.weight", 1 + grid * grid, d);
  norm (n, "pre_layrnorm", d);
  clip_encoder (n, c->num_hidden_layers, d, c->intermediate_size);
  norm (n, "post_layernorm", d);
  pop (n);
  linear (n, "visual_projection", d, c->projection_dim, FALSE);
}

static void
normalizer_tensors (Net *n, gint dim)
{
  ADD (n, "mean", INIT_ZEROS, 0, 1, dim);
  ADD (n, "std", INIT_ONES, 0, 1, dim);
}

/* Copies @src to @dst, with the replacements for @rel applied when there are any. */
static gboolean
copy_config (const gchar *src, const gchar *dst, const gchar *rel, const GvConfigKey *keys,
    gint n_keys, GError **error)
{
  gboolean replaced = FALSE;
  for (gint i = 0; i < n_keys; i++)
    replaced |= strcmp (keys[i].file, rel) == 0;
  if (!replaced) {
    gchar *text;
    gsize len;
    gboolean ok = g_file_get_contents (src, &text, &len, error) &&
        g_file_set_contents (dst, text, len, error);
    g_free (text);
    return ok;
  }

  JsonObject *obj = gv_json_load_object (src, error);
  if (obj == NULL)
    return FALSE;
  for (gint i = 0; i < n_keys; i++) {
    if (strcmp (keys[i].file, rel) != 0)
      continue;
    JsonNode *value = json_from_string (keys[i].value, error);
    if (value == NULL) {
      g_prefix_error (error, "%s: %s: ", rel, keys[i].key);
      json_object_unref (obj);
      return FALSE;
    }
    json_object_set_member (obj, keys[i].key, value);
  }
  JsonNode *root = json_node_init_object (json_node_alloc (), obj);
  JsonGenerator *gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, root);
  gboolean ok = json_generator_to_file (gen, dst, error);
  g_object_unref (gen);
  json_node_unref (root);
  json_object_unref (obj);
  return ok;
}

gboolean
gv_config_file_set (const gchar *path, const gchar *key, const gchar *value, GError **error)
{
  GvConfigKey k = { "", key, value };
  return copy_config (path, path, "", &k, 1, error);
}

/* The template's files, configs replaced, weights left out (written below). */
static gboolean
copy_tree (const gchar *src, const gchar *dst, const gchar *rel, const GvConfigKey *keys,
    gint n_keys, GError **error)
{
  if (g_mkdir_with_parents (dst, 0755) != 0) {
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "%s: cannot create: %s",
        dst, g_strerror (errno));
    return FALSE;
  }
  GDir *dir = g_dir_open (src, 0, error);
  if (dir == NULL)
    return FALSE;
  gboolean ok = TRUE;
  const gchar *name;
  while (ok && (name = g_dir_read_name (dir)) != NULL) {
    gchar *s = g_build_filename (src, name, NULL), *d = g_build_filename (dst, name, NULL);
    gchar *r = *rel ? g_strconcat (rel, "/", name, NULL) : g_strdup (name);
    if (g_file_test (s, G_FILE_TEST_IS_DIR))
      ok = copy_tree (s, d, r, keys, n_keys, error);
    else if (!g_str_has_suffix (name, ".safetensors") && !g_str_has_suffix (name, ".bin"))
      ok = copy_config (s, d, r, keys, n_keys, error);
    g_free (s);
    g_free (d);
    g_free (r);
  }
  g_dir_close (dir);
  return ok;
}

static gboolean
write_net (Net *n, const gchar *folder, const gchar *file, guint64 *bytes, GError **error)
{
  gchar *path = g_build_filename (folder, file, NULL);
  *bytes += gv_st_writer_get_data_size (n->w);
  gboolean ok = gv_st_writer_write (n->w, path, error);
  g_free (path);
  net_clear (n);
  return ok;
}

gboolean
gv_random_checkpoint_write (const gchar *template_dir, const gchar *folder,
    const GvConfigKey *keys, gint n_keys, guint64 seed, guint64 *bytes, GError **error)
{
  guint64 total = 0;
  if (!copy_tree (template_dir, folder, "", keys, n_keys, error))
    return FALSE;

  g_autofree gchar *unet_dir = g_build_filename (folder, "unet", NULL);
  g_autofree gchar *vae_dir = g_build_filename (folder, "vae", NULL);
  g_autofree gchar *text_dir = g_build_filename (folder, "text_encoder", NULL);
  g_autofree gchar *vision_dir = g_build_filename (folder, "image_encoder", NULL);
  g_autofree gchar *norm_dir = g_build_filename (folder, "image_normalizer", NULL);
  g_autofree gchar *unet_cfg = g_build_filename (unet_dir, "config.json", NULL);
  g_autofree gchar *vae_cfg = g_build_filename (vae_dir, "config.json", NULL);
  g_autofree gchar *text_cfg = g_build_filename (text_dir, "config.json", NULL);
  g_autofree gchar *vision_cfg = g_build_filename (vision_dir, "config.json", NULL);
  g_autofree gchar *norm_cfg = g_build_filename (norm_dir, "config.json", NULL);
  GvUNetConfig unet;
  GvVaeConfig vae;
  GvClipTextConfig text;
  GvClipVisionConfig vision;
  Net n;

  /* the configs as our loader reads them: the weights fit what it will ask for */
  if (!gv_unet_config_load (unet_cfg, &unet, error) ||
      !gv_vae_config_load (vae_cfg, &vae, error) ||
      !gv_clip_text_config_load (text_cfg, &text, error) ||
      !gv_clip_vision_config_load (vision_cfg, &vision, error))
    return FALSE;
  GvJson j;
  if (!gv_json_open (&j, norm_cfg, error))
    return FALSE;
  gint norm_dim = (gint) gv_json_int (&j, "embedding_dim", 0);
  if (!gv_json_close (&j, error))
    return FALSE;

  net_init (&n, seed);
  unet_tensors (&n, &unet);
  if (!write_net (&n, unet_dir, "diffusion_pytorch_model.safetensors", &total, error))
    return FALSE;
  net_init (&n, seed + 1);
  vae_tensors (&n, &vae);
  if (!write_net (&n, vae_dir, "diffusion_pytorch_model.safetensors", &total, error))
    return FALSE;
  net_init (&n, seed + 2);
  text_tensors (&n, &text);
  if (!write_net (&n, text_dir, "model.safetensors", &total, error))
    return FALSE;
  net_init (&n, seed + 3);
  vision_tensors (&n, &vision);
  if (!write_net (&n, vision_dir, "model.safetensors", &total, error))
    return FALSE;
  net_init (&n, seed + 4);
  normalizer_tensors (&n, norm_dim);
  if (!write_net (&n, norm_dir, "diffusion_pytorch_model.safetensors", &total, error))
    return FALSE;
  if (bytes != NULL)
    *bytes = total;
  return TRUE;
}

void
gv_random_checkpoint_remove (const gchar *folder)
{
  GDir *dir = g_dir_open (folder, 0, NULL);
  if (dir != NULL) {
    const gchar *name;
    while ((name = g_dir_read_name (dir)) != NULL) {
      gchar *path = g_build_filename (folder, name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        gv_random_checkpoint_remove (path);
      else
        g_unlink (path);
      g_free (path);
    }
    g_dir_close (dir);
  }
  g_rmdir (folder);
}
