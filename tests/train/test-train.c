/* gv-train-model on a tiny recipe: every stage end to end, the folder has the golden
 * checkpoint's diffusers layout, loads in the elements' model loader and edits a clip; a
 * stopped and resumed run ends with the bytes of an unstopped one; the fp16 export reads back
 * as the fp32 weights rounded; the card's and --check-vae's PSNR of the VAE on whole frames;
 * recipe errors. */
#include <math.h>
#include <string.h>

#include <gst/gst.h>

#include "gv-test-files.h"
#include "gv-test-util.h"
#include "gv-train-data.h"
#include "gv-train-export.h"
#include "gv-train-pipeline.h"
#include "gv-train-unet.h"
#include "gv-train-vae-check.h"
#include "gv-world-render.h"
#include "genvideo/gv-target.h"
#include "genvideo/gv-edit.h"
#include "models/gv-layout-check.h"
#include "models/gv-safetensors.h"
#include "models/gv-safetensors-write.h"

#define SIZE 32
#define FRAMES 3

static const gchar tiny_recipe[] =
    "[train]\n"
    "image_size=32\n"
    "unet_steps=4\n"
    "unet_batch=2\n"
    "unet_warmup=1\n"
    "vae_steps=2\n"
    "vae_batch=2\n"
    "vae_warmup=1\n"
    "vae_crop=16\n"
    "vae_whole_steps=1\n"
    "vae_whole_batch=1\n"
    "clip_steps=2\n"
    "clip_batch=4\n"
    "clip_warmup=1\n"
    "calibration_examples=4\n"
    "[unet/config.json]\n"
    "block_out_channels=[16, 16]\n"
    "attention_head_dim=[2, 2]\n"
    "down_block_types=[\"CrossAttnDownBlock2D\", \"DownBlock2D\"]\n"
    "up_block_types=[\"UpBlock2D\", \"CrossAttnUpBlock2D\"]\n"
    "norm_num_groups=8\n"
    "sample_size=8\n"
    "cross_attention_dim=16\n"
    "projection_class_embeddings_input_dim=32\n"
    "[vae/config.json]\n"
    "block_out_channels=[8, 16, 16]\n"
    "norm_num_groups=8\n"
    "sample_size=32\n"
    "[text_encoder/config.json]\n"
    "hidden_size=16\n"
    "intermediate_size=32\n"
    "num_hidden_layers=1\n"
    "projection_dim=16\n"
    "[image_encoder/config.json]\n"
    "hidden_size=16\n"
    "intermediate_size=32\n"
    "num_hidden_layers=1\n"
    "image_size=16\n"
    "patch_size=8\n"
    "projection_dim=16\n"
    "[feature_extractor/preprocessor_config.json]\n"
    "crop_size={\"height\": 16, \"width\": 16}\n"
    "size={\"shortest_edge\": 16}\n"
    "[image_normalizer/config.json]\n"
    "embedding_dim=16\n";

/* trains the tiny recipe into a fresh scratch folder: WORK, OUT under it; from the checkpoint
 * @from (--from) when not NULL */
static gchar *
train_from (const gchar *extra, gint stop_after, const gchar *scratch, const gchar *from,
    GError **error)
{
  g_autofree gchar *text = g_strconcat (tiny_recipe, extra ? extra : "", NULL);
  g_autoptr (GvTrainRecipe) r = gv_train_recipe_new_from_data (text, error);
  g_assert_nonnull (r);
  g_autofree gchar *work = g_build_filename (scratch, "work", NULL);
  gchar *out = g_build_filename (scratch, "out", NULL);
  GvTrainOptions o = {
    .work = work, .out = out, .template_dir = gv_test_default_model_dir (),
    .checkpoint_seconds = 1e9, .resume = TRUE, .quiet = TRUE, .samples = 1,
    .stop_after = stop_after, .command = "test", .from_dir = from,
  };
  if (!gv_train_pipeline_run (r, &o, error))
    g_clear_pointer (&out, g_free);
  return out;
}

static gchar *
train (const gchar *extra, gint stop_after, const gchar *scratch, GError **error)
{
  return train_from (extra, stop_after, scratch, NULL, error);
}

/* The scratch folder of a finished run of the tiny recipe plus @extra, trained once per test
 * program: several tests compare their runs with the same plain one */
static const gchar *
finished_run (const gchar *extra)
{
  static GHashTable *runs;
  if (runs == NULL)
    runs = g_hash_table_new (g_str_hash, g_str_equal);
  const gchar *key = extra ? extra : "";
  gchar *dir = g_hash_table_lookup (runs, key);
  if (dir == NULL) {
    GError *error = NULL;
    dir = gv_test_scratch_dir ();
    g_autofree gchar *out = train (extra, 0, dir, &error);
    g_assert_no_error (error);
    g_hash_table_insert (runs, g_strdup (key), dir);
  }
  return dir;
}

static GBytes *
file_bytes (const gchar *folder, const gchar *rel)
{
  g_autofree gchar *path = g_build_filename (folder, rel, NULL);
  gchar *data;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return g_bytes_new_take (data, len);
}

/* the files @rel (@n of them, relative to each folder) are the same bytes in @a and @b */
static void
assert_same_files (const gchar *a, const gchar *b, const gchar *const *rel, guint n)
{
  for (guint i = 0; i < n; i++) {
    g_autoptr (GBytes) x = file_bytes (a, rel[i]);
    g_autoptr (GBytes) y = file_bytes (b, rel[i]);
    g_assert_true (g_bytes_equal (x, y));
  }
}

static void
test_end_to_end (void)
{
  GError *error = NULL;
  const gchar *scratch = finished_run (NULL);
  g_autofree gchar *out = g_build_filename (scratch, "out", NULL);

  /* every file of the diffusers layout, weights in F16 */
  static const gchar *files[] = {
    "model_index.json", "scheduler/scheduler_config.json",
    "image_noising_scheduler/scheduler_config.json",
    "feature_extractor/preprocessor_config.json", "image_normalizer/config.json",
    "image_normalizer/diffusion_pytorch_model.safetensors", "tokenizer/vocab.json",
    "tokenizer/merges.txt", "text_encoder/config.json", "text_encoder/model.safetensors",
    "image_encoder/config.json", "image_encoder/model.safetensors", "vae/config.json",
    "vae/diffusion_pytorch_model.safetensors", "unet/config.json",
    "unet/diffusion_pytorch_model.safetensors", "README.md", "curves.png", "samples.png",
    GV_GENERATION_CONFIG,
  };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
    g_autofree gchar *path = g_build_filename (out, files[i], NULL);
    g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
    if (g_str_has_suffix (path, ".safetensors")) {
      g_autoptr (GvSafetensors) st = gv_safetensors_open (path, &error);
      g_assert_no_error (error);
      for (guint k = 0; k < gv_safetensors_get_n_tensors (st); k++)
        g_assert_cmpstr (gv_st_dtype_name (gv_safetensors_get_nth (st, k)->dtype), ==, "F16");
    }
  }
  /* the card says how well the VAE codes whole frames, with a finite PSNR */
  g_autofree gchar *card_path = g_build_filename (out, "README.md", NULL);
  g_autofree gchar *card = NULL;
  g_assert_true (g_file_get_contents (card_path, &card, NULL, NULL));
  const gchar *line = strstr (card, "**The VAE on whole frames**");
  g_assert_nonnull (line);
  const gchar *psnr = strstr (line, "PSNR ");
  g_assert_nonnull (psnr);
  gchar *end;
  gdouble db = g_ascii_strtod (psnr + 5, &end);
  g_assert_true (end != psnr + 5 && isfinite (db));
  g_assert_nonnull (strstr (line, "on 32 held-out frames of 32x32"));

  /* one row per UNet step in the log, finite losses */
  g_autofree gchar *csv_path = g_build_filename (scratch, "work", "loss.csv", NULL);
  g_autofree gchar *csv = NULL;
  g_assert_true (g_file_get_contents (csv_path, &csv, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (csv, "\n", -1);
  gint unet_rows = 0;
  for (gint i = 1; lines[i] && lines[i][0]; i++) {
    g_auto (GStrv) f = g_strsplit (lines[i], ",", -1);
    g_assert_true (isfinite (g_ascii_strtod (f[2], NULL)));
    unet_rows += strcmp (f[0], "unet") == 0;
  }
  g_assert_cmpint (unet_rows, ==, 4);

  /* the layout diffusers' StableUnCLIPImg2ImgPipeline loads: the golden checkpoint's files,
   * config keys and value types, every tensor used */
  g_autofree gchar *golden = gv_test_golden_path ("checkpoint");
  gboolean same_layout = gv_layout_check (gv_test_device (), out, golden, &error);
  g_assert_no_error (error);
  g_assert_true (same_layout);

  /* the elements' loader, then an edit through the gv_edit_* stages */
  g_autoptr (GvModel) model = gv_model_get_shared (gv_test_device (), out, &error);
  g_assert_no_error (error);
  /* with the recipe's guidance scale as the elements' default for it */
  g_assert_cmpfloat (gv_model_get_config (model)->guidance_scale, ==, 2.0f);
  GvWorldClip *wc = gv_world_clip_new (3, 0, SIZE, SIZE, FRAMES);
  GvWorldRender *wr = gv_world_render (wc);
  GvPicture frames[FRAMES];
  for (gint f = 0; f < FRAMES; f++)
    frames[f] = (GvPicture) { wr->source + f * SIZE * SIZE * 3, SIZE * 3 };
  GvClip *clip = gv_clip_new (FRAMES, SIZE, SIZE);
  g_assert_true (gv_clip_lock (clip, NULL, NULL));
  GvEditEnv env = { .seed = 5 };
  g_assert_true (gv_edit_prepare_source (clip, model, &env, frames, GV_PIXELS_RGB,
          wr->source_prompt, NULL, &error));
  g_autofree guint8 *target = gv_target_foreground (wr->target, SIZE, SIZE, SIZE * 4, NULL, 0,
      NULL, &error);
  g_assert_no_error (error);
  g_assert_true (gv_edit_set_target (clip, &env, wr->target_prompt, target, SIZE, SIZE,
          SIZE * 3, &error));
  g_assert_true (gv_edit_invert (clip, &env, 2, &error));
  GvMaskParams mp = { 2, 3.0f, 0.5f, 3.0f, 0 };
  g_assert_true (gv_edit_compute_masks (clip, &env, &mp, &error));
  GvCorrectParams cp = { .steps = 2, .guidance_scale = 3.0f, .correction_steps = 1,
    .weight_prev = 0.25f, .weight_current = 0.5f, .weight_next = 0.25f,
    .preserve_background = TRUE };
  g_autofree gfloat *edited = gv_edit_generate (clip, &env, &cp, NULL, NULL, &error);
  g_assert_no_error (error);
  /* a tiny model's pictures: only finite, and not one flat value */
  gint varied = 0;
  for (gint i = 0; i < FRAMES * 3 * SIZE * SIZE; i++) {
    g_assert_true (isfinite (edited[i]));
    varied += edited[i] != edited[0];
  }
  g_assert_cmpint (varied, >, 0);
  gv_clip_unlock (clip);
  gv_clip_unref (clip);
  gv_world_render_free (wr);
  gv_world_clip_free (wc);
}

static void
test_resume_matches (void)
{
  GError *error = NULL;
  const gchar *a = finished_run (NULL);
  g_autofree gchar *b = gv_test_scratch_dir ();
  g_autofree gchar *whole = g_build_filename (a, "out", NULL);

  /* stopped twice: after the first CLIP step, then inside the UNet stage (each stage's loop
   * stops after 2 steps of the session: CLIP and VAE finish), then finished */
  g_assert_null (train (NULL, 1, b, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_null (train (NULL, 2, b, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_CANCELLED);
  g_clear_error (&error);
  g_autofree gchar *resumed = train (NULL, 0, b, &error);
  g_assert_no_error (error);

  static const gchar *rel[] = {
    "unet/diffusion_pytorch_model.safetensors", "vae/config.json",
    "vae/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors",
    "image_encoder/model.safetensors", "image_normalizer/diffusion_pytorch_model.safetensors",
  };
  assert_same_files (whole, resumed, rel, G_N_ELEMENTS (rel));
  g_autofree gchar *wa = g_build_filename (a, "work", NULL);
  g_autofree gchar *wb = g_build_filename (b, "work", NULL);
  g_autoptr (GBytes) la = file_bytes (wa, "loss.csv");
  g_autoptr (GBytes) lb = file_bytes (wb, "loss.csv");
  /* the losses (not the seconds) are the same step by step */
  g_auto (GStrv) ra = g_strsplit (g_bytes_get_data (la, NULL), "\n", -1);
  g_auto (GStrv) rb = g_strsplit (g_bytes_get_data (lb, NULL), "\n", -1);
  g_assert_cmpuint (g_strv_length (ra), ==, g_strv_length (rb));
  for (gint i = 1; ra[i] && ra[i][0]; i++) {
    g_auto (GStrv) fa = g_strsplit (ra[i], ",", -1);
    g_auto (GStrv) fb = g_strsplit (rb[i], ",", -1);
    g_assert_cmpstr (fa[0], ==, fb[0]);
    g_assert_cmpstr (fa[1], ==, fb[1]);
    g_assert_cmpstr (fa[2], ==, fb[2]);
  }

  /* another recipe in the same work folder is refused */
  g_assert_null (train ("[train]\nunet_lr=1e-3\n", 0, b, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
  g_clear_error (&error);
}

/* the UNet rows of WORK/loss.csv under @scratch: "step,loss" each */
static GStrv
unet_losses (const gchar *scratch)
{
  g_autofree gchar *work = g_build_filename (scratch, "work", NULL);
  g_autoptr (GBytes) csv = file_bytes (work, "loss.csv");
  g_auto (GStrv) rows = g_strsplit (g_bytes_get_data (csv, NULL), "\n", -1);
  GStrvBuilder *b = g_strv_builder_new ();
  for (gint i = 1; rows[i] && rows[i][0]; i++) {
    g_auto (GStrv) f = g_strsplit (rows[i], ",", -1);
    if (g_strcmp0 (f[0], "unet") == 0) {
      g_autofree gchar *row = g_strdup_printf ("%s,%s", f[1], f[2]);
      g_strv_builder_add (b, row);
    }
  }
  GStrv out = g_strv_builder_end (b);
  g_strv_builder_unref (b);
  return out;
}

/* --from: a run that starts from a finished one's checkpoint trains the UNet stage only, keeps
 * the tokenizer, encoders and VAE as they were, and starts the UNet from the checkpoint's
 * weights (at learning rate 0 they come out unchanged; a fresh UNet would not); the card says
 * where it started. A folder that is not a checkpoint is refused. */
static void
test_from_checkpoint (void)
{
  GError *error = NULL;
  g_autofree gchar *a_out = g_build_filename (finished_run (NULL), "out", NULL);
  g_autofree gchar *b = gv_test_scratch_dir ();
  g_autofree gchar *b_out = train_from ("[train]\nunet_lr=0\n", 0, b, a_out, &error);
  g_assert_no_error (error);
  g_autofree gchar *work = g_build_filename (b, "work", NULL);
  g_autoptr (GBytes) csv = file_bytes (work, "loss.csv");
  g_auto (GStrv) rows = g_strsplit (g_bytes_get_data (csv, NULL), "\n", -1);
  for (gint i = 1; rows[i] && rows[i][0]; i++)
    g_assert_true (g_str_has_prefix (rows[i], "unet,"));
  g_auto (GStrv) losses = unet_losses (b);
  g_assert_cmpuint (g_strv_length (losses), ==, 4);
  const gchar *kept[] = {
    "tokenizer/vocab.json", "text_encoder/model.safetensors",
    "image_encoder/model.safetensors", "vae/diffusion_pytorch_model.safetensors",
    "vae/config.json", "unet/diffusion_pytorch_model.safetensors",
  };
  assert_same_files (a_out, b_out, kept, G_N_ELEMENTS (kept));
  g_autoptr (GBytes) card = file_bytes (b_out, "README.md");
  g_assert_nonnull (strstr (g_bytes_get_data (card, NULL), "Continued from the checkpoint `"));

  g_autofree gchar *c = gv_test_scratch_dir ();
  g_assert_null (train_from (NULL, 0, c, work, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "not a checkpoint folder"));
  g_clear_error (&error);
}

/* unet_examples: a set as large as the stage's examples trains on exactly the examples of an
 * unset one, through the cache (the same losses step by step); a set of one batch repeats its
 * examples with new noise each step (other losses), and a run stopped in the middle of the
 * UNet stage resumes to the same losses as an unstopped one (its caches read back from
 * WORK/unet-cache.safetensors) */
static void
test_unet_example_set (void)
{
  GError *error = NULL;
  const gchar *a = finished_run (NULL), *c = finished_run ("[train]\nunet_examples=2\n");
  g_autofree gchar *b = gv_test_scratch_dir (), *d = gv_test_scratch_dir ();
  g_autofree gchar *whole_set = train ("[train]\nunet_examples=8\n", 0, b, &error);
  g_assert_no_error (error);
  g_auto (GStrv) la = unet_losses (a), lb = unet_losses (b);
  g_assert_cmpuint (g_strv_length (la), ==, 4);
  g_assert_true (g_strv_equal ((const gchar *const *) la, (const gchar *const *) lb));

  g_autofree gchar *one_batch = g_build_filename (c, "out", NULL);
  g_auto (GStrv) lc = unet_losses (c);
  g_assert_cmpstr (lc[0], ==, la[0]);     /* the first step: the first batch, first pass */
  for (gint i = 1; i < 4; i++)
    g_assert_cmpstr (lc[i], !=, la[i]);
  g_assert_null (train ("[train]\nunet_examples=2\n", 2, d, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_CANCELLED);
  g_clear_error (&error);
  g_autofree gchar *resumed = train ("[train]\nunet_examples=2\n", 0, d, &error);
  g_assert_no_error (error);
  g_auto (GStrv) ld = unet_losses (d);
  g_assert_true (g_strv_equal ((const gchar *const *) lc, (const gchar *const *) ld));
  g_autoptr (GBytes) x = file_bytes (one_batch, "unet/diffusion_pytorch_model.safetensors");
  g_autoptr (GBytes) y = file_bytes (resumed, "unet/diffusion_pytorch_model.safetensors");
  g_assert_true (g_bytes_equal (x, y));
}


/* The caches a stopped UNet stage leaves are what its resumed run uses: doubled latents in the
 * file give other losses after the stop; the file goes when the stage ends; a stage that
 * starts afresh ignores (and drops) a file it finds. */
static void
test_unet_cache_file (void)
{
  const gchar *recipe = "[train]\nunet_examples=2\n";
  GError *error = NULL;
  const gchar *a = finished_run (recipe);
  g_autofree gchar *b = gv_test_scratch_dir ();
  g_autofree gchar *cache_a = g_build_filename (a, "work", "unet-cache.safetensors", NULL);
  g_assert_false (g_file_test (cache_a, G_FILE_TEST_EXISTS));

  g_assert_null (train (recipe, 2, b, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_CANCELLED);
  g_clear_error (&error);
  g_autofree gchar *path = g_build_filename (b, "work", "unet-cache.safetensors", NULL);
  g_autoptr (GvSafetensors) st = gv_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_autoptr (GvStWriter) w = gv_st_writer_new ();
  const gchar *names[] = { "latents", "latents.slots", "texts", "texts.slots" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    const GvStTensor *t = gv_safetensors_lookup (st, names[i]);
    g_assert_nonnull (t);
    g_autofree gfloat *v = gv_safetensors_read_f32 (st, t);
    if (i == 1)     /* both examples of the set, seen in the first step */
      g_assert_cmpint (t->shape[0], ==, 2);
    for (gint64 k = 0; i == 0 && k < t->numel; k++)
      v[k] *= 2;
    gv_st_writer_add (w, names[i], t->ndim, t->shape, v);
  }
  g_clear_pointer (&st, gv_safetensors_close);
  g_assert_true (gv_st_writer_write (w, path, &error));
  g_autofree gchar *resumed = train (recipe, 0, b, &error);
  g_assert_no_error (error);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_auto (GStrv) la = unet_losses (a), lb = unet_losses (b);
  g_assert_cmpuint (g_strv_length (la), ==, 4);
  g_assert_cmpstr (la[1], ==, lb[1]);
  g_assert_cmpstr (la[2], !=, lb[2]);
  g_assert_cmpstr (la[3], !=, lb[3]);

  /* the same doubled file in a work folder whose UNet stage has not begun */
  g_autofree gchar *c = gv_test_scratch_dir ();
  g_autofree gchar *work_c = g_build_filename (c, "work", NULL);
  g_assert_cmpint (g_mkdir_with_parents (work_c, 0755), ==, 0);
  g_autofree gchar *path_c = g_build_filename (work_c, "unet-cache.safetensors", NULL);
  g_assert_true (gv_st_writer_write (w, path_c, &error));
  g_autofree gchar *fresh = train (recipe, 0, c, &error);
  g_assert_no_error (error);
  g_auto (GStrv) lc = unet_losses (c);
  g_assert_true (g_strv_equal ((const gchar *const *) la, (const gchar *const *) lc));
}

/* unet_ema: the same training (losses) as without, the model folder gets the moving average
 * of the checkpoint (not the last weights), and a run stopped mid-stage resumes to the same
 * bytes */
static void
test_unet_ema (void)
{
  GError *error = NULL;
  const gchar *a = finished_run (NULL);
  g_autofree gchar *b = gv_test_scratch_dir (), *c = gv_test_scratch_dir ();
  g_autofree gchar *plain = g_build_filename (a, "out", NULL);
  g_autofree gchar *ema = train ("[train]\nunet_ema=0.5\n", 0, b, &error);
  g_assert_no_error (error);
  g_auto (GStrv) la = unet_losses (a), lb = unet_losses (b);
  g_assert_true (g_strv_equal ((const gchar *const *) la, (const gchar *const *) lb));

  const gchar *rel = "unet/diffusion_pytorch_model.safetensors";
  g_autofree gchar *work = g_build_filename (b, "work", NULL);
  g_autofree gchar *exported = g_build_filename (work, "model", rel, NULL);
  g_autofree gchar *state = g_build_filename (work, "unet-4.safetensors", NULL);
  g_autoptr (GvSafetensors) x = gv_safetensors_open (exported, &error);
  g_autoptr (GvSafetensors) st = gv_safetensors_open (state, &error);
  g_assert_no_error (error);
  guint differ = 0;
  for (guint i = 0; i < gv_safetensors_get_n_tensors (x); i++) {
    const GvStTensor *t = gv_safetensors_get_nth (x, i);
    g_autofree gchar *avg_name = g_strconcat (t->name, ".ema", NULL);
    const GvStTensor *avg = gv_safetensors_lookup (st, avg_name);
    const GvStTensor *last = gv_safetensors_lookup (st, t->name);
    g_assert_nonnull (avg);
    g_assert_nonnull (last);
    g_autofree gfloat *v = gv_safetensors_read_f32 (x, t);
    g_autofree gfloat *va = gv_safetensors_read_f32 (st, avg);
    g_autofree gfloat *vl = gv_safetensors_read_f32 (st, last);
    g_assert_cmpmem (v, t->numel * sizeof (gfloat), va, avg->numel * sizeof (gfloat));
    differ += memcmp (v, vl, t->numel * sizeof (gfloat)) != 0;
  }
  g_assert_cmpuint (differ, >, 0);
  g_autoptr (GBytes) p = file_bytes (plain, rel);
  g_autoptr (GBytes) e = file_bytes (ema, rel);
  g_assert_false (g_bytes_equal (p, e));

  g_assert_null (train ("[train]\nunet_ema=0.5\n", 2, c, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_CANCELLED);
  g_clear_error (&error);
  g_autofree gchar *resumed = train ("[train]\nunet_ema=0.5\n", 0, c, &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) r = file_bytes (resumed, rel);
  g_assert_true (g_bytes_equal (e, r));
}
/* unet_crop: the crop's corner keeps it inside the latents and the object's centre inside it,
 * a quarter of the crop from its edges where the latents allow, and varies between passes;
 * the crops of a batch are its latents' windows */
static void
test_unet_crop_origin (void)
{
  const gint size = 128, lat = 32, crop = 16;
  GError *error = NULL;
  g_autoptr (GvTrainRecipe) r = gv_train_recipe_new_from_data ("[train]\nunet_crop=16\n",
      &error);
  g_assert_no_error (error);
  gint corners = 0, seen[lat][lat];
  memset (seen, 0, sizeof seen);
  for (gint e = 0; e < 40; e++) {
    GvTrainExample ex;
    g_assert_true (gv_train_example_init (&ex, 1, GV_TRAIN_STREAM_UNET, e, size, size, &error));
    gdouble sum = 0, sx = 0, sy = 0;
    for (gint y = 0; y < size; y++)
      for (gint x = 0; x < size; x++) {
        sum += ex.mask[y * size + x];
        sx += ex.mask[y * size + x] * (x + 0.5) * lat / size;
        sy += ex.mask[y * size + x] * (y + 0.5) * lat / size;
      }
    g_assert_cmpfloat (sum, >, 0);
    gdouble c[2] = { sx / sum, sy / sum };
    for (gint pass = 0; pass < 8; pass++) {
      gint o[2];
      gv_train_unet_crop_origin (r, (guint64) (e + 1000 * pass), ex.mask, size, lat, &o[0],
          &o[1]);
      for (gint a = 0; a < 2; a++) {
        g_assert_cmpint (o[a], >=, 0);
        g_assert_cmpint (o[a] + crop, <=, lat);
        /* the quarter margin, unless a border of the latents is nearer */
        if (o[a] > 0)
          g_assert_cmpfloat (c[a] - o[a], >=, crop / 4.0 - 1);
        if (o[a] + crop < lat)
          g_assert_cmpfloat (o[a] + crop - c[a], >=, crop / 4.0 - 1);
        g_assert_cmpfloat (c[a], >, o[a]);
        g_assert_cmpfloat (c[a], <, o[a] + crop);
      }
      corners += !seen[o[1]][o[0]]++;
    }
    gv_train_example_clear (&ex);
  }
  g_assert_cmpint (corners, >, 60);    /* 320 draws over many corners, not a fixed one */

  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  const gint n = 3, ch = 4, l = 8, k = 4;
  g_autofree gfloat *v = gv_test_random ((gsize) n * ch * l * l, 5, -1.0f, 1.0f);
  GvTensor *z0 = GV_TEST_TENSOR (v, n, ch, l, l);
  const gint ox[] = { 0, 4, 2 }, oy[] = { 3, 0, 4 };
  GvTensor *z = gv_train_unet_crop_latents (cmd, z0, ox, oy, k);
  gv_test_finish (cmd);
  g_assert_cmpint (z->shape[0], ==, n);
  g_assert_cmpint (z->shape[2], ==, k);
  g_assert_cmpint (z->shape[3], ==, k);
  g_autofree gfloat *got = gv_test_download (z);
  for (gint b = 0; b < n; b++)
    for (gint c2 = 0; c2 < ch; c2++)
      for (gint y = 0; y < k; y++)
        for (gint x = 0; x < k; x++)
          g_assert_cmpfloat (got[((b * ch + c2) * k + y) * k + x], ==,
              v[((b * ch + c2) * l + oy[b] + y) * l + ox[b] + x]);
  gv_tensor_unref (z);
  gv_tensor_unref (z0);
  gv_cmd_free (cmd);
}

/* unet_crop on the tiny recipe: the crop steps train on other latents than whole frames (other
 * losses), the whole steps after them run at unet_whole_batch, a run stopped in the crop
 * phase resumes to the same bytes, and a crop the UNet cannot halve is refused */
static void
test_unet_crops (void)
{
  GError *error = NULL;
  const gchar *a = finished_run (NULL);
  g_autofree gchar *b = gv_test_scratch_dir ();
  g_autofree gchar *c = gv_test_scratch_dir (), *d = gv_test_scratch_dir ();
  g_autofree gchar *plain = g_build_filename (a, "out", NULL);
  static const gchar crops[] = "[train]\nunet_crop=4\nunet_whole_steps=2\nunet_whole_batch=3\n";
  g_autofree gchar *cropped = train (crops, 0, b, &error);
  g_assert_no_error (error);
  g_auto (GStrv) la = unet_losses (a), lb = unet_losses (b);
  g_assert_cmpuint (g_strv_length (lb), ==, 4);
  for (gint i = 0; i < 4; i++)
    g_assert_cmpstr (la[i], !=, lb[i]);
  /* 2 crop steps of unet_batch 2, 2 whole steps of 3: the stage drew 10 examples */
  g_autofree gchar *work = g_build_filename (b, "work", NULL);
  g_autoptr (GBytes) state = file_bytes (work, "unet.state.json");
  g_assert_nonnull (strstr (g_bytes_get_data (state, NULL), "\"sampler\": 10,"));
  g_assert_null (train (crops, 1, c, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_CANCELLED);
  g_clear_error (&error);
  g_autofree gchar *resumed = train (crops, 0, c, &error);
  g_assert_no_error (error);
  const gchar *rel = "unet/diffusion_pytorch_model.safetensors";
  g_autoptr (GBytes) x = file_bytes (cropped, rel);
  g_autoptr (GBytes) y = file_bytes (resumed, rel);
  g_assert_true (g_bytes_equal (x, y));

  g_assert_null (train ("[train]\nunet_crop=3\n", 0, d, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "unet_crop 3 is not a multiple of 2"));
  g_clear_error (&error);
  g_assert_null (gv_train_recipe_new_from_data ("[train]\nunet_steps=4\nunet_whole_steps=5\n",
          &error));
  g_assert_nonnull (strstr (error->message, "unet_whole_steps 5 is more than unet_steps 4"));
  g_clear_error (&error);
}

static void
test_export_fp16 (void)
{
  GError *error = NULL;
  g_autofree gchar *scratch = gv_test_scratch_dir ();
  g_autofree gchar *src = g_build_filename (scratch, "w.safetensors", NULL);
  g_autofree gchar *dst = g_build_filename (scratch, "h.safetensors", NULL);
  enum { N = 4099 };
  g_autofree gfloat *v = gv_test_random (N, 11, -2.0f, 2.0f);
  /* the corners of the format: halfway cases, subnormals, overflow, signed zero */
  static const gfloat special[] = { 0.0f, -0.0f, 1.0f, 65504.0f, 65520.0f, 1e6f, -1e6f,
    6.1e-5f, 5.96e-8f, 2.98e-8f, 2.99e-8f, 1e-10f, 1.00048828125f, 1.00146484375f,
    -3.0517578e-5f, 0.33333334f };
  memcpy (v, special, sizeof special);
  for (gint i = G_N_ELEMENTS (special); i < 200; i++)
    v[i] *= (gfloat) pow (2.0, (i % 40) - 30);   /* every exponent of the half range */
  g_autoptr (GvStWriter) w = gv_st_writer_new ();
  gv_st_writer_add (w, "a.weight", 2, (const gint64[]) { 1, N }, v);
  g_assert_true (gv_st_writer_write (w, src, &error));
  g_assert_true (gv_train_export_weights (src, dst, &error));
  g_assert_no_error (error);

  g_autoptr (GvSafetensors) st = gv_safetensors_open (dst, &error);
  g_assert_no_error (error);
  const GvStTensor *t = gv_safetensors_lookup (st, "a.weight");
  g_assert_nonnull (t);
  g_assert_cmpstr (gv_st_dtype_name (t->dtype), ==, "F16");
  g_autofree gfloat *back = gv_safetensors_read_f32 (st, t);
  for (gint i = 0; i < N; i++) {
    gfloat want = (gfloat) (_Float16) v[i];   /* the compiler's round to nearest even */
    g_assert_cmpmem (&back[i], 4, &want, 4);
  }
}

/* --check-vae: the golden checkpoint's random VAE reconstructs badly (but finitely); a folder
 * without a VAE is an error that says so */
static void
test_vae_check (void)
{
  GError *error = NULL;
  g_autofree gchar *golden = gv_test_golden_path ("checkpoint");
  GvVaeCheck c;
  g_assert_true (gv_train_vae_check_folder (golden, 4, &c, &error));
  g_assert_no_error (error);
  g_assert_cmpint (c.frames, ==, 4);
  gdouble v[] = { c.psnr, c.interior_psnr, c.border_psnr };
  /* a random VAE shifts the flat colours too */
  g_assert_true (isfinite (c.flat_colour_error));
  g_assert_cmpfloat (c.flat_colour_error, >, 10.0);
  for (guint i = 0; i < G_N_ELEMENTS (v); i++) {
    g_assert_true (isfinite (v[i]));
    g_assert_cmpfloat (v[i], >, 0.0);
    g_assert_cmpfloat (v[i], <, 15.0);
  }
  g_autofree gchar *text = gv_train_vae_check_describe (&c);
  g_assert_true (g_str_has_prefix (text, "whole-frame reconstruction: PSNR "));

  g_autofree gchar *empty = gv_test_scratch_dir ();
  g_assert_false (gv_train_vae_check_folder (empty, 4, &c, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "no VAE"));
  g_clear_error (&error);
}

/* classifier-free guidance's unconditional branch (empty prompt and zero class labels
 * together) is what uncond_dropout adds: independent drops of 10% each show it 1% of the time */
static void
test_unet_drops (void)
{
  const gint n = 20000;
  for (gint with_uncond = 0; with_uncond < 2; with_uncond++) {
    GError *error = NULL;
    g_autoptr (GvTrainRecipe) r = gv_train_recipe_new_from_data (with_uncond ?
        "[train]\n" : "[train]\nuncond_dropout=0\n", &error);
    g_assert_no_error (error);
    gint text = 0, image = 0, both = 0;
    for (gint i = 0; i < n; i++) {
      gboolean t, im;
      gv_train_unet_drops (r, (guint64) i, &t, &im);
      text += t;
      image += im;
      both += t && im;
    }
    /* expected shares: 0.1 + 0.9 x p_uncond each, both 0.01 or 0.109; +-5 sigma */
    gdouble p_each = with_uncond ? 0.19 : 0.1, p_both = with_uncond ? 0.109 : 0.01;
    g_assert_cmpfloat (fabs ((gdouble) text / n - p_each), <, 5 * sqrt (p_each / n));
    g_assert_cmpfloat (fabs ((gdouble) image / n - p_each), <, 5 * sqrt (p_each / n));
    g_assert_cmpfloat (fabs ((gdouble) both / n - p_both), <, 5 * sqrt (p_both / n));
  }
}

/* unet_image_noise_max bounds the image embedding's noise level; the default draws the whole
 * schedule, as before the key existed (the draws of a run do not change with it) */
static void
test_unet_image_level (void)
{
  const gint n = 20000, levels = 1000;
  for (gint max = 0; max < 2; max++) {
    GError *error = NULL;
    g_autoptr (GvTrainRecipe) r = gv_train_recipe_new_from_data (max ?
        "[train]\nunet_image_noise_max=249\n" : "[train]\n", &error);
    g_assert_no_error (error);
    gint top = max ? 249 : levels - 1, highest = 0, lowest = levels;
    gdouble sum = 0;
    for (gint i = 0; i < n; i++) {
      gint level = gv_train_unet_image_level (r, (guint64) i, levels);
      g_assert_cmpint (level, >=, 0);
      g_assert_cmpint (level, <=, top);
      highest = MAX (highest, level);
      lowest = MIN (lowest, level);
      sum += level;
    }
    g_assert_cmpint (lowest, ==, 0);
    g_assert_cmpint (highest, ==, top);
    /* uniform: mean top / 2, standard deviation (top + 1) / sqrt (12); +-5 sigma */
    g_assert_cmpfloat (fabs (sum / n - top / 2.0), <, 5 * (top + 1) / sqrt (12.0 * n));
  }
  /* a schedule shorter than the bound: its own levels */
  g_autoptr (GvTrainRecipe) r = gv_train_recipe_new_from_data ("[train]\n", NULL);
  for (gint i = 0; i < 1000; i++)
    g_assert_cmpint (gv_train_unet_image_level (r, (guint64) i, 10), <, 10);
}

/* unet_snr_gamma: min (SNR, gamma) on the x0 error, expressed on each prediction type's own
 * error; a run with it reports the same first loss (the plain MSE, before any update) and then
 * follows other gradients */
static void
test_unet_snr_weight (void)
{
  /* SNR 1 (alphas_cumprod 0.5): below gamma 5, x0 weight 1 */
  g_assert_cmpfloat (fabs (gv_train_unet_snr_weight (GV_PREDICT_V, 0.5, 5) - 0.5), <, 1e-12);
  g_assert_cmpfloat (fabs (gv_train_unet_snr_weight (GV_PREDICT_EPSILON, 0.5, 5) - 1), <, 1e-12);
  g_assert_cmpfloat (fabs (gv_train_unet_snr_weight (GV_PREDICT_SAMPLE, 0.5, 5) - 1), <, 1e-12);
  /* SNR 99: clamped at gamma */
  g_assert_cmpfloat (fabs (gv_train_unet_snr_weight (GV_PREDICT_V, 0.99, 5) - 0.05), <, 1e-9);
  g_assert_cmpfloat (fabs (gv_train_unet_snr_weight (GV_PREDICT_EPSILON, 0.99, 5) - 5.0 / 99),
      <, 1e-9);
  g_assert_cmpfloat (fabs (gv_train_unet_snr_weight (GV_PREDICT_SAMPLE, 0.99, 5) - 5), <, 1e-9);
  /* SNR 0.01: the weight of v falls with the SNR, epsilon keeps 1 */
  g_assert_cmpfloat (fabs (gv_train_unet_snr_weight (GV_PREDICT_V, 0.01 / 1.01, 5) - 0.01 / 1.01),
      <, 1e-9);
  g_assert_cmpfloat (fabs (gv_train_unet_snr_weight (GV_PREDICT_EPSILON, 1e-4, 5) - 1), <, 1e-9);
  g_assert_cmpfloat (gv_train_unet_snr_weight (GV_PREDICT_V, 0.99, 0), ==, 1.0);

  GError *error = NULL;
  const gchar *a = finished_run (NULL);
  g_autofree gchar *b = gv_test_scratch_dir ();
  g_autofree gchar *snr = train ("[train]\nunet_snr_gamma=5\n", 0, b, &error);
  g_assert_no_error (error);
  g_auto (GStrv) la = unet_losses (a), lb = unet_losses (b);
  g_assert_cmpuint (g_strv_length (la), ==, g_strv_length (lb));
  g_assert_cmpuint (g_strv_length (la), >, 2);
  g_assert_cmpstr (la[0], ==, lb[0]);
  for (guint i = 1; la[i] != NULL; i++)
    g_assert_cmpstr (la[i], !=, lb[i]);
}

/* unet_object_weight: the loss weights of an example's latent pixels follow its object's mask,
 * W times as much on a pixel the object covers as on the background, mean 1 */
static void
test_unet_loss_weights (void)
{
  const gint size = 128, lat = 32;
  GError *error = NULL;
  GvTrainExample ex;
  g_assert_true (gv_train_example_init (&ex, 1, GV_TRAIN_STREAM_UNET, 9, size, size, &error));
  g_assert_no_error (error);
  gfloat w[32 * 32];
  for (gint with = 0; with < 2; with++) {
    gdouble weight = with ? 4.0 : 1.0;
    gv_train_unet_loss_weights (ex.mask, size, lat, lat, weight, w);
    gdouble sum = 0, lo = G_MAXDOUBLE, hi = 0;
    gint covered = 0, empty = 0;
    for (gint y = 0; y < lat; y++)
      for (gint x = 0; x < lat; x++) {
        gint cover = 0;
        for (gint dy = 0; dy < 4; dy++)
          for (gint dx = 0; dx < 4; dx++)
            cover += ex.mask[(y * 4 + dy) * size + x * 4 + dx];
        gfloat v = w[y * lat + x];
        sum += v;
        if (cover == 16 * 255) {
          covered++;
          hi = v;
        } else if (cover == 0) {
          empty++;
          lo = v;
        }
      }
    g_assert_cmpint (covered, >, 4);
    g_assert_cmpint (empty, >, 4);
    g_assert_cmpfloat (fabs (sum / (lat * lat) - 1.0), <, 1e-5);
    g_assert_cmpfloat (fabs (hi / lo - weight), <, 1e-4);
  }
  gv_train_example_clear (&ex);

  /* the built-in recipe trains on the plain MSE unless it says otherwise */
  g_autoptr (GvTrainRecipe) r = gv_train_recipe_new_from_data ("[train]\n", &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (r->unet_object_weight, ==, 1.0);
  g_autoptr (GvTrainRecipe) r4 = gv_train_recipe_new_from_data (
      "[train]\nunet_object_weight=4\n", &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (r4->unet_object_weight, ==, 4.0);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/train/export-fp16", test_export_fp16);
  g_test_add_func ("/train/end-to-end", test_end_to_end);
  g_test_add_func ("/train/vae-check", test_vae_check);
  g_test_add_func ("/train/resume-matches", test_resume_matches);
  g_test_add_func ("/train/from-checkpoint", test_from_checkpoint);
  g_test_add_func ("/train/unet-drops", test_unet_drops);
  g_test_add_func ("/train/unet-image-level", test_unet_image_level);
  g_test_add_func ("/train/unet-loss-weights", test_unet_loss_weights);
  g_test_add_func ("/train/unet-snr-weight", test_unet_snr_weight);
  g_test_add_func ("/train/unet-example-set", test_unet_example_set);
  g_test_add_func ("/train/unet-cache-file", test_unet_cache_file);
  g_test_add_func ("/train/unet-ema", test_unet_ema);
  g_test_add_func ("/train/unet-crop-origin", test_unet_crop_origin);
  g_test_add_func ("/train/unet-crops", test_unet_crops);
  return g_test_run ();
}
