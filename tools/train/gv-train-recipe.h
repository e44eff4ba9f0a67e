/* A training recipe: the sizes of every network (config keys replaced in the template
 * checkpoint's configs) and the schedule of every stage, as a small key file:
 *
 *   [train]                       seed, image size, per-stage steps, batches, learning rates
 *   [unet/config.json]            key = JSON value, one line per replaced config key
 *   [vae/config.json] ...
 *
 * gv_train_recipe_new_default () is the recipe of models/genvideo-shapes; a file given to
 * gv-train-model replaces any of its keys. */
#pragma once

#include <glib.h>

#include "gv-random-checkpoint.h"

G_BEGIN_DECLS

typedef enum {
  GV_STAGE_TOKENIZER,
  GV_STAGE_CLIP,
  GV_STAGE_VAE,
  GV_STAGE_UNET,
  GV_N_STAGES
} GvTrainStage;

typedef struct {
  gint steps, batch;
  gdouble lr;
  gint warmup;          /* steps of linear learning-rate warm-up */
} GvStageRecipe;

typedef struct {
  GKeyFile *file;
  guint64 seed;
  gint image_size;                    /* world frames, square */
  GvStageRecipe stage[GV_N_STAGES];
  gint vae_crop;                      /* the VAE trains on square crops of this size */
  gint vae_whole_steps, vae_whole_batch;  /* then its last steps on whole frames */
  gint calibration_examples;          /* images for the normaliser's and the latents' stats */
  gdouble text_dropout, image_dropout, object_image_share;
  /* both conditions dropped together: the unconditional branch of classifier-free guidance,
   * which independent drops alone show the UNet text_dropout x image_dropout of the time */
  gdouble uncond_dropout;
  /* the UNet's loss weight on the object's latent pixels against 1 on the background (1: the
   * plain MSE); the object is a tenth of a frame, and the edit's masks need the model to
   * answer the conditions there */
  gdouble unet_object_weight;
  /* the UNet stage cycles over this many world examples, keeping their latents and condition
   * embeddings (each pass draws new noise, timesteps and drops); 0: a new example every time */
  gint unet_examples;
  /* the UNet trains on square crops of this many latent pixels around the object (0: whole
   * latents throughout), then its last unet_whole_steps steps on whole latents at batch
   * unet_whole_batch: a crop of a quarter of the latents costs less than half the step, so
   * the stage sees more examples of objects before it learns the frame's layout */
  gint unet_crop, unet_whole_steps, unet_whole_batch;
  /* the decay of the moving average of the UNet's weights that the stage exports (0: the
   * weights of the last step) */
  gdouble unet_ema;
  /* Min-SNR-gamma loss weighting (Hang et al., 2023; diffusers' snr_gamma): each example's
   * loss weighed by min (SNR (t), gamma) over what the prediction type's loss already weighs
   * (SNR + 1 for v), so that no band of timesteps dominates the gradient (0: the plain MSE) */
  gdouble unet_snr_gamma;
  /* the highest level of the image noising schedule the UNet's image embeddings are noised
   * at (drawn uniformly from 0 to it): the edit conditions on clean embeddings (level 0), and
   * near the top of the schedule an embedding is mostly noise, which teaches the UNet to lean
   * on the caption instead */
  gint unet_image_noise_max;
  /* the guidance scale the elements run the model at (its generation_config.json) */
  gdouble guidance_scale;
  /* the config keys, for gv_random_checkpoint_write () */
  GvConfigKey *keys;
  gint n_keys;
} GvTrainRecipe;

const gchar *gv_train_stage_name (GvTrainStage stage);

/* The default recipe with the keys of @path (may be NULL) on top. */
GvTrainRecipe *gv_train_recipe_load (const gchar *path, GError **error);
/* The same from the text of a recipe file (the default's on top of which it goes). */
GvTrainRecipe *gv_train_recipe_new_from_data (const gchar *text, GError **error);
/* Scales every stage's steps by @factor (at least 1 step each): --budget. */
void gv_train_recipe_scale_steps (GvTrainRecipe *r, gdouble factor);
/* Sets [train] @key to @value (an option given on the command line) and reads it back. */
gboolean gv_train_recipe_set (GvTrainRecipe *r, const gchar *key, const gchar *value,
    GError **error);
/* The whole recipe as a key file (what the work folder keeps and the model card shows). */
gchar *gv_train_recipe_to_data (GvTrainRecipe *r);
void gv_train_recipe_free (GvTrainRecipe *r);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvTrainRecipe, gv_train_recipe_free)

G_END_DECLS
