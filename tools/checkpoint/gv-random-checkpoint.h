/* A random-weight checkpoint folder in the diffusers layout: the benchmarks' checkpoints of
 * sizes that no shipped file has, and the starting point of gv-train-model. The configs are a template checkpoint's (the shipped tiny one) with some
 * keys replaced; the weights are made up for the configs as read back, and named as diffusers
 * and transformers name them, so the folder loads like a real checkpoint. Tokenizer, scheduler
 * configs and model_index.json are the template's. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One replaced config key: @value is JSON ("[128, 256]", "32", "\"name\""). */
typedef struct {
  const gchar *file;     /* relative to the folder: "unet/config.json" */
  const gchar *key;
  const gchar *value;
} GvConfigKey;

/* Writes the checkpoint into @folder (created if needed): the configs of @template_dir with the
 * @n_keys replacements, then random weights (seeded by @seed): matrices and convolutions
 * uniform in +-1/sqrt(fan_in) and their biases likewise (torch's Linear/Conv2d default),
 * norms at weight 1, bias 0, embeddings uniform in +-1/sqrt(dim), the unCLIP normaliser at
 * mean 0, std 1. Temporal layers are not written (the model initialises them). Returns the
 * bytes of weights written in @bytes. */
gboolean gv_random_checkpoint_write (const gchar *template_dir, const gchar *folder,
    const GvConfigKey *keys, gint n_keys, guint64 seed, guint64 *bytes, GError **error);

/* Replaces @key of the JSON config file @path with @value (JSON), the other keys kept. */
gboolean gv_config_file_set (const gchar *path, const gchar *key, const gchar *value,
    GError **error);

/* Removes a folder written by gv_random_checkpoint_write() (its files and subfolders). */
void gv_random_checkpoint_remove (const gchar *folder);

G_END_DECLS
