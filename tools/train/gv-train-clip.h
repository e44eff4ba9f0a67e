/* Stage 2: the CLIP text and vision encoders, contrastive (clip-train's GvClipTrainer), on
 * world frames with their captions and, with probability object_image_share, on object-only
 * images (as gv-target composites a target image) with "a {colour} {object} on a grey
 * background", so that a target image's embedding says which object it shows. The image
 * normaliser's statistics are measured afterwards (gv-train-calibrate.h). */
#pragma once

#include "gv-train-run.h"

G_BEGIN_DECLS

#define GV_TRAIN_STREAM_CLIP 2

/* Trains both encoders of the checkpoint in WORK/model and writes them back there
 * (text_encoder/ and image_encoder/; the trainer's text_projection and logit scale stay in
 * the stage's checkpoint: CLIPTextModel has neither). */
gboolean gv_train_clip (GvTrainRun *run, GvDevice *dev, GError **error);

G_END_DECLS
