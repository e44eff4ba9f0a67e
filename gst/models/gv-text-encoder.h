/* The CLIP text encoder (CLIPTextModel), as transformers 4.33 computes it. */
#pragma once

#include "models/gv-config.h"
#include "models/gv-layers.h"

G_BEGIN_DECLS

typedef struct _GvTextEncoder GvTextEncoder;

GvTextEncoder *gv_text_encoder_load (GvDevice *dev, const gchar *folder,
    const GvClipTextConfig *cfg, GError **error);
void gv_text_encoder_free (GvTextEncoder *enc);
/* ids [N, L] (int32, host) -> last_hidden_state [N, L, hidden] (the final layer norm applied);
 * @pooled (may be NULL) gets [N, hidden]: the state at the end-of-text token. Taps:
 * "hidden_states.0" (embeddings) .. "hidden_states.<layers>". */
GvTensor *gv_text_encoder_forward (GvTextEncoder *enc, GvCmd *cmd, const gint32 *ids,
    gint n, gint length, GvTensor **pooled, GvTapFunc tap, gpointer tap_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvTextEncoder, gv_text_encoder_free)

G_END_DECLS
