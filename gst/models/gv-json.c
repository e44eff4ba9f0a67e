/* Sticky, typed JSON access: the first problem wins and names file and key. */
#include <math.h>

#include "models/gv-json.h"

gboolean
gv_json_check_depth (const gchar *where, const gchar *text, gsize len, GError **error)
{
  guint depth = 0;
  gboolean in_string = FALSE;

  for (gsize i = 0; i < len; i++) {
    gchar c = text[i];
    if (in_string) {
      if (c == '\\')
        i++;                                 /* the escaped character cannot end the string */
      else if (c == '"')
        in_string = FALSE;
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == '[' || c == '{') {
      if (++depth > GV_JSON_MAX_DEPTH) {
        g_set_error (error, GV_ERROR, GV_ERROR_CORRUPT, "%s: JSON nested deeper than %d "
            "levels (at byte %" G_GSIZE_FORMAT ")", where, GV_JSON_MAX_DEPTH, i);
        return FALSE;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      depth--;
    }
  }
  return TRUE;
}

gboolean
gv_json_parser_load (JsonParser *parser, const gchar *where, const gchar *text, gsize len,
    GError **error)
{
  GError *err = NULL;

  if (!gv_json_check_depth (where, text, len, error))
    return FALSE;
  if (!json_parser_load_from_data (parser, text, (gssize) len, &err)) {
    g_set_error (error, GV_ERROR, GV_ERROR_CORRUPT, "%s: %s", where, err->message);
    g_error_free (err);
    return FALSE;
  }
  return TRUE;
}

JsonObject *
gv_json_load_object (const gchar *path, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  GError *err = NULL;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, GV_ERROR, GV_ERROR_NOT_FOUND, "%s: no such file", path);
    return NULL;
  }
  GMappedFile *map = g_mapped_file_new (path, FALSE, &err);
  if (map == NULL) {
    g_set_error (error, GV_ERROR, GV_ERROR_NOT_FOUND, "%s: %s", path, err->message);
    g_error_free (err);
    return NULL;
  }
  /* an empty file maps to NULL contents */
  const gchar *text = g_mapped_file_get_contents (map);
  gboolean ok = gv_json_parser_load (parser, path, text ? text : "",
      text ? g_mapped_file_get_length (map) : 0, error);
  g_mapped_file_unref (map);
  if (!ok)
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, GV_ERROR, GV_ERROR_CORRUPT, "%s: not a JSON object", path);
    return NULL;
  }
  return json_object_ref (json_node_get_object (root));
}

gboolean
gv_json_open (GvJson *j, const gchar *path, GError **error)
{
  JsonObject *obj = gv_json_load_object (path, error);

  if (obj == NULL) {
    *j = (GvJson) { 0 };
    return FALSE;
  }
  gv_json_init (j, path, obj);
  json_object_unref (obj);
  return TRUE;
}

void
gv_json_init (GvJson *j, const gchar *path, JsonObject *obj)
{
  j->path = g_strdup (path);
  j->obj = json_object_ref (obj);
  j->error = NULL;
}

void
gv_json_clear (GvJson *j)
{
  g_clear_pointer (&j->path, g_free);
  g_clear_pointer (&j->obj, json_object_unref);
  g_clear_error (&j->error);
}

gboolean
gv_json_finish (GvJson *j, GError **error)
{
  if (j->error == NULL)
    return TRUE;
  g_propagate_error (error, j->error);
  j->error = NULL;
  return FALSE;
}

gboolean
gv_json_close (GvJson *j, GError **error)
{
  gboolean ok = gv_json_finish (j, error);
  gv_json_clear (j);
  return ok;
}

GError *
gv_error_new_at (GvErrorCode code, const gchar *where, const gchar *format, va_list args)
{
  gchar *msg = g_strdup_vprintf (format, args);
  GError *error = g_error_new (GV_ERROR, code, "%s: %s", where, msg);
  g_free (msg);
  return error;
}

void
gv_json_fail (GvJson *j, GvErrorCode code, const gchar *format, ...)
{
  if (j->error != NULL)
    return;
  va_list args;
  va_start (args, format);
  j->error = gv_error_new_at (code, j->path, format, args);
  va_end (args);
}

void
gv_json_unsupported (GvJson *j, const gchar *key, const gchar *value, const gchar *supported)
{
  gv_json_fail (j, GV_ERROR_UNSUPPORTED, "%s = %s is not supported (supported: %s)", key, value,
      supported);
}

JsonNode *
gv_json_get (GvJson *j, const gchar *key)
{
  JsonNode *n = j->obj ? json_object_get_member (j->obj, key) : NULL;
  return n == NULL || JSON_NODE_HOLDS_NULL (n) ? NULL : n;
}

static gboolean
node_is_number (JsonNode *n)
{
  GType t = JSON_NODE_HOLDS_VALUE (n) ? json_node_get_value_type (n) : G_TYPE_INVALID;
  return t == G_TYPE_INT64 || t == G_TYPE_DOUBLE;
}

/* an integer, or a float with an integral value (1.0) */
static gboolean
node_int (JsonNode *n, gint64 *out)
{
  if (!node_is_number (n))
    return FALSE;
  if (json_node_get_value_type (n) == G_TYPE_INT64) {
    *out = json_node_get_int (n);
    return TRUE;
  }
  gdouble d = json_node_get_double (n);
  if (d != floor (d) || fabs (d) > 9e15)
    return FALSE;
  *out = (gint64) d;
  return TRUE;
}

static void
wrong_type (GvJson *j, const gchar *key, const gchar *want)
{
  gv_json_fail (j, GV_ERROR_CORRUPT, "%s is not %s", key, want);
}

gint64
gv_json_int (GvJson *j, const gchar *key, gint64 def)
{
  JsonNode *n = gv_json_get (j, key);
  gint64 v;
  if (n == NULL)
    return def;
  if (!node_int (n, &v)) {
    wrong_type (j, key, "an integer");
    return def;
  }
  return v;
}

gint
gv_json_int_range (GvJson *j, const gchar *key, gint def, gint min, gint max)
{
  gint64 v = gv_json_int (j, key, def);
  if (v < min || v > max) {
    gv_json_fail (j, GV_ERROR_CORRUPT, "%s = %" G_GINT64_FORMAT " is out of range [%d, %d]",
        key, v, min, max);
    return def;
  }
  return (gint) v;
}

gdouble
gv_json_double (GvJson *j, const gchar *key, gdouble def)
{
  JsonNode *n = gv_json_get (j, key);
  if (n == NULL)
    return def;
  if (!node_is_number (n)) {
    wrong_type (j, key, "a number");
    return def;
  }
  return json_node_get_double (n);
}

gdouble
gv_json_double_range (GvJson *j, const gchar *key, gdouble def, gdouble min, gdouble max,
    gboolean open_min)
{
  gdouble v = gv_json_double (j, key, def);
  if (!isfinite (v) || v < min || v > max || (open_min && v == min)) {
    gv_json_fail (j, GV_ERROR_CORRUPT, "%s = %g is out of range %c%g, %g]", key, v,
        open_min ? '(' : '[', min, max);
    return def;
  }
  return v;
}

gboolean
gv_json_bool (GvJson *j, const gchar *key, gboolean def)
{
  JsonNode *n = gv_json_get (j, key);
  if (n == NULL)
    return def;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN) {
    wrong_type (j, key, "true or false");
    return def;
  }
  return json_node_get_boolean (n);
}

const gchar *
gv_json_string (GvJson *j, const gchar *key, const gchar *def)
{
  JsonNode *n = gv_json_get (j, key);
  if (n == NULL)
    return def;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING) {
    wrong_type (j, key, "a string");
    return def;
  }
  return json_node_get_string (n);
}

gint
gv_json_int_list (GvJson *j, const gchar *key, gint *out, gint max, gint n_fill, gint min,
    gint max_value)
{
  JsonNode *n = gv_json_get (j, key);
  gint64 v;

  if (n == NULL)
    return 0;
  if (node_int (n, &v)) {
    if (v < min || v > max_value) {
      gv_json_fail (j, GV_ERROR_CORRUPT, "%s = %" G_GINT64_FORMAT " is out of range [%d, %d]",
          key, v, min, max_value);
      return 0;
    }
    for (gint i = 0; i < n_fill && i < max; i++)
      out[i] = (gint) v;
    return MIN (n_fill, max);
  }
  if (!JSON_NODE_HOLDS_ARRAY (n)) {
    wrong_type (j, key, "an integer or a list of integers");
    return 0;
  }
  JsonArray *a = json_node_get_array (n);
  guint len = json_array_get_length (a);
  if (len > (guint) max) {
    gv_json_fail (j, GV_ERROR_UNSUPPORTED, "%s has %u entries (at most %d are supported)", key,
        len, max);
    return 0;
  }
  for (guint i = 0; i < len; i++) {
    if (!node_int (json_array_get_element (a, i), &v)) {
      wrong_type (j, key, "a list of integers");
      return 0;
    }
    if (v < min || v > max_value) {
      gv_json_fail (j, GV_ERROR_CORRUPT, "%s[%u] = %" G_GINT64_FORMAT " is out of range [%d, %d]",
          key, i, v, min, max_value);
      return 0;
    }
    out[i] = (gint) v;
  }
  return (gint) len;
}

gchar **
gv_json_strv (GvJson *j, const gchar *key)
{
  JsonNode *n = gv_json_get (j, key);
  if (n == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_ARRAY (n)) {
    wrong_type (j, key, "a list of strings");
    return NULL;
  }
  JsonArray *a = json_node_get_array (n);
  GStrvBuilder *b = g_strv_builder_new ();
  for (guint i = 0; i < json_array_get_length (a); i++) {
    JsonNode *e = json_array_get_element (a, i);
    if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING) {
      wrong_type (j, key, "a list of strings");
      g_strv_builder_unref (b);
      return NULL;
    }
    g_strv_builder_add (b, json_node_get_string (e));
  }
  gchar **v = g_strv_builder_end (b);
  g_strv_builder_unref (b);
  return v;
}

gint
gv_json_double_list (GvJson *j, const gchar *key, gdouble *out, gint max)
{
  JsonNode *n = gv_json_get (j, key);
  if (n == NULL)
    return 0;
  if (node_is_number (n)) {
    out[0] = json_node_get_double (n);
    return 1;
  }
  if (!JSON_NODE_HOLDS_ARRAY (n)) {
    wrong_type (j, key, "a number or a list of numbers");
    return 0;
  }
  JsonArray *a = json_node_get_array (n);
  guint len = json_array_get_length (a);
  if (len > (guint) max) {
    gv_json_fail (j, GV_ERROR_CORRUPT, "%s has %u entries (at most %d expected)", key, len, max);
    return 0;
  }
  for (guint i = 0; i < len; i++) {
    JsonNode *e = json_array_get_element (a, i);
    if (!node_is_number (e)) {
      wrong_type (j, key, "a list of numbers");
      return 0;
    }
    out[i] = json_node_get_double (e);
  }
  return (gint) len;
}

gchar *
gv_json_node_text (JsonNode *node)
{
  if (node == NULL)
    return g_strdup ("null");
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    return g_strdup_printf ("'%s'", json_node_get_string (node));
  return json_to_string (node, FALSE);
}

gint
gv_json_enum (GvJson *j, const gchar *key, gint def, const gchar *const *allowed)
{
  JsonNode *n = gv_json_get (j, key);
  if (n == NULL)
    return def;
  if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING) {
    for (gint i = 0; allowed[i]; i++)
      if (g_strcmp0 (json_node_get_string (n), allowed[i]) == 0)
        return i;
  }
  gchar *value = gv_json_node_text (n);
  gchar *list = g_strjoinv (", ", (gchar **) allowed);
  gv_json_unsupported (j, key, value, list);
  g_free (list);
  g_free (value);
  return -1;
}

void
gv_json_expect_null (GvJson *j, const gchar *key, const gchar *supported)
{
  JsonNode *n = gv_json_get (j, key);
  if (n == NULL)
    return;
  gchar *value = gv_json_node_text (n);
  gv_json_unsupported (j, key, value, supported);
  g_free (value);
}

void
gv_json_expect_bool (GvJson *j, const gchar *key, gboolean want)
{
  if (gv_json_bool (j, key, want) != want)
    gv_json_unsupported (j, key, want ? "false" : "true", want ? "true" : "false");
}
