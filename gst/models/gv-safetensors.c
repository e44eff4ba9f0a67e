/* safetensors reader: u64 header length, JSON header, raw little-endian data. Nothing in the
 * header is used before all of it has been checked against the file. */
#include <string.h>

#include <json-glib/json-glib.h>

#include "models/gv-json.h"
#include "models/gv-safetensors.h"

struct _GvSafetensors {
  gchar *path;
  GMappedFile *map;          /* NULL when made from bytes */
  GBytes *bytes;
  const guint8 *data;        /* the data section */
  guint64 data_len;
  GvStTensor *tensors;
  guint n_tensors;
  GHashTable *by_name;       /* name -> GvStTensor* */
  GHashTable *metadata;      /* key -> value */
};

static const struct {
  const gchar *name;
  GvStDType dtype;
  gsize size;
} dtypes[] = {
  { "F32", GV_ST_F32, 4 }, { "F16", GV_ST_F16, 2 }, { "BF16", GV_ST_BF16, 2 },
  { "F64", GV_ST_F64, 8 }, { "I64", GV_ST_I64, 8 }, { "I32", GV_ST_I32, 4 },
  { "I16", GV_ST_I16, 2 }, { "I8", GV_ST_I8, 1 }, { "U8", GV_ST_U8, 1 },
  { "BOOL", GV_ST_BOOL, 1 }, { "U16", GV_ST_U16, 2 }, { "U32", GV_ST_U32, 4 },
  { "U64", GV_ST_U64, 8 },
};

const gchar *
gv_st_dtype_name (GvStDType dtype)
{
  for (guint i = 0; i < G_N_ELEMENTS (dtypes); i++)
    if (dtypes[i].dtype == dtype)
      return dtypes[i].name;
  return "?";
}

gsize
gv_st_dtype_size (GvStDType dtype)
{
  for (guint i = 0; i < G_N_ELEMENTS (dtypes); i++)
    if (dtypes[i].dtype == dtype)
      return dtypes[i].size;
  return 0;
}

gboolean
gv_st_dtype_is_float (GvStDType dtype)
{
  return dtype == GV_ST_F32 || dtype == GV_ST_F16 || dtype == GV_ST_BF16 || dtype == GV_ST_F64;
}

gchar *
gv_st_shape_string (gint ndim, const gint64 *shape)
{
  GString *s = g_string_new ("[");
  for (gint i = 0; i < ndim; i++)
    g_string_append_printf (s, i ? ", %" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static gboolean
fail (GError **error, GvErrorCode code, const gchar *path, const gchar *format, ...)
    G_GNUC_PRINTF (4, 5);

static gboolean
fail (GError **error, GvErrorCode code, const gchar *path, const gchar *format, ...)
{
  va_list args;
  va_start (args, format);
  GError *e = gv_error_new_at (code, path, format, args);
  va_end (args);
  g_propagate_error (error, e);
  return FALSE;
}

/* A non-negative JSON integer (json-glib turns overflowing literals into -1: rejected too). */
static gboolean
get_uint (JsonNode *node, guint64 *out)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64 || json_node_get_int (node) < 0)
    return FALSE;
  *out = (guint64) json_node_get_int (node);
  return TRUE;
}

static gboolean
parse_entry (const gchar *path, const gchar *name, JsonNode *node, guint64 data_len,
    GvStTensor *t, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail (error, GV_ERROR_CORRUPT, path, "header entry '%s' is not an object", name);
  JsonObject *o = json_node_get_object (node);
  JsonNode *dn = json_object_get_member (o, "dtype");
  JsonNode *sn = json_object_get_member (o, "shape");
  JsonNode *on = json_object_get_member (o, "data_offsets");

  t->name = g_strdup (name);
  if (dn == NULL || json_node_get_value_type (dn) != G_TYPE_STRING)
    return fail (error, GV_ERROR_CORRUPT, path, "tensor '%s' has no dtype string", name);
  const gchar *dname = json_node_get_string (dn);
  gsize size = 0;
  for (guint i = 0; i < G_N_ELEMENTS (dtypes); i++) {
    if (strcmp (dname, dtypes[i].name) == 0) {
      t->dtype = dtypes[i].dtype;
      size = dtypes[i].size;
    }
  }
  if (size == 0 && g_str_has_prefix (dname, "F8_"))
    return fail (error, GV_ERROR_UNSUPPORTED, path, "tensor '%s' has dtype %s; supported: "
        "F32, F16, BF16, F64 and the integer types", name, dname);
  if (size == 0)
    return fail (error, GV_ERROR_CORRUPT, path, "tensor '%s' has an unknown dtype '%s'", name,
        dname);

  if (sn == NULL || !JSON_NODE_HOLDS_ARRAY (sn))
    return fail (error, GV_ERROR_CORRUPT, path, "tensor '%s' has no shape array", name);
  JsonArray *shape = json_node_get_array (sn);
  guint ndim = json_array_get_length (shape);
  if (ndim > GV_ST_MAX_DIMS)
    return fail (error, GV_ERROR_CORRUPT, path, "tensor '%s' has %u dimensions (at most %d)",
        name, ndim, GV_ST_MAX_DIMS);
  guint64 numel = 1;
  t->ndim = (gint) ndim;
  for (guint i = 0; i < ndim; i++) {
    guint64 d;
    if (!get_uint (json_array_get_element (shape, i), &d))
      return fail (error, GV_ERROR_CORRUPT, path, "dimension %u of tensor '%s' is not a "
          "non-negative integer", i, name);
    if (d > 0 && numel > G_MAXINT64 / d)
      return fail (error, GV_ERROR_CORRUPT, path, "the shape of tensor '%s' is too large", name);
    t->shape[i] = (gint64) d;
    numel *= d;
  }
  t->numel = (gint64) numel;

  if (on == NULL || !JSON_NODE_HOLDS_ARRAY (on) ||
      json_array_get_length (json_node_get_array (on)) != 2 ||
      !get_uint (json_array_get_element (json_node_get_array (on), 0), &t->begin) ||
      !get_uint (json_array_get_element (json_node_get_array (on), 1), &t->end))
    return fail (error, GV_ERROR_CORRUPT, path, "tensor '%s' has no valid data_offsets "
        "[begin, end]", name);
  if (t->begin > t->end || t->end > data_len)
    return fail (error, GV_ERROR_CORRUPT, path, "tensor '%s' has data_offsets [%" G_GUINT64_FORMAT
        ", %" G_GUINT64_FORMAT "] outside the data section of %" G_GUINT64_FORMAT " bytes "
        "(truncated file?)", name, t->begin, t->end, data_len);
  guint64 nbytes;
  if (!g_uint64_checked_mul (&nbytes, numel, size) || nbytes != t->end - t->begin) {
    gchar *s = gv_st_shape_string (t->ndim, t->shape);
    fail (error, GV_ERROR_CORRUPT, path, "tensor '%s' of shape %s and dtype %s needs %"
        G_GUINT64_FORMAT " bytes but its data_offsets span %" G_GUINT64_FORMAT, name, s, dname,
        numel * size, t->end - t->begin);
    g_free (s);
    return FALSE;
  }
  return TRUE;
}

static gint
compare_ranges (gconstpointer a, gconstpointer b)
{
  const GvStTensor *x = *(GvStTensor * const *) a, *y = *(GvStTensor * const *) b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

static gboolean
check_overlaps (GvSafetensors *st, GError **error)
{
  GvStTensor **sorted = g_new (GvStTensor *, MAX (st->n_tensors, 1));
  gboolean ok = TRUE;

  for (guint i = 0; i < st->n_tensors; i++)
    sorted[i] = &st->tensors[i];
  qsort (sorted, st->n_tensors, sizeof (GvStTensor *), compare_ranges);
  const GvStTensor *prev = NULL;
  for (guint i = 0; i < st->n_tensors && ok; i++) {
    if (sorted[i]->begin == sorted[i]->end)
      continue;                            /* empty tensors occupy nothing */
    if (prev && prev->end > sorted[i]->begin)
      ok = fail (error, GV_ERROR_CORRUPT, st->path, "the data of tensors '%s' and '%s' overlap",
          prev->name, sorted[i]->name);
    prev = sorted[i];
  }
  g_free (sorted);
  return ok;
}

static gboolean
parse_metadata (GvSafetensors *st, JsonNode *node, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail (error, GV_ERROR_CORRUPT, st->path, "__metadata__ is not an object");
  JsonObjectIter it;
  const gchar *key;
  JsonNode *value;
  json_object_iter_init_ordered (&it, json_node_get_object (node));
  while (json_object_iter_next_ordered (&it, &key, &value)) {
    if (json_node_get_value_type (value) != G_TYPE_STRING)
      return fail (error, GV_ERROR_CORRUPT, st->path, "__metadata__ value '%s' is not a string",
          key);
    g_hash_table_insert (st->metadata, g_strdup (key), g_strdup (json_node_get_string (value)));
  }
  return TRUE;
}

static gboolean
parse_header (GvSafetensors *st, const guint8 *file, guint64 file_len, GError **error)
{
  if (file_len < 8)
    return fail (error, GV_ERROR_CORRUPT, st->path, "%" G_GUINT64_FORMAT " bytes are too few "
        "for a safetensors file", file_len);
  guint64 n;
  memcpy (&n, file, 8);
  n = GUINT64_FROM_LE (n);
  if (n < 2 || n > GV_ST_MAX_HEADER)
    return fail (error, GV_ERROR_CORRUPT, st->path, "header length %" G_GUINT64_FORMAT " is not "
        "between 2 and %d bytes", n, GV_ST_MAX_HEADER);
  if (n > file_len - 8)
    return fail (error, GV_ERROR_CORRUPT, st->path, "header length %" G_GUINT64_FORMAT " runs "
        "past the end of the file (%" G_GUINT64_FORMAT " bytes; truncated?)", n, file_len);
  if (file[8] != '{')
    return fail (error, GV_ERROR_CORRUPT, st->path, "the header is not a JSON object");
  st->data = file + 8 + n;
  st->data_len = file_len - 8 - n;

  g_autoptr (JsonParser) parser = json_parser_new ();
  gchar *where = g_strdup_printf ("%s: the JSON header", st->path);
  gboolean parsed = gv_json_parser_load (parser, where, (const gchar *) file + 8, n, error);
  g_free (where);
  if (!parsed)
    return FALSE;
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return fail (error, GV_ERROR_CORRUPT, st->path, "the header is not a JSON object");

  JsonObject *obj = json_node_get_object (root);
  st->tensors = g_new0 (GvStTensor, MAX (json_object_get_size (obj), 1));
  JsonObjectIter it;
  const gchar *name;
  JsonNode *node;
  json_object_iter_init_ordered (&it, obj);
  while (json_object_iter_next_ordered (&it, &name, &node)) {
    if (strcmp (name, "__metadata__") == 0) {
      if (!parse_metadata (st, node, error))
        return FALSE;
      continue;
    }
    GvStTensor *t = &st->tensors[st->n_tensors++];
    if (!parse_entry (st->path, name, node, st->data_len, t, error))
      return FALSE;
    g_hash_table_insert (st->by_name, t->name, t);
  }
  return check_overlaps (st, error);
}

static GvSafetensors *
new_empty (const gchar *path)
{
  GvSafetensors *st = g_new0 (GvSafetensors, 1);
  st->path = g_strdup (path);
  st->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  st->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return st;
}

GvSafetensors *
gv_safetensors_new_from_bytes (const gchar *name, GBytes *bytes, GError **error)
{
  GvSafetensors *st = new_empty (name);
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  st->bytes = g_bytes_ref (bytes);
  if (!parse_header (st, data, len, error)) {
    gv_safetensors_close (st);
    return NULL;
  }
  return st;
}

GvSafetensors *
gv_safetensors_open (const gchar *path, GError **error)
{
  GError *ferr = NULL;
  if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
    fail (error, GV_ERROR_NOT_FOUND, path, "is a folder, not a safetensors file");
    return NULL;
  }
  GMappedFile *map = g_mapped_file_new (path, FALSE, &ferr);

  if (map == NULL) {
    fail (error, GV_ERROR_NOT_FOUND, path, "cannot open: %s", ferr->message);
    g_error_free (ferr);
    return NULL;
  }
  GvSafetensors *st = new_empty (path);
  st->map = map;
  /* an empty file maps to NULL contents */
  const guint8 *data = (const guint8 *) g_mapped_file_get_contents (map);
  if (!parse_header (st, data, data ? g_mapped_file_get_length (map) : 0, error)) {
    gv_safetensors_close (st);
    return NULL;
  }
  return st;
}

void
gv_safetensors_close (GvSafetensors *st)
{
  if (st == NULL)
    return;
  for (guint i = 0; i < st->n_tensors; i++)
    g_free (st->tensors[i].name);
  g_free (st->tensors);
  g_hash_table_unref (st->by_name);
  g_hash_table_unref (st->metadata);
  if (st->map)
    g_mapped_file_unref (st->map);
  if (st->bytes)
    g_bytes_unref (st->bytes);
  g_free (st->path);
  g_free (st);
}

const gchar *
gv_safetensors_get_path (GvSafetensors *st)
{
  return st->path;
}

guint
gv_safetensors_get_n_tensors (GvSafetensors *st)
{
  return st->n_tensors;
}

const GvStTensor *
gv_safetensors_get_nth (GvSafetensors *st, guint i)
{
  g_return_val_if_fail (i < st->n_tensors, NULL);
  return &st->tensors[i];
}

const GvStTensor *
gv_safetensors_lookup (GvSafetensors *st, const gchar *name)
{
  return g_hash_table_lookup (st->by_name, name);
}

gconstpointer
gv_safetensors_get_data (GvSafetensors *st, const GvStTensor *t)
{
  return st->data + t->begin;
}

const gchar *
gv_safetensors_get_metadata (GvSafetensors *st, const gchar *key)
{
  return g_hash_table_lookup (st->metadata, key);
}

static gfloat
half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  gfloat f;

  if (exp == 0 && mant == 0) {
    bits = sign;
  } else if (exp == 0) {
    /* subnormal: shift the mantissa up to an implicit leading one */
    exp = 113;
    while (!(mant & 0x400)) {
      mant <<= 1;
      exp--;
    }
    bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
  } else if (exp == 31) {
    bits = sign | 0x7f800000 | (mant << 13);
  } else {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  }
  memcpy (&f, &bits, 4);
  return f;
}

/* little-endian values at any alignment */
static inline guint16
load16 (const guint8 *p)
{
  guint16 v;
  memcpy (&v, p, 2);
  return GUINT16_FROM_LE (v);
}

static inline guint32
load32 (const guint8 *p)
{
  guint32 v;
  memcpy (&v, p, 4);
  return GUINT32_FROM_LE (v);
}

static inline guint64
load64 (const guint8 *p)
{
  guint64 v;
  memcpy (&v, p, 8);
  return GUINT64_FROM_LE (v);
}

void
gv_st_convert_f32 (GvStDType dtype, gconstpointer src, gfloat *dst, gsize n)
{
  const guint8 *p = src;

  if (dtype == GV_ST_F32 && G_BYTE_ORDER == G_LITTLE_ENDIAN) {
    memcpy (dst, src, n * 4);
    return;
  }
  for (gsize i = 0; i < n; i++) {
    switch (dtype) {
      case GV_ST_F32: {
        guint32 b = load32 (p + 4 * i);
        memcpy (&dst[i], &b, 4);
        break;
      }
      case GV_ST_F16:
        dst[i] = half_to_float (load16 (p + 2 * i));
        break;
      case GV_ST_BF16: {
        guint32 b = (guint32) load16 (p + 2 * i) << 16;
        memcpy (&dst[i], &b, 4);
        break;
      }
      case GV_ST_F64: {
        guint64 b = load64 (p + 8 * i);
        gdouble d;
        memcpy (&d, &b, 8);
        dst[i] = (gfloat) d;
        break;
      }
      case GV_ST_I64:
        dst[i] = (gfloat) (gint64) load64 (p + 8 * i);
        break;
      case GV_ST_I32:
        dst[i] = (gfloat) (gint32) load32 (p + 4 * i);
        break;
      case GV_ST_I16:
        dst[i] = (gfloat) (gint16) load16 (p + 2 * i);
        break;
      case GV_ST_I8:
        dst[i] = (gfloat) (gint8) p[i];
        break;
      case GV_ST_U8:
        dst[i] = (gfloat) p[i];
        break;
      case GV_ST_BOOL:
        dst[i] = p[i] ? 1.0f : 0.0f;
        break;
      case GV_ST_U16:
        dst[i] = (gfloat) load16 (p + 2 * i);
        break;
      case GV_ST_U32:
        dst[i] = (gfloat) load32 (p + 4 * i);
        break;
      case GV_ST_U64:
        dst[i] = (gfloat) load64 (p + 8 * i);
        break;
    }
  }
}

gfloat *
gv_safetensors_read_f32 (GvSafetensors *st, const GvStTensor *t)
{
  gfloat *out = g_new (gfloat, MAX (t->numel, 1));
  gv_st_convert_f32 (t->dtype, gv_safetensors_get_data (st, t), out, (gsize) t->numel);
  return out;
}

gint64 *
gv_safetensors_read_i64 (GvSafetensors *st, const GvStTensor *t)
{
  const guint8 *p = gv_safetensors_get_data (st, t);

  if (gv_st_dtype_is_float (t->dtype))
    return NULL;
  gint64 *out = g_new (gint64, MAX (t->numel, 1));
  for (gint64 i = 0; i < t->numel; i++) {
    switch (t->dtype) {
      case GV_ST_I64:
      case GV_ST_U64:
        out[i] = (gint64) load64 (p + 8 * i);
        break;
      case GV_ST_I32:
        out[i] = (gint32) load32 (p + 4 * i);
        break;
      case GV_ST_U32:
        out[i] = load32 (p + 4 * i);
        break;
      case GV_ST_I16:
        out[i] = (gint16) load16 (p + 2 * i);
        break;
      case GV_ST_U16:
        out[i] = load16 (p + 2 * i);
        break;
      case GV_ST_I8:
        out[i] = (gint8) p[i];
        break;
      case GV_ST_U8:
      case GV_ST_BOOL:
        out[i] = p[i];
        break;
      default:
        break;
    }
  }
  return out;
}
