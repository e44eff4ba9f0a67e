/* Stage 3 of GenVideo: target generation from the inverted latents with mask-gated conditions,
 * latent correction through nearest-neighbour fields of UNet features between neighbouring
 * frames, and background preservation. */
#pragma once

#include "genvideo/gv-invedit.h"

G_BEGIN_DECLS

/* What latent correction blends between neighbouring frames. */
typedef enum {
  /* the latents z_t themselves (the paper, docs/DESIGN.md) */
  GV_CORRECTION_LATENTS,
  /* the step's predicted clean latents x0, each frame keeping its own predicted noise: the
   * blend then cannot average the frames' noise away (an average of three independent noises
   * keeps 0.375 of its variance at the default weights) */
  GV_CORRECTION_PREDICTIONS,
} GvCorrectionSpace;

typedef struct {
  gint steps;
  gfloat guidance_scale;
  gint correction_steps;          /* the first steps that correct */
  gfloat weight_prev, weight_current, weight_next;   /* >= 0, sum 1 */
  gint search_radius;             /* 0: whole frame */
  GvCorrectionSpace space;
  gboolean preserve_background;
  /* TRUE: the target's image embedding everywhere, not gated by the mask (an ablation that
   * gv-bench-quality measures; the elements gate) */
  gboolean ungated;
  /* or NULL: fields to blend along instead of the nearest neighbours', [2][F - 1][h*w] (from
   * frame k + 1 back to frame k, then from frame k on to frame k + 1, as GvCorrectionReport);
   * gv-bench-quality's known-motion fields, the ceiling of what matching could give */
  const gint32 *given_fields;
} GvCorrectParams;

/* What one corrected step matched: latentcorrect posts the mean cosine, gv-bench-quality
 * measures the fields against the clip's known motion. */
typedef struct {
  gint step;                    /* the sampling step, from 0 */
  gdouble mean_cosine;          /* of the best matches, every frame and position */
  gint frames, height, width;   /* of the latents */
  /* [frames - 1][height * width], positions y * width + x: for position p of frame k + 1 the
   * position of frame k it blends from (from_prev), for p of frame k the one of frame k + 1
   * (from_next) */
  const gint32 *from_prev, *from_next;
} GvCorrectionReport;

/* Called after each corrected step. */
typedef void (*GvCorrectionFunc) (const GvCorrectionReport *report, gpointer data);

/* The matches of one correction (gv_correct_latents), each NULL when F == 1: the best cosine
 * of every match [2 (F - 1), h*w] (frames' matches in the previous frames, then in the next),
 * and the fields as GV_DTYPE_I32 [F - 1, h*w] (GvCorrectionReport says which way). */
typedef struct {
  GvTensor *scores, *from_prev, *from_next;
} GvCorrectionMatches;

void gv_correction_matches_clear (GvCorrectionMatches *m);

/* Samples from Z_T of @inv under @trg (its labels inside @mask, its labels_outside out) and
 * returns the final latents [F, C, h, w]. @mask: [F, 1, h, w] of 0/1. When @p->steps differs
 * from the inversion's, it starts from the inversion's level at its own first timestep and
 * follows the trajectory through gv_inversion_at(). */
GvTensor *gv_latent_correct (GvDenoiser *d, GvScheduler *s, GvCmd *cmd, GvInversion *inv,
    const GvCondition *trg, GvTensor *mask, const GvCorrectParams *p, GvProgressFunc progress,
    gpointer progress_data, GvCorrectionFunc on_correction, gpointer correction_data,
    GError **error);

/* One correction of latents @z [F, C, h, w] with features [F, Cf, h, w] inside @mask
 * [F, 1, h, w]: z_i(p) = w_prev z_{i-1}(N_prev(p)) + w_cur z_i(p) + w_next z_{i+1}(N_next(p)),
 * weights renormalised at the clip's ends. Returns the new latents; @matches (may be NULL)
 * gets what was matched. */
GvTensor *gv_correct_latents (GvCmd *cmd, GvTensor *z, GvTensor *features, GvTensor *mask,
    const GvCorrectParams *p, GvCorrectionMatches *matches);

/* The UNet block whose output latent correction reads: up_blocks.(n - 2), at latent
 * resolution after its upsampler (up_blocks.2 for SD). */
gchar *gv_correction_feature_block (GvUNet *unet);

G_END_DECLS
