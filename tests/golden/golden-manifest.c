/* Parser of golden-manifest.txt: lines "case NAME", "skip REASON", "input TENSOR",
 * "compare TENSOR"; '#' starts a comment line. */
#include <string.h>

#include "golden-manifest.h"
#include "gv-case.h"

static void
case_free (GoldenManifestCase *mc)
{
  g_free (mc->name);
  g_free (mc->skip);
  g_ptr_array_unref (mc->inputs);
  g_ptr_array_unref (mc->compared);
  g_free (mc);
}

void
golden_manifest_free (GoldenManifest *m)
{
  if (m == NULL)
    return;
  g_ptr_array_unref (m->cases);
  g_free (m);
}

const GoldenManifestCase *
golden_manifest_find (const GoldenManifest *m, const gchar *name)
{
  for (guint i = 0; i < m->cases->len; i++) {
    const GoldenManifestCase *mc = g_ptr_array_index (m->cases, i);
    if (strcmp (mc->name, name) == 0)
      return mc;
  }
  return NULL;
}

static gboolean
holds (GPtrArray *names, const gchar *name)
{
  return g_ptr_array_find_with_equal_func (names, name, g_str_equal, NULL);
}

gboolean
golden_manifest_case_compares (const GoldenManifestCase *mc, const gchar *tensor)
{
  return holds (mc->compared, tensor);
}

gboolean
golden_manifest_case_lists (const GoldenManifestCase *mc, const gchar *tensor)
{
  return holds (mc->inputs, tensor) || holds (mc->compared, tensor);
}

/* one line, split into its keyword and the rest; FALSE with @error on a wrong line */
static gboolean
parse_line (GoldenManifest *m, GoldenManifestCase **current, const gchar *keyword,
    const gchar *value, GError **error)
{
  GoldenManifestCase *mc = *current;

  if (strcmp (keyword, "case") == 0) {
    if (golden_manifest_find (m, value) != NULL) {
      g_set_error (error, GV_ERROR, GV_ERROR_CORRUPT, "case %s given twice", value);
      return FALSE;
    }
    mc = g_new0 (GoldenManifestCase, 1);
    mc->name = g_strdup (value);
    mc->inputs = g_ptr_array_new_with_free_func (g_free);
    mc->compared = g_ptr_array_new_with_free_func (g_free);
    g_ptr_array_add (m->cases, mc);
    *current = mc;
    return TRUE;
  }
  if (mc == NULL) {
    g_set_error (error, GV_ERROR, GV_ERROR_CORRUPT, "'%s' before the first case", keyword);
    return FALSE;
  }
  if (strcmp (keyword, "skip") == 0) {
    g_free (mc->skip);
    mc->skip = g_strdup (value);
  } else if (strcmp (keyword, "input") == 0 || strcmp (keyword, "compare") == 0) {
    if (golden_manifest_case_lists (mc, value)) {
      g_set_error (error, GV_ERROR, GV_ERROR_CORRUPT, "%s: tensor %s given twice", mc->name,
          value);
      return FALSE;
    }
    g_ptr_array_add (keyword[0] == 'i' ? mc->inputs : mc->compared, g_strdup (value));
  } else {
    g_set_error (error, GV_ERROR, GV_ERROR_CORRUPT, "unknown keyword '%s'", keyword);
    return FALSE;
  }
  return TRUE;
}

/* every case that runs compares something: one that did not would pass without a check */
static gboolean
check_cases (GoldenManifest *m, GError **error)
{
  if (m->cases->len == 0) {
    g_set_error (error, GV_ERROR, GV_ERROR_CORRUPT, "no cases");
    return FALSE;
  }
  for (guint i = 0; i < m->cases->len; i++) {
    GoldenManifestCase *mc = g_ptr_array_index (m->cases, i);
    if (mc->skip == NULL && mc->compared->len == 0) {
      g_set_error (error, GV_ERROR, GV_ERROR_CORRUPT, "case %s compares nothing", mc->name);
      return FALSE;
    }
  }
  return TRUE;
}

GoldenManifest *
golden_manifest_load (const gchar *path, GError **error)
{
  gchar *text = NULL;
  GError *err = NULL;
  GoldenManifestCase *current = NULL;

  if (!g_file_get_contents (path, &text, NULL, &err)) {
    g_set_error (error, GV_ERROR, GV_ERROR_NOT_FOUND, "manifest %s: %s", path, err->message);
    g_error_free (err);
    return NULL;
  }
  GoldenManifest *m = g_new0 (GoldenManifest, 1);
  m->cases = g_ptr_array_new_with_free_func ((GDestroyNotify) case_free);
  gchar **lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL && err == NULL; i++) {
    gchar *line = g_strstrip (lines[i]);
    if (line[0] == '\0' || line[0] == '#')
      continue;
    gchar **kv = g_strsplit_set (line, " \t", 2);
    const gchar *value = kv[1] ? g_strstrip (kv[1]) : "";
    if (value[0] == '\0')
      g_set_error (&err, GV_ERROR, GV_ERROR_CORRUPT, "'%s' without a value", kv[0]);
    else
      parse_line (m, &current, kv[0], value, &err);
    if (err != NULL)
      g_prefix_error (&err, "manifest %s line %u: ", path, i + 1);
    g_strfreev (kv);
  }
  if (err == NULL && !check_cases (m, &err))
    g_prefix_error (&err, "manifest %s: ", path);
  g_strfreev (lines);
  g_free (text);
  if (err != NULL) {
    g_propagate_error (error, err);
    golden_manifest_free (m);
    return NULL;
  }
  return m;
}
