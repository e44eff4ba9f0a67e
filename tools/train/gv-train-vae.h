/* Stage 3: the VAE (AutoencoderKL) from scratch on world frames with vae-train's GvVaeTrainer
 * (reconstruction + edge + KL losses); the latent scaling factor is measured afterwards
 * (gv-train-calibrate.h). */
#pragma once

#include "gv-train-run.h"

G_BEGIN_DECLS

#define GV_TRAIN_STREAM_VAE 3

/* Trains the VAE of the checkpoint in WORK/model and writes it back there. */
gboolean gv_train_vae (GvTrainRun *run, GvDevice *dev, GError **error);

G_END_DECLS
