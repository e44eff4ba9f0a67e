/* Guided UNet passes over clips: the building block of inversion, InvEdit's two branches and
 * the target sampling. One pass evaluates every branch and its unconditional twin as one batch. */
#pragma once

#include "models/gv-model.h"

G_BEGIN_DECLS

/* Progress of long work: stage name, step done, steps in all. */
typedef void (*GvProgressFunc) (const gchar *stage, gint current, gint total, gpointer data);

/* What a clip is conditioned on: the prompt embedding and the unCLIP class labels; with
 * @labels_outside, GenVideo's mask gating: @labels inside the mask, @labels_outside out. */
typedef struct {
  GvTensor *text;             /* [1, L, D] */
  GvTensor *labels;           /* [1, 2P] */
  GvTensor *labels_outside;   /* [1, 2P] or NULL */
} GvCondition;

/* One pass of gv_denoise () as a hook sees it (tests and tools, to check what the method
 * conditions each pass on): the timestep, the branches' latents, conditions and outputs (the
 * outputs recorded, not yet computed: gv_cmd_finish () the GvCmd before reading them), the
 * guidance applied (<= 1: none) and the mask that gates the class labels (NULL: no gating). */
typedef struct {
  gint t;
  gint n_branches;
  GvTensor *const *latents;
  const GvCondition *const *cond;
  GvTensor *const *eps;
  gfloat guidance_scale;
  GvTensor *mask;
} GvPass;

typedef void (*GvPassFunc) (const GvPass *pass, GvCmd *cmd, gpointer data);

typedef struct {
  GvUNet *unet;
  GvUNetTemporal *temporal;   /* NULL: the image model per frame */
  GvCondition uncond;         /* empty prompt, zero class labels */
  gfloat guidance_scale;      /* <= 1: no unconditional pass */
  GvTensor *mask;             /* [F, 1, h, w] for gated conditions, or NULL */
  GvPassFunc on_pass;         /* may be NULL: called at the end of every pass */
  gpointer pass_data;
} GvDenoiser;

/* The unconditional condition of @model: the empty prompt's embedding and zero labels. */
void gv_condition_init_uncond (GvCondition *c, GvModel *model, GvCmd *cmd);
/* class labels [1, 2P] of an RGB picture: CLIP image embedding noised at level 0 with noise
 * drawn from @seed */
GvTensor *gv_image_class_labels (GvModel *model, GvCmd *cmd, const guint8 *rgb, gint width,
    gint height, gint stride, guint64 seed);
void gv_condition_clear (GvCondition *c);

/* For each branch b: the guided model output for latents[b] ([F, C, h, w]) under cond[b] at
 * timestep @t, into eps[b] (new tensors). @tap sees the pass (batch order: per branch, the
 * unconditional clip first when guided). */
void gv_denoise (GvDenoiser *d, GvCmd *cmd, gint t, gint n_branches, GvTensor *const *latents,
    const GvCondition *const *cond, GvTensor **eps, GvTapFunc tap, gpointer tap_data);

G_END_DECLS
