/* Statistics that a trained checkpoint carries besides its weights, measured on training
 * examples: the unCLIP image normaliser's mean and std of the image embeddings, and the VAE's
 * scaling_factor (1 / std of the latents, so that the UNet sees unit-variance latents). */
#pragma once

#include "gv-train-recipe.h"
#include "models/gv-model.h"

G_BEGIN_DECLS

/* Over recipe->calibration_examples examples (half frames, half object images, as the UNet
 * stage draws them): the per-dimension mean and std of @model's image embeddings, written as
 * @folder/image_normalizer/diffusion_pytorch_model.safetensors. */
gboolean gv_train_calibrate_normalizer (GvModel *model, const gchar *folder,
    const GvTrainRecipe *r, GError **error);

/* The std of @model's latents of recipe->calibration_examples frames; writes scaling_factor
 * = 1 / std into @folder/vae/config.json and returns it in @factor. */
gboolean gv_train_calibrate_latents (GvModel *model, const gchar *folder,
    const GvTrainRecipe *r, gdouble *factor, GError **error);

/* Stream of the calibration examples (gv-train-data.h): apart from the stages'. */
#define GV_TRAIN_STREAM_CALIBRATION 200

G_END_DECLS
