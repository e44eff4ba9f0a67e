/* gv-bench-quality --mask-sweep FILE: the InvEdit masks' IoU with the ideal edit masks for
 * other thresholds and dilations than the elements' defaults, cut from the differences the
 * default run kept (no model runs again). It tells whether the differences hold the edit
 * region and the DiffEdit rule's defaults miss it, or the differences themselves miss it. */
#pragma once

#include "genvideo/gv-edit.h"

G_BEGIN_DECLS

#define BQ_SWEEP_THRESHOLDS 7
#define BQ_SWEEP_DILATIONS 3

extern const gdouble bq_sweep_thresholds[BQ_SWEEP_THRESHOLDS];
extern const gint bq_sweep_dilations[BQ_SWEEP_DILATIONS];

typedef struct {
  const gchar *name;     /* the clip's, not owned */
  gboolean have;
  gdouble iou[BQ_SWEEP_THRESHOLDS][BQ_SWEEP_DILATIONS];
} BqSweep;

/* Latent masks @masks [n, lh, lw] (> 0.5 inside) upsampled to GRAY8 frames (0 or 255, the
 * nearest latent pixel) into @out [n, height, width]: how the benchmark scores masks. */
void bq_upsample_masks (const gfloat *masks, gint n, gint lw, gint lh, gint width, gint height,
    guint8 *out);

/* The sweep of @clip, whose masks were computed with @clamp_ratio: @edit_masks are the
 * clip's ideal edit masks (GRAY8, @width x @height a frame). */
gboolean bq_sweep_clip (GvClip *clip, gfloat clamp_ratio, const guint8 *edit_masks,
    gint width, gint height, BqSweep *out, GError **error);

/* Writes the sweeps that have figures and their mean to @path as JSON:
 * { "thresholds": [...], "dilations": [...], "clips": [ { "name", "mask_iou": [[per
 * dilation] per threshold] } ], "mean": [[...]] }; with @print, the mean as a table on
 * stderr too. */
gboolean bq_sweep_write (const gchar *path, const BqSweep *sweeps, guint n, gboolean print,
    GError **error);

G_END_DECLS
