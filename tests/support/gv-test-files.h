/* Test helpers for files: the golden set and the shipped model, scratch folders, hand-made
 * safetensors files, edited copies of the golden checkpoint's configs. */
#pragma once

#include <glib.h>

#include "base/gv-error.h"

G_BEGIN_DECLS

/* The golden set (GENVIDEO_GOLDEN_DIR) and the shipped model (GENVIDEO_DEFAULT_MODEL_DIR). */
const gchar *gv_test_golden_dir (void);
gchar *gv_test_golden_path (const gchar *relative);
const gchar *gv_test_default_model_dir (void);

/* A fresh scratch folder, removed with its contents at exit. */
gchar *gv_test_scratch_dir (void);

/* Writes @path: u64 length of @header (as given, not padded), @header, @data. */
void gv_test_write_raw (const gchar *path, guint64 header_len, const gchar *header,
    gconstpointer data, gsize size);

typedef struct {
  const gchar *name;
  const gchar *dtype;
  gint ndim;
  gint64 shape[4];
  gconstpointer data;
  gsize size;
} GvTestStTensor;

/* A valid safetensors file of @n tensors (header padded to 8 bytes, optional metadata JSON
 * object text). */
void gv_test_write_safetensors (const gchar *path, const GvTestStTensor *t, guint n,
    const gchar *metadata);

void gv_test_remove_tree (const gchar *path);
void gv_test_copy_file (const gchar *from, const gchar *to);
/* Copies the golden checkpoint's JSON files and tokenizer files (no weights) to @dir. */
void gv_test_copy_configs (const gchar *dir);
/* The same from the checkpoint folder @src. */
void gv_test_copy_configs_from (const gchar *src, const gchar *dir);
/* The whole checkpoint folder @src, weights too, into @dir. */
void gv_test_copy_checkpoint (const gchar *src, const gchar *dir);
/* Replaces the first @old in @path by @new (asserting it is there). */
void gv_test_replace_in_file (const gchar *path, const gchar *old, const gchar *new_text);
void gv_test_write_file (const gchar *path, const gchar *text);

/* Asserts that @error is @code and that its message holds every NULL-terminated string. */
void gv_test_assert_error (GError *error, GvErrorCode code, ...) G_GNUC_NULL_TERMINATED;

G_END_DECLS
