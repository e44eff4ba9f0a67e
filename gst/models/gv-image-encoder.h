/* The CLIP vision encoder with projection (CLIPVisionModelWithProjection), as transformers
 * 4.33 computes it. */
#pragma once

#include "models/gv-config.h"
#include "models/gv-layers.h"

G_BEGIN_DECLS

typedef struct _GvImageEncoder GvImageEncoder;

GvImageEncoder *gv_image_encoder_load (GvDevice *dev, const gchar *folder,
    const GvClipVisionConfig *cfg, GError **error);
void gv_image_encoder_free (GvImageEncoder *enc);
/* pixel_values [N, 3, S, S] -> image_embeds [N, projection_dim]; @last_hidden_state (may be
 * NULL) gets [N, 1 + patches, hidden]. Taps "hidden_states.0" (after pre_layrnorm, as
 * transformers counts) .. "hidden_states.<layers>". */
GvTensor *gv_image_encoder_forward (GvImageEncoder *enc, GvCmd *cmd, GvTensor *pixel_values,
    GvTensor **last_hidden_state, GvTapFunc tap, gpointer tap_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvImageEncoder, gv_image_encoder_free)

G_END_DECLS
