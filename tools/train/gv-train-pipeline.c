#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include <json-glib/json-glib.h>

#include "gv-png.h"
#include "gv-world-caption.h"
#include "models/gv-json.h"
#include "models/gv-tokenizer-build.h"
#include "gv-random-checkpoint.h"
#include "gv-train-calibrate.h"
#include "gv-train-card.h"
#include "gv-train-clip.h"
#include "gv-train-export.h"
#include "gv-train-pipeline.h"
#include "gv-train-plot.h"
#include "gv-train-run.h"
#include "gv-train-samples.h"
#include "gv-train-unet.h"
#include "gv-train-vae.h"
#include "gv-train-vae-check.h"

#define SAMPLE_STEPS 25
#define SAMPLE_GUIDANCE 3.0f

/* Stage 1: a tokenizer whose every grammar word is one token, into @tokenizer; the text
 * encoder's config keys that follow from it (vocabulary size, special token ids) into @keys */
static gboolean
build_tokenizer (const gchar *tokenizer, GArray *keys, GError **error)
{
  g_auto (GStrv) words = gv_world_caption_words ();
  if (!gv_tokenizer_build (tokenizer, (const gchar * const *) words, 77, error))
    return FALSE;
  g_autofree gchar *vocab = g_build_filename (tokenizer, "vocab.json", NULL);
  JsonObject *o = gv_json_load_object (vocab, error);
  if (o == NULL)
    return FALSE;
  gint n = (gint) json_object_get_size (o);
  gint bos = (gint) json_object_get_int_member_with_default (o, "<|startoftext|>", -1);
  gint eos = (gint) json_object_get_int_member_with_default (o, "<|endoftext|>", -1);
  json_object_unref (o);
  const gchar *names[] = { "vocab_size", "bos_token_id", "eos_token_id", "pad_token_id" };
  gint values[] = { n, bos, eos, 0 };   /* SD 2's pad is "!", id 0 */
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    GvConfigKey k = { "text_encoder/config.json", names[i], g_strdup_printf ("%d", values[i]) };
    g_array_append_val (keys, k);
  }
  return TRUE;
}

/* Replaces the template's tokenizer files in @model with those of @tokenizer */
static gboolean
install_tokenizer (const gchar *tokenizer, const gchar *model, GError **error)
{
  static const gchar *files[] = { "vocab.json", "merges.txt", "special_tokens_map.json",
    "tokenizer_config.json" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
    g_autofree gchar *src = g_build_filename (tokenizer, files[i], NULL);
    g_autofree gchar *dst = g_build_filename (model, "tokenizer", files[i], NULL);
    g_autofree gchar *text = NULL;
    gsize len;
    if (!g_file_get_contents (src, &text, &len, error) ||
        !g_file_set_contents (dst, text, (gssize) len, error))
      return FALSE;
  }
  return TRUE;
}

/* @tmp, a checkpoint written whole, renamed to the run's model folder @folder */
static gboolean
move_into_place (const gchar *tmp, const gchar *folder, GError **error)
{
  if (g_rename (tmp, folder) != 0) {
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "%s: cannot rename: %s",
        tmp, g_strerror (errno));
    return FALSE;
  }
  return TRUE;
}

/* --from: the checkpoint @from as the run's start, every stage before the UNet's done */
static gboolean
imported_checkpoint (GvTrainRun *run, const gchar *from, GError **error)
{
  const gchar *folder = gv_train_run_get_model_folder (run);
  g_autofree gchar *tmp = g_strconcat (folder, ".part", NULL);
  g_autofree gchar *unet = g_build_filename (from, "unet", "config.json", NULL);
  if (!g_file_test (unet, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "--from %s: not a checkpoint folder (no "
        "unet/config.json)", from);
    return FALSE;
  }
  gv_random_checkpoint_remove (tmp);
  if (!gv_train_import (from, tmp, error))
    return FALSE;
  for (GvTrainStage s = GV_STAGE_TOKENIZER; s < GV_STAGE_UNET; s++)
    if (!gv_train_run_finish_stage (run, s, error))
      return FALSE;
  return move_into_place (tmp, folder, error);
}

/* The tokenizer and the recipe's random checkpoint, written once (through a temporary
 * folder) */
static gboolean
initial_checkpoint (GvTrainRun *run, const GvTrainOptions *opts, GError **error)
{
  const gchar *folder = gv_train_run_get_model_folder (run);
  if (g_file_test (folder, G_FILE_TEST_IS_DIR))
    return TRUE;
  if (opts->from_dir)
    return imported_checkpoint (run, opts->from_dir, error);
  GvTrainRecipe *r = gv_train_run_get_recipe (run);
  g_autofree gchar *tmp = g_strconcat (folder, ".part", NULL);
  g_autofree gchar *tokenizer = g_build_filename (gv_train_run_get_work (run), "tokenizer",
      NULL);
  GArray *keys = g_array_new (FALSE, FALSE, sizeof (GvConfigKey));
  g_array_append_vals (keys, r->keys, r->n_keys);
  gv_random_checkpoint_remove (tmp);
  gboolean ok = build_tokenizer (tokenizer, keys, error) &&
      gv_random_checkpoint_write (opts->template_dir, tmp, (GvConfigKey *) keys->data,
          (gint) keys->len, r->seed, NULL, error) &&
      install_tokenizer (tokenizer, tmp, error);
  for (guint i = r->n_keys; i < keys->len; i++)
    g_free ((gchar *) g_array_index (keys, GvConfigKey, i).value);
  g_array_unref (keys);
  if (!ok || !gv_train_run_finish_stage (run, GV_STAGE_TOKENIZER, error))
    return FALSE;
  return move_into_place (tmp, folder, error);
}

/* the normaliser's statistics of the (trained) image encoder */
static gboolean
calibrate_normalizer (GvTrainRun *run, GvDevice *dev, GError **error)
{
  const gchar *folder = gv_train_run_get_model_folder (run);
  g_autoptr (GvModel) model = gv_model_load (dev, folder, error);
  return model != NULL &&
      gv_train_calibrate_normalizer (model, folder, gv_train_run_get_recipe (run), error);
}

static gboolean
calibrate_latents (GvTrainRun *run, GvDevice *dev, GError **error)
{
  const gchar *folder = gv_train_run_get_model_folder (run);
  g_autoptr (GvModel) model = gv_model_load (dev, folder, error);
  gdouble factor;
  if (model == NULL ||
      !gv_train_calibrate_latents (model, folder, gv_train_run_get_recipe (run), &factor,
          error))
    return FALSE;
  g_printerr ("[vae] scaling_factor = %.6g\n", factor);
  return TRUE;
}

static gboolean
stage (GvTrainRun *run, GvDevice *dev, GvTrainStage s, GError **error)
{
  if (gv_train_run_stage_done (run, s))
    return TRUE;
  gboolean ok = TRUE;
  switch (s) {
    case GV_STAGE_TOKENIZER:
      break;      /* with the initial checkpoint (the text encoder's size follows from it) */
    case GV_STAGE_CLIP:
      ok = gv_train_clip (run, dev, error) && calibrate_normalizer (run, dev, error);
      break;
    case GV_STAGE_VAE:
      ok = gv_train_vae (run, dev, error) && calibrate_latents (run, dev, error);
      break;
    case GV_STAGE_UNET:
      ok = gv_train_unet (run, dev, error);
      break;
    default:
      g_assert_not_reached ();
  }
  return ok && gv_train_run_finish_stage (run, s, error);
}

static gboolean
write_curves (GvTrainRun *run, const gchar *path, GError **error)
{
  GvPlotPanel panels[GV_N_STAGES];
  gint n = 0;
  for (gint s = GV_STAGE_CLIP; s < GV_N_STAGES; s++) {
    gint *steps;
    gfloat *losses;
    gint k = gv_train_run_get_losses (run, s, &steps, &losses);
    if (k == 0) {
      g_free (steps);
      g_free (losses);
      continue;
    }
    panels[n++] = (GvPlotPanel) { gv_train_stage_name (s), steps, losses, k };
  }
  gint width;
  g_autofree guint8 *rgb = gv_plot_losses (panels, n, 320, 220, &width);
  for (gint i = 0; i < n; i++) {
    g_free ((gpointer) panels[i].steps);
    g_free ((gpointer) panels[i].losses);
  }
  return gv_png_write (path, rgb, width, 220, 3, error);
}

gboolean
gv_train_pipeline_run (GvTrainRecipe *recipe, const GvTrainOptions *opts, GError **error)
{
  g_autofree gchar *recipe_path = g_build_filename (opts->work, "recipe.ini", NULL);
  if (!opts->resume && g_file_test (recipe_path, G_FILE_TEST_EXISTS)) {
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "%s holds a run already (--no-resume)",
        opts->work);
    return FALSE;
  }
  GvTrainRun *run = gv_train_run_open (opts->work, recipe, opts->checkpoint_seconds,
      opts->quiet, error);
  if (run == NULL)
    return FALSE;
  gv_train_run_set_stop_after (run, opts->stop_after);
  GvDevice *dev = gv_device_get_shared (0, error);
  gint64 start = g_get_monotonic_time ();
  gboolean ok = dev != NULL && initial_checkpoint (run, opts, error);
  for (gint s = 0; ok && s < GV_N_STAGES; s++)
    ok = stage (run, dev, s, error);

  g_autofree gchar *curves = g_build_filename (opts->work, "curves.png", NULL);
  g_autofree gchar *grid = g_build_filename (opts->work, "samples.png", NULL);
  guint64 bytes = 0;
  ok = ok && write_curves (run, curves, error) &&
      gv_train_export (gv_train_run_get_model_folder (run), opts->out, &bytes, error) &&
      gv_train_export_generation_config (opts->out, recipe->guidance_scale, error);
  /* the exported (fp16) folder, as the elements load it */
  GvModel *model = ok ? gv_model_load (dev, opts->out, error) : NULL;
  ok = model != NULL;
  if (ok && opts->samples > 0)
    ok = gv_train_samples_write (model, recipe->seed, recipe->image_size, opts->samples,
        SAMPLE_STEPS, SAMPLE_GUIDANCE, grid, error);
  GvVaeCheck vae_check;
  ok = ok && gv_train_vae_check (model, recipe->image_size, GV_VAE_CHECK_FRAMES, &vae_check,
      error);
  g_clear_pointer (&model, gv_model_unref);
  if (ok) {
    g_autofree gchar *line = gv_train_vae_check_describe (&vae_check);
    g_printerr ("[vae] %s\n", line);
    GvTrainCard card = {
      .command = opts->command, .recipe = recipe, .run = run, .bytes = bytes,
      .session_seconds = (g_get_monotonic_time () - start) / 1e6,
      .curves = curves, .samples = opts->samples > 0 ? grid : NULL,
      .vae_check = &vae_check, .from_dir = opts->from_dir,
    };
    ok = gv_train_card_write (&card, opts->out, error);
  }
  if (ok && !opts->quiet)
    g_printerr ("done: %s (%.2f MB)\n", opts->out, bytes / 1e6);
  if (dev != NULL)
    gv_device_unref (dev);
  gv_train_run_free (run);
  return ok;
}
