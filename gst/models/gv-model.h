/* A whole SD-2.1-unCLIP checkpoint folder (diffusers layout) loaded on a device: configs,
 * tokenizer, CLIP text and vision encoders, image normaliser and noising schedule, sampling
 * scheduler config, UNet and VAE. Ref-counted and shared per (device, folder) in a process, so
 * that elements of one pipeline hold the weights once.
 *
 * Ownership: gv_model_load(), gv_model_get_shared() and gv_model_ref() return a reference the
 * caller drops with gv_model_unref(); a model holds a reference to its device. The getters
 * return (transfer none) pointers that live as long as the model.
 * Threads: nothing in a model changes after loading, so any number of threads may record work
 * with one model at once, each into its own GvCmd. */
#pragma once

#include "models/gv-config.h"
#include "models/gv-image-encoder.h"
#include "models/gv-scheduler.h"
#include "models/gv-text-encoder.h"
#include "models/gv-tokenizer.h"
#include "models/gv-unclip.h"
#include "models/gv-unet.h"
#include "models/gv-vae.h"

G_BEGIN_DECLS

typedef struct _GvModel GvModel;

/* Loads every component of @folder. Errors name the component, the file and what is wrong;
 * nothing is left loaded after a failure. */
GvModel *gv_model_load (GvDevice *dev, const gchar *folder, GError **error);
/* (transfer full): the model of @folder on @dev, loaded once per process (a second caller waits
 * for the first load); the cache holds no reference, so the weights go with the last user. */
GvModel *gv_model_get_shared (GvDevice *dev, const gchar *folder, GError **error);
GvModel *gv_model_ref (GvModel *model);
void gv_model_unref (GvModel *model);

const GvCheckpointConfig *gv_model_get_config (GvModel *model);
GvDevice *gv_model_get_device (GvModel *model);
const gchar *gv_model_get_folder (GvModel *model);
GvTokenizer *gv_model_get_tokenizer (GvModel *model);
GvTextEncoder *gv_model_get_text_encoder (GvModel *model);
GvImageEncoder *gv_model_get_image_encoder (GvModel *model);
GvImageNoiser *gv_model_get_image_noiser (GvModel *model);
GvUNet *gv_model_get_unet (GvModel *model);
GvVae *gv_model_get_vae (GvModel *model);
/* (transfer full): a new sampling scheduler of the checkpoint's scheduler config;
 * gv_scheduler_free() it */
GvScheduler *gv_model_new_scheduler (GvModel *model, GError **error);

/* prompt -> encoder_hidden_states [1, L, D] ((transfer full), like every tensor an op returns) */
GvTensor *gv_model_encode_prompt (GvModel *model, GvCmd *cmd, const gchar *prompt);
/* RGB picture -> CLIP image embedding [1, P] (CLIPImageProcessor, then the vision encoder) */
GvTensor *gv_model_encode_image (GvModel *model, GvCmd *cmd, const guint8 *rgb, gint width,
    gint height, gint stride);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvModel, gv_model_unref)

G_END_DECLS
