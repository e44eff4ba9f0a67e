/* gv_layout_check: the golden checkpoint (written by diffusers) matches itself, a random
 * checkpoint of other sizes written by tools/checkpoint matches it, and so does the tokenizer
 * that gv-train-model writes (its whole output: tests/train); broken copies fail with
 * every problem named (a key removed, renamed, of the wrong type; a missing or renamed file;
 * a tensor added, renamed, of another dtype). */
#include <string.h>

#include <sys/wait.h>

#include <glib/gstdio.h>

#include "gv-random-checkpoint.h"
#include "gv-test-files.h"
#include "gv-test-util.h"
#include "models/gv-layout-check.h"
#include "models/gv-safetensors.h"
#include "models/gv-safetensors-write.h"
#include "models/gv-tokenizer-build.h"

static gchar *
golden (void)
{
  return gv_test_golden_path ("checkpoint");
}

/* a fresh copy of the golden checkpoint, weights included */
static gchar *
golden_copy (void)
{
  gchar *dir = gv_test_scratch_dir ();
  g_autofree gchar *src = golden ();
  gv_test_copy_checkpoint (src, dir);
  return dir;
}

static gchar *
path_in (const gchar *dir, const gchar *rel)
{
  return g_build_filename (dir, rel, NULL);
}

/* replaces @old by @new_text in the file @rel of @dir */
static void
edit (const gchar *dir, const gchar *rel, const gchar *old, const gchar *new_text)
{
  g_autofree gchar *path = path_in (dir, rel);
  gv_test_replace_in_file (path, old, new_text);
}

/* @dir checked against the golden checkpoint: a mismatch naming every string given */
static void
assert_mismatch (const gchar *dir, ...)
{
  GError *error = NULL;
  g_autofree gchar *ref = golden ();
  g_assert_false (gv_layout_check (gv_test_device (), dir, ref, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_CORRUPT);
  g_test_message ("%s", error->message);
  va_list args;
  va_start (args, dir);
  for (const gchar *s = va_arg (args, const gchar *); s; s = va_arg (args, const gchar *)) {
    if (strstr (error->message, s) == NULL)
      g_error ("the error '%s' does not mention '%s'", error->message, s);
  }
  va_end (args);
  g_error_free (error);
}

static void
assert_match (const gchar *dir)
{
  GError *error = NULL;
  g_autofree gchar *ref = golden ();
  gboolean ok = gv_layout_check (gv_test_device (), dir, ref, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
}

/* Rewrites the safetensors file @rel of @dir: tensor @from renamed @to (when @from is not
 * NULL), and a tensor @extra added (when not NULL). */
static void
rewrite_weights (const gchar *dir, const gchar *rel, const gchar *from, const gchar *to,
    const gchar *extra)
{
  GError *error = NULL;
  g_autofree gchar *path = path_in (dir, rel);
  g_autoptr (GvStWriter) w = gv_st_writer_new ();
  {
    g_autoptr (GvSafetensors) st = gv_safetensors_open (path, &error);
    g_assert_no_error (error);
    for (guint i = 0; i < gv_safetensors_get_n_tensors (st); i++) {
      const GvStTensor *t = gv_safetensors_get_nth (st, i);
      g_autofree gfloat *v = gv_safetensors_read_f32 (st, t);
      const gchar *name = from && strcmp (t->name, from) == 0 ? to : t->name;
      gv_st_writer_add (w, name, t->ndim, t->shape, v);
    }
  }
  if (extra != NULL) {
    const gfloat v[3] = { 0.5f, -1.25f, 2.0f };
    gv_st_writer_add (w, extra, 1, (const gint64[]) { 3 }, v);
  }
  g_assert_true (gv_st_writer_write (w, path, &error));
  g_assert_no_error (error);
}

static void
test_golden_matches_itself (void)
{
  g_autofree gchar *ref = golden ();
  assert_match (ref);
  /* and so does a copy, with the writer's version changed */
  g_autofree gchar *dir = golden_copy ();
  edit (dir, "model_index.json", "\"0.24.0\"", "\"0.99.0\"");
  assert_match (dir);
}

/* the shipped demo model (models/genvideo-shapes, written by gv-train-model): the layout that
 * diffusers' StableUnCLIPImg2ImgPipeline loads (issue 11, section 3); skipped in a tree
 * without it */
static void
test_shipped_model (void)
{
  const gchar *dir = g_getenv ("GENVIDEO_SHIPPED_MODEL_DIR");
  g_autofree gchar *index = dir ? path_in (dir, "model_index.json") : NULL;
  if (index == NULL || !g_file_test (index, G_FILE_TEST_IS_REGULAR)) {
    g_test_skip ("no models/genvideo-shapes in this tree");
    return;
  }
  assert_match (dir);
}

/* tools/checkpoint's writer at other sizes (those of the benchmarks' checkpoints) */
static void
test_random_checkpoint (void)
{
  static const GvConfigKey keys[] = {
    { "unet/config.json", "block_out_channels", "[16, 24]" },
    { "unet/config.json", "attention_head_dim", "[2, 3]" },
    { "unet/config.json", "down_block_types", "[\"CrossAttnDownBlock2D\", \"DownBlock2D\"]" },
    { "unet/config.json", "up_block_types", "[\"UpBlock2D\", \"CrossAttnUpBlock2D\"]" },
    { "unet/config.json", "norm_num_groups", "8" },
    { "unet/config.json", "layers_per_block", "1" },
    { "vae/config.json", "block_out_channels", "[8, 16]" },
    { "vae/config.json", "down_block_types", "[\"DownEncoderBlock2D\", \"DownEncoderBlock2D\"]" },
    { "vae/config.json", "up_block_types", "[\"UpDecoderBlock2D\", \"UpDecoderBlock2D\"]" },
    { "text_encoder/config.json", "num_hidden_layers", "1" },
    { "image_encoder/config.json", "num_hidden_layers", "1" },
  };
  GError *error = NULL;
  g_autofree gchar *scratch = gv_test_scratch_dir ();
  g_autofree gchar *dir = path_in (scratch, "random");
  g_assert_true (gv_random_checkpoint_write (gv_test_default_model_dir (), dir, keys,
          G_N_ELEMENTS (keys), 7, NULL, &error));
  g_assert_no_error (error);
  assert_match (dir);
  /* and with the shipped template as it is */
  g_autofree gchar *same = path_in (scratch, "same");
  g_assert_true (gv_random_checkpoint_write (gv_test_default_model_dir (), same, NULL, 0, 8,
          NULL, &error));
  g_assert_no_error (error);
  assert_match (same);
}

/* the tokenizer that gv-train-model writes, in place of the golden one: the same files and
 * keys as transformers writes (it once lacked name_or_path and special_tokens_map_file) */
static void
test_built_tokenizer (void)
{
  static const gchar *const words[] = { "red", "ball", "on", "a", "background", NULL };
  GError *error = NULL;
  g_autofree gchar *dir = golden_copy ();
  g_autofree gchar *tok = path_in (dir, "tokenizer");
  g_assert_true (gv_tokenizer_build (tok, words, 77, &error));
  g_assert_no_error (error);
  assert_match (dir);
}

static void
test_config_keys (void)
{
  /* a key removed */
  g_autofree gchar *removed = golden_copy ();
  edit (removed, "unet/config.json", "\"sample_size\": 16,", "");
  assert_mismatch (removed, "unet/config.json: key 'sample_size' is missing", NULL);

  /* a key renamed: one missing, one unknown */
  g_autofree gchar *renamed = golden_copy ();
  edit (renamed, "vae/config.json", "\"scaling_factor\"", "\"scale_factor\"");
  assert_mismatch (renamed, "vae/config.json: key 'scaling_factor' is missing",
      "vae/config.json: key 'scale_factor' is not in the reference", NULL);

  /* nested keys too */
  g_autofree gchar *nested = golden_copy ();
  edit (nested, "tokenizer/tokenizer_config.json", "\"lstrip\"", "\"left_strip\"");
  assert_mismatch (nested, "tokenizer/tokenizer_config.json: key 'bos_token.lstrip' is missing",
      "key 'bos_token.left_strip' is not in the reference", NULL);
}

static void
test_value_types (void)
{
  g_autofree gchar *dir = golden_copy ();
  /* a string for an integer, a float for an integer (inside an array), an object's member,
   * null for a bool: four problems, all listed, and our own reader refuses the string */
  edit (dir, "unet/config.json", "\"sample_size\": 16", "\"sample_size\": \"16\"");
  edit (dir, "unet/config.json", "\"attention_head_dim\": [\n    2,",
      "\"attention_head_dim\": [\n    2.0,");
  edit (dir, "feature_extractor/preprocessor_config.json", "\"height\": 32", "\"height\": true");
  edit (dir, "scheduler/scheduler_config.json", "\"clip_sample\": false", "\"clip_sample\": null");
  assert_mismatch (dir, "(5 problems)",
      "unet/config.json: 'sample_size' is a string, the reference's is an integer",
      "unet/config.json: 'attention_head_dim[0]' is a float, the reference's is an integer",
      "feature_extractor/preprocessor_config.json: 'crop_size.height' is a boolean, the "
      "reference's is an integer",
      "scheduler/scheduler_config.json: 'clip_sample' is null, the reference's is a boolean",
      "the project's config reader: unet/config.json: sample_size is not an integer", NULL);

  /* an integer where the reference has a float is a number all the same */
  g_autofree gchar *ints = golden_copy ();
  edit (ints, "vae/config.json", "\"scaling_factor\": 0.18215", "\"scaling_factor\": 1");
  assert_match (ints);
}

static void
test_model_index (void)
{
  g_autofree gchar *dir = golden_copy ();
  edit (dir, "model_index.json", "\"StableUnCLIPImg2ImgPipeline\"",
      "\"StableUnCLIPPipeline\"");
  edit (dir, "model_index.json", "\"CLIPTokenizer\"", "\"CLIPTokenizerFast\"");
  assert_mismatch (dir,
      "model_index.json: '_class_name' is 'StableUnCLIPPipeline', the reference's is "
      "'StableUnCLIPImg2ImgPipeline'", "model_index.json: 'tokenizer' is", NULL);
}

static void
test_files (void)
{
  /* a config and a weights file missing */
  g_autofree gchar *missing = golden_copy ();
  g_autofree gchar *merges = path_in (missing, "tokenizer/merges.txt");
  g_autofree gchar *weights = path_in (missing, "image_encoder/model.safetensors");
  g_assert_cmpint (g_remove (merges), ==, 0);
  g_assert_cmpint (g_remove (weights), ==, 0);
  assert_mismatch (missing, "tokenizer/merges.txt: missing",
      "image_encoder/model.safetensors: missing", NULL);

  /* weights under diffusers' name where transformers looks for model.safetensors: our loader
   * reads either, transformers would not */
  g_autofree gchar *renamed = golden_copy ();
  g_autofree gchar *from = path_in (renamed, "text_encoder/model.safetensors");
  g_autofree gchar *to = path_in (renamed, "text_encoder/diffusion_pytorch_model.safetensors");
  g_assert_cmpint (g_rename (from, to), ==, 0);
  assert_mismatch (renamed, "(1 problem)", "text_encoder/model.safetensors: missing", NULL);

  /* both names: the loader would read the other one */
  g_autofree gchar *both = golden_copy ();
  g_autofree gchar *src = path_in (both, "text_encoder/model.safetensors");
  g_autofree gchar *dst = path_in (both, "text_encoder/diffusion_pytorch_model.safetensors");
  gv_test_copy_file (src, dst);
  assert_mismatch (both, "text_encoder/model.safetensors: the loader reads "
      "text_encoder/diffusion_pytorch_model.safetensors instead", NULL);

  /* files the reference lacks (a model card) are no problem */
  g_autofree gchar *extra = golden_copy ();
  g_autofree gchar *card = path_in (extra, "README.md");
  gv_test_write_file (card, "# a model card\n");
  assert_match (extra);
}

static void
test_tensors (void)
{
  /* a tensor no network uses */
  g_autofree gchar *extra = golden_copy ();
  rewrite_weights (extra, "unet/diffusion_pytorch_model.safetensors", NULL, NULL,
      "down_blocks.0.extra.bias");
  assert_mismatch (extra, "(1 problem)", "unet/diffusion_pytorch_model.safetensors: tensor "
      "'down_blocks.0.extra.bias' is not used by the unet network", NULL);

  /* a tensor renamed: the loader misses it */
  g_autofree gchar *renamed = golden_copy ();
  rewrite_weights (renamed, "vae/diffusion_pytorch_model.safetensors",
      "decoder.conv_out.weight", "decoder.conv_out.kernel", NULL);
  assert_mismatch (renamed, "vae/diffusion_pytorch_model.safetensors:",
      "no tensor 'decoder.conv_out.weight'", NULL);

  /* a shape that disagrees with the config */
  g_autofree gchar *shape = golden_copy ();
  edit (shape, "text_encoder/config.json", "\"intermediate_size\": 128",
      "\"intermediate_size\": 64");
  assert_mismatch (shape, "(1 problem)", "text_encoder/model.safetensors: tensor "
      "'text_model.encoder.layers.0.mlp.fc1.weight' has shape [128, 32], expected [64, 32]",
      NULL);

  /* BF16 storage: our loader reads it, the check asks for F32 or F16 */
  g_autofree gchar *bf16 = golden_copy ();
  g_autofree gchar *st = path_in (bf16, "image_normalizer/diffusion_pytorch_model.safetensors");
  guint16 mean[32], std[32];
  for (gint i = 0; i < 32; i++) {
    mean[i] = 0x3c00 + i;      /* BF16 bits of small positive numbers */
    std[i] = 0x3f80;           /* 1.0 */
  }
  GvTestStTensor t[] = {
    { "mean", "BF16", 2, { 1, 32 }, mean, sizeof (mean) },
    { "std", "BF16", 2, { 1, 32 }, std, sizeof (std) },
  };
  gv_test_write_safetensors (st, t, 2, NULL);
  assert_mismatch (bf16, "(2 problems)", "image_normalizer/diffusion_pytorch_model.safetensors: "
      "tensor 'mean' is BF16 (F32 or F16 expected)", "tensor 'std' is BF16", NULL);
}

static void
test_bad_folders (void)
{
  GError *error = NULL;
  g_autofree gchar *ref = golden ();
  g_autofree gchar *scratch = gv_test_scratch_dir ();
  g_autofree gchar *nowhere = path_in (scratch, "nowhere");
  g_assert_false (gv_layout_check (gv_test_device (), nowhere, ref, &error));
  gv_test_assert_error (error, GV_ERROR_NOT_FOUND, "nowhere", NULL);
  g_clear_error (&error);
  g_assert_false (gv_layout_check (gv_test_device (), ref, nowhere, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "the reference"));
  g_clear_error (&error);
  /* an empty folder: every file missing */
  assert_mismatch (scratch, "model_index.json: missing", "unet/config.json: missing",
      "the project's config reader: ", NULL);
}

/* gv-check-layout MODEL_DIR: "OK" and status 0, or the problems and status 1 */
static void
test_tool (void)
{
  const gchar *tool = g_getenv ("GV_CHECK_LAYOUT");
  g_assert_nonnull (tool);
  g_autofree gchar *ref = golden ();
  g_autofree gchar *broken = golden_copy ();
  edit (broken, "unet/config.json", "\"sample_size\": 16,", "");
  const gchar *dirs[] = { ref, broken };
  const gchar *want[] = { "OK: ", "unet/config.json: key 'sample_size' is missing" };
  for (guint i = 0; i < 2; i++) {
    const gchar *argv[] = { tool, dirs[i], "--reference", ref, NULL };
    g_autofree gchar *out = NULL;
    gint status;
    GError *error = NULL;
    g_assert_true (g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
            &out, NULL, &status, &error));
    g_assert_no_error (error);
    g_test_message ("%s", out);
    g_assert_nonnull (strstr (out, want[i]));
    g_assert_true (WIFEXITED (status));
    g_assert_cmpint (WEXITSTATUS (status), ==, i);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/layout/golden-matches-itself", test_golden_matches_itself);
  g_test_add_func ("/layout/shipped-model", test_shipped_model);
  g_test_add_func ("/layout/random-checkpoint", test_random_checkpoint);
  g_test_add_func ("/layout/built-tokenizer", test_built_tokenizer);
  g_test_add_func ("/layout/config-keys", test_config_keys);
  g_test_add_func ("/layout/value-types", test_value_types);
  g_test_add_func ("/layout/model-index", test_model_index);
  g_test_add_func ("/layout/files", test_files);
  g_test_add_func ("/layout/tensors", test_tensors);
  g_test_add_func ("/layout/bad-folders", test_bad_folders);
  g_test_add_func ("/layout/tool", test_tool);
  return g_test_run ();
}
