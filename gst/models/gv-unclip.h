/* unCLIP image conditioning (StableUnCLIPImg2ImgPipeline.noise_image_embeddings): the CLIP image
 * embedding normalised, noised at a noise level with the image noising schedule, un-normalised,
 * and concatenated with the sinusoidal embedding of the noise level: the UNet's class_labels. */
#pragma once

#include "models/gv-scheduler.h"
#include "models/gv-weights.h"

G_BEGIN_DECLS

typedef struct _GvImageNoiser GvImageNoiser;

/* @normalizer_folder: the checkpoint's image_normalizer/ (mean and std, [1, P]) */
GvImageNoiser *gv_image_noiser_load (GvDevice *dev, const gchar *normalizer_folder,
    const GvImageNormalizerConfig *cfg, const GvSchedulerConfig *noising, GError **error);
/* The same from weights already open (the layout check asks @w what was left unused). */
GvImageNoiser *gv_image_noiser_new_from_weights (GvDevice *dev, GvWeights *w,
    const GvImageNormalizerConfig *cfg, const GvSchedulerConfig *noising, GError **error);
void gv_image_noiser_free (GvImageNoiser *noiser);

/* embeds [N, P], noise [N, P] -> class_labels [N, 2P] */
GvTensor *gv_image_noiser_apply (GvImageNoiser *noiser, GvCmd *cmd, GvTensor *embeds,
    gint noise_level, GvTensor *noise);

GvScheduler *gv_image_noiser_get_schedule (GvImageNoiser *noiser);

G_END_DECLS
