/* gv-train-model: trains a whole small SD-2.1-unCLIP checkpoint from scratch on the synthetic
 * world, on the Vulkan engine, and writes it in the diffusers layout (models/genvideo-shapes
 * is its output; its README has the exact command). Stages: tokenizer, CLIP text and vision
 * encoders, image normaliser statistics, VAE, latent scaling factor, UNet; each resumable from
 * the work folder (gv-train-run.h). */
#include <locale.h>
#include <stdlib.h>

#include <gst/gst.h>

#include "gv-train-pipeline.h"
#include "gv-train-vae-check.h"

static gchar *out_dir, *work_dir, *recipe_path, *template_dir, *check_vae, *from_dir;
static gint64 seed = -1;
static gdouble budget = 1.0, checkpoint_minutes = 5.0;
static gchar **stage_steps;
static gboolean no_resume, quiet;
static gint samples = 4, stop_after;

static GOptionEntry entries[] = {
  { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out_dir,
    "The trained model folder (diffusers layout, fp16 weights)", "DIR" },
  { "work", 'w', 0, G_OPTION_ARG_FILENAME, &work_dir,
    "Checkpoints, loss log, curves and samples (a run with checkpoints there resumes)", "DIR" },
  { "recipe", 'r', 0, G_OPTION_ARG_FILENAME, &recipe_path,
    "Recipe file: its keys replace the built-in recipe's", "FILE" },
  { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Seed (default: the recipe's)", "N" },
  { "budget", 'b', 0, G_OPTION_ARG_DOUBLE, &budget,
    "Scale every stage's steps by this factor (default 1)", "F" },
  { "steps", 0, 0, G_OPTION_ARG_STRING_ARRAY, &stage_steps,
    "Steps of one stage, e.g. --steps unet=2000 (repeatable)", "STAGE=N" },
  { "checkpoint-minutes", 0, 0, G_OPTION_ARG_DOUBLE, &checkpoint_minutes,
    "Minutes between checkpoints (default 5)", "M" },
  { "no-resume", 0, 0, G_OPTION_ARG_NONE, &no_resume,
    "Refuse a work folder that has checkpoints already", NULL },
  { "stop-after", 0, 0, G_OPTION_ARG_INT, &stop_after,
    "Stop after N steps of a stage in this session, at a checkpoint (the same command "
    "resumes): a time-boxed session, or a profile (GENVIDEO_PROFILE=1 prints the kernels' "
    "times at the stop)", "N" },
  { "samples", 0, 0, G_OPTION_ARG_INT, &samples,
    "Captions in the sample grid written at the end (0: none; default 4)", "N" },
  { "template", 0, 0, G_OPTION_ARG_FILENAME, &template_dir,
    "Checkpoint whose configs the recipe edits (default: the shipped tiny one)", "DIR" },
  { "from", 0, 0, G_OPTION_ARG_FILENAME, &from_dir,
    "Start from the networks of a checkpoint gv-train-model wrote: its tokenizer, CLIP "
    "encoders and VAE are kept, its UNet trains on with the recipe's UNet stage (the recipe's "
    "network sizes do not apply)", "DIR" },
  { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress lines", NULL },
  { "check-vae", 0, 0, G_OPTION_ARG_FILENAME, &check_vae,
    "Train nothing: print how well the VAE of a model folder codes whole held-out frames "
    "(PSNR, as the model card reports it)", "MODEL_DIR" },
  { NULL }
};

static int
fail (const gchar *what, GError *error)
{
  g_printerr ("gv-train-model: %s: %s\n", what, error ? error->message : "failed");
  g_clear_error (&error);
  return 1;
}

int
main (int argc, char **argv)
{
  GError *error = NULL;
  setlocale (LC_ALL, "");
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- train the demo model");
  g_option_context_set_summary (ctx, "Trains a small SD-2.1-unCLIP from scratch on the "
      "synthetic world (tokenizer, CLIP text and vision, VAE, UNet) and writes it in the "
      "diffusers layout. Interrupt it at any time: the same command resumes.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autofree gchar *command = g_strjoinv (" ", argv);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return fail ("options", error);
  if (check_vae != NULL) {
    setlocale (LC_NUMERIC, "C");
    gst_init (NULL, NULL);
    GvVaeCheck check;
    if (!gv_train_vae_check_folder (check_vae, GV_VAE_CHECK_FRAMES, &check, &error))
      return fail ("--check-vae", error);
    g_autofree gchar *line = gv_train_vae_check_describe (&check);
    g_print ("[vae] %s\n", line);
    return 0;
  }
  if (out_dir == NULL || work_dir == NULL) {
    g_printerr ("gv-train-model: --out and --work are required (--help)\n");
    return 2;
  }
  setlocale (LC_NUMERIC, "C");
  gst_init (NULL, NULL);

  g_autoptr (GvTrainRecipe) recipe = gv_train_recipe_load (recipe_path, &error);
  if (recipe == NULL)
    return fail ("recipe", error);
  if (seed >= 0) {
    g_autofree gchar *v = g_strdup_printf ("%" G_GINT64_FORMAT, seed);
    if (!gv_train_recipe_set (recipe, "seed", v, &error))
      return fail ("--seed", error);
  }
  for (gint i = 0; stage_steps != NULL && stage_steps[i] != NULL; i++) {
    g_auto (GStrv) kv = g_strsplit (stage_steps[i], "=", 2);
    g_autofree gchar *key = kv[1] ? g_strdup_printf ("%s_steps", kv[0]) : NULL;
    if (key == NULL || !gv_train_recipe_set (recipe, key, kv[1], &error))
      return fail ("--steps", error);
  }
  if (budget != 1.0)
    gv_train_recipe_scale_steps (recipe, budget);

  GvTrainOptions opts = {
    .work = work_dir,
    .out = out_dir,
    .template_dir = template_dir ? template_dir : GV_TRAIN_TEMPLATE_MODEL,
    .checkpoint_seconds = checkpoint_minutes * 60.0,
    .resume = !no_resume,
    .quiet = quiet,
    .samples = samples,
    .command = command,
    .stop_after = stop_after,
    .from_dir = from_dir,
  };
  if (!gv_train_pipeline_run (recipe, &opts, &error)) {
    if (stop_after > 0 && g_error_matches (error, GV_ERROR, GV_ERROR_CANCELLED)) {
      g_printerr ("gv-train-model: stopped after %d steps (--stop-after); the same command "
          "resumes\n", stop_after);
      g_clear_error (&error);
      return 0;
    }
    return fail ("training", error);
  }
  return 0;
}
