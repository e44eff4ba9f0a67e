/* gv-golden: runs golden reference cases through our implementation and compares. */
#pragma once

#include "golden-manifest.h"
#include "gv-case.h"
#include "models/gv-model.h"

G_BEGIN_DECLS

typedef struct {
  const gchar *case_name;
  GvCase *c;
  const GoldenManifestCase *expect;   /* what the manifest says the case holds and compares */
  GHashTable *done;           /* names of the tensors the case compared */
  const gchar *drop_tap;      /* a tap to ignore (tests: an implementation that lost it) */
  const gchar *cases_dir;
  const gchar *checkpoint;
  GvCheckpointConfig *cfg;
  GvDevice *dev;
  gint compared, failed, skipped, cases_run;
  gint tap_frames;            /* > 1: references hold (B, C, F, H, W), ours (B*F, C, H, W) */
  GPtrArray *taps;            /* intermediates recorded for comparison */
  GvModel *model;
} Golden;

/* Compares @n values with the case's tensor @ref_name under its tolerance and prints a line:
 * "case  tensor  rel_l2=...  tol=...  PASS|FAIL". @label (may be NULL) replaces the name. */
void golden_compare (Golden *g, const gchar *ref_name, const gchar *label, const gfloat *ours,
    gsize n);
/* The same with an explicit tolerance instead of the case's. */
void golden_compare_with (Golden *g, const gchar *ref_name, const gchar *label,
    const gfloat *ours, gsize n, const GvCaseTolerance *tol);
void golden_compare_i64 (Golden *g, const gchar *ref_name, const gint64 *ours, gsize n);
/* A failure that is not a comparison (the case could not run). */
void golden_fail (Golden *g, const gchar *what, const GError *error);
void golden_fail_printf (Golden *g, const gchar *what, const gchar *format, ...)
    G_GNUC_PRINTF (3, 4);

/* GvTapFunc: records a download of the tensor when the case has "inter.<name>" (and it is
 * not drop_tap). */
void golden_tap (const gchar *name, GvCmd *cmd, GvTensor *t, gpointer golden);
/* Compares what the taps recorded (after the GvCmd has finished). */
void golden_compare_taps (Golden *g);

/* A device tensor holding the case tensor @name, or NULL (and a failure). */
GvTensor *golden_input (Golden *g, const gchar *name);
/* The whole checkpoint, loaded once per run. */
GvModel *golden_model (Golden *g);
/* Finishes @cmd; on error records a failure. */
gboolean golden_finish (Golden *g, GvCmd *cmd, const gchar *what);

/* What the manifest expects (golden-expect.c), each miss a failure: the case's two files,
 * opened (NULL when one is missing or unreadable); every tensor of the file listed in the
 * manifest and every listed tensor in the file; after the run, every tensor to compare
 * compared (an output or tap not emitted) and nothing else. */
GvCase *golden_expect_open (Golden *g);
void golden_expect_tensors (Golden *g);
void golden_expect_compared (Golden *g);

/* runners: FALSE when the case kind is not theirs */
gboolean golden_run_text (Golden *g, const gchar *kind);
gboolean golden_run_image (Golden *g, const gchar *kind);
gboolean golden_run_unet (Golden *g, const gchar *kind);
gboolean golden_run_vae (Golden *g, const gchar *kind);
gboolean golden_run_pipeline (Golden *g, const gchar *kind);

G_END_DECLS
