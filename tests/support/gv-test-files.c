#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "gv-test-files.h"

const gchar *
gv_test_golden_dir (void)
{
  const gchar *dir = g_getenv ("GENVIDEO_GOLDEN_DIR");
  if (dir == NULL || !g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    g_printerr ("GENVIDEO_GOLDEN_DIR does not name the golden set (%s)\n", dir ? dir : "unset");
    exit (1);
  }
  return dir;
}

gchar *
gv_test_golden_path (const gchar *relative)
{
  return g_build_filename (gv_test_golden_dir (), relative, NULL);
}

const gchar *
gv_test_default_model_dir (void)
{
  const gchar *dir = g_getenv ("GENVIDEO_DEFAULT_MODEL_DIR");
  if (dir == NULL || !g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    g_printerr ("GENVIDEO_DEFAULT_MODEL_DIR does not name the shipped model (%s)\n",
        dir ? dir : "unset");
    exit (1);
  }
  return dir;
}

static GPtrArray *scratch_dirs;

void
gv_test_remove_tree (const gchar *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK)) {
    GDir *d = g_dir_open (path, 0, NULL);
    const gchar *name;
    while (d && (name = g_dir_read_name (d)) != NULL) {
      gchar *child = g_build_filename (path, name, NULL);
      gv_test_remove_tree (child);
      g_free (child);
    }
    if (d)
      g_dir_close (d);
  }
  g_remove (path);
}

static void
remove_scratch (void)
{
  for (guint i = 0; i < scratch_dirs->len; i++)
    gv_test_remove_tree (scratch_dirs->pdata[i]);
  g_ptr_array_unref (scratch_dirs);
}

gchar *
gv_test_scratch_dir (void)
{
  GError *error = NULL;
  gchar *dir = g_dir_make_tmp ("gv-models-test-XXXXXX", &error);
  g_assert_no_error (error);
  if (scratch_dirs == NULL) {
    scratch_dirs = g_ptr_array_new_with_free_func (g_free);
    atexit (remove_scratch);
  }
  g_ptr_array_add (scratch_dirs, g_strdup (dir));
  return dir;
}

void
gv_test_write_raw (const gchar *path, guint64 header_len, const gchar *header, gconstpointer data,
    gsize size)
{
  GByteArray *b = g_byte_array_new ();
  guint64 le = GUINT64_TO_LE (header_len);
  g_byte_array_append (b, (const guint8 *) &le, 8);
  if (header)
    g_byte_array_append (b, (const guint8 *) header, strlen (header));
  if (data)
    g_byte_array_append (b, data, size);
  GError *error = NULL;
  g_file_set_contents (path, (const gchar *) b->data, b->len, &error);
  g_assert_no_error (error);
  g_byte_array_unref (b);
}

void
gv_test_write_safetensors (const gchar *path, const GvTestStTensor *t, guint n,
    const gchar *metadata)
{
  GString *h = g_string_new ("{");
  GByteArray *data = g_byte_array_new ();

  if (metadata)
    g_string_append_printf (h, "\"__metadata__\":%s", metadata);
  for (guint i = 0; i < n; i++) {
    g_string_append_printf (h, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", h->len > 1 ? "," : "",
        t[i].name, t[i].dtype);
    for (gint d = 0; d < t[i].ndim; d++)
      g_string_append_printf (h, d ? ",%" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, t[i].shape[d]);
    g_string_append_printf (h, "],\"data_offsets\":[%u,%u]}", data->len,
        (guint) (data->len + t[i].size));
    g_byte_array_append (data, t[i].data, t[i].size);
  }
  g_string_append_c (h, '}');
  while (h->len % 8)
    g_string_append_c (h, ' ');
  gv_test_write_raw (path, h->len, h->str, data->data, data->len);
  g_string_free (h, TRUE);
  g_byte_array_unref (data);
}

void
gv_test_copy_file (const gchar *from, const gchar *to)
{
  gchar *text;
  gsize len;
  GError *error = NULL;
  g_file_get_contents (from, &text, &len, &error);
  g_assert_no_error (error);
  g_file_set_contents (to, text, len, &error);
  g_assert_no_error (error);
  g_free (text);
}

void
gv_test_copy_configs (const gchar *dir)
{
  gchar *src = gv_test_golden_path ("checkpoint");
  gv_test_copy_configs_from (src, dir);
  g_free (src);
}

/* @src's files into @dir, the weights only with @weights */
static void
copy_checkpoint (const gchar *src, const gchar *dir, gboolean weights)
{
  GDir *d = g_dir_open (src, 0, NULL);
  const gchar *name;
  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL) {
    gchar *from = g_build_filename (src, name, NULL);
    gchar *to = g_build_filename (dir, name, NULL);
    if (g_file_test (from, G_FILE_TEST_IS_DIR)) {
      g_mkdir (to, 0755);
      GDir *sub = g_dir_open (from, 0, NULL);
      const gchar *f;
      while ((f = g_dir_read_name (sub)) != NULL) {
        if (!weights && g_str_has_suffix (f, ".safetensors"))
          continue;
        gchar *a = g_build_filename (from, f, NULL), *b = g_build_filename (to, f, NULL);
        gv_test_copy_file (a, b);
        g_free (a);
        g_free (b);
      }
      g_dir_close (sub);
    } else {
      gv_test_copy_file (from, to);
    }
    g_free (from);
    g_free (to);
  }
  g_dir_close (d);
}

void
gv_test_copy_configs_from (const gchar *src, const gchar *dir)
{
  copy_checkpoint (src, dir, FALSE);
}

void
gv_test_copy_checkpoint (const gchar *src, const gchar *dir)
{
  copy_checkpoint (src, dir, TRUE);
}

void
gv_test_write_file (const gchar *path, const gchar *text)
{
  GError *error = NULL;
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

void
gv_test_replace_in_file (const gchar *path, const gchar *old, const gchar *new_text)
{
  gchar *text;
  GError *error = NULL;
  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  gchar *at = strstr (text, old);
  if (at == NULL)
    g_error ("%s does not contain '%s'", path, old);
  gchar *out = g_strdup_printf ("%.*s%s%s", (gint) (at - text), text, new_text,
      at + strlen (old));
  gv_test_write_file (path, out);
  g_free (out);
  g_free (text);
}

void
gv_test_assert_error (GError *error, GvErrorCode code, ...)
{
  va_list args;
  if (error == NULL)
    g_error ("expected error %d, got none", code);
  g_test_message ("error: %s", error->message);
  g_assert_error (error, GV_ERROR, (gint) code);
  va_start (args, code);
  for (const gchar *s = va_arg (args, const gchar *); s; s = va_arg (args, const gchar *)) {
    if (strstr (error->message, s) == NULL)
      g_error ("the error '%s' does not mention '%s'", error->message, s);
  }
  va_end (args);
}
