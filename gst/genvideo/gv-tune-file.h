/* The tuned-layers file of genvideotune's tuned-location: a safetensors file of the tensors
 * Tune-A-Video trains, under its unet state-dict names
 * ("down_blocks.0.attentions.0.transformer_blocks.0.attn_temp.to_q.weight", ...), so that
 * Tune-A-Video / diffusers tooling reads it, with a fingerprint in its __metadata__
 * ("genvideo.fingerprint") of what the tuning depended on: the model folder, the clip's frames,
 * the prompt, steps, learning rate, seed and GV_TUNE_RECIPE_VERSION. A file is reused only for
 * the same fingerprint. */
#pragma once

#include "genvideo/gv-tune.h"

G_BEGIN_DECLS

#define GV_TUNE_FILE_FINGERPRINT_KEY "genvideo.fingerprint"

/* (transfer full): the fingerprint (hex SHA-256) of tuning @model_folder's model on @frames
 * (@n_frames pictures of @width x @height) with @prompt, @p's steps and learning rate, @seed. */
gchar *gv_tune_file_fingerprint (const gchar *model_folder, const GvPicture *frames,
    gint n_frames, gint width, gint height, GvPixelFormat format, const gchar *prompt,
    const GvTuneParams *p, guint64 seed);

/* TRUE when @path is a readable tuned-layers file of @fingerprint; a damaged file is
 * GV_ERROR_CORRUPT, one of another fingerprint (or none) GV_ERROR_INVALID, both naming @path. */
gboolean gv_tune_file_check (const gchar *path, const gchar *fingerprint, GError **error);

/* A location may hold one clip-index conversion, as multifilesink's: %u or %d, with an optional
 * 0 flag and width (%05u); %% is a percent sign. It then names one file per clip of a stream.
 * TRUE when @location is valid (one conversion at most, nothing else after a %), with
 * *@has_index (may be NULL) saying whether it has the conversion; else GV_ERROR_INVALID. */
gboolean gv_tune_file_parse_location (const gchar *location, gboolean *has_index,
    GError **error);

/* (transfer full): the file of clip @index: a valid @location with its conversion replaced by
 * @index and %% by %. */
gchar *gv_tune_file_clip_location (const gchar *location, guint index);

G_END_DECLS
