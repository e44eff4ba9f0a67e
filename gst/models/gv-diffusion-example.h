/* What a diffusion training step feeds the UNet, shared by Tune-A-Video's tuning
 * (genvideo/gv-tune.c) and the demo model's training (tools/train): the noisy latents and the
 * target of the scheduler's prediction type, and the unCLIP class labels noised at a random
 * level as StableUnCLIPImg2ImgPipeline.noise_image_embeddings does (or zeros: condition
 * dropout for classifier-free guidance). */
#pragma once

#include "models/gv-config.h"
#include "models/gv-unclip.h"

G_BEGIN_DECLS

/* Records, for latents @z0 and @noise (same shape) at timestep @t: @noisy = add_noise (z0,
 * noise, t) and @target = what @prediction asks for (epsilon: noise; v: sqrt (a_t) noise -
 * sqrt (1 - a_t) z0; sample: z0). @noisy and @target are written (same shape as @z0). */
void gv_diffusion_example_record (GvScheduler *s, GvPredictionType prediction, GvCmd *cmd,
    gint t, GvTensor *z0, GvTensor *noise, GvTensor *noisy, GvTensor *target);

/* The class labels [N, 2P] of image embeddings @embeds [N, P]: noised at @level of the image
 * noising schedule with standard normal noise drawn from @noise_seed, or zeros when @drop.
 * (transfer full) */
GvTensor *gv_diffusion_class_labels (GvImageNoiser *noiser, GvCmd *cmd, GvTensor *embeds,
    gboolean drop, gint level, guint64 noise_seed);

G_END_DECLS
