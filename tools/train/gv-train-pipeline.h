/* The whole training of gv-train-model, stage after stage, each skipped when the work folder
 * says it is done: the initial random checkpoint of the recipe's sizes, tokenizer, CLIP,
 * normaliser statistics, VAE, latent scaling factor, UNet; then the export (fp16), the loss
 * curves, the sample grid and the VAE's whole-frame check (gv-train-vae-check.h). */
#pragma once

#include "gv-train-recipe.h"

G_BEGIN_DECLS

typedef struct {
  const gchar *work, *out;
  const gchar *template_dir;    /* the checkpoint whose configs the recipe edits */
  gdouble checkpoint_seconds;
  gboolean resume;              /* FALSE: a work folder with checkpoints is an error */
  gboolean quiet;
  gint samples;                 /* captions in the sample grid (0: none) */
  gint stop_after;              /* stop after this many steps of a stage in this session (0: no) */
  const gchar *command;         /* for the model card; may be NULL */
  /* or NULL: a checkpoint gv-train-model wrote, whose networks the run starts from instead of
   * the recipe's random ones; its tokenizer, CLIP, normaliser and VAE stages count as done
   * (the recipe's config sections do not apply), the UNet trains on from its weights */
  const gchar *from_dir;
} GvTrainOptions;

gboolean gv_train_pipeline_run (GvTrainRecipe *recipe, const GvTrainOptions *opts,
    GError **error);

G_END_DECLS
