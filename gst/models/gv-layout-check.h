/* Whether a checkpoint folder has the layout that diffusers and transformers load, judged
 * against a reference folder that diffusers' save_pretrained() wrote (the golden checkpoint).
 * No Python runs here, so this compares files, config keys and tensor names; it does not prove
 * that diffusers computes the same results (see docs/checkpoints.md). */
#pragma once

#include "base/gv-error.h"
#include "vk/gv-device.h"

G_BEGIN_DECLS

/* Checks @model_dir against @reference_dir:
 * - every file of the reference is in the model, under the same name (weights included:
 *   model.safetensors stays model.safetensors);
 * - model_index.json: the same keys, each with the same value (only the `_` keys other than
 *   `_class_name`, such as `_diffusers_version`, may differ in value);
 * - every other JSON file (configs, scheduler, preprocessor and tokenizer configs; not
 *   vocab.json, which is data): the same keys as the reference's, nested ones too, each value
 *   of the reference's JSON type (null, bool, number, string, array, object), array items of
 *   the type of the reference's first item; an integer may stand for a float, a float for an
 *   integer may not (Python code counts and indexes with those);
 * - every safetensors file stores F32 or F16 only;
 * - the configs load with the project's reader, the tokenizer too, and each network's loader
 *   (which checks every shape against the configs) finds all of its tensors and uses every
 *   tensor of the file: none missing, none left over.
 * Every problem found is listed, one per line, in a GV_ERROR_CORRUPT error ("DIR does not
 * match the layout of REF (N problems):\n  unet/config.json: key 'x' is missing\n..."), each
 * naming the file and the key or tensor. A reference folder that cannot be read, or a device
 * failure, is an error of its own. Uploads go to @dev. */
gboolean gv_layout_check (GvDevice *dev, const gchar *model_dir, const gchar *reference_dir,
    GError **error);

G_END_DECLS
