/* The configs of a checkpoint folder: model_index.json, the schedulers, the image processor,
 * the tokenizer, and the whole folder checked for consistency. (Networks: gv-config-nets.c.) */
#include <math.h>
#include <string.h>

#include "models/gv-config.h"
#include "models/gv-json.h"

static gboolean
parse_scheduler (GvJson *j, GvSchedulerConfig *cfg)
{
  static const gchar *const schedules[] = { "linear", "scaled_linear", "squaredcos_cap_v2",
    NULL };
  static const gchar *const predictions[] = { "epsilon", "v_prediction", "sample", NULL };
  static const gchar *const spacings[] = { "leading", "trailing", "linspace", NULL };
  static const GvPredictionType prediction_types[] = { GV_PREDICT_EPSILON, GV_PREDICT_V,
    GV_PREDICT_SAMPLE };

  memset (cfg, 0, sizeof *cfg);
  /* any scheduler's config serves: the pipeline runs DDIM from it, as from_config() would */
  cfg->num_train_timesteps = gv_json_int_range (j, "num_train_timesteps", 1000, 1, 1000000);
  cfg->beta_start = (gfloat) gv_json_double (j, "beta_start", 0.0001);
  cfg->beta_end = (gfloat) gv_json_double (j, "beta_end", 0.02);
  cfg->beta_schedule = MAX (gv_json_enum (j, "beta_schedule", 0, schedules), 0);
  gint p = gv_json_enum (j, "prediction_type", 0, predictions);
  cfg->prediction_type = prediction_types[MAX (p, 0)];
  cfg->steps_offset = gv_json_int_range (j, "steps_offset", 0, 0, cfg->num_train_timesteps);
  /* DDPMScheduler has no such key and steps to alpha 1 */
  cfg->set_alpha_to_one = gv_json_bool (j, "set_alpha_to_one", TRUE);
  cfg->clip_sample = gv_json_bool (j, "clip_sample", TRUE);
  cfg->clip_sample_range = (gfloat) gv_json_double_range (j, "clip_sample_range", 1.0, 0, 1e6,
      TRUE);
  cfg->timestep_spacing = MAX (gv_json_enum (j, "timestep_spacing", 0, spacings), 0);
  cfg->rescale_betas_zero_snr = gv_json_bool (j, "rescale_betas_zero_snr", FALSE);
  gv_json_expect_bool (j, "thresholding", FALSE);

  if (gv_json_get (j, "trained_betas") && j->error == NULL) {
    gdouble *betas = g_new (gdouble, cfg->num_train_timesteps);
    gint n = gv_json_double_list (j, "trained_betas", betas, cfg->num_train_timesteps);
    if (j->error == NULL && n != cfg->num_train_timesteps) {
      gv_json_fail (j, GV_ERROR_CORRUPT, "trained_betas has %d values, num_train_timesteps is %d",
          n, cfg->num_train_timesteps);
    } else if (j->error == NULL) {
      cfg->trained_betas = g_new (gfloat, n);
      for (gint i = 0; i < n; i++) {
        cfg->trained_betas[i] = (gfloat) betas[i];
        if (!(cfg->trained_betas[i] > 0 && cfg->trained_betas[i] < 1) && j->error == NULL)
          gv_json_fail (j, GV_ERROR_CORRUPT, "trained_betas[%d] = %g is not in (0, 1)", i,
              betas[i]);
      }
    }
    g_free (betas);
  }
  if (j->error == NULL && cfg->beta_schedule != GV_BETA_SQUAREDCOS_CAP_V2 &&
      cfg->trained_betas == NULL && !(cfg->beta_start > 0 && cfg->beta_end < 1 &&
          cfg->beta_start <= cfg->beta_end))
    gv_json_fail (j, GV_ERROR_CORRUPT, "beta_start = %g and beta_end = %g are not in (0, 1) and "
        "ordered", cfg->beta_start, cfg->beta_end);
  return j->error == NULL;
}

gboolean
gv_scheduler_config_load (const gchar *path, GvSchedulerConfig *cfg, GError **error)
{
  GvJson j;
  memset (cfg, 0, sizeof *cfg);
  if (!gv_json_open (&j, path, error))
    return FALSE;
  if (!parse_scheduler (&j, cfg))
    gv_scheduler_config_clear (cfg);
  return gv_json_close (&j, error);
}

void
gv_scheduler_config_clear (GvSchedulerConfig *cfg)
{
  g_clear_pointer (&cfg->trained_betas, g_free);
}

/* size / crop_size: an int (legacy feature extractors) or an object. */
static void
parse_size (GvJson *j, const gchar *key, gboolean shortest_edge, gint *h, gint *w)
{
  JsonNode *n = gv_json_get (j, key);
  if (n == NULL || j->error)
    return;
  if (!JSON_NODE_HOLDS_OBJECT (n)) {
    *h = *w = gv_json_int_range (j, key, *h, 1, 65536);
    return;
  }
  GvJson sub;
  gchar *where = g_strdup_printf ("%s (%s)", j->path, key);
  gv_json_init (&sub, where, json_node_get_object (n));
  g_free (where);
  if (shortest_edge && !json_object_has_member (sub.obj, "shortest_edge")) {
    /* CLIPImageProcessor.resize() accepts nothing else */
    gchar *value = gv_json_node_text (n);
    gv_json_unsupported (j, key, value, "{\"shortest_edge\": N} or N");
    g_free (value);
  } else if (shortest_edge) {
    *h = *w = gv_json_int_range (&sub, "shortest_edge", *h, 1, 65536);
  } else {
    *h = gv_json_int_range (&sub, "height", *h, 1, 65536);
    *w = gv_json_int_range (&sub, "width", *w, 1, 65536);
  }
  if (sub.error && j->error == NULL)
    j->error = g_steal_pointer (&sub.error);
  gv_json_clear (&sub);
}

static void
parse_rgb (GvJson *j, const gchar *key, gfloat *out)
{
  gdouble v[3];
  gint n = gv_json_double_list (j, key, v, 3);
  if (n == 1)
    v[1] = v[2] = v[0];
  if (n == 1 || n == 3) {
    for (gint i = 0; i < 3; i++)
      out[i] = (gfloat) v[i];
  } else if (n != 0) {
    gv_json_fail (j, GV_ERROR_CORRUPT, "%s has %d values, not 1 or 3", key, n);
  }
}

static gboolean
parse_preprocessor (GvJson *j, GvPreprocessorConfig *cfg)
{
  static const gchar *const types[] = { "CLIPImageProcessor", "CLIPFeatureExtractor", NULL };

  memset (cfg, 0, sizeof *cfg);
  gv_json_enum (j, "image_processor_type", 0, types);
  gv_json_enum (j, "feature_extractor_type", 0, types);
  cfg->do_resize = gv_json_bool (j, "do_resize", TRUE);
  gint unused = 224;
  cfg->shortest_edge = 224;
  parse_size (j, "size", TRUE, &cfg->shortest_edge, &unused);
  cfg->resample = gv_json_int_range (j, "resample", 3, 0, 5);
  cfg->do_center_crop = gv_json_bool (j, "do_center_crop", TRUE);
  cfg->crop_height = cfg->crop_width = 224;
  parse_size (j, "crop_size", FALSE, &cfg->crop_height, &cfg->crop_width);
  cfg->do_rescale = gv_json_bool (j, "do_rescale", TRUE);
  cfg->rescale_factor = gv_json_double_range (j, "rescale_factor", 1.0 / 255.0, 0, 1, TRUE);
  cfg->do_normalize = gv_json_bool (j, "do_normalize", TRUE);
  /* OPENAI_CLIP_MEAN / OPENAI_CLIP_STD */
  cfg->image_mean[0] = 0.48145466f;
  cfg->image_mean[1] = 0.4578275f;
  cfg->image_mean[2] = 0.40821073f;
  cfg->image_std[0] = 0.26862954f;
  cfg->image_std[1] = 0.26130258f;
  cfg->image_std[2] = 0.27577711f;
  parse_rgb (j, "image_mean", cfg->image_mean);
  parse_rgb (j, "image_std", cfg->image_std);
  for (gint i = 0; i < 3 && j->error == NULL; i++) {
    if (!isfinite (cfg->image_mean[i]) || fabsf (cfg->image_mean[i]) > 1000)
      gv_json_fail (j, GV_ERROR_CORRUPT, "image_mean[%d] = %g is out of range [-1000, 1000]", i,
          cfg->image_mean[i]);
    else if (!(cfg->image_std[i] > 0 && cfg->image_std[i] <= 1000))
      gv_json_fail (j, GV_ERROR_CORRUPT, "image_std[%d] = %g is out of range (0, 1000]", i,
          cfg->image_std[i]);
  }
  cfg->do_convert_rgb = gv_json_bool (j, "do_convert_rgb", TRUE);
  return j->error == NULL;
}

gboolean
gv_preprocessor_config_load (const gchar *path, GvPreprocessorConfig *cfg, GError **error)
{
  GvJson j;
  if (!gv_json_open (&j, path, error))
    return FALSE;
  parse_preprocessor (&j, cfg);
  return gv_json_close (&j, error);
}

/* A special token: a plain string or an AddedToken object {"content": ...}. Absent or null
 * keeps *@token. */
static void
parse_token (GvJson *j, const gchar *key, gchar **token)
{
  JsonNode *n = gv_json_get (j, key);
  const gchar *content = NULL;

  if (n == NULL)
    return;
  if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING) {
    content = json_node_get_string (n);
  } else if (JSON_NODE_HOLDS_OBJECT (n)) {
    JsonNode *c = json_object_get_member (json_node_get_object (n), "content");
    if (c && JSON_NODE_HOLDS_VALUE (c) && json_node_get_value_type (c) == G_TYPE_STRING)
      content = json_node_get_string (c);
  }
  if (content == NULL || *content == '\0') {
    gv_json_fail (j, GV_ERROR_CORRUPT, "%s is neither a string nor a token object with a "
        "content string", key);
    return;
  }
  g_free (*token);
  *token = g_strdup (content);
}

static void
parse_tokens (GvJson *j, GvTokenizerConfig *cfg)
{
  parse_token (j, "bos_token", &cfg->bos_token);
  parse_token (j, "eos_token", &cfg->eos_token);
  parse_token (j, "unk_token", &cfg->unk_token);
  parse_token (j, "pad_token", &cfg->pad_token);
}

gboolean
gv_tokenizer_config_load (const gchar *folder, GvTokenizerConfig *cfg, GError **error)
{
  static const gchar *const classes[] = { "CLIPTokenizer", "CLIPTokenizerFast", NULL };
  gchar *path = g_build_filename (folder, "tokenizer_config.json", NULL);
  gchar *map_path = g_build_filename (folder, "special_tokens_map.json", NULL);
  GvJson j;
  gboolean ok = TRUE;

  /* CLIPTokenizer's defaults; both files are optional */
  memset (cfg, 0, sizeof *cfg);
  cfg->model_max_length = 77;
  cfg->do_lower_case = TRUE;
  cfg->bos_token = g_strdup ("<|startoftext|>");
  cfg->eos_token = g_strdup ("<|endoftext|>");
  cfg->unk_token = g_strdup ("<|endoftext|>");
  cfg->pad_token = g_strdup ("<|endoftext|>");

  if (!g_file_test (folder, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, GV_ERROR, GV_ERROR_NOT_FOUND, "%s: no such folder", folder);
    ok = FALSE;
  }
  if (ok && g_file_test (path, G_FILE_TEST_EXISTS)) {
    ok = gv_json_open (&j, path, error);
    if (ok) {
      gv_json_enum (&j, "tokenizer_class", 0, classes);
      /* "no limit" is written as a huge number (1e30): keep CLIP's 77 then */
      JsonNode *n = gv_json_get (&j, "model_max_length");
      if (n && JSON_NODE_HOLDS_VALUE (n) && (json_node_get_value_type (n) == G_TYPE_INT64 ||
              json_node_get_value_type (n) == G_TYPE_DOUBLE)) {
        gdouble v = json_node_get_double (n);
        if (v >= 3 && v <= 1 << 20)
          cfg->model_max_length = (gint) v;
      } else if (n) {
        gv_json_fail (&j, GV_ERROR_CORRUPT, "model_max_length is not a number");
      }
      cfg->do_lower_case = gv_json_bool (&j, "do_lower_case", TRUE);
      parse_tokens (&j, cfg);
      ok = gv_json_close (&j, error);
    }
  }
  /* the special tokens map overrides tokenizer_config.json, as from_pretrained() does */
  if (ok && g_file_test (map_path, G_FILE_TEST_EXISTS)) {
    ok = gv_json_open (&j, map_path, error);
    if (ok) {
      parse_tokens (&j, cfg);
      ok = gv_json_close (&j, error);
    }
  }
  if (!ok)
    gv_tokenizer_config_clear (cfg);
  g_free (path);
  g_free (map_path);
  return ok;
}

void
gv_tokenizer_config_clear (GvTokenizerConfig *cfg)
{
  g_clear_pointer (&cfg->bos_token, g_free);
  g_clear_pointer (&cfg->eos_token, g_free);
  g_clear_pointer (&cfg->unk_token, g_free);
  g_clear_pointer (&cfg->pad_token, g_free);
}

/* model_index.json: which components the pipeline has, and of which class. */
typedef struct {
  const gchar *name;
  gsize has_offset;
  const gchar *const *classes;     /* NULL: any class whose name ends in "Scheduler" */
} Component;

#define HAS(field) G_STRUCT_OFFSET (GvCheckpointConfig, field)

static const Component components[] = {
  { "unet", HAS (has_unet),
    (const gchar *[]) { "UNet2DConditionModel", "UNet3DConditionModel", NULL } },
  { "vae", HAS (has_vae), (const gchar *[]) { "AutoencoderKL", NULL } },
  { "text_encoder", HAS (has_text_encoder),
    (const gchar *[]) { "CLIPTextModel", "CLIPTextModelWithProjection", NULL } },
  { "tokenizer", HAS (has_tokenizer),
    (const gchar *[]) { "CLIPTokenizer", "CLIPTokenizerFast", NULL } },
  { "image_encoder", HAS (has_image_encoder),
    (const gchar *[]) { "CLIPVisionModelWithProjection", NULL } },
  { "feature_extractor", HAS (has_feature_extractor),
    (const gchar *[]) { "CLIPImageProcessor", "CLIPFeatureExtractor", NULL } },
  { "image_normalizer", HAS (has_image_normalizer),
    (const gchar *[]) { "StableUnCLIPImageNormalizer", NULL } },
  { "image_noising_scheduler", HAS (has_image_noising_scheduler), NULL },
  { "scheduler", HAS (has_scheduler), NULL },
};

static void
parse_component (GvJson *j, const Component *c, GvCheckpointConfig *cfg)
{
  JsonNode *n = gv_json_get (j, c->name);
  if (n == NULL)
    return;
  JsonArray *a = JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
  if (a == NULL || json_array_get_length (a) != 2) {
    gv_json_fail (j, GV_ERROR_CORRUPT, "%s is not a [library, class] pair", c->name);
    return;
  }
  JsonNode *cls = json_array_get_element (a, 1);
  if (JSON_NODE_HOLDS_NULL (cls))
    return;                                  /* [null, null]: the pipeline has none */
  if (!JSON_NODE_HOLDS_VALUE (cls) || json_node_get_value_type (cls) != G_TYPE_STRING) {
    gv_json_fail (j, GV_ERROR_CORRUPT, "the class of %s is not a string", c->name);
    return;
  }
  const gchar *name = json_node_get_string (cls);
  gboolean ok = c->classes == NULL ? g_str_has_suffix (name, "Scheduler") :
      g_strv_contains (c->classes, name);
  if (!ok) {
    gchar *value = g_strdup_printf ("'%s'", name);
    gchar *list = c->classes ? g_strjoinv (", ", (gchar **) c->classes) :
        g_strdup ("a diffusers scheduler");
    gv_json_unsupported (j, c->name, value, list);
    g_free (list);
    g_free (value);
    return;
  }
  G_STRUCT_MEMBER (gboolean, cfg, c->has_offset) = TRUE;
}

static gboolean
parse_image_normalizer (const gchar *path, GvImageNormalizerConfig *cfg, GError **error)
{
  GvJson j;
  if (!gv_json_open (&j, path, error))
    return FALSE;
  cfg->embedding_dim = gv_json_int_range (&j, "embedding_dim", 768, 1, 1 << 20);
  return gv_json_close (&j, error);
}

/* generation_config.json: optional, so a missing file is the default and nothing else */
static gboolean
parse_generation_config (GvCheckpointConfig *cfg, GError **error)
{
  cfg->guidance_scale = GV_DEFAULT_GUIDANCE_SCALE;
  g_autofree gchar *path = g_build_filename (cfg->folder, GV_GENERATION_CONFIG, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  GvJson j;
  if (!gv_json_open (&j, path, error))
    return FALSE;
  cfg->guidance_scale = (gfloat) gv_json_double_range (&j, "guidance_scale",
      GV_DEFAULT_GUIDANCE_SCALE, 1.0, 100.0, FALSE);
  return gv_json_close (&j, error);
}

/* FOLDER/@name/@file (FOLDER/@name when @file is NULL), or NULL when that folder is missing. */
static gchar *
component_file (GvCheckpointConfig *cfg, const gchar *name, const gchar *file, GError **error)
{
  gchar *dir = g_build_filename (cfg->folder, name, NULL);

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, GV_ERROR, GV_ERROR_NOT_FOUND, "%s: no such folder (model_index.json "
        "lists %s)", dir, name);
    g_free (dir);
    return NULL;
  }
  if (file == NULL)
    return dir;
  gchar *path = g_build_filename (dir, file, NULL);
  g_free (dir);
  return path;
}

static gboolean
mismatch (GError **error, const gchar *folder, const gchar *what)
{
  g_set_error (error, GV_ERROR, GV_ERROR_CORRUPT, "%s: the components do not fit together: %s",
      folder, what);
  return FALSE;
}

/* Sizes one component hands to another must agree. */
static gboolean
check_consistency (GvCheckpointConfig *c, GError **error)
{
  const GvUNetConfig *u = &c->unet;
  gchar *what = NULL;

  if (c->has_unet && c->has_text_encoder && u->cross_attention_dim != c->text_encoder.hidden_size)
    what = g_strdup_printf ("unet/config.json cross_attention_dim %d != "
        "text_encoder/config.json hidden_size %d", u->cross_attention_dim,
        c->text_encoder.hidden_size);
  else if (c->has_unet && c->has_vae && u->out_channels != c->vae.latent_channels)
    what = g_strdup_printf ("unet/config.json out_channels %d != vae/config.json "
        "latent_channels %d", u->out_channels, c->vae.latent_channels);
  else if (c->has_image_encoder && c->has_image_normalizer &&
      c->image_normalizer.embedding_dim != c->image_encoder.projection_dim)
    what = g_strdup_printf ("image_normalizer/config.json embedding_dim %d != "
        "image_encoder/config.json projection_dim %d", c->image_normalizer.embedding_dim,
        c->image_encoder.projection_dim);
  else if (c->has_unet && c->has_image_encoder &&
      u->class_embed_type == GV_CLASS_EMBED_PROJECTION &&
      u->projection_class_embeddings_input_dim != 2 * c->image_encoder.projection_dim)
    what = g_strdup_printf ("unet/config.json projection_class_embeddings_input_dim %d != "
        "2 x image_encoder/config.json projection_dim %d",
        u->projection_class_embeddings_input_dim, c->image_encoder.projection_dim);
  else if (c->has_tokenizer && c->has_text_encoder &&
      c->tokenizer.model_max_length > c->text_encoder.max_position_embeddings)
    what = g_strdup_printf ("tokenizer model_max_length %d > text_encoder/config.json "
        "max_position_embeddings %d", c->tokenizer.model_max_length,
        c->text_encoder.max_position_embeddings);
  if (what == NULL)
    return TRUE;
  mismatch (error, c->folder, what);
  g_free (what);
  return FALSE;
}

GvCheckpointConfig *
gv_checkpoint_config_load (const gchar *folder, GError **error)
{
  if (!g_file_test (folder, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, GV_ERROR, GV_ERROR_NOT_FOUND, "%s: no such folder", folder);
    return NULL;
  }
  GvCheckpointConfig *cfg = g_new0 (GvCheckpointConfig, 1);
  cfg->folder = g_strdup (folder);

  gchar *index = g_build_filename (folder, "model_index.json", NULL);
  GvJson j;
  gboolean ok = gv_json_open (&j, index, error);
  g_free (index);
  if (ok) {
    cfg->pipeline_class = g_strdup (gv_json_string (&j, "_class_name", "unknown"));
    for (guint i = 0; i < G_N_ELEMENTS (components); i++)
      parse_component (&j, &components[i], cfg);
    ok = gv_json_close (&j, error);
  }

#define LOAD(has, name, file, fn, out) \
  if (ok && cfg->has) { \
    gchar *path_ = component_file (cfg, name, file, error); \
    ok = path_ && fn (path_, out, error); \
    g_free (path_); \
  }
  LOAD (has_unet, "unet", "config.json", gv_unet_config_load, &cfg->unet);
  LOAD (has_vae, "vae", "config.json", gv_vae_config_load, &cfg->vae);
  LOAD (has_text_encoder, "text_encoder", "config.json", gv_clip_text_config_load,
      &cfg->text_encoder);
  LOAD (has_image_encoder, "image_encoder", "config.json", gv_clip_vision_config_load,
      &cfg->image_encoder);
  LOAD (has_scheduler, "scheduler", "scheduler_config.json", gv_scheduler_config_load,
      &cfg->scheduler);
  LOAD (has_image_noising_scheduler, "image_noising_scheduler", "scheduler_config.json",
      gv_scheduler_config_load, &cfg->image_noising_scheduler);
  LOAD (has_image_normalizer, "image_normalizer", "config.json", parse_image_normalizer,
      &cfg->image_normalizer);
  LOAD (has_feature_extractor, "feature_extractor", "preprocessor_config.json",
      gv_preprocessor_config_load, &cfg->feature_extractor);
  LOAD (has_tokenizer, "tokenizer", NULL, gv_tokenizer_config_load, &cfg->tokenizer);
#undef LOAD

  if (ok)
    ok = parse_generation_config (cfg, error);
  if (ok)
    ok = check_consistency (cfg, error);
  if (!ok) {
    gv_checkpoint_config_free (cfg);
    return NULL;
  }
  return cfg;
}

void
gv_checkpoint_config_free (GvCheckpointConfig *cfg)
{
  if (cfg == NULL)
    return;
  gv_scheduler_config_clear (&cfg->scheduler);
  gv_scheduler_config_clear (&cfg->image_noising_scheduler);
  gv_tokenizer_config_clear (&cfg->tokenizer);
  g_free (cfg->pipeline_class);
  g_free (cfg->folder);
  g_free (cfg);
}
