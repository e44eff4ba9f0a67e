/* The figures of gv-bench-quality (docs/benchmark.md, "JSON"): each clip's scores for every
 * variant that ran, the means, and the JSON file they go to. The file is rewritten whole (a
 * temporary file renamed over it) after every clip, so a run killed at any time leaves a valid
 * file with the clips done so far; --resume reads such a file back and skips its clips. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

enum {
  M_MASK_IOU, M_BACKGROUND_PSNR, M_EDIT_PSNR, M_EDIT_SSIM, M_COLOUR, M_TEMPORAL,
  /* latent correction's fields against the known motion, in latent cells (NAN for the
   * variants that do not correct); files written before these were measured lack them */
  M_CORRESPONDENCE, M_CORRESPONDENCE_STILL,
  N_METRICS
};

/* the first metric a resumed file may lack (read as NAN) */
#define BQ_FIRST_LATER_METRIC M_CORRESPONDENCE

/* the method with every default, then the ablations */
enum {
  V_DEFAULT,
  V_NO_CORRECTION,
  V_NO_BACKGROUND,
  V_LATENT_BACKGROUND,
  V_NO_GATING,
  V_NO_TUNING,
  V_MASKS_FROM_V,
  V_PER_FRAME,
  N_VARIANTS
};

/* the JSON keys */
extern const gchar *const bq_metric_keys[N_METRICS];
extern const gchar *const bq_variant_keys[N_VARIANTS];

/* NAN where a metric has no figure (null in the JSON) */
typedef struct {
  gdouble m[N_METRICS];
} Scores;

typedef struct {
  const gchar *name;           /* the clip's, not owned */
  gboolean have;               /* scored: by this process or taken from the resumed file */
  gboolean resumed;            /* taken from the resumed file */
  gdouble seconds;             /* the clip's wall time, every variant */
  Scores scores[N_VARIANTS];   /* the variants that ran (bq_variant_runs) */
} BqClipResult;

/* latentcorrect's correction-steps and weights (gstlatentcorrect.c) */
#define BQ_CORRECTION_STEPS_DEFAULT 5
#define BQ_WEIGHT_PREV_DEFAULT 0.25
#define BQ_WEIGHT_CURRENT_DEFAULT 0.5
#define BQ_WEIGHT_NEXT_DEFAULT 0.25

/* what the file records of a run; --resume refuses a file whose settings differ (all but the
 * device) */
typedef struct {
  const gchar *device, *model;
  const gchar *clips_dir;      /* or NULL: generated clips of @seed, @frames, @size */
  gint64 seed;
  gint frames, size;
  gint steps, tune_steps;
  gdouble guidance, sampling_guidance;
  gint correction_steps, search_radius;  /* latentcorrect's */
  gdouble weights[3];          /* latentcorrect's weight-prev, -current, -next, sum 1 */
  gboolean known_fields;       /* correction blends along the known motion, not the matches */
  const gchar *correction_space;  /* what correction blends: "latents" or "predictions" */
  const gchar *mask_labels;    /* InvEdit's image conditions: "paper", "source" or "none" */
  const gchar *given_masks;    /* InvEdit's masks ("none") or ground truth: "edit", "source" */
  gboolean ablations;
} BqSettings;

#define BQ_RESULTS_ERROR (bq_results_error_quark ())
GQuark bq_results_error_quark (void);

typedef enum {
  BQ_RESULTS_ERROR_INVALID,    /* the file is not a gv-bench-quality JSON file */
  BQ_RESULTS_ERROR_MISMATCH,   /* its settings are not this run's */
} BqResultsError;

/* the default always, the ablations with --ablations */
gboolean bq_variant_runs (const BqSettings *s, gint variant);

/* The mean of @variant's figures over the clips of @results that have them (per metric over
 * those that are not NAN; NAN when none is). */
Scores bq_mean (const BqClipResult *results, guint n, gint variant);

/* Writes @path atomically: the settings, @wall_seconds, @complete, the clips of @results that
 * have figures (in their order) and the means over them. */
gboolean bq_results_write (const gchar *path, const BqSettings *s, const BqClipResult *results,
    guint n, gdouble wall_seconds, gboolean complete, GError **error);

/* Writes the object @jb built to @path, pretty, atomically; unrefs @jb. */
gboolean bq_json_write (const gchar *path, JsonBuilder *jb, GError **error);

/* Reads @path, written by bq_results_write: fails with BQ_RESULTS_ERROR_MISMATCH naming the
 * first setting that differs from @s; else fills the clips of @results found in it by name
 * (have, resumed, seconds, scores) and sets @wall_seconds to the file's. The file's clips
 * that are not in @results are left out (with a line on stderr). */
gboolean bq_results_resume (const gchar *path, const BqSettings *s, BqClipResult *results,
    guint n, gdouble *wall_seconds, GError **error);

G_END_DECLS
