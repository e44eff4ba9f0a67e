/* JSON nested far deeper than any config is refused before json-glib's recursive parser sees
 * it (nested ~80000 deep it overflowed the stack): a safetensors header, a component's
 * config.json and model_index.json, each with an error that names the file. */
#include <string.h>

#include "gv-test-files.h"
#include "models/gv-config.h"
#include "models/gv-json.h"
#include "models/gv-safetensors.h"

#define DEEP 100000

/* {"a": [[[...1...]]]} with @depth levels in all */
static gchar *
nested (guint depth)
{
  GString *s = g_string_new ("{\"a\": ");
  for (guint i = 1; i < depth; i++)
    g_string_append_c (s, '[');
  g_string_append_c (s, '1');
  for (guint i = 1; i < depth; i++)
    g_string_append_c (s, ']');
  g_string_append_c (s, '}');
  return g_string_free (s, FALSE);
}

static void
test_scan (void)
{
  GError *error = NULL;
  gchar *ok = nested (GV_JSON_MAX_DEPTH), *deep = nested (GV_JSON_MAX_DEPTH + 1);

  g_assert_true (gv_json_check_depth ("x", ok, strlen (ok), &error));
  g_assert_no_error (error);
  g_assert_false (gv_json_check_depth ("x.json", deep, strlen (deep), &error));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, "x.json", "nested deeper", NULL);
  g_clear_error (&error);

  /* brackets inside strings do not count, escaped quotes do not end them */
  gchar *brackets = g_strnfill (3 * GV_JSON_MAX_DEPTH, '[');
  gchar *in_string = g_strdup_printf ("{\"k\\\"%s\": \"\\\\\", \"v\": \"\\\"%s\"}", brackets,
      brackets);
  g_assert_true (gv_json_check_depth ("x", in_string, strlen (in_string), &error));
  g_assert_no_error (error);
  /* ... but they count again after a string that ends in an escaped backslash */
  gchar *after = g_strdup_printf ("{\"k\": \"\\\\\", \"v\": %s}", brackets);
  g_assert_false (gv_json_check_depth ("x", after, strlen (after), &error));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, "nested deeper", NULL);
  g_clear_error (&error);
  g_free (after);
  g_free (in_string);
  g_free (brackets);
  g_free (deep);
  g_free (ok);
}

static void
test_safetensors_header (void)
{
  gchar *dir = gv_test_scratch_dir ();
  gchar *path = g_build_filename (dir, "deep.safetensors", NULL);
  gchar *header = nested (DEEP);
  GError *error = NULL;

  gv_test_write_raw (path, strlen (header), header, NULL, 0);
  g_assert_null (gv_safetensors_open (path, &error));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, path, "header", "nested deeper", NULL);
  g_clear_error (&error);
  g_free (header);
  g_free (path);
  g_free (dir);
}

/* @file of a copy of the checkpoint's configs nested DEEP: the load names it */
static void
check_deep_checkpoint_file (const gchar *file)
{
  gchar *dir = gv_test_scratch_dir ();
  gv_test_copy_configs (dir);
  gchar *path = g_build_filename (dir, file, NULL);
  gchar *text = nested (DEEP);
  GError *error = NULL;

  gv_test_write_file (path, text);
  g_assert_null (gv_checkpoint_config_load (dir, &error));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, path, "nested deeper", NULL);
  g_clear_error (&error);
  g_free (text);
  g_free (path);
  g_free (dir);
}

static void
test_config_json (void)
{
  check_deep_checkpoint_file ("unet/config.json");
}

static void
test_model_index (void)
{
  check_deep_checkpoint_file ("model_index.json");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json-depth/scan", test_scan);
  g_test_add_func ("/json-depth/safetensors-header", test_safetensors_header);
  g_test_add_func ("/json-depth/config-json", test_config_json);
  g_test_add_func ("/json-depth/model-index", test_model_index);
  return g_test_run ();
}
