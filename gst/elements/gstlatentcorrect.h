/* latentcorrect: stage 3, generation of the edited clip with latent correction. */
#pragma once

#include "gstgenvideoclipfilter.h"

G_BEGIN_DECLS

/* latentcorrect's correction-space: GvCorrectionSpace's values */
#define GST_TYPE_LATENT_CORRECT_SPACE (gst_latent_correct_space_get_type ())
GType gst_latent_correct_space_get_type (void);

#define GST_TYPE_LATENT_CORRECT (gst_latent_correct_get_type ())
G_DECLARE_FINAL_TYPE (GstLatentCorrect, gst_latent_correct, GST, LATENT_CORRECT,
    GstGenVideoClipFilter)

G_END_DECLS
