/* Network configs: UNet2DConditionModel and AutoencoderKL (diffusers v0.24 defaults),
 * CLIPTextModel and CLIPVisionModelWithProjection (transformers v4.33 defaults). What the
 * networks cannot run is rejected here, naming the key and what is supported. */
#include <string.h>

#include "models/gv-config.h"
#include "models/gv-json.h"

#define MAX_CHANNELS (1 << 20)

static const gchar *const silu_names[] = { "silu", "swish", NULL };

/* block_out_channels and the two block-type lists, which must agree in length */
static gint
parse_blocks (GvJson *j, gint *channels, gint n_def, const gint *def)
{
  gint n = gv_json_int_list (j, "block_out_channels", channels, GV_MAX_BLOCKS, 1, 1,
      MAX_CHANNELS);
  if (n == 0 && j->error == NULL) {
    memcpy (channels, def, sizeof (gint) * n_def);
    n = n_def;
  }
  return n;
}

/* Maps a list of block type names to kinds; @names[i] gives kind @kinds[i]. */
static void
parse_block_types (GvJson *j, const gchar *key, gint n, const gchar *const *def,
    const gchar *const *names, const GvBlockKind *kinds, GvBlockKind *out)
{
  gchar **types = gv_json_strv (j, key);
  const gchar *const *v = types ? (const gchar *const *) types : def;
  gint len = (gint) g_strv_length ((gchar **) v);

  if (j->error == NULL && len != n)
    gv_json_fail (j, GV_ERROR_CORRUPT, "%s has %d entries but block_out_channels has %d", key,
        len, n);
  for (gint i = 0; i < len && i < n && j->error == NULL; i++) {
    gint k;
    for (k = 0; names[k] && strcmp (names[k], v[i]) != 0; k++)
      ;
    if (names[k] == NULL) {
      gchar *value = g_strdup_printf ("'%s' (entry %d)", v[i], i);
      gchar *list = g_strjoinv (", ", (gchar **) names);
      gv_json_unsupported (j, key, value, list);
      g_free (list);
      g_free (value);
    } else if (out) {
      out[i] = kinds[k];
    }
  }
  g_strfreev (types);
}

/* An int or a list that must hold the same value everywhere (we keep one value). */
static gint
uniform_int (GvJson *j, const gchar *key, gint def, gint n, gint min, gint max)
{
  gint v[GV_MAX_BLOCKS];
  gint len = gv_json_int_list (j, key, v, GV_MAX_BLOCKS, 1, min, max);
  if (len == 0)
    return def;
  for (gint i = 1; i < len; i++) {
    if (v[i] != v[0]) {
      gv_json_fail (j, GV_ERROR_UNSUPPORTED, "%s differs between blocks (supported: one value "
          "for every block)", key);
      return def;
    }
  }
  return v[0];
}

/* A per-block int (an int for every block, or a list of n) into @out. */
static void
per_block_int (GvJson *j, const gchar *key, gint def, gint n, gint min, gint max, gint *out)
{
  gint len = gv_json_int_list (j, key, out, GV_MAX_BLOCKS, n, min, max);
  if (len == 0 && j->error == NULL) {
    for (gint i = 0; i < n; i++)
      out[i] = def;
  } else if (j->error == NULL && len != n) {
    gv_json_fail (j, GV_ERROR_CORRUPT, "%s has %d entries but block_out_channels has %d", key,
        len, n);
  }
}

/* The kernels index a tensor with 32 bits: a weight of @rows x @cols x @k x @k (each factor
 * already range-checked, so the gint64 product cannot overflow) must stay below 2^31. */
static void
check_weight (GvJson *j, const gchar *keys, gint64 rows, gint64 cols, gint64 k)
{
  if (j->error == NULL && rows * cols * k * k > G_MAXINT32)
    gv_json_fail (j, GV_ERROR_CORRUPT, "%s give a weight of %" G_GINT64_FORMAT " x %"
        G_GINT64_FORMAT " x %" G_GINT64_FORMAT " x %" G_GINT64_FORMAT " elements (at most %d "
        "are supported)", keys, rows, cols, k, k, G_MAXINT32);
}

/* A layer norm's or group norm's epsilon: positive and small, as a float. */
static gfloat
parse_eps (GvJson *j, const gchar *key, gdouble def)
{
  return (gfloat) gv_json_double_range (j, key, def, 1e-30, 1.0, FALSE);
}

/* Heads must divide the channels of every block that has attention: down block i and up
 * block n - 1 - i use heads[i] on block_out_channels[i], the mid block the last. */
static void
check_unet_heads (GvJson *j, const GvUNetConfig *cfg, const gchar *heads_key)
{
  gint n = cfg->n_blocks;
  for (gint i = 0; i < n && j->error == NULL; i++) {
    gboolean attention = cfg->down_blocks[i] == GV_BLOCK_CROSS_ATTN ||
        cfg->up_blocks[n - 1 - i] == GV_BLOCK_CROSS_ATTN ||
        (i == n - 1 && cfg->mid_block_cross_attn);
    if (attention && cfg->block_out_channels[i] % cfg->heads[i] != 0)
      gv_json_fail (j, GV_ERROR_CORRUPT, "%s[%d] = %d heads do not divide "
          "block_out_channels[%d] = %d", heads_key, i, cfg->heads[i], i,
          cfg->block_out_channels[i]);
  }
}

/* The largest weights of the UNet: ResNet convolutions (skip-concatenated input in the up
 * blocks), GEGLU (8 x channels squared), cross-attention and the embeddings. */
static void
check_unet_sizes (GvJson *j, const GvUNetConfig *cfg)
{
  gint64 c = 0;
  for (gint i = 0; i < cfg->n_blocks; i++)
    c = MAX (c, cfg->block_out_channels[i]);
  check_weight (j, "block_out_channels", 2 * c, c, 3);
  check_weight (j, "block_out_channels", c, 8 * c, 1);
  check_weight (j, "cross_attention_dim and block_out_channels", cfg->cross_attention_dim, c, 1);
  check_weight (j, "in_channels, block_out_channels and conv_in_kernel", cfg->in_channels,
      cfg->block_out_channels[0], cfg->conv_in_kernel);
  check_weight (j, "out_channels, block_out_channels and conv_out_kernel", cfg->out_channels,
      cfg->block_out_channels[0], cfg->conv_out_kernel);
  check_weight (j, "time_embedding_dim", cfg->time_embedding_dim, cfg->time_embedding_dim, 1);
  check_weight (j, "projection_class_embeddings_input_dim and time_embedding_dim",
      cfg->projection_class_embeddings_input_dim, cfg->time_embedding_dim, 1);
}

static void
check_class_name (GvJson *j, const gchar *const *allowed)
{
  gv_json_enum (j, "_class_name", 0, allowed);
}

static gboolean
parse_unet (GvJson *j, GvUNetConfig *cfg)
{
  static const gint def_channels[] = { 320, 640, 1280, 1280 };
  static const gchar *const def_down[] = { "CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
    "CrossAttnDownBlock2D", "DownBlock2D", NULL };
  static const gchar *const def_up[] = { "UpBlock2D", "CrossAttnUpBlock2D",
    "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", NULL };
  /* Tune-A-Video saves its inflated UNet with the 3-D names of the same blocks */
  static const gchar *const down_names[] = { "CrossAttnDownBlock2D", "DownBlock2D",
    "CrossAttnDownBlock3D", "DownBlock3D", NULL };
  static const gchar *const up_names[] = { "CrossAttnUpBlock2D", "UpBlock2D",
    "CrossAttnUpBlock3D", "UpBlock3D", NULL };
  static const GvBlockKind kinds[] = { GV_BLOCK_CROSS_ATTN, GV_BLOCK_PLAIN, GV_BLOCK_CROSS_ATTN,
    GV_BLOCK_PLAIN };
  static const gchar *const mid_names[] = { "UNetMidBlock2DCrossAttn", "UNetMidBlock2D",
    "UNetMidBlock3DCrossAttn", NULL };
  static const gchar *const class_names[] = { "UNet2DConditionModel", "UNet3DConditionModel",
    NULL };
  static const gchar *const class_embed_names[] = { "projection", NULL };

  memset (cfg, 0, sizeof *cfg);
  check_class_name (j, class_names);
  gv_json_enum (j, "act_fn", 0, silu_names);
  gv_json_enum (j, "resnet_time_scale_shift", 0, (const gchar *[]) { "default", NULL });
  gv_json_enum (j, "time_embedding_type", 0, (const gchar *[]) { "positional", NULL });
  gv_json_enum (j, "attention_type", 0, (const gchar *[]) { "default", NULL });
  gv_json_expect_null (j, "addition_embed_type", "null");
  gv_json_expect_null (j, "encoder_hid_dim", "null");
  gv_json_expect_null (j, "encoder_hid_dim_type", "null");
  gv_json_expect_null (j, "time_cond_proj_dim", "null");
  gv_json_expect_null (j, "time_embedding_act_fn", "null");
  gv_json_expect_null (j, "timestep_post_act", "null");
  gv_json_expect_null (j, "cross_attention_norm", "null");
  gv_json_expect_null (j, "num_class_embeds", "null");
  gv_json_expect_bool (j, "dual_cross_attention", FALSE);
  gv_json_expect_bool (j, "class_embeddings_concat", FALSE);
  gv_json_expect_bool (j, "resnet_skip_time_act", FALSE);
  if (gv_json_double (j, "resnet_out_scale_factor", 1.0) != 1.0)
    gv_json_unsupported (j, "resnet_out_scale_factor", "a value other than 1.0", "1.0");

  cfg->n_blocks = parse_blocks (j, cfg->block_out_channels, 4, def_channels);
  gint n = cfg->n_blocks;
  parse_block_types (j, "down_block_types", n, def_down, down_names, kinds, cfg->down_blocks);
  parse_block_types (j, "up_block_types", n, def_up, up_names, kinds, cfg->up_blocks);
  gint mid = gv_json_enum (j, "mid_block_type", 0, mid_names);
  cfg->mid_block_cross_attn = mid != 1;
  if (gv_json_get (j, "mid_block_type") == NULL && json_object_has_member (j->obj,
      "mid_block_type"))
    gv_json_unsupported (j, "mid_block_type", "null", "UNetMidBlock2DCrossAttn, UNetMidBlock2D");

  cfg->sample_size = 0;
  gint sample[2];
  if (gv_json_int_list (j, "sample_size", sample, 2, 1, 1, MAX_CHANNELS) > 0)
    cfg->sample_size = sample[0];
  cfg->in_channels = gv_json_int_range (j, "in_channels", 4, 1, MAX_CHANNELS);
  cfg->out_channels = gv_json_int_range (j, "out_channels", 4, 1, MAX_CHANNELS);
  cfg->center_input_sample = gv_json_bool (j, "center_input_sample", FALSE);
  cfg->flip_sin_to_cos = gv_json_bool (j, "flip_sin_to_cos", TRUE);
  cfg->freq_shift = (gfloat) gv_json_double_range (j, "freq_shift", 0, -1000, 1000, FALSE);

  per_block_int (j, "layers_per_block", 2, n, 1, 64, cfg->layers_per_block);
  per_block_int (j, "transformer_layers_per_block", 1, n, 1, 64,
      cfg->transformer_layers_per_block);
  gint reverse[GV_MAX_BLOCKS];
  gint n_rev = gv_json_int_list (j, "reverse_transformer_layers_per_block", reverse,
      GV_MAX_BLOCKS, 0, 1, 64);
  for (gint i = 0; i < n_rev && j->error == NULL; i++) {
    if (n_rev != n || reverse[i] != cfg->transformer_layers_per_block[n - 1 - i])
      gv_json_unsupported (j, "reverse_transformer_layers_per_block", "a list other than the "
          "reverse of transformer_layers_per_block", "null");
  }

  /* diffusers' historical naming: attention_head_dim holds the head count */
  const gchar *heads_key = gv_json_get (j, "num_attention_heads") ? "num_attention_heads" :
      "attention_head_dim";
  per_block_int (j, heads_key, 8, n, 1, 4096, cfg->heads);

  cfg->norm_num_groups = gv_json_int_range (j, "norm_num_groups", 32, 1, MAX_CHANNELS);
  if (gv_json_get (j, "norm_num_groups") == NULL && json_object_has_member (j->obj,
      "norm_num_groups"))
    gv_json_unsupported (j, "norm_num_groups", "null", "an integer");
  for (gint i = 0; i < n && j->error == NULL; i++) {
    if (cfg->block_out_channels[i] % cfg->norm_num_groups != 0)
      gv_json_fail (j, GV_ERROR_CORRUPT, "norm_num_groups = %d does not divide "
          "block_out_channels[%d] = %d", cfg->norm_num_groups, i, cfg->block_out_channels[i]);
  }
  cfg->norm_eps = parse_eps (j, "norm_eps", 1e-5);
  cfg->cross_attention_dim = uniform_int (j, "cross_attention_dim", 1280, n, 1, MAX_CHANNELS);
  cfg->use_linear_projection = gv_json_bool (j, "use_linear_projection", FALSE);
  cfg->upcast_attention = gv_json_bool (j, "upcast_attention", FALSE);
  JsonNode *oca = gv_json_get (j, "only_cross_attention");
  if (oca && JSON_NODE_HOLDS_ARRAY (oca)) {
    JsonArray *a = json_node_get_array (oca);
    for (guint i = 0; i < json_array_get_length (a); i++) {
      JsonNode *e = json_array_get_element (a, i);
      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_BOOLEAN) {
        gv_json_fail (j, GV_ERROR_CORRUPT, "only_cross_attention is not a list of booleans");
        break;
      }
      gboolean b = json_node_get_boolean (e);
      if (i == 0)
        cfg->only_cross_attention = b;
      else if (b != cfg->only_cross_attention)
        gv_json_unsupported (j, "only_cross_attention", "a list of differing values",
            "one value for every block");
    }
  } else {
    cfg->only_cross_attention = gv_json_bool (j, "only_cross_attention", FALSE);
  }
  cfg->downsample_padding = gv_json_int_range (j, "downsample_padding", 1, 0, 16);
  cfg->mid_block_scale_factor = (gfloat) gv_json_double_range (j, "mid_block_scale_factor", 1.0,
      0, 1000, TRUE);
  cfg->conv_in_kernel = gv_json_int_range (j, "conv_in_kernel", 3, 1, 15);
  cfg->conv_out_kernel = gv_json_int_range (j, "conv_out_kernel", 3, 1, 15);
  if (j->error == NULL && (cfg->conv_in_kernel % 2 == 0 || cfg->conv_out_kernel % 2 == 0))
    gv_json_unsupported (j, "conv_in_kernel/conv_out_kernel", "an even size", "odd sizes");
  cfg->time_embedding_dim = gv_json_int_range (j, "time_embedding_dim",
      n > 0 ? 4 * cfg->block_out_channels[0] : 0, 1, MAX_CHANNELS);

  gint ce = gv_json_enum (j, "class_embed_type", -1, class_embed_names);
  cfg->class_embed_type = ce == 0 ? GV_CLASS_EMBED_PROJECTION : GV_CLASS_EMBED_NONE;
  cfg->projection_class_embeddings_input_dim = gv_json_int_range (j,
      "projection_class_embeddings_input_dim", 0, 0, MAX_CHANNELS);
  if (j->error == NULL && cfg->class_embed_type == GV_CLASS_EMBED_PROJECTION &&
      cfg->projection_class_embeddings_input_dim <= 0)
    gv_json_fail (j, GV_ERROR_CORRUPT, "class_embed_type 'projection' needs "
        "projection_class_embeddings_input_dim");
  check_unet_heads (j, cfg, heads_key);
  check_unet_sizes (j, cfg);
  return j->error == NULL;
}

static gboolean
parse_vae (GvJson *j, GvVaeConfig *cfg)
{
  static const gint def_channels[] = { 64 };
  static const gchar *const def_down[] = { "DownEncoderBlock2D", NULL };
  static const gchar *const def_up[] = { "UpDecoderBlock2D", NULL };
  static const gchar *const down_names[] = { "DownEncoderBlock2D", NULL };
  static const gchar *const up_names[] = { "UpDecoderBlock2D", NULL };
  static const GvBlockKind kinds[] = { GV_BLOCK_PLAIN };

  memset (cfg, 0, sizeof *cfg);
  check_class_name (j, (const gchar *[]) { "AutoencoderKL", NULL });
  gv_json_enum (j, "act_fn", 0, silu_names);
  gv_json_expect_bool (j, "use_quant_conv", TRUE);
  gv_json_expect_bool (j, "use_post_quant_conv", TRUE);
  if (gv_json_double (j, "shift_factor", 0) != 0)
    gv_json_unsupported (j, "shift_factor", "a value other than 0", "null or 0");

  cfg->n_blocks = parse_blocks (j, cfg->block_out_channels, 1, def_channels);
  /* the default type lists have one entry: repeat it for the real block count */
  gchar *down[GV_MAX_BLOCKS + 1] = { NULL }, *up[GV_MAX_BLOCKS + 1] = { NULL };
  for (gint i = 0; i < cfg->n_blocks; i++) {
    down[i] = (gchar *) def_down[0];
    up[i] = (gchar *) def_up[0];
  }
  parse_block_types (j, "down_block_types", cfg->n_blocks, (const gchar *const *) down,
      down_names, kinds, NULL);
  parse_block_types (j, "up_block_types", cfg->n_blocks, (const gchar *const *) up, up_names,
      kinds, NULL);
  cfg->in_channels = gv_json_int_range (j, "in_channels", 3, 1, MAX_CHANNELS);
  cfg->out_channels = gv_json_int_range (j, "out_channels", 3, 1, MAX_CHANNELS);
  cfg->latent_channels = gv_json_int_range (j, "latent_channels", 4, 1, MAX_CHANNELS);
  cfg->layers_per_block = gv_json_int_range (j, "layers_per_block", 1, 1, 64);
  cfg->norm_num_groups = gv_json_int_range (j, "norm_num_groups", 32, 1, MAX_CHANNELS);
  for (gint i = 0; i < cfg->n_blocks && j->error == NULL; i++) {
    if (cfg->block_out_channels[i] % cfg->norm_num_groups != 0)
      gv_json_fail (j, GV_ERROR_CORRUPT, "norm_num_groups = %d does not divide "
          "block_out_channels[%d] = %d", cfg->norm_num_groups, i, cfg->block_out_channels[i]);
  }
  /* SD 0.18215, SDXL 0.13025, SD3 1.5305: latents of unit variance */
  cfg->scaling_factor = (gfloat) gv_json_double_range (j, "scaling_factor", 0.18215, 0, 100,
      TRUE);
  cfg->mid_block_add_attention = gv_json_bool (j, "mid_block_add_attention", TRUE);
  gint sample[2];
  cfg->sample_size = 32;
  if (gv_json_int_list (j, "sample_size", sample, 2, 1, 1, MAX_CHANNELS) > 0)
    cfg->sample_size = sample[0];
  gint64 c = 0;
  for (gint i = 0; i < cfg->n_blocks; i++)
    c = MAX (c, cfg->block_out_channels[i]);
  check_weight (j, "block_out_channels", c, c, 3);
  check_weight (j, "in_channels and block_out_channels", cfg->in_channels, c, 3);
  check_weight (j, "out_channels and block_out_channels", cfg->out_channels, c, 3);
  check_weight (j, "latent_channels and block_out_channels", 2 * (gint64) cfg->latent_channels,
      c, 3);
  return j->error == NULL;
}

static GvHiddenAct
parse_hidden_act (GvJson *j)
{
  gint a = gv_json_enum (j, "hidden_act", 1, (const gchar *[]) { "gelu", "quick_gelu", NULL });
  return a == 0 ? GV_HIDDEN_ACT_GELU : GV_HIDDEN_ACT_QUICK_GELU;
}

/* A full CLIPConfig holds the tower's config under @key (from_pretrained does the same). */
static void
enter_tower (GvJson *j, const gchar *key, const gchar *model_type)
{
  const gchar *type = gv_json_string (j, "model_type", model_type);
  if (g_strcmp0 (type, "clip") != 0)
    return;
  JsonNode *n = gv_json_get (j, key);
  if (n == NULL || !JSON_NODE_HOLDS_OBJECT (n)) {
    gv_json_fail (j, GV_ERROR_CORRUPT, "a 'clip' config without a %s object", key);
    return;
  }
  JsonObject *sub = json_object_ref (json_node_get_object (n));
  json_object_unref (j->obj);
  j->obj = sub;
}

static void
check_heads (GvJson *j, gint hidden, gint heads)
{
  if (j->error == NULL && hidden % heads != 0)
    gv_json_fail (j, GV_ERROR_CORRUPT, "hidden_size = %d is not a multiple of "
        "num_attention_heads = %d", hidden, heads);
}

static gboolean
parse_clip_text (GvJson *j, GvClipTextConfig *cfg)
{
  memset (cfg, 0, sizeof *cfg);
  enter_tower (j, "text_config", "clip_text_model");
  cfg->vocab_size = gv_json_int_range (j, "vocab_size", 49408, 1, G_MAXINT);
  cfg->hidden_size = gv_json_int_range (j, "hidden_size", 512, 1, MAX_CHANNELS);
  cfg->intermediate_size = gv_json_int_range (j, "intermediate_size", 2048, 1, MAX_CHANNELS);
  cfg->num_hidden_layers = gv_json_int_range (j, "num_hidden_layers", 12, 1, 1024);
  cfg->num_attention_heads = gv_json_int_range (j, "num_attention_heads", 8, 1, 4096);
  cfg->max_position_embeddings = gv_json_int_range (j, "max_position_embeddings", 77, 1,
      MAX_CHANNELS);
  cfg->hidden_act = parse_hidden_act (j);
  cfg->layer_norm_eps = parse_eps (j, "layer_norm_eps", 1e-5);
  cfg->eos_token_id = gv_json_int_range (j, "eos_token_id", 49407, 0, G_MAXINT);
  cfg->projection_dim = gv_json_int_range (j, "projection_dim", 512, 1, MAX_CHANNELS);
  check_heads (j, cfg->hidden_size, cfg->num_attention_heads);
  if (j->error == NULL && cfg->eos_token_id >= cfg->vocab_size)
    gv_json_fail (j, GV_ERROR_CORRUPT, "eos_token_id = %d is not below vocab_size = %d",
        cfg->eos_token_id, cfg->vocab_size);
  check_weight (j, "vocab_size and hidden_size", cfg->vocab_size, cfg->hidden_size, 1);
  check_weight (j, "hidden_size and intermediate_size", cfg->hidden_size,
      cfg->intermediate_size, 1);
  check_weight (j, "max_position_embeddings and hidden_size", cfg->max_position_embeddings,
      cfg->hidden_size, 1);
  return j->error == NULL;
}

static gboolean
parse_clip_vision (GvJson *j, GvClipVisionConfig *cfg)
{
  memset (cfg, 0, sizeof *cfg);
  enter_tower (j, "vision_config", "clip_vision_model");
  cfg->hidden_size = gv_json_int_range (j, "hidden_size", 768, 1, MAX_CHANNELS);
  cfg->intermediate_size = gv_json_int_range (j, "intermediate_size", 3072, 1, MAX_CHANNELS);
  cfg->num_hidden_layers = gv_json_int_range (j, "num_hidden_layers", 12, 1, 1024);
  cfg->num_attention_heads = gv_json_int_range (j, "num_attention_heads", 12, 1, 4096);
  cfg->image_size = gv_json_int_range (j, "image_size", 224, 1, 65536);
  cfg->patch_size = gv_json_int_range (j, "patch_size", 32, 1, 65536);
  cfg->num_channels = gv_json_int_range (j, "num_channels", 3, 1, 64);
  cfg->projection_dim = gv_json_int_range (j, "projection_dim", 512, 1, MAX_CHANNELS);
  cfg->hidden_act = parse_hidden_act (j);
  cfg->layer_norm_eps = parse_eps (j, "layer_norm_eps", 1e-5);
  check_heads (j, cfg->hidden_size, cfg->num_attention_heads);
  if (j->error == NULL && cfg->image_size % cfg->patch_size != 0)
    gv_json_fail (j, GV_ERROR_CORRUPT, "image_size = %d is not a multiple of patch_size = %d",
        cfg->image_size, cfg->patch_size);
  /* (image_size / patch_size)^2 patches and the class token: <= 2^32 + 1, no overflow */
  gint64 side = cfg->image_size / cfg->patch_size;
  check_weight (j, "image_size, patch_size and hidden_size", side * side + 1, cfg->hidden_size,
      1);
  check_weight (j, "num_channels, hidden_size and patch_size", cfg->num_channels,
      cfg->hidden_size, cfg->patch_size);
  check_weight (j, "hidden_size and intermediate_size", cfg->hidden_size,
      cfg->intermediate_size, 1);
  return j->error == NULL;
}

gboolean
gv_unet_config_load (const gchar *path, GvUNetConfig *cfg, GError **error)
{
  GvJson j;
  if (!gv_json_open (&j, path, error))
    return FALSE;
  parse_unet (&j, cfg);
  return gv_json_close (&j, error);
}

gboolean
gv_vae_config_load (const gchar *path, GvVaeConfig *cfg, GError **error)
{
  GvJson j;
  if (!gv_json_open (&j, path, error))
    return FALSE;
  parse_vae (&j, cfg);
  return gv_json_close (&j, error);
}

gboolean
gv_clip_text_config_load (const gchar *path, GvClipTextConfig *cfg, GError **error)
{
  GvJson j;
  if (!gv_json_open (&j, path, error))
    return FALSE;
  parse_clip_text (&j, cfg);
  return gv_json_close (&j, error);
}

gboolean
gv_clip_vision_config_load (const gchar *path, GvClipVisionConfig *cfg, GError **error)
{
  GvJson j;
  if (!gv_json_open (&j, path, error))
    return FALSE;
  parse_clip_vision (&j, cfg);
  return gv_json_close (&j, error);
}

void
gv_unet_config_sd21_unclip (GvUNetConfig *cfg)
{
  static const gint channels[] = { 320, 640, 1280, 1280 };
  static const gint heads[] = { 5, 10, 20, 20 };

  memset (cfg, 0, sizeof *cfg);
  cfg->sample_size = 96;
  cfg->in_channels = 4;
  cfg->out_channels = 4;
  cfg->flip_sin_to_cos = TRUE;
  cfg->freq_shift = 0;
  cfg->n_blocks = 4;
  for (gint i = 0; i < 4; i++) {
    cfg->block_out_channels[i] = channels[i];
    cfg->heads[i] = heads[i];
    cfg->layers_per_block[i] = 2;
    cfg->transformer_layers_per_block[i] = 1;
    cfg->down_blocks[i] = i < 3 ? GV_BLOCK_CROSS_ATTN : GV_BLOCK_PLAIN;
    cfg->up_blocks[i] = i > 0 ? GV_BLOCK_CROSS_ATTN : GV_BLOCK_PLAIN;
  }
  cfg->mid_block_cross_attn = TRUE;
  cfg->norm_num_groups = 32;
  cfg->norm_eps = 1e-5f;
  cfg->cross_attention_dim = 1024;
  cfg->use_linear_projection = TRUE;
  cfg->upcast_attention = TRUE;
  cfg->downsample_padding = 1;
  cfg->mid_block_scale_factor = 1.0f;
  cfg->conv_in_kernel = 3;
  cfg->conv_out_kernel = 3;
  cfg->time_embedding_dim = 4 * 320;
  cfg->class_embed_type = GV_CLASS_EMBED_PROJECTION;
  cfg->projection_class_embeddings_input_dim = 2048;
}

void
gv_vae_config_sd (GvVaeConfig *cfg)
{
  static const gint channels[] = { 128, 256, 512, 512 };

  memset (cfg, 0, sizeof *cfg);
  cfg->in_channels = 3;
  cfg->out_channels = 3;
  cfg->latent_channels = 4;
  cfg->n_blocks = 4;
  memcpy (cfg->block_out_channels, channels, sizeof channels);
  cfg->layers_per_block = 2;
  cfg->norm_num_groups = 32;
  cfg->scaling_factor = 0.18215f;
  cfg->mid_block_add_attention = TRUE;
  cfg->sample_size = 768;
}
