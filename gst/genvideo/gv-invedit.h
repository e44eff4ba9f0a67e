/* Stage 2 of GenVideo: DDIM inversion of the source latents, and the InvEdit masks (DiffEdit for
 * video): where the model's predictions under the source and the target conditions differ. */
#pragma once

#include "genvideo/gv-denoise.h"

G_BEGIN_DECLS

typedef struct {
  gint steps;
  gint *timesteps;        /* ascending, @steps entries */
  GvTensor **levels;      /* @steps + 1: [0] = z0, [k] = after k inversion steps */
} GvInversion;

/* Inverts @z0 ([F, C, h, w]) with @steps unguided DDIM inversion steps under @src.
 * The GvCmd is finished after every step (progress, cancellation). */
gboolean gv_invert (GvDenoiser *d, GvScheduler *s, GvCmd *cmd, GvTensor *z0,
    const GvCondition *src, gint steps, GvInversion *out, GvProgressFunc progress,
    gpointer progress_data, GError **error);
void gv_inversion_clear (GvInversion *inv);
/* Z_T: the most noisy latents */
GvTensor *gv_inversion_noisiest (GvInversion *inv);
/* The source latents at the noise level of timestep @t (-1: clean): the inversion's own when
 * it visited @t, else the DDIM-consistent mix sqrt (a_t) z0 + sqrt (1 - a_t) eps with the
 * noise eps that Z_T implies. A new reference. */
GvTensor *gv_inversion_at (GvInversion *inv, GvScheduler *s, GvCmd *cmd, gint t);

/* The image conditions of InvEdit's two branches */
typedef enum {
  GV_MASK_LABELS_BRANCHES,  /* the paper: a source frame's embedding, the target image's */
  GV_MASK_LABELS_SOURCE,    /* both the source frame's: only the prompts differ */
  GV_MASK_LABELS_NONE,      /* both zero (no image): only the prompts differ */
} GvMaskLabels;

typedef struct {
  gint steps;
  gfloat guidance_scale;
  gfloat threshold;       /* DiffEdit: normalised difference above it is the object */
  gfloat clamp_ratio;     /* DiffEdit: clamp at ratio * mean before normalising (3) */
  gint dilation;          /* square dilation radius in latent pixels */
  /* FALSE (the paper): differences of eps; TRUE: of the model's own output (v for
   * SD-2.1-unCLIP), an ablation that gv-bench-quality measures */
  gboolean from_model_output;
  /* GV_MASK_LABELS_BRANCHES (0, the paper and the elements); the others are ablations that
   * gv-bench-quality measures (gv_edit_compute_masks applies them) */
  GvMaskLabels labels;
} GvMaskParams;

/* Runs the source and target branches from Z_T side by side with guidance, and returns per
 * frame the mean over channels of |eps_src - eps_trg| averaged over the steps, [F, h, w] (host
 * array, g_free() it). eps is each branch's guided output converted to noise by the scheduler
 * (the model may predict v or the sample), or the output itself with @p->from_model_output. */
gfloat *gv_invedit_differences (GvDenoiser *d, GvScheduler *s, GvCmd *cmd, GvInversion *inv,
    const GvCondition *src, const GvCondition *trg, const GvMaskParams *p,
    GvProgressFunc progress, gpointer progress_data, GError **error);

/* The DiffEdit rule on accumulated differences @diff [F, h, w] (averaged over steps), in place:
 * per frame clamp at ratio * mean, divide by it, 1 where above @threshold; then dilate. A NaN
 * or infinity anywhere is an error (GV_ERROR_INVALID), not an empty mask. */
gboolean gv_masks_from_differences (gfloat *diff, gint frames, gint height, gint width,
    gfloat clamp_ratio, gfloat threshold, gint dilation, GError **error);

G_END_DECLS
