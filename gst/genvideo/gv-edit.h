/* A GenVideo edit of one clip, stage by stage, as the three elements run it. The state lives
 * in the clip object (GvClip), so that each stage finds what the one before it computed:
 *   genvideotune  gv_edit_prepare_source: model, temporal layers, z0, source conditions
 *   invedit       gv_edit_set_target, gv_edit_invert, gv_edit_compute_masks
 *   latentcorrect gv_edit_generate: sampling with latent correction, decoding
 * A stage that finds its input missing (no element before it) computes it itself. */
#pragma once

#include "genvideo/gv-clip.h"
#include "genvideo/gv-frames.h"
#include "genvideo/gv-latent-correct.h"

G_BEGIN_DECLS

typedef struct _GvEdit GvEdit;

/* Where and how a stage runs. */
typedef struct {
  GvModel *model;             /* the model to use, or NULL: @model_dir on @device_index */
  const gchar *model_dir;     /* checkpoint folder */
  gint device_index;          /* -1: choose */
  guint64 seed;
  const gint *cancel;         /* checked between steps */
  GvProgressFunc progress;
  gpointer progress_data;
} GvEditEnv;

/* The edit state of @clip, created on first use. */
GvEdit *gv_edit_for_clip (GvClip *clip);
/* The edit state of @clip, or NULL when no stage has run on it. */
GvEdit *gv_edit_peek (GvClip *clip);

gboolean gv_edit_has_source (GvEdit *e);
gboolean gv_edit_has_target (GvEdit *e);
gboolean gv_edit_has_inversion (GvEdit *e);
gboolean gv_edit_has_masks (GvEdit *e);
GvModel *gv_edit_get_model (GvEdit *e);
gint gv_edit_get_latent_width (GvEdit *e);
gint gv_edit_get_latent_height (GvEdit *e);

/* Stage 1 (without training): loads the model, the temporal layers (from @tuned_location when
 * that file exists, else initialised), VAE-encodes the @n frames into z0, and encodes the source
 * conditions: @source_prompt and the unCLIP embedding of a frame chosen by the seed. */
gboolean gv_edit_prepare_source (GvEdit *e, const GvEditEnv *env, const GvPicture *frames,
    gint n, gint width, gint height, GvPixelFormat format, const gchar *source_prompt,
    const gchar *tuned_location, GError **error);

/* The frame whose unCLIP embedding conditions the source branch, for a clip of @n_frames. */
guint gv_edit_source_frame (guint64 seed, gint n_frames);

/* The target conditions: @prompt and the embedding of the foreground picture @rgb (RGB). */
gboolean gv_edit_set_target (GvEdit *e, const GvEditEnv *env, const gchar *prompt,
    const guint8 *rgb, gint width, gint height, gint stride, GError **error);

/* DDIM inversion of z0 under the source conditions, @steps steps (trajectory kept). */
gboolean gv_edit_invert (GvEdit *e, const GvEditEnv *env, gint steps, GError **error);

/* InvEdit masks from the source and target branches (after gv_edit_invert). */
gboolean gv_edit_compute_masks (GvEdit *e, const GvEditEnv *env, const GvMaskParams *p,
    GError **error);
/* Masks [F, h, w] of 0 and 1 (NULL before gv_edit_compute_masks); the share of each frame
 * inside the mask into @area (F values) when not NULL. */
const gfloat *gv_edit_get_masks (GvEdit *e, gdouble *area);

/* Stage 3: samples the target from the inversion (inverting first if no stage did), with the
 * masks (a mask of ones when there are none), and decodes. Returns the frames as
 * [F, 3, H, W] floats in [-1, 1] (g_free() it). */
gfloat *gv_edit_generate (GvEdit *e, const GvEditEnv *env, const GvCorrectParams *p,
    GvCorrectionFunc on_correction, gpointer correction_data, GError **error);

/* The final latents of the last gv_edit_generate (for tests), or NULL. */
GvTensor *gv_edit_get_result_latents (GvEdit *e);
GvTensor *gv_edit_get_source_latents (GvEdit *e);

G_END_DECLS
