/* A checkpoint folder compared with one that diffusers wrote: files, config keys and value
 * types, weight dtypes, and the tensors each network's loader asks for. Every problem is
 * collected, so one run lists them all. */
#include <string.h>

#include "models/gv-json.h"
#include "models/gv-layout-check.h"
#include "models/gv-model.h"
#include "models/gv-safetensors.h"

typedef struct {
  const gchar *model, *reference;
  GPtrArray *problems;                     /* "FILE: what is wrong" */
} Check;

static void problem (Check *c, const gchar *rel, const gchar *format, ...) G_GNUC_PRINTF (3, 4);

static void
problem (Check *c, const gchar *rel, const gchar *format, ...)
{
  va_list args;
  va_start (args, format);
  gchar *what = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add (c->problems, g_strdup_printf ("%s: %s", rel, what));
  g_free (what);
}

/* The relative paths of every file under @dir (one level of component folders, and deeper). */
static gboolean
list_files (const gchar *dir, const gchar *rel, GPtrArray *out, GError **error)
{
  GDir *d = g_dir_open (dir, 0, error);
  if (d == NULL)
    return FALSE;
  gboolean ok = TRUE;
  const gchar *name;
  while (ok && (name = g_dir_read_name (d)) != NULL) {
    gchar *path = g_build_filename (dir, name, NULL);
    gchar *r = *rel ? g_strconcat (rel, "/", name, NULL) : g_strdup (name);
    if (g_file_test (path, G_FILE_TEST_IS_DIR))
      ok = list_files (path, r, out, error);
    else
      g_ptr_array_add (out, g_steal_pointer (&r));
    g_free (r);
    g_free (path);
  }
  g_dir_close (d);
  return ok;
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const gchar * const *) a, *(const gchar * const *) b);
}

/* JSON value kinds as Python's json module reads them */
typedef enum { KIND_NULL, KIND_BOOL, KIND_INT, KIND_FLOAT, KIND_STRING, KIND_ARRAY,
  KIND_OBJECT } Kind;

static const gchar *const kind_names[] = { "null", "a boolean", "an integer", "a float",
  "a string", "an array", "an object" };

static Kind
kind_of (JsonNode *n)
{
  switch (JSON_NODE_TYPE (n)) {
    case JSON_NODE_OBJECT:
      return KIND_OBJECT;
    case JSON_NODE_ARRAY:
      return KIND_ARRAY;
    case JSON_NODE_NULL:
      return KIND_NULL;
    case JSON_NODE_VALUE:
      break;
  }
  GType t = json_node_get_value_type (n);
  if (t == G_TYPE_BOOLEAN)
    return KIND_BOOL;
  if (t == G_TYPE_INT64)
    return KIND_INT;
  if (t == G_TYPE_DOUBLE)
    return KIND_FLOAT;
  return KIND_STRING;
}

static void compare_objects (Check *c, const gchar *rel, const gchar *path, JsonObject *ref,
    JsonObject *model, gboolean values);

/* @model's value at @path has the kind of @ref's; objects and array items recursively */
static void
compare_nodes (Check *c, const gchar *rel, const gchar *path, JsonNode *ref, JsonNode *model)
{
  Kind r = kind_of (ref), m = kind_of (model);
  if (r != m && !(r == KIND_FLOAT && m == KIND_INT)) {
    problem (c, rel, "'%s' is %s, the reference's is %s", path, kind_names[m], kind_names[r]);
    return;
  }
  if (r == KIND_OBJECT) {
    compare_objects (c, rel, path, json_node_get_object (ref), json_node_get_object (model),
        FALSE);
  } else if (r == KIND_ARRAY) {
    JsonArray *ra = json_node_get_array (ref), *ma = json_node_get_array (model);
    if (json_array_get_length (ra) == 0)
      return;
    for (guint i = 0; i < json_array_get_length (ma); i++) {
      gchar *item = g_strdup_printf ("%s[%u]", path, i);
      compare_nodes (c, rel, item, json_array_get_element (ra, 0),
          json_array_get_element (ma, i));
      g_free (item);
    }
  }
}

/* The same keys with values of the same kinds; with @values, the same values too, except for
 * the `_` keys other than _class_name (the writer's version, say). */
static void
compare_objects (Check *c, const gchar *rel, const gchar *path, JsonObject *ref,
    JsonObject *model, gboolean values)
{
  GList *keys = g_list_sort (json_object_get_members (ref), (GCompareFunc) strcmp);
  for (GList *k = keys; k != NULL; k = k->next) {
    const gchar *key = k->data;
    gchar *full = *path ? g_strconcat (path, ".", key, NULL) : g_strdup (key);
    JsonNode *r = json_object_get_member (ref, key), *m = json_object_get_member (model, key);
    if (m == NULL) {
      problem (c, rel, "key '%s' is missing", full);
    } else if (values && (key[0] != '_' || strcmp (key, "_class_name") == 0) &&
        !json_node_equal (r, m)) {
      gchar *rt = gv_json_node_text (r), *mt = gv_json_node_text (m);
      problem (c, rel, "'%s' is %s, the reference's is %s", full, mt, rt);
      g_free (rt);
      g_free (mt);
    } else {
      compare_nodes (c, rel, full, r, m);
    }
    g_free (full);
  }
  g_list_free (keys);

  keys = g_list_sort (json_object_get_members (model), (GCompareFunc) strcmp);
  for (GList *k = keys; k != NULL; k = k->next) {
    if (!json_object_has_member (ref, k->data)) {
      gchar *full = *path ? g_strconcat (path, ".", k->data, NULL) : g_strdup (k->data);
      problem (c, rel, "key '%s' is not in the reference", full);
      g_free (full);
    }
  }
  g_list_free (keys);
}

static void
check_json (Check *c, const gchar *rel, const gchar *ref_path, const gchar *model_path)
{
  GError *error = NULL;
  JsonObject *ref = gv_json_load_object (ref_path, &error);
  JsonObject *model = ref ? gv_json_load_object (model_path, &error) : NULL;
  if (model != NULL)
    compare_objects (c, rel, "", ref, model, strcmp (rel, "model_index.json") == 0);
  else
    problem (c, rel, "%s", error->message);
  g_clear_error (&error);
  g_clear_pointer (&ref, json_object_unref);
  g_clear_pointer (&model, json_object_unref);
}

/* diffusers and transformers load both; our export writes F16 */
static void
check_dtypes (Check *c, const gchar *rel, const gchar *model_path)
{
  GError *error = NULL;
  GvSafetensors *st = gv_safetensors_open (model_path, &error);
  if (st == NULL) {
    problem (c, rel, "%s", error->message);
    g_error_free (error);
    return;
  }
  for (guint i = 0; i < gv_safetensors_get_n_tensors (st); i++) {
    const GvStTensor *t = gv_safetensors_get_nth (st, i);
    if (t->dtype != GV_ST_F32 && t->dtype != GV_ST_F16)
      problem (c, rel, "tensor '%s' is %s (F32 or F16 expected)", t->name,
          gv_st_dtype_name (t->dtype));
  }
  gv_safetensors_close (st);
}

/* Each loader builds its network from @w with the model's configs and frees it again. */
typedef gboolean (*LoadFunc) (GvDevice *dev, GvWeights *w, const GvCheckpointConfig *cfg,
    GError **error);

static gboolean
load_unet (GvDevice *dev, GvWeights *w, const GvCheckpointConfig *cfg, GError **error)
{
  GvUNet *u = gv_unet_new_from_loader (dev, gv_loader_new (w, dev), &cfg->unet, error);
  gv_unet_free (u);
  return u != NULL;
}

static gboolean
load_vae (GvDevice *dev, GvWeights *w, const GvCheckpointConfig *cfg, GError **error)
{
  GvVae *v = gv_vae_new_from_loader (dev, gv_loader_new (w, dev), &cfg->vae, error);
  gv_vae_free (v);
  return v != NULL;
}

static gboolean
load_text_encoder (GvDevice *dev, GvWeights *w, const GvCheckpointConfig *cfg, GError **error)
{
  GvTextEncoder *t = gv_text_encoder_new_from_loader (dev, gv_loader_new (w, dev),
      &cfg->text_encoder, error);
  gv_text_encoder_free (t);
  return t != NULL;
}

static gboolean
load_image_encoder (GvDevice *dev, GvWeights *w, const GvCheckpointConfig *cfg, GError **error)
{
  GvImageEncoder *e = gv_image_encoder_new_from_loader (dev, gv_loader_new (w, dev),
      &cfg->image_encoder, error);
  gv_image_encoder_free (e);
  return e != NULL;
}

static gboolean
load_image_normalizer (GvDevice *dev, GvWeights *w, const GvCheckpointConfig *cfg,
    GError **error)
{
  GvImageNoiser *n = gv_image_noiser_new_from_weights (dev, w, &cfg->image_normalizer,
      &cfg->image_noising_scheduler, error);
  gv_image_noiser_free (n);
  return n != NULL;
}

static const struct {
  const gchar *component;
  LoadFunc load;
} loaders[] = {
  { "unet", load_unet },
  { "vae", load_vae },
  { "text_encoder", load_text_encoder },
  { "image_encoder", load_image_encoder },
  { "image_normalizer", load_image_normalizer },
};

/* The network of @rel's folder loaded from the model's weights: every tensor it asks for is
 * there with the shape the configs give, and it asks for every tensor of the file. */
static gboolean
check_tensors (Check *c, GvDevice *dev, const GvCheckpointConfig *cfg, const gchar *rel,
    GError **error)
{
  gchar *component = g_path_get_dirname (rel), *file = g_path_get_basename (rel);
  LoadFunc load = NULL;
  for (guint i = 0; i < G_N_ELEMENTS (loaders); i++) {
    if (strcmp (loaders[i].component, component) == 0)
      load = loaders[i].load;
  }
  gchar *folder = g_build_filename (c->model, component, NULL);
  GError *local = NULL;
  GvWeights *w = NULL;
  gboolean ok = TRUE;

  if (load == NULL) {
    problem (c, rel, "no loader of this project reads %s/ (cannot tell which tensors it "
        "needs)", component);
  } else if ((w = gv_weights_open (folder, FALSE, &local)) == NULL) {
    problem (c, rel, "%s", local->message);
  } else {
    gchar *source = g_path_get_basename (gv_weights_get_source (w));
    if (strcmp (source, file) != 0)
      problem (c, rel, "the loader reads %s/%s instead", component, source);
    g_free (source);
    if (!load (dev, w, cfg, &local)) {
      /* a device failure is no verdict on the folder */
      if (local->domain == GV_ERROR && (local->code == GV_ERROR_NOT_FOUND ||
              local->code == GV_ERROR_CORRUPT || local->code == GV_ERROR_UNSUPPORTED)) {
        /* the loader's message starts with the file's full path: @rel says it already */
        const gchar *msg = local->message, *src = gv_weights_get_source (w);
        if (g_str_has_prefix (msg, src) && g_str_has_prefix (msg + strlen (src), ": "))
          msg += strlen (src) + 2;
        problem (c, rel, "%s", msg);
      } else {
        ok = FALSE;
      }
    } else {
      gchar **unused = gv_weights_list_unused (w);
      for (gchar **u = unused; *u != NULL; u++)
        problem (c, rel, "tensor '%s' is not used by the %s network", *u, component);
      g_strfreev (unused);
    }
  }
  if (!ok)
    g_propagate_error (error, g_steal_pointer (&local));
  g_clear_error (&local);
  g_clear_pointer (&w, gv_weights_free);
  g_free (folder);
  g_free (component);
  g_free (file);
  return ok;
}

/* The configs and the tokenizer as the project reads them, then the networks' tensors. */
static gboolean
check_loading (Check *c, GvDevice *dev, GPtrArray *weights, gboolean has_tokenizer,
    GError **error)
{
  GError *local = NULL;
  GvCheckpointConfig *cfg = gv_checkpoint_config_load (c->model, &local);
  if (cfg == NULL) {
    /* the message names the file under the model folder: keep the part under it */
    const gchar *msg = local->message;
    gsize n = strlen (c->model);
    if (strncmp (msg, c->model, n) == 0 && msg[n] == G_DIR_SEPARATOR)
      msg += n + 1;
    problem (c, "the project's config reader", "%s", msg);
    g_error_free (local);
    return TRUE;
  }
  if (has_tokenizer) {
    gchar *folder = g_build_filename (c->model, "tokenizer", NULL);
    GvTokenizer *tok = gv_tokenizer_new (folder, &local);
    if (tok == NULL)
      problem (c, "tokenizer", "%s", local->message);
    g_clear_error (&local);
    gv_tokenizer_free (tok);
    g_free (folder);
  }
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < weights->len; i++)
    ok = check_tensors (c, dev, cfg, weights->pdata[i], error);
  gv_checkpoint_config_free (cfg);
  return ok;
}

gboolean
gv_layout_check (GvDevice *dev, const gchar *model_dir, const gchar *reference_dir,
    GError **error)
{
  if (!g_file_test (model_dir, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, GV_ERROR, GV_ERROR_NOT_FOUND, "%s: no such folder", model_dir);
    return FALSE;
  }
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  if (!list_files (reference_dir, "", files, error)) {
    g_prefix_error (error, "the reference: ");
    return FALSE;
  }
  g_ptr_array_sort (files, compare_strings);

  Check c = { model_dir, reference_dir, g_ptr_array_new_with_free_func (g_free) };
  g_autoptr (GPtrArray) weights = g_ptr_array_new ();   /* borrowed from @files */
  gboolean has_tokenizer = FALSE;
  for (guint i = 0; i < files->len; i++) {
    const gchar *rel = files->pdata[i];
    gchar *ref_path = g_build_filename (reference_dir, rel, NULL);
    gchar *model_path = g_build_filename (model_dir, rel, NULL);
    has_tokenizer |= g_str_has_prefix (rel, "tokenizer/");
    if (!g_file_test (model_path, G_FILE_TEST_IS_REGULAR)) {
      problem (&c, rel, "missing (the reference has it)");
    } else if (g_str_has_suffix (rel, ".safetensors")) {
      check_dtypes (&c, rel, model_path);
      g_ptr_array_add (weights, (gpointer) rel);
    } else if (g_str_has_suffix (rel, ".json") && !g_str_has_suffix (rel, "/vocab.json") &&
        !g_str_has_suffix (rel, ".index.json")) {
      check_json (&c, rel, ref_path, model_path);
    }
    g_free (ref_path);
    g_free (model_path);
  }
  gboolean ok = check_loading (&c, dev, weights, has_tokenizer, error);

  if (ok && c.problems->len > 0) {
    GString *s = g_string_new (NULL);
    g_string_printf (s, "%s does not match the layout of %s (%u problem%s):", model_dir,
        reference_dir, c.problems->len, c.problems->len == 1 ? "" : "s");
    for (guint i = 0; i < c.problems->len; i++)
      g_string_append_printf (s, "\n  %s", (const gchar *) c.problems->pdata[i]);
    g_set_error_literal (error, GV_ERROR, GV_ERROR_CORRUPT, s->str);
    g_string_free (s, TRUE);
    ok = FALSE;
  }
  g_ptr_array_unref (c.problems);
  return ok;
}
