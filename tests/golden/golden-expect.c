/* The manifest's expectations of a case: its files, its tensors, and what a run compared. */
#include "gv-golden.h"

GvCase *
golden_expect_open (Golden *g)
{
  static const gchar *const extensions[] = { ".safetensors", ".json" };
  GError *error = NULL;
  gboolean complete = TRUE;
  gchar *base = g_build_filename (g->cases_dir, g->case_name, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (extensions); i++) {
    gchar *path = g_strconcat (base, extensions[i], NULL);
    if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
      gchar *file = g_path_get_basename (path);
      golden_fail_printf (g, file, "missing (%s)", path);
      g_free (file);
      complete = FALSE;
    }
    g_free (path);
  }
  GvCase *c = complete ? gv_case_open (base, &error) : NULL;
  if (complete && c == NULL) {
    golden_fail (g, "-", error);
    g_clear_error (&error);
  }
  g_free (base);
  return c;
}

static void
expect_in_file (Golden *g, GPtrArray *names)
{
  for (guint i = 0; i < names->len; i++) {
    const gchar *name = g_ptr_array_index (names, i);
    if (!gv_case_has_tensor (g->c, name))
      golden_fail_printf (g, name, "in the manifest, missing from the case file");
  }
}

void
golden_expect_tensors (Golden *g)
{
  expect_in_file (g, g->expect->inputs);
  expect_in_file (g, g->expect->compared);
  for (guint i = 0; i < gv_case_get_n_tensors (g->c); i++) {
    const gchar *name = gv_case_get_tensor_name (g->c, i);
    if (!golden_manifest_case_lists (g->expect, name))
      golden_fail_printf (g, name, "in the case file, not in the manifest");
  }
}

void
golden_expect_compared (Golden *g)
{
  GPtrArray *want = g->expect->compared;
  for (guint i = 0; i < want->len; i++) {
    const gchar *name = g_ptr_array_index (want, i);
    if (!g_hash_table_contains (g->done, name))
      golden_fail_printf (g, name, "not compared: the run gave no such output or tap");
  }
  GHashTableIter iter;
  gpointer name;
  g_hash_table_iter_init (&iter, g->done);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    if (!golden_manifest_case_compares (g->expect, name))
      golden_fail_printf (g, name, "compared, but the manifest lists it as an input");
}
