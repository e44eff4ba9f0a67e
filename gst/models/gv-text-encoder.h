/* The CLIP text encoder (CLIPTextModel), as transformers 4.33 computes it. */
#pragma once

#include "models/gv-config.h"
#include "models/gv-layers.h"

G_BEGIN_DECLS

typedef struct _GvTextEncoder GvTextEncoder;

GvTextEncoder *gv_text_encoder_load (GvDevice *dev, const gchar *folder,
    const GvClipTextConfig *cfg, GError **error);
/* The same from any loader (gv_loader_new_random () for training from scratch); @ld is
 * consumed. */
GvTextEncoder *gv_text_encoder_new_from_loader (GvDevice *dev, GvLoader *ld,
    const GvClipTextConfig *cfg, GError **error);
void gv_text_encoder_free (GvTextEncoder *enc);
const GvClipTextConfig *gv_text_encoder_get_config (GvTextEncoder *enc);
/* (transfer none) */
GvDevice *gv_text_encoder_get_device (GvTextEncoder *enc);
/* ids [N, L] (int32, host) -> last_hidden_state [N, L, hidden] (the final layer norm applied);
 * @pooled (may be NULL) gets [N, hidden]: the state at the end-of-text token. Taps:
 * "hidden_states.0" (embeddings) .. "hidden_states.<layers>". */
GvTensor *gv_text_encoder_forward (GvTextEncoder *enc, GvCmd *cmd, const gint32 *ids,
    gint n, gint length, GvTensor **pooled, GvTapFunc tap, gpointer tap_data);

/* The position (0-based) of the token of @ids [@length] whose state is the pooled output. */
gint gv_text_encoder_get_pooled_position (GvTextEncoder *enc, const gint32 *ids, gint length);

/* --- Training (gv-clip-train.h builds on these) --- */

/* @fn on every parameter, by its CLIPTextModel state-dict name ("text_model.embeddings.
 * token_embedding.weight", ...). */
void gv_text_encoder_foreach_param (GvTextEncoder *enc, GvParamFunc fn, gpointer data);
/* Forward and backward of one step: pooled [N, hidden] as gv_text_encoder_forward (),
 * dpooled = @loss_grad (pooled), then the backward, adding the weight gradients where @g
 * says. @recompute: keep only each layer's input and recompute the layer during the
 * backward (gv_encoder_stack_forward_train ()). */
void gv_text_encoder_forward_backward (GvTextEncoder *enc, GvCmd *cmd, const gint32 *ids,
    gint n, gint length, gboolean recompute, const GvGrads *g, GvLossGradFunc loss_grad,
    gpointer data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvTextEncoder, gv_text_encoder_free)

G_END_DECLS
