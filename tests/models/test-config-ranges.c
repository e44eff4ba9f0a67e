/* Every config value the networks use is range-checked: one value at a time of the shipped
 * tiny checkpoint's configs (a copy) is set out of range, and the load must fail with an
 * error that names the file and the key. */
#include <string.h>

#include <json-glib/json-glib.h>

#include "gv-test-files.h"
#include "models/gv-config.h"

typedef struct {
  const gchar *file;
  const gchar *key;          /* "a.b": member b of object a */
  const gchar *value;        /* JSON text */
  GvErrorCode code;
  const gchar *mention;      /* besides file and key (may be NULL) */
} Case;

static const Case cases[] = {
  { "unet/config.json", "norm_eps", "0", GV_ERROR_CORRUPT, "out of range" },
  { "unet/config.json", "norm_eps", "-1e-5", GV_ERROR_CORRUPT, NULL },
  { "unet/config.json", "norm_eps", "1e308", GV_ERROR_CORRUPT, NULL },
  { "unet/config.json", "freq_shift", "1e308", GV_ERROR_CORRUPT, NULL },
  { "unet/config.json", "mid_block_scale_factor", "0", GV_ERROR_CORRUPT, NULL },
  { "unet/config.json", "attention_head_dim", "[5, 3, 3, 3]", GV_ERROR_CORRUPT, "divide" },
  { "unet/config.json", "attention_head_dim", "[2, 3, 0, 3]", GV_ERROR_CORRUPT, NULL },
  { "unet/config.json", "norm_num_groups", "5", GV_ERROR_CORRUPT, "divide" },
  { "unet/config.json", "norm_num_groups", "0", GV_ERROR_CORRUPT, NULL },
  { "unet/config.json", "block_out_channels", "[49152, 49152, 49152, 49152]",
    GV_ERROR_CORRUPT, "elements" },
  { "unet/config.json", "block_out_channels", "[32, 48, 48, 0]", GV_ERROR_CORRUPT, NULL },
  { "unet/config.json", "cross_attention_dim", "0", GV_ERROR_CORRUPT, NULL },
  { "unet/config.json", "in_channels", "-4", GV_ERROR_CORRUPT, NULL },
  { "unet/config.json", "out_channels", "0", GV_ERROR_CORRUPT, NULL },
  { "unet/config.json", "layers_per_block", "0", GV_ERROR_CORRUPT, NULL },
  { "unet/config.json", "conv_in_kernel", "4", GV_ERROR_UNSUPPORTED, NULL },
  { "unet/config.json", "time_embedding_dim", "1048576", GV_ERROR_CORRUPT, "elements" },
  { "unet/config.json", "sample_size", "0", GV_ERROR_CORRUPT, NULL },
  { "unet/config.json", "projection_class_embeddings_input_dim", "-64", GV_ERROR_CORRUPT, NULL },
  { "vae/config.json", "scaling_factor", "1e308", GV_ERROR_CORRUPT, "out of range" },
  { "vae/config.json", "scaling_factor", "0", GV_ERROR_CORRUPT, NULL },
  { "vae/config.json", "scaling_factor", "-0.18215", GV_ERROR_CORRUPT, NULL },
  { "vae/config.json", "norm_num_groups", "7", GV_ERROR_CORRUPT, "divide" },
  { "vae/config.json", "latent_channels", "0", GV_ERROR_CORRUPT, NULL },
  { "vae/config.json", "layers_per_block", "-1", GV_ERROR_CORRUPT, NULL },
  { "vae/config.json", "block_out_channels", "[16, 32, 1048576]", GV_ERROR_CORRUPT,
    "elements" },
  { "text_encoder/config.json", "layer_norm_eps", "0", GV_ERROR_CORRUPT, NULL },
  { "text_encoder/config.json", "layer_norm_eps", "1e308", GV_ERROR_CORRUPT, NULL },
  { "text_encoder/config.json", "num_attention_heads", "5", GV_ERROR_CORRUPT, "multiple" },
  { "text_encoder/config.json", "num_attention_heads", "0", GV_ERROR_CORRUPT, NULL },
  { "text_encoder/config.json", "num_hidden_layers", "0", GV_ERROR_CORRUPT, NULL },
  { "text_encoder/config.json", "eos_token_id", "614", GV_ERROR_CORRUPT, "vocab_size" },
  { "text_encoder/config.json", "vocab_size", "0", GV_ERROR_CORRUPT, NULL },
  { "text_encoder/config.json", "vocab_size", "2147483647", GV_ERROR_CORRUPT, "elements" },
  { "text_encoder/config.json", "intermediate_size", "0", GV_ERROR_CORRUPT, NULL },
  { "image_encoder/config.json", "patch_size", "0", GV_ERROR_CORRUPT, NULL },
  { "image_encoder/config.json", "patch_size", "5", GV_ERROR_CORRUPT, "multiple" },
  { "image_encoder/config.json", "image_size", "65536", GV_ERROR_CORRUPT, "elements" },
  { "image_encoder/config.json", "layer_norm_eps", "-1", GV_ERROR_CORRUPT, NULL },
  { "image_encoder/config.json", "num_channels", "0", GV_ERROR_CORRUPT, NULL },
  { "image_encoder/config.json", "num_attention_heads", "3", GV_ERROR_CORRUPT, "multiple" },
  { "scheduler/scheduler_config.json", "num_train_timesteps", "0", GV_ERROR_CORRUPT, NULL },
  { "scheduler/scheduler_config.json", "num_train_timesteps", "-5", GV_ERROR_CORRUPT, NULL },
  { "scheduler/scheduler_config.json", "beta_start", "0", GV_ERROR_CORRUPT, NULL },
  { "scheduler/scheduler_config.json", "beta_start", "1e308", GV_ERROR_CORRUPT, NULL },
  { "scheduler/scheduler_config.json", "beta_end", "1.5", GV_ERROR_CORRUPT, NULL },
  { "scheduler/scheduler_config.json", "clip_sample_range", "0", GV_ERROR_CORRUPT, NULL },
  { "scheduler/scheduler_config.json", "steps_offset", "-1", GV_ERROR_CORRUPT, NULL },
  { "scheduler/scheduler_config.json", "steps_offset", "5000", GV_ERROR_CORRUPT, NULL },
  { "image_noising_scheduler/scheduler_config.json", "num_train_timesteps", "0",
    GV_ERROR_CORRUPT, NULL },
  { "image_normalizer/config.json", "embedding_dim", "0", GV_ERROR_CORRUPT, NULL },
  { "feature_extractor/preprocessor_config.json", "rescale_factor", "0", GV_ERROR_CORRUPT,
    NULL },
  { "feature_extractor/preprocessor_config.json", "rescale_factor", "1e308", GV_ERROR_CORRUPT,
    NULL },
  { "feature_extractor/preprocessor_config.json", "image_std", "[0.27, -0.26, 0.28]",
    GV_ERROR_CORRUPT, NULL },
  { "feature_extractor/preprocessor_config.json", "image_mean", "[1e308, 0.5, 0.5]",
    GV_ERROR_CORRUPT, NULL },
  { "feature_extractor/preprocessor_config.json", "size.shortest_edge", "0", GV_ERROR_CORRUPT,
    "shortest_edge" },
  { "feature_extractor/preprocessor_config.json", "crop_size.height", "-32", GV_ERROR_CORRUPT,
    "height" },
};

/* Sets @key (a dotted path) of the JSON object in @path to the JSON @value. */
static void
set_value (const gchar *path, const gchar *key, const gchar *value)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  GError *error = NULL;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  JsonObject *obj = json_node_get_object (json_parser_get_root (parser));
  gchar **parts = g_strsplit (key, ".", -1);
  guint n = g_strv_length (parts);
  for (guint i = 0; i + 1 < n; i++)
    obj = json_object_get_object_member (obj, parts[i]);
  g_assert_nonnull (obj);
  g_assert_true (json_object_has_member (obj, parts[n - 1]));
  /* a placeholder, replaced by @value as written: the generator would print 1e308 as
   * 1.0000000000000001e+308, which is out of a double's range */
  json_object_set_string_member (obj, parts[n - 1], "@value@");
  g_strfreev (parts);

  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, json_parser_get_root (parser));
  gchar *text = json_generator_to_data (gen, NULL);
  gv_test_write_file (path, text);
  gv_test_replace_in_file (path, "\"@value@\"", value);
  g_free (text);
}

/* the untouched copy loads: what the cases change is all that fails */
static void
test_copy_loads (void)
{
  gchar *dir = gv_test_scratch_dir ();
  GError *error = NULL;

  gv_test_copy_configs_from (gv_test_default_model_dir (), dir);
  GvCheckpointConfig *c = gv_checkpoint_config_load (dir, &error);
  g_assert_no_error (error);
  g_assert_true (c->has_unet && c->has_vae && c->has_text_encoder && c->has_image_encoder &&
      c->has_scheduler && c->has_feature_extractor && c->has_image_normalizer);
  gv_checkpoint_config_free (c);
  g_free (dir);
}

static void
test_out_of_range (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    const Case *c = &cases[i];
    gchar *dir = gv_test_scratch_dir ();
    gchar *path = g_build_filename (dir, c->file, NULL);
    const gchar *key = strrchr (c->key, '.') ? strrchr (c->key, '.') + 1 : c->key;
    GError *error = NULL;

    g_test_message ("case %u: %s: %s = %s", i, c->file, c->key, c->value);
    gv_test_copy_configs_from (gv_test_default_model_dir (), dir);
    set_value (path, c->key, c->value);
    g_assert_null (gv_checkpoint_config_load (dir, &error));
    gv_test_assert_error (error, c->code, path, key, c->mention, NULL);
    g_clear_error (&error);
    gv_test_remove_tree (dir);
    g_free (path);
    g_free (dir);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config-ranges/copy-loads", test_copy_loads);
  g_test_add_func ("/config-ranges/out-of-range", test_out_of_range);
  return g_test_run ();
}
