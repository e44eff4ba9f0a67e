/* The work folder of a training run and the loop every network stage shares:
 *
 *   WORK/recipe.ini                 the recipe (a resumed run must be given the same one)
 *   WORK/model/                     the checkpoint in fp32, each stage's result written back
 *   WORK/loss.csv                   stage,step,loss,seconds,cpu_seconds: one row per step
 *   WORK/<stage>.state.json         {"step", "sampler", "done", "file"}: where the stage is
 *   WORK/<stage>-<step>.safetensors the stage's optimizer (weights, AdamW moments, step count)
 *
 * A checkpoint is written every few minutes and at the end of a stage: the optimizer file
 * first, then the state that names it (atomically), then the older file goes. A resumed stage
 * loads both and continues at the same step with the same examples (the sampler position),
 * so a stopped run ends with the bytes an unstopped one would. */
#pragma once

#include "gv-train-recipe.h"
#include "models/gv-optimizer.h"

G_BEGIN_DECLS

typedef struct _GvTrainRun GvTrainRun;

/* Opens (creating it) @work: a fresh run writes the recipe, a resumed one checks that the
 * recipe is the one it was started with. @checkpoint_seconds: minimum time between
 * checkpoints (0: after every step). @quiet: no progress line. */
GvTrainRun *gv_train_run_open (const gchar *work, GvTrainRecipe *recipe,
    gdouble checkpoint_seconds, gboolean quiet, GError **error);
void gv_train_run_free (GvTrainRun *run);

const gchar *gv_train_run_get_work (GvTrainRun *run);
/* WORK/model */
const gchar *gv_train_run_get_model_folder (GvTrainRun *run);
GvTrainRecipe *gv_train_run_get_recipe (GvTrainRun *run);
/* Whether @stage finished in an earlier session (its result is in WORK/model). */
gboolean gv_train_run_stage_done (GvTrainRun *run, GvTrainStage stage);
/* Marks @stage finished (after its result is written into WORK/model). */
gboolean gv_train_run_finish_stage (GvTrainRun *run, GvTrainStage stage, GError **error);
/* The step of @stage's last checkpoint (0: none; the stage starts afresh). */
gint gv_train_run_get_checkpoint_step (GvTrainRun *run, GvTrainStage stage);

/* Called at each checkpoint of a stage, after its optimizer file is written (the stage's own
 * resumable state beyond its weights: the UNet stage's example cache). */
typedef gboolean (*GvTrainCheckpointFunc) (gpointer data, GError **error);
/* Sets (NULL: clears) the function of the stage that runs next. */
void gv_train_run_set_checkpoint_func (GvTrainRun *run, GvTrainCheckpointFunc func,
    gpointer data);

/* Stops a stage loop after @steps steps of it in this session (tests: a stopped run); 0: no
 * stop. */
void gv_train_run_set_stop_after (GvTrainRun *run, gint steps);

/* One step of a stage: draw the batch of step @step (examples from @sampler on), record
 * forward, loss, backward and the optimizer step; *@loss the loss before the update.
 * *@sampler_next: the position after this batch. */
typedef gboolean (*GvTrainStepFunc) (gpointer data, gint step, guint64 sampler,
    guint64 *sampler_next, gfloat *loss, GError **error);

/* Runs @stage's steps from where its checkpoint is (or from 0), with the recipe's learning
 * rate schedule (linear warm-up, then cosine decay to a tenth) set on @opt before each step,
 * logging, progress and checkpoints. FALSE on an error, or with GV_ERROR_CANCELLED when the
 * stop count ran out (the checkpoint is written first). */
gboolean gv_train_run_stage (GvTrainRun *run, GvTrainStage stage, GvOptimizer *opt,
    GvTrainStepFunc step, gpointer data, GError **error);

/* Where a network stage's parameters go in WORK/model: the parameters whose names start with
 * one of @prefixes (NULL: all) into the safetensors file @file (relative to the folder). */
typedef struct {
  const gchar *file;
  const gchar *const *prefixes;
} GvTrainOutput;

/* gv_train_run_stage (), then the trained parameters written into WORK/model by @outputs. */
gboolean gv_train_run_network (GvTrainRun *run, GvTrainStage stage, GvOptimizer *opt,
    GvTrainStepFunc step, gpointer data, const GvTrainOutput *outputs, gint n_outputs,
    GError **error);

/* The parameters of @opt whose names start with one of @prefixes (NULL-terminated; NULL:
 * all) under their names into the safetensors file @path (F32). */
gboolean gv_train_save_weights (GvOptimizer *opt, const gchar *const *prefixes,
    const gchar *path, GError **error);

/* The learning rate of @step for a stage of @r. */
gdouble gv_train_lr (const GvStageRecipe *r, gint step);

/* The rows of WORK/loss.csv of @stage so far (steps, losses: @n each); g_free() both. */
gint gv_train_run_get_losses (GvTrainRun *run, GvTrainStage stage, gint **steps,
    gfloat **losses);

/* The wall time (over its sessions) and the CPU time @stage took so far, from WORK/loss.csv. */
void gv_train_run_get_times (GvTrainRun *run, GvTrainStage stage, gdouble *wall,
    gdouble *cpu);

G_END_DECLS
