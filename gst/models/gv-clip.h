/* CLIP text encoder (CLIPTextModel) and vision encoder with projection
 * (CLIPVisionModelWithProjection), as transformers 4.33 computes them. */
#pragma once

#include "models/gv-config.h"
#include "models/gv-layers.h"

G_BEGIN_DECLS

typedef struct _GvClipText GvClipText;
typedef struct _GvClipVision GvClipVision;

GvClipText *gv_clip_text_load (GvDevice *dev, const gchar *folder, const GvClipTextConfig *cfg,
    GError **error);
void gv_clip_text_free (GvClipText *clip);
/* ids [N, L] (int32, host) -> last_hidden_state [N, L, hidden] (the final layer norm applied);
 * @pooled (may be NULL) gets [N, hidden]: the state at the end-of-text token. Taps:
 * "hidden_states.0" (embeddings) .. "hidden_states.<layers>". */
GvTensor *gv_clip_text_forward (GvClipText *clip, GvCmd *cmd, const gint32 *ids, gint n,
    gint length, GvTensor **pooled, GvTapFunc tap, gpointer tap_data);

GvClipVision *gv_clip_vision_load (GvDevice *dev, const gchar *folder,
    const GvClipVisionConfig *cfg, GError **error);
void gv_clip_vision_free (GvClipVision *clip);
/* pixel_values [N, 3, S, S] -> image_embeds [N, projection_dim]; @last_hidden_state (may be
 * NULL) gets [N, 1 + patches, hidden]. Taps "hidden_states.0" .. "hidden_states.<layers>". */
GvTensor *gv_clip_vision_forward (GvClipVision *clip, GvCmd *cmd, GvTensor *pixel_values,
    GvTensor **last_hidden_state, GvTapFunc tap, gpointer tap_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvClipText, gv_clip_text_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvClipVision, gv_clip_vision_free)

G_END_DECLS
