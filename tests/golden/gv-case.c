/* Golden case reader: the safetensors file holds the tensors, the JSON sidecar the rest. */
#include <string.h>

#include "gv-case.h"
#include "models/gv-json.h"

struct _GvCase {
  gchar *name;
  GvSafetensors *st;
  JsonObject *json;
};

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const gchar * const *) a, *(const gchar * const *) b);
}

gchar **
gv_case_list (const gchar *dir, GError **error)
{
  GError *err = NULL;
  GDir *d = g_dir_open (dir, 0, &err);
  if (d == NULL) {
    g_set_error (error, GV_ERROR, GV_ERROR_NOT_FOUND, "%s: %s", dir, err->message);
    g_error_free (err);
    return NULL;
  }
  GPtrArray *names = g_ptr_array_new ();
  const gchar *f;
  while ((f = g_dir_read_name (d)) != NULL) {
    if (g_str_has_suffix (f, ".safetensors"))
      g_ptr_array_add (names, g_strndup (f, strlen (f) - strlen (".safetensors")));
  }
  g_dir_close (d);
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return (gchar **) g_ptr_array_free (names, FALSE);
}

static JsonObject *
parse_info (const gchar *where, const gchar *text, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!gv_json_parser_load (parser, where, text, strlen (text), error))
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, GV_ERROR, GV_ERROR_CORRUPT, "%s: not a JSON object", where);
    return NULL;
  }
  return json_object_ref (json_node_get_object (root));
}

GvCase *
gv_case_open (const gchar *path, GError **error)
{
  gchar *base = g_str_has_suffix (path, ".safetensors") ?
      g_strndup (path, strlen (path) - strlen (".safetensors")) :
      g_str_has_suffix (path, ".json") ? g_strndup (path, strlen (path) - strlen (".json")) :
      g_strdup (path);
  gchar *st_path = g_strconcat (base, ".safetensors", NULL);
  gchar *json_path = g_strconcat (base, ".json", NULL);
  GvCase *c = g_new0 (GvCase, 1);

  c->name = g_path_get_basename (base);
  c->st = gv_safetensors_open (st_path, error);
  if (c->st != NULL) {
    const gchar *info = gv_safetensors_get_metadata (c->st, "info");
    if (g_file_test (json_path, G_FILE_TEST_EXISTS)) {
      c->json = gv_json_load_object (json_path, error);
    } else if (info != NULL) {
      gchar *where = g_strdup_printf ("%s (metadata 'info')", st_path);
      c->json = parse_info (where, info, error);
      g_free (where);
    } else {
      g_set_error (error, GV_ERROR, GV_ERROR_NOT_FOUND, "%s: no such file, and %s has no "
          "'info' metadata", json_path, st_path);
    }
  }
  g_free (base);
  g_free (st_path);
  g_free (json_path);
  if (c->json == NULL) {
    gv_case_free (c);
    return NULL;
  }
  return c;
}

void
gv_case_free (GvCase *c)
{
  if (c == NULL)
    return;
  g_clear_pointer (&c->st, gv_safetensors_close);
  g_clear_pointer (&c->json, json_object_unref);
  g_free (c->name);
  g_free (c);
}

const gchar *
gv_case_get_name (GvCase *c)
{
  return c->name;
}

GvSafetensors *
gv_case_get_safetensors (GvCase *c)
{
  return c->st;
}

JsonObject *
gv_case_get_json (GvCase *c)
{
  return c->json;
}

guint
gv_case_get_n_tensors (GvCase *c)
{
  return gv_safetensors_get_n_tensors (c->st);
}

const gchar *
gv_case_get_tensor_name (GvCase *c, guint i)
{
  return gv_safetensors_get_nth (c->st, i)->name;
}

GvCaseRole
gv_case_tensor_role (const gchar *name)
{
  if (g_str_has_prefix (name, "inter."))
    return GV_CASE_INTER;
  if (g_str_has_prefix (name, "param."))
    return GV_CASE_PARAM;
  if (g_str_has_prefix (name, "grad."))
    return GV_CASE_GRAD;
  if (g_str_has_prefix (name, "new."))
    return GV_CASE_NEW;
  if (g_str_has_prefix (name, "out_"))
    return GV_CASE_OUTPUT;
  return GV_CASE_PLAIN;
}

gchar **
gv_case_list_tensors (GvCase *c, GvCaseRole role)
{
  GStrvBuilder *b = g_strv_builder_new ();
  for (guint i = 0; i < gv_case_get_n_tensors (c); i++) {
    const gchar *name = gv_case_get_tensor_name (c, i);
    if (gv_case_tensor_role (name) == role)
      g_strv_builder_add (b, name);
  }
  gchar **v = g_strv_builder_end (b);
  g_strv_builder_unref (b);
  return v;
}

gboolean
gv_case_has_tensor (GvCase *c, const gchar *name)
{
  return gv_safetensors_lookup (c->st, name) != NULL;
}

gint
gv_case_get_shape (GvCase *c, const gchar *name, gint64 *shape)
{
  const GvStTensor *t = gv_safetensors_lookup (c->st, name);
  if (t == NULL)
    return -1;
  if (shape)
    memcpy (shape, t->shape, sizeof t->shape);
  return t->ndim;
}

gint64
gv_case_get_numel (GvCase *c, const gchar *name)
{
  const GvStTensor *t = gv_safetensors_lookup (c->st, name);
  return t ? t->numel : -1;
}

static const GvStTensor *
find (GvCase *c, const gchar *name, GError **error)
{
  const GvStTensor *t = gv_safetensors_lookup (c->st, name);
  if (t == NULL)
    g_set_error (error, GV_ERROR, GV_ERROR_NOT_FOUND, "%s: no tensor '%s'",
        gv_safetensors_get_path (c->st), name);
  return t;
}

gfloat *
gv_case_read_f32 (GvCase *c, const gchar *name, GError **error)
{
  const GvStTensor *t = find (c, name, error);
  return t ? gv_safetensors_read_f32 (c->st, t) : NULL;
}

gint64 *
gv_case_read_i64 (GvCase *c, const gchar *name, GError **error)
{
  const GvStTensor *t = find (c, name, error);
  if (t == NULL)
    return NULL;
  if (gv_st_dtype_is_float (t->dtype)) {
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "%s: tensor '%s' is %s, not an integer "
        "type", gv_safetensors_get_path (c->st), name, gv_st_dtype_name (t->dtype));
    return NULL;
  }
  return gv_safetensors_read_i64 (c->st, t);
}

guint8 *
gv_case_read_u8 (GvCase *c, const gchar *name, GError **error)
{
  const GvStTensor *t = find (c, name, error);
  if (t == NULL)
    return NULL;
  if (t->dtype != GV_ST_U8) {
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "%s: tensor '%s' is %s, not U8",
        gv_safetensors_get_path (c->st), name, gv_st_dtype_name (t->dtype));
    return NULL;
  }
  return g_memdup2 (gv_safetensors_get_data (c->st, t), MAX (t->numel, 1));
}

JsonNode *
gv_case_get_member (GvCase *c, const gchar *key)
{
  JsonNode *n = json_object_get_member (c->json, key);
  if (n == NULL && strchr (key, '/')) {
    gchar **parts = g_strsplit (key, "/", -1);
    JsonObject *o = c->json;
    for (gchar **p = parts; *p && o; p++) {
      n = json_object_get_member (o, *p);
      o = n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
      if (p[1] && o == NULL)
        n = NULL;
    }
    g_strfreev (parts);
  }
  return n == NULL || JSON_NODE_HOLDS_NULL (n) ? NULL : n;
}

static gboolean
holds (JsonNode *n, GType type)
{
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == type;
}

const gchar *
gv_case_get_string (GvCase *c, const gchar *key)
{
  JsonNode *n = gv_case_get_member (c, key);
  return holds (n, G_TYPE_STRING) ? json_node_get_string (n) : NULL;
}

gboolean
gv_case_get_double (GvCase *c, const gchar *key, gdouble *value)
{
  JsonNode *n = gv_case_get_member (c, key);
  if (!holds (n, G_TYPE_DOUBLE) && !holds (n, G_TYPE_INT64))
    return FALSE;
  *value = json_node_get_double (n);
  return TRUE;
}

gboolean
gv_case_get_int (GvCase *c, const gchar *key, gint64 *value)
{
  JsonNode *n = gv_case_get_member (c, key);
  if (!holds (n, G_TYPE_INT64))
    return FALSE;
  *value = json_node_get_int (n);
  return TRUE;
}

gchar **
gv_case_get_strv (GvCase *c, const gchar *key)
{
  JsonNode *n = gv_case_get_member (c, key);
  if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n))
    return NULL;
  JsonArray *a = json_node_get_array (n);
  GStrvBuilder *b = g_strv_builder_new ();
  gboolean ok = TRUE;
  for (guint i = 0; i < json_array_get_length (a) && ok; i++) {
    JsonNode *e = json_array_get_element (a, i);
    ok = holds (e, G_TYPE_STRING);
    if (ok)
      g_strv_builder_add (b, json_node_get_string (e));
  }
  gchar **v = g_strv_builder_end (b);
  g_strv_builder_unref (b);
  if (!ok)
    g_clear_pointer (&v, g_strfreev);
  return v;
}

gdouble *
gv_case_get_doubles (GvCase *c, const gchar *key, guint *n)
{
  JsonNode *node = gv_case_get_member (c, key);
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return NULL;
  JsonArray *a = json_node_get_array (node);
  guint len = json_array_get_length (a);
  gdouble *v = g_new (gdouble, MAX (len, 1));
  for (guint i = 0; i < len; i++) {
    JsonNode *e = json_array_get_element (a, i);
    if (!holds (e, G_TYPE_DOUBLE) && !holds (e, G_TYPE_INT64)) {
      g_free (v);
      return NULL;
    }
    v[i] = json_node_get_double (e);
  }
  *n = len;
  return v;
}

/* {metric, value}, a bare number (with @metric), or "exact" */
static gboolean
tolerance_of (JsonNode *n, const gchar *metric, GvCaseTolerance *tol)
{
  if (holds (n, G_TYPE_STRING) && strcmp (json_node_get_string (n), "exact") == 0) {
    *tol = (GvCaseTolerance) { "exact", 0 };
    return TRUE;
  }
  if (holds (n, G_TYPE_DOUBLE) || holds (n, G_TYPE_INT64)) {
    *tol = (GvCaseTolerance) { metric ? metric : "rel_l2", json_node_get_double (n) };
    return TRUE;
  }
  if (n == NULL || !JSON_NODE_HOLDS_OBJECT (n))
    return FALSE;
  JsonObject *o = json_node_get_object (n);
  JsonNode *m = json_object_get_member (o, "metric");
  JsonNode *v = json_object_get_member (o, "value");
  if (!holds (m, G_TYPE_STRING))
    return FALSE;
  tol->metric = json_node_get_string (m);
  if (strcmp (tol->metric, "exact") == 0)
    tol->value = 0;
  else if (holds (v, G_TYPE_DOUBLE) || holds (v, G_TYPE_INT64))
    tol->value = json_node_get_double (v);
  else
    return FALSE;
  return TRUE;
}

static gboolean
key_names (const gchar *key, const gchar *tensor)
{
  gsize len = strlen (key);
  if (strcmp (key, tensor) == 0)
    return TRUE;
  if (strpbrk (key, "*?"))
    return g_pattern_match_simple (key, tensor);
  return strncmp (key, tensor, len) == 0 && (tensor[len] == '_' || tensor[len] == '.');
}

gboolean
gv_case_get_tolerance (GvCase *c, const gchar *tensor, GvCaseTolerance *tol)
{
  JsonNode *n = json_object_get_member (c->json, "tolerance");
  if (n == NULL || !JSON_NODE_HOLDS_OBJECT (n))
    return FALSE;
  JsonObject *o = json_node_get_object (n);
  gboolean has_base = json_object_has_member (o, "metric");
  GvCaseTolerance base = { NULL, 0 };
  if (has_base && !tolerance_of (n, NULL, &base))
    return FALSE;

  /* an exact key first, then the first pattern that names the tensor */
  JsonNode *exact = json_object_get_member (o, tensor);
  if (exact && tolerance_of (exact, base.metric, tol))
    return TRUE;
  JsonObjectIter it;
  const gchar *key;
  JsonNode *value;
  json_object_iter_init_ordered (&it, o);
  while (json_object_iter_next_ordered (&it, &key, &value)) {
    if (strcmp (key, "metric") == 0 || strcmp (key, "value") == 0 || strcmp (key, "note") == 0)
      continue;
    if (key_names (key, tensor) && tolerance_of (value, base.metric, tol))
      return TRUE;
  }
  if (has_base)
    *tol = base;
  return has_base;
}
