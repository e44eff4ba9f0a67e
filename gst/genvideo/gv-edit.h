/* A GenVideo edit of one clip, stage by stage, as the three elements run it. Every function
 * works on the results held in the clip (genvideo/gv-clip.h), so that each stage finds what the
 * one before it computed:
 *   genvideotune  gv_edit_prepare_source: model, temporal layers, z0, source conditions
 *   invedit       gv_edit_set_target, gv_edit_invert, gv_edit_compute_masks
 *   latentcorrect gv_edit_generate: sampling with latent correction, decoding
 * A stage that finds its input missing (no element before it) computes it itself.
 *
 * Every function must be called by the thread that holds @clip (gv_clip_lock()); what they
 * return (transfer none) stays valid until the clip is unlocked.
 *
 * Device and model: the caller resolves them (the elements: the device from GstContext or
 * gv_device_get_shared(), the model from gv_model_get_shared()) and hands the model to
 * gv_edit_prepare_source(); the clip keeps a reference and every later stage computes with it,
 * on its device. */
#pragma once

#include "genvideo/gv-clip.h"
#include "genvideo/gv-frames.h"
#include "genvideo/gv-latent-correct.h"

G_BEGIN_DECLS

/* How a stage runs: the seed, when to stop, where progress goes. */
typedef struct {
  guint64 seed;
  const gint *cancel;         /* may be NULL; checked between steps */
  GvProgressFunc progress;    /* may be NULL */
  gpointer progress_data;
  GvPassFunc on_pass;         /* may be NULL: sees every denoiser pass (tests) */
  gpointer pass_data;
} GvEditEnv;

gboolean gv_edit_has_source (GvClip *clip);
gboolean gv_edit_has_target (GvClip *clip);
gboolean gv_edit_has_inversion (GvClip *clip);
gboolean gv_edit_has_masks (GvClip *clip);
/* (transfer none): the model of the clip, NULL before gv_edit_prepare_source */
GvModel *gv_edit_get_model (GvClip *clip);
gint gv_edit_get_latent_width (GvClip *clip);
gint gv_edit_get_latent_height (GvClip *clip);

/* Stage 1 (without training), on @model (transfer none: the clip takes a reference): loads the
 * temporal layers (from @tuned_location when that file exists, else initialised), VAE-encodes
 * the clip's frames @frames (n_frames pictures of the clip's size) into z0, and encodes the
 * source conditions: @source_prompt and the unCLIP embedding of a frame chosen by the seed.
 * Forgets what earlier stages computed. */
gboolean gv_edit_prepare_source (GvClip *clip, GvModel *model, const GvEditEnv *env,
    const GvPicture *frames, GvPixelFormat format, const gchar *source_prompt,
    const gchar *tuned_location, GError **error);

/* The frame whose unCLIP embedding conditions the source branch, for a clip of @n_frames. */
guint gv_edit_source_frame (guint64 seed, gint n_frames);

/* The target conditions: @prompt and the embedding of the foreground picture @rgb (RGB). */
gboolean gv_edit_set_target (GvClip *clip, const GvEditEnv *env, const gchar *prompt,
    const guint8 *rgb, gint width, gint height, gint stride, GError **error);

/* The steps of the clip's inversion (0 before gv_edit_invert). */
gint gv_edit_get_inversion_steps (GvClip *clip);

/* DDIM inversion of z0 under the source conditions, @steps steps (trajectory kept). */
gboolean gv_edit_invert (GvClip *clip, const GvEditEnv *env, gint steps, GError **error);

/* InvEdit masks from the source and target branches (after gv_edit_invert). */
gboolean gv_edit_compute_masks (GvClip *clip, const GvEditEnv *env, const GvMaskParams *p,
    GError **error);
/* Masks found elsewhere (a matte, a benchmark's ground truth) in place of InvEdit's: [F, h, w]
 * at the latents' size, each 0 or 1 (copied). The differences go: nothing was cut. */
gboolean gv_edit_set_masks (GvClip *clip, const GvEditEnv *env, const gfloat *masks,
    GError **error);
/* The same from pictures of the masks: one GRAY8 plane per frame of @width x @height (any
 * size; rows of @stride bytes, the planes @height x @stride bytes apart), a pixel above 127
 * inside. A latent cell is inside where any of its pixels is, so that the whole object is
 * regenerated, its anti-aliased edge included. */
gboolean gv_edit_set_pixel_masks (GvClip *clip, const GvEditEnv *env, const guint8 *pixels,
    gint width, gint height, gint stride, GError **error);
/* (transfer none): masks [F, h, w] of 0 and 1 (NULL before gv_edit_compute_masks or
 * gv_edit_set_masks); the share of each frame inside the mask into @area (F values) when not
 * NULL. */
const gfloat *gv_edit_get_masks (GvClip *clip, gdouble *area);
/* (transfer none): what the masks were cut from, per frame the mean over the steps of
 * |eps_src - eps_trg| [F, h, w] (gv_invedit_differences); NULL before gv_edit_compute_masks and
 * after gv_edit_set_masks */
const gfloat *gv_edit_get_differences (GvClip *clip);

/* Stage 3: samples the target from the inversion (inverting first if no stage did), with the
 * masks (a mask of ones when there are none), and decodes. Returns the frames as
 * [F, 3, H, W] floats in [-1, 1] ((transfer full): g_free() it). */
gfloat *gv_edit_generate (GvClip *clip, const GvEditEnv *env, const GvCorrectParams *p,
    GvCorrectionFunc on_correction, gpointer correction_data, GError **error);

/* (transfer none): the final latents of the last gv_edit_generate (for tests), or NULL */
GvTensor *gv_edit_get_result_latents (GvClip *clip);
/* (transfer none): z0, or NULL before gv_edit_prepare_source */
GvTensor *gv_edit_get_source_latents (GvClip *clip);

G_END_DECLS
