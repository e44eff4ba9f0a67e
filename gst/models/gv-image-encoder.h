/* The CLIP vision encoder with projection (CLIPVisionModelWithProjection), as transformers
 * 4.33 computes it. */
#pragma once

#include "models/gv-config.h"
#include "models/gv-layers.h"

G_BEGIN_DECLS

typedef struct _GvImageEncoder GvImageEncoder;

GvImageEncoder *gv_image_encoder_load (GvDevice *dev, const gchar *folder,
    const GvClipVisionConfig *cfg, GError **error);
/* The same from any loader (gv_loader_new_random () for training from scratch); @ld is
 * consumed. */
GvImageEncoder *gv_image_encoder_new_from_loader (GvDevice *dev, GvLoader *ld,
    const GvClipVisionConfig *cfg, GError **error);
void gv_image_encoder_free (GvImageEncoder *enc);
const GvClipVisionConfig *gv_image_encoder_get_config (GvImageEncoder *enc);
/* (transfer none) */
GvDevice *gv_image_encoder_get_device (GvImageEncoder *enc);
/* pixel_values [N, 3, S, S] -> image_embeds [N, projection_dim]; @last_hidden_state (may be
 * NULL) gets [N, 1 + patches, hidden]. Taps "hidden_states.0" (after pre_layrnorm, as
 * transformers counts) .. "hidden_states.<layers>". */
GvTensor *gv_image_encoder_forward (GvImageEncoder *enc, GvCmd *cmd, GvTensor *pixel_values,
    GvTensor **last_hidden_state, GvTapFunc tap, gpointer tap_data);

/* --- Training (gv-clip-train.h builds on these) --- */

/* @fn on every parameter, by its CLIPVisionModelWithProjection state-dict name
 * ("vision_model.embeddings.class_embedding", ..., "visual_projection.weight"). */
void gv_image_encoder_foreach_param (GvImageEncoder *enc, GvParamFunc fn, gpointer data);
/* Forward and backward of one step: image_embeds [N, projection_dim] as
 * gv_image_encoder_forward (), dembeds = @loss_grad (image_embeds), then the backward,
 * adding the weight gradients where @g says (no gradient for the pixels). @recompute: keep
 * only each layer's input and recompute the layer during the backward
 * (gv_encoder_stack_forward_train ()). */
void gv_image_encoder_forward_backward (GvImageEncoder *enc, GvCmd *cmd,
    GvTensor *pixel_values, gboolean recompute, const GvGrads *g, GvLossGradFunc loss_grad,
    gpointer data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvImageEncoder, gv_image_encoder_free)

G_END_DECLS
