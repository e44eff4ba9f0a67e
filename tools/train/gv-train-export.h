/* The trained checkpoint out of the work folder: the fp32 model folder copied into the
 * diffusers layout with every weight stored as F16 (the loader converts it back), configs and
 * tokenizer as they are. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Copies @src (a checkpoint folder) to @dst (created; files of the same names replaced),
 * every *.safetensors file rewritten with F16 storage. *@bytes (may be NULL) gets the size of
 * the folder written. */
gboolean gv_train_export (const gchar *src, const gchar *dst, guint64 *bytes, GError **error);

/* Writes @dst/generation_config.json: the classifier-free guidance scale the elements take
 * by default for this model (gst/models/gv-config.h). */
gboolean gv_train_export_generation_config (const gchar *dst, gdouble guidance_scale,
    GError **error);

/* Copies the checkpoint folder @src to @dst (created) as it is, weights included, without the
 * card, curves and samples of the run that wrote it: the start of a run (--from). */
gboolean gv_train_import (const gchar *src, const gchar *dst, GError **error);

/* Rewrites the safetensors file @src as @dst with every float tensor in F16 (metadata kept). */
gboolean gv_train_export_weights (const gchar *src, const gchar *dst, GError **error);

G_END_DECLS
