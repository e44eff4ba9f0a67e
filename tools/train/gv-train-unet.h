/* Stage 4: the UNet from scratch on images of the world (GV_TRAIN_ALL, no temporal layers,
 * one frame per example). Per example: the frame's latents noised at a random timestep and
 * the scheduler's target (v-prediction); the caption's text embedding (the empty prompt with
 * probability text_dropout); unCLIP class labels of the frame's image embedding, or with
 * probability object_image_share of the object-only image (the edit conditions on a target
 * object image), noised at a random level of the image noising schedule up to
 * unet_image_noise_max (zeros with probability image_dropout): StableUnCLIPImg2ImgPipeline's
 * conditioning, with the dropout that classifier-free guidance needs; both together with
 * probability uncond_dropout (the guidance's unconditional branch: independent drops alone
 * gave it 1% of the examples). */
#pragma once

#include "gv-train-run.h"
#include "models/gv-config.h"

G_BEGIN_DECLS

#define GV_TRAIN_STREAM_UNET 4

/* Which conditions example @index drops (the empty prompt, zero class labels). */
void gv_train_unet_drops (const GvTrainRecipe *r, guint64 index, gboolean *drop_text,
    gboolean *drop_image);

/* The level of the image noising schedule (@levels levels) example @index's image embedding
 * is noised at: uniform over 0 .. MIN (unet_image_noise_max, @levels - 1). */
gint gv_train_unet_image_level (const GvTrainRecipe *r, guint64 index, gint levels);

/* The loss weights of one example's latent pixels ([@lh, @lw], @out): 1 + (@object_weight - 1)
 * x the object's coverage of the pixel's block of the @size x @size GRAY8 @mask, scaled to a
 * mean of 1 (the loss keeps its scale, the learning rate its meaning). */
void gv_train_unet_loss_weights (const guint8 *mask, gint size, gint lh, gint lw,
    gdouble object_weight, gfloat *out);

/* Min-SNR-gamma: the weight of the loss of an example at a timestep whose alphas_cumprod is
 * @alpha_cumprod, for a model predicting @pred: min (SNR, @gamma) on the x0 error, expressed on
 * the error of @pred (over SNR for epsilon, over SNR + 1 for v); 1 when @gamma is 0. */
gdouble gv_train_unet_snr_weight (GvPredictionType pred, gdouble alpha_cumprod, gdouble gamma);

/* The crop of sampler position @pos in the crop phase (unet_crop): its top-left corner in
 * the @latent x @latent latents of a @size x @size frame whose object is the GRAY8 @mask,
 * drawn so that the object's centre lies inside the crop, at least a quarter of the crop from
 * its edges where the latents allow (the caption names the object: the crop must show it). */
void gv_train_unet_crop_origin (const GvTrainRecipe *r, guint64 pos, const guint8 *mask,
    gint size, gint latent, gint *x0, gint *y0);

/* The crops of a batch of latents @z0 [n, C, L, L] at the corners @ox, @oy (n each):
 * [n, C, @crop, @crop], recorded on @cmd. */
GvTensor *gv_train_unet_crop_latents (GvCmd *cmd, GvTensor *z0, const gint *ox, const gint *oy,
    gint crop);

/* Trains the UNet of the checkpoint in WORK/model and writes it back there. */
gboolean gv_train_unet (GvTrainRun *run, GvDevice *dev, GError **error);

G_END_DECLS
