/* CLIP's contrastive loss (symmetric InfoNCE), on the host. The encoders and both projections
 * run on the device; what reaches the host is the two batches of embeddings, 2 x B x P
 * floats (B x P = 32 x 64 is 8 KiB), and the B x B logits are O(B^2 P) work: less than the
 * round trip a device version would save, and with B this small (the batch of one step) no
 * kernel would be busy. One download and one upload per step. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* exp (logit_scale) is clamped at 100, as CLIP clamps it */
#define GV_CLIP_MAX_LOGIT_SCALE 4.6051701859880914   /* ln 100 */
#define GV_CLIP_INIT_LOGIT_SCALE 2.6592600369327779  /* ln (1 / 0.07) */

typedef struct {
  gdouble loss;           /* (CE (rows) + CE (columns)) / 2, averaged over the batch */
  gdouble dlogit_scale;   /* dL/d logit_scale (0 while the scale is clamped) */
  gint correct;           /* images whose best text is their own (image -> text top-1) */
} GvClipLossResult;

/* @image [B, P] and @text [B, P] (unnormalised: visual_projection and text_projection
 * outputs; row i of each is one pair): logits = exp (@logit_scale) (clamped) times the cosine
 * similarities, loss = mean over i of (CE (logits[i, :], i) + CE (logits[:, i], i)) / 2.
 * @dimage and @dtext (may be NULL) get dL/d@image and dL/d@text (through the
 * normalisation). @same (may be NULL): same[i * B + j] TRUE when texts i and j are equal,
 * so a retrieval of an identical caption counts as correct. */
void gv_clip_loss (const gfloat *image, const gfloat *text, gint batch, gint dim,
    gdouble logit_scale, const gboolean *same, gfloat *dimage, gfloat *dtext,
    GvClipLossResult *result);

G_END_DECLS
