/* The weights of one model component: its safetensors file(s) found as diffusers and
 * transformers name them, tensors looked up by name, shape-checked, converted and uploaded. */
#include <math.h>
#include <string.h>

#include "models/gv-json.h"
#include "models/gv-weights.h"

typedef struct {
  GvSafetensors *st;
  const GvStTensor *t;
  gboolean used;             /* handed out by a load or read (gv_weights_list_unused) */
} Entry;

struct _GvWeights {
  gchar *folder;
  gchar *source;             /* the weights file, or the index of a sharded checkpoint */
  GPtrArray *files;          /* GvSafetensors, owned */
  GHashTable *entries;       /* name -> Entry */
};

/* diffusers' names first, then transformers' */
static const gchar *const base_names[] = { "diffusion_pytorch_model", "model" };

static void
add_file_entries (GvWeights *w, GvSafetensors *st)
{
  for (guint i = 0; i < gv_safetensors_get_n_tensors (st); i++) {
    Entry *e = g_new0 (Entry, 1);
    e->st = st;
    e->t = gv_safetensors_get_nth (st, i);
    g_hash_table_insert (w->entries, e->t->name, e);
  }
}

static gboolean
open_single (GvWeights *w, const gchar *path, GError **error)
{
  GvSafetensors *st = gv_safetensors_open (path, error);
  if (st == NULL)
    return FALSE;
  g_ptr_array_add (w->files, st);
  w->source = g_strdup (path);
  add_file_entries (w, st);
  return TRUE;
}

/* A sharded checkpoint: {"weight_map": {tensor: shard file}}; every shard is opened and every
 * tensor of the map must be in the shard it names. */
static gboolean
open_sharded (GvWeights *w, const gchar *index_path, GError **error)
{
  GvJson j;
  if (!gv_json_open (&j, index_path, error))
    return FALSE;
  w->source = g_strdup (index_path);
  JsonNode *map = gv_json_get (&j, "weight_map");
  if (map == NULL || !JSON_NODE_HOLDS_OBJECT (map))
    gv_json_fail (&j, GV_ERROR_CORRUPT, "no weight_map object");

  g_autoptr (GHashTable) shards = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  JsonObjectIter it;
  const gchar *name;
  JsonNode *node;
  if (j.error == NULL)
    json_object_iter_init_ordered (&it, json_node_get_object (map));
  while (j.error == NULL && json_object_iter_next_ordered (&it, &name, &node)) {
    const gchar *file = JSON_NODE_HOLDS_VALUE (node) &&
        json_node_get_value_type (node) == G_TYPE_STRING ? json_node_get_string (node) : NULL;
    if (file == NULL || *file == '\0' || strchr (file, '/') || strchr (file, '\\') ||
        strcmp (file, "..") == 0) {
      gv_json_fail (&j, GV_ERROR_CORRUPT, "weight_map entry '%s' is not a file name", name);
      break;
    }
    GvSafetensors *st = g_hash_table_lookup (shards, file);
    if (st == NULL) {
      gchar *path = g_build_filename (w->folder, file, NULL);
      GError *err = NULL;
      st = gv_safetensors_open (path, &err);
      g_free (path);
      if (st == NULL) {
        gv_json_fail (&j, err->code, "shard of '%s': %s", name, err->message);
        g_error_free (err);
        break;
      }
      g_ptr_array_add (w->files, st);
      g_hash_table_insert (shards, g_strdup (file), st);
    }
    const GvStTensor *t = gv_safetensors_lookup (st, name);
    if (t == NULL) {
      gv_json_fail (&j, GV_ERROR_CORRUPT, "weight_map puts '%s' in %s, which has no such tensor",
          name, file);
      break;
    }
    Entry *e = g_new0 (Entry, 1);
    e->st = st;
    e->t = t;
    g_hash_table_insert (w->entries, t->name, e);
  }
  gboolean ok = gv_json_finish (&j, error);
  gv_json_clear (&j);
  return ok;
}

/* Candidates in order of preference; the first that exists is used. */
static GPtrArray *
candidates (gboolean prefer_fp16)
{
  const gchar *variants[2] = { "", ".fp16" };
  GPtrArray *c = g_ptr_array_new_with_free_func (g_free);

  if (prefer_fp16) {
    variants[0] = ".fp16";
    variants[1] = "";
  }
  for (guint v = 0; v < 2; v++) {
    for (guint b = 0; b < G_N_ELEMENTS (base_names); b++)
      g_ptr_array_add (c, g_strconcat (base_names[b], variants[v], ".safetensors", NULL));
    for (guint b = 0; b < G_N_ELEMENTS (base_names); b++) {
      /* _add_variant of "x.safetensors.index.json" gives "x.safetensors.index.fp16.json";
       * some writers put the variant first */
      g_ptr_array_add (c, g_strconcat (base_names[b], ".safetensors.index", variants[v], ".json",
          NULL));
      if (*variants[v])
        g_ptr_array_add (c, g_strconcat (base_names[b], variants[v], ".safetensors.index.json",
            NULL));
    }
  }
  return c;
}

GvWeights *
gv_weights_open (const gchar *folder, gboolean prefer_fp16, GError **error)
{
  if (!g_file_test (folder, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, GV_ERROR, GV_ERROR_NOT_FOUND, "%s: no such folder", folder);
    return NULL;
  }
  GvWeights *w = g_new0 (GvWeights, 1);
  w->folder = g_strdup (folder);
  w->files = g_ptr_array_new_with_free_func ((GDestroyNotify) gv_safetensors_close);
  w->entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);

  g_autoptr (GPtrArray) names = candidates (prefer_fp16);
  for (guint i = 0; i < names->len; i++) {
    gchar *path = g_build_filename (folder, names->pdata[i], NULL);
    gboolean exists = g_file_test (path, G_FILE_TEST_EXISTS);
    gboolean ok = !exists || (g_str_has_suffix (path, ".json") ?
        open_sharded (w, path, error) : open_single (w, path, error));
    g_free (path);
    if (!ok) {
      gv_weights_free (w);
      return NULL;
    }
    if (exists)
      return w;
  }

  g_ptr_array_add (names, NULL);
  gchar *list = g_strjoinv (", ", (gchar **) names->pdata);
  gchar *bin = g_build_filename (folder, "diffusion_pytorch_model.bin", NULL);
  gchar *bin2 = g_build_filename (folder, "pytorch_model.bin", NULL);
  gboolean has_bin = g_file_test (bin, G_FILE_TEST_EXISTS) || g_file_test (bin2,
      G_FILE_TEST_EXISTS);
  g_set_error (error, GV_ERROR, GV_ERROR_NOT_FOUND, "%s: no weights file (looked for %s)%s",
      folder, list, has_bin ? "; PyTorch .bin files are not read: convert them to safetensors" :
      "");
  g_free (bin);
  g_free (bin2);
  g_free (list);
  gv_weights_free (w);
  return NULL;
}

GvWeights *
gv_weights_open_file (const gchar *path, GError **error)
{
  GvWeights *w = g_new0 (GvWeights, 1);
  w->folder = g_path_get_dirname (path);
  w->files = g_ptr_array_new_with_free_func ((GDestroyNotify) gv_safetensors_close);
  w->entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  if (!open_single (w, path, error)) {
    gv_weights_free (w);
    return NULL;
  }
  return w;
}

void
gv_weights_free (GvWeights *w)
{
  if (w == NULL)
    return;
  g_hash_table_unref (w->entries);
  g_ptr_array_unref (w->files);
  g_free (w->source);
  g_free (w->folder);
  g_free (w);
}

const gchar *
gv_weights_get_folder (GvWeights *w)
{
  return w->folder;
}

const gchar *
gv_weights_get_source (GvWeights *w)
{
  return w->source;
}

guint
gv_weights_get_n_tensors (GvWeights *w)
{
  return g_hash_table_size (w->entries);
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const gchar * const *) a, *(const gchar * const *) b);
}

gchar **
gv_weights_list (GvWeights *w)
{
  guint n;
  gchar **names = (gchar **) g_hash_table_get_keys_as_array (w->entries, &n);
  gchar **out = g_new (gchar *, n + 1);
  for (guint i = 0; i < n; i++)
    out[i] = g_strdup (names[i]);
  out[n] = NULL;
  g_free (names);
  qsort (out, n, sizeof (gchar *), compare_strings);
  return out;
}

gchar **
gv_weights_list_unused (GvWeights *w)
{
  GPtrArray *names = g_ptr_array_new ();
  GHashTableIter it;
  Entry *e;
  g_hash_table_iter_init (&it, w->entries);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &e)) {
    if (!e->used)
      g_ptr_array_add (names, g_strdup (e->t->name));
  }
  g_ptr_array_sort (names, compare_strings);
  g_ptr_array_add (names, NULL);
  return (gchar **) g_ptr_array_free (names, FALSE);
}

static const struct {
  const gchar *name, *legacy;
} legacy_names[] = {
  { "to_q", "query" }, { "to_k", "key" }, { "to_v", "value" }, { "to_out.0", "proj_attn" },
};

/* The legacy spelling of an attention projection (…to_q.weight -> …query.weight), or NULL. */
static gchar *
legacy_name (const gchar *name)
{
  const gchar *leaf = strrchr (name, '.');
  if (leaf == NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (legacy_names); i++) {
    gsize len = strlen (legacy_names[i].name);
    const gchar *mod = leaf - len;
    if (mod < name || strncmp (mod, legacy_names[i].name, len) != 0 ||
        (mod > name && mod[-1] != '.'))
      continue;
    return g_strdup_printf ("%.*s%s%s", (gint) (mod - name), name, legacy_names[i].legacy, leaf);
  }
  return NULL;
}

static Entry *
lookup (GvWeights *w, const gchar *name, gboolean *is_attn)
{
  Entry *e = g_hash_table_lookup (w->entries, name);
  gchar *legacy = legacy_name (name);

  *is_attn = legacy != NULL;
  if (e == NULL && legacy != NULL)
    e = g_hash_table_lookup (w->entries, legacy);
  g_free (legacy);
  return e;
}

gboolean
gv_weights_contains (GvWeights *w, const gchar *name)
{
  gboolean is_attn;
  return lookup (w, name, &is_attn) != NULL;
}

/* the stored shape is the wanted one, or an equivalent spelling of it */
static gboolean
shape_matches (const GvStTensor *t, gint ndim, const gint64 *shape, gboolean is_attn)
{
  if (t->ndim == ndim && memcmp (t->shape, shape, sizeof (gint64) * ndim) == 0)
    return TRUE;
  /* old VAE checkpoints store attention projections as 1x1 convolutions */
  if (is_attn && ndim == 2 && t->ndim == 4 && t->shape[0] == shape[0] &&
      t->shape[1] == shape[1] && t->shape[2] == 1 && t->shape[3] == 1)
    return TRUE;
  /* a scalar for a one-element vector */
  return t->ndim == 0 && ndim == 1 && shape[0] == 1;
}

/* The entry of @name, checked against @shape; NULL with GV_ERROR_NOT_FOUND when it is
 * missing (only if @missing_ok is FALSE) or another error. */
static const Entry *
find_checked (GvWeights *w, const gchar *name, gint ndim, const gint64 *shape,
    gboolean missing_ok, GError **error)
{
  gboolean is_attn;
  Entry *e = lookup (w, name, &is_attn);

  if (e == NULL) {
    if (!missing_ok) {
      gchar *legacy = legacy_name (name);
      g_set_error (error, GV_ERROR, GV_ERROR_NOT_FOUND, "%s: no tensor '%s'%s%s%s", w->source,
          name, legacy ? " (nor '" : "", legacy ? legacy : "", legacy ? "')" : "");
      g_free (legacy);
    }
    return NULL;
  }
  if (ndim < 1 || ndim > GV_MAX_DIMS || !shape_matches (e->t, ndim, shape, is_attn)) {
    gchar *found = gv_st_shape_string (e->t->ndim, e->t->shape);
    gchar *want = gv_st_shape_string (ndim, shape);
    g_set_error (error, GV_ERROR, GV_ERROR_CORRUPT, "%s: tensor '%s' has shape %s, expected %s",
        gv_safetensors_get_path (e->st), e->t->name, found, want);
    g_free (found);
    g_free (want);
    return NULL;
  }
  e->used = TRUE;
  return e;
}

/* Float32 values of @e: the mapping itself when it already holds them (@tmp stays NULL). */
static gconstpointer
f32_data (const Entry *e, gfloat **tmp)
{
  *tmp = NULL;
  if (e->t->dtype == GV_ST_F32 && G_BYTE_ORDER == G_LITTLE_ENDIAN)
    return gv_safetensors_get_data (e->st, e->t);
  *tmp = gv_safetensors_read_f32 (e->st, e->t);
  return *tmp;
}

GvTensor *
gv_weights_load (GvWeights *w, GvDevice *dev, const gchar *name, gint ndim, const gint64 *shape,
    GError **error)
{
  const Entry *e = find_checked (w, name, ndim, shape, FALSE, error);
  if (e == NULL)
    return NULL;
  GvTensor *t = gv_tensor_new (dev, ndim, shape, error);
  if (t == NULL)
    return NULL;
  gfloat *tmp;
  gboolean ok = gv_tensor_upload (t, f32_data (e, &tmp), error);
  g_free (tmp);
  if (!ok)
    g_clear_pointer (&t, gv_tensor_unref);
  return t;
}

gfloat *
gv_weights_read (GvWeights *w, const gchar *name, gint ndim, const gint64 *shape,
    GError **error)
{
  const Entry *e = find_checked (w, name, ndim, shape, FALSE, error);
  return e ? gv_safetensors_read_f32 (e->st, e->t) : NULL;
}

/* GvLoader */

struct _GvLoader {
  GvWeights *w;              /* NULL: an empty set, or made-up tensors (@rand) */
  GRand *rand;               /* gv_loader_new_random () */
  GvCmd *cmd;
  GString *prefix;
  GArray *marks;             /* prefix lengths before each push */
  GError *error;
  GvLoaderNameFunc name_fn;
  gpointer name_data;
};

GvLoader *
gv_loader_new (GvWeights *w, GvDevice *dev)
{
  GvLoader *l = g_new0 (GvLoader, 1);
  l->w = w;
  l->cmd = gv_cmd_new (dev);
  l->prefix = g_string_new (NULL);
  l->marks = g_array_new (FALSE, FALSE, sizeof (gsize));
  return l;
}

GvLoader *
gv_loader_new_random (GvDevice *dev, guint32 seed)
{
  GvLoader *l = gv_loader_new (NULL, dev);
  l->rand = g_rand_new_with_seed (seed);
  return l;
}

GvCmd *
gv_loader_get_cmd (GvLoader *l)
{
  return l->cmd;
}

GvWeights *
gv_loader_get_weights (GvLoader *l)
{
  return l->w;
}

void
gv_loader_push (GvLoader *l, const gchar *format, ...)
{
  va_list args;
  g_array_append_val (l->marks, l->prefix->len);
  if (l->prefix->len)
    g_string_append_c (l->prefix, '.');
  va_start (args, format);
  g_string_append_vprintf (l->prefix, format, args);
  va_end (args);
}

void
gv_loader_pop (GvLoader *l)
{
  g_return_if_fail (l->marks->len > 0);
  g_string_truncate (l->prefix, g_array_index (l->marks, gsize, l->marks->len - 1));
  g_array_set_size (l->marks, l->marks->len - 1);
}

gboolean
gv_loader_failed (GvLoader *l)
{
  return l->error != NULL || gv_cmd_failed (l->cmd);
}

void
gv_loader_failf (GvLoader *l, GvErrorCode code, const gchar *format, ...)
{
  if (l->error != NULL)
    return;
  va_list args;
  va_start (args, format);
  l->error = gv_error_new_at (code, l->w ? l->w->folder : "(no weights)", format, args);
  va_end (args);
}

/* A made-up tensor: uniform in +-1/sqrt (fan_in), the scale of torch's default init, so that
 * activations stay finite through a deep network. */
static GvTensor *
random_tensor (GvLoader *l, gint ndim, const gint64 *shape)
{
  gint64 n = 1, fan_in = 1;
  for (gint i = 0; i < ndim; i++) {
    n *= shape[i];
    if (i > 0)
      fan_in *= shape[i];
  }
  gdouble bound = 1.0 / sqrt ((gdouble) fan_in);
  gfloat *v = g_new (gfloat, n);
  for (gint64 i = 0; i < n; i++)
    v[i] = (gfloat) g_rand_double_range (l->rand, -bound, bound);
  GvTensor *t = gv_tensor_alloc (l->cmd, ndim, shape);
  gv_tensor_record_upload (l->cmd, t, v);
  g_free (v);
  return t;
}

void
gv_loader_set_name_func (GvLoader *l, GvLoaderNameFunc fn, gpointer data)
{
  l->name_fn = fn;
  l->name_data = data;
}

static GvTensor *
loader_tensor_named (GvLoader *l, const gchar *name, gint ndim, const gint64 *shape,
    gboolean missing_ok)
{
  if (gv_loader_failed (l))
    return NULL;
  if (l->rand != NULL)
    return random_tensor (l, ndim, shape);
  if (l->w == NULL) {
    if (!missing_ok)
      gv_loader_failf (l, GV_ERROR_NOT_FOUND, "no tensor '%s%s%s'", l->prefix->str,
          l->prefix->len ? "." : "", name);
    return NULL;
  }
  gchar *full = l->prefix->len ? g_strconcat (l->prefix->str, ".", name, NULL) : g_strdup (name);
  const Entry *e = find_checked (l->w, full, ndim, shape, missing_ok, &l->error);
  g_free (full);
  if (e == NULL)
    return NULL;

  GvTensor *t = gv_tensor_alloc (l->cmd, ndim, shape);
  gfloat *tmp;
  /* the upload copies into staging memory at once */
  gv_tensor_record_upload (l->cmd, t, f32_data (e, &tmp));
  g_free (tmp);
  if (gv_cmd_failed (l->cmd))
    g_clear_pointer (&t, gv_tensor_unref);
  return t;
}

/* loader_tensor_named () reported to the name function */
static GvTensor *
loader_tensor (GvLoader *l, const gchar *name, gint ndim, const gint64 *shape,
    gboolean missing_ok)
{
  GvTensor *t = loader_tensor_named (l, name, ndim, shape, missing_ok);
  if (t != NULL && l->name_fn != NULL) {
    gchar *full = l->prefix->len ? g_strconcat (l->prefix->str, ".", name, NULL) :
        g_strdup (name);
    l->name_fn (full, t, l->name_data);
    g_free (full);
  }
  return t;
}

GvTensor *
gv_loader_tensor (GvLoader *l, const gchar *name, gint ndim, const gint64 *shape)
{
  return loader_tensor (l, name, ndim, shape, FALSE);
}

GvTensor *
gv_loader_tensor_optional (GvLoader *l, const gchar *name, gint ndim, const gint64 *shape)
{
  return loader_tensor (l, name, ndim, shape, TRUE);
}

gboolean
gv_loader_finish (GvLoader *l, GError **error)
{
  gboolean ok;

  if (l->error != NULL) {
    g_propagate_error (error, l->error);
    l->error = NULL;
    ok = FALSE;
  } else {
    ok = gv_cmd_finish (l->cmd, error);
    if (!ok && l->w != NULL)
      g_prefix_error (error, "%s: ", l->w->folder);
  }
  gv_cmd_free (l->cmd);
  g_string_free (l->prefix, TRUE);
  g_array_unref (l->marks);
  if (l->rand)
    g_rand_free (l->rand);
  g_free (l);
  return ok;
}
