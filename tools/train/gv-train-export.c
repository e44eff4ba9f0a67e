#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "gv-train-export.h"
#include "models/gv-config.h"
#include "models/gv-safetensors.h"
#include "models/gv-safetensors-write.h"

gboolean
gv_train_export_weights (const gchar *src, const gchar *dst, GError **error)
{
  g_autoptr (GvSafetensors) st = gv_safetensors_open (src, error);
  if (st == NULL)
    return FALSE;
  g_autoptr (GvStWriter) w = gv_st_writer_new ();
  gv_st_writer_set_f16 (w, TRUE);
  gv_st_writer_set_metadata (w, "format", "pt");
  for (guint i = 0; i < gv_safetensors_get_n_tensors (st); i++) {
    const GvStTensor *t = gv_safetensors_get_nth (st, i);
    if (!gv_st_dtype_is_float (t->dtype)) {
      g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "%s: tensor %s is not a float tensor",
          src, t->name);
      return FALSE;
    }
    g_autofree gfloat *values = gv_safetensors_read_f32 (st, t);
    gv_st_writer_add (w, t->name, t->ndim, t->shape, values);
  }
  return gv_st_writer_write (w, dst, error);
}

gboolean
gv_train_export_generation_config (const gchar *dst, gdouble guidance_scale, GError **error)
{
  gchar num[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd (num, sizeof num, "%g", guidance_scale);
  g_autofree gchar *path = g_build_filename (dst, GV_GENERATION_CONFIG, NULL);
  g_autofree gchar *text = g_strdup_printf ("{\n  \"guidance_scale\": %s\n}\n", num);
  return g_file_set_contents (path, text, -1, error);
}

static gboolean
copy_file (const gchar *src, const gchar *dst, GError **error)
{
  g_autofree gchar *text = NULL;
  gsize len;
  return g_file_get_contents (src, &text, &len, error) &&
      g_file_set_contents (dst, text, (gssize) len, error);
}

/* @src into @dst, each file through @copy_weights when it is a safetensors file, else copied;
 * files named in @skip (NULL-terminated; may be NULL) left out at the top */
typedef gboolean (*CopyFunc) (const gchar *src, const gchar *dst, GError **error);

static gboolean
copy_folder (const gchar *src, const gchar *dst, CopyFunc copy_weights,
    const gchar *const *skip, guint64 *bytes, GError **error)
{
  if (g_mkdir_with_parents (dst, 0755) != 0) {
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "%s: cannot create: %s",
        dst, g_strerror (errno));
    return FALSE;
  }
  g_autoptr (GDir) dir = g_dir_open (src, 0, error);
  if (dir == NULL)
    return FALSE;
  const gchar *name;
  while ((name = g_dir_read_name (dir)) != NULL) {
    if (skip && g_strv_contains (skip, name))
      continue;
    g_autofree gchar *s = g_build_filename (src, name, NULL);
    g_autofree gchar *d = g_build_filename (dst, name, NULL);
    gboolean ok;
    if (g_file_test (s, G_FILE_TEST_IS_DIR))
      ok = copy_folder (s, d, copy_weights, NULL, bytes, error);
    else if (g_str_has_suffix (name, ".safetensors"))
      ok = copy_weights (s, d, error);
    else
      ok = copy_file (s, d, error);
    if (!ok)
      return FALSE;
    GStatBuf sb;
    if (bytes != NULL && !g_file_test (d, G_FILE_TEST_IS_DIR) && g_stat (d, &sb) == 0)
      *bytes += (guint64) sb.st_size;
  }
  return TRUE;
}

gboolean
gv_train_export (const gchar *src, const gchar *dst, guint64 *bytes, GError **error)
{
  return copy_folder (src, dst, gv_train_export_weights, NULL, bytes, error);
}

gboolean
gv_train_import (const gchar *src, const gchar *dst, GError **error)
{
  static const gchar *const card[] = { "README.md", "curves.png", "samples.png", NULL };
  return copy_folder (src, dst, copy_file, card, NULL, error);
}
