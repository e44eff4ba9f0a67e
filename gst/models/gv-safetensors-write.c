/* safetensors writer: u64 little-endian header length, JSON header padded with spaces to 8
 * bytes (as the reference implementation pads it), then the tensors back to back. */
#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "models/gv-safetensors-write.h"

#define GV_ST_WRITE_MAX_DIMS 8

typedef struct {
  gchar *name;
  gint ndim;
  gint64 shape[GV_ST_WRITE_MAX_DIMS];
  gint64 numel;
  gfloat *values;          /* gv_st_writer_add (); else @fill */
  GvStFillFunc fill;
  gpointer data;
  GDestroyNotify destroy;
} Entry;

struct _GvStWriter {
  GArray *entries;         /* Entry */
  GPtrArray *metadata;     /* key, value, key, value... */
  gboolean f16;            /* storage of every tensor: F16, else F32 */
};

static void
entry_clear (gpointer p)
{
  Entry *e = p;
  g_free (e->name);
  g_free (e->values);
  if (e->destroy)
    e->destroy (e->data);
}

GvStWriter *
gv_st_writer_new (void)
{
  GvStWriter *w = g_new0 (GvStWriter, 1);
  w->entries = g_array_new (FALSE, TRUE, sizeof (Entry));
  g_array_set_clear_func (w->entries, entry_clear);
  w->metadata = g_ptr_array_new_with_free_func (g_free);
  return w;
}

void
gv_st_writer_free (GvStWriter *w)
{
  if (w == NULL)
    return;
  g_array_unref (w->entries);
  g_ptr_array_unref (w->metadata);
  g_free (w);
}

void
gv_st_writer_set_metadata (GvStWriter *w, const gchar *key, const gchar *value)
{
  g_return_if_fail (key != NULL && value != NULL);
  g_ptr_array_add (w->metadata, g_strdup (key));
  g_ptr_array_add (w->metadata, g_strdup (value));
}

static Entry *
add_entry (GvStWriter *w, const gchar *name, gint ndim, const gint64 *shape)
{
  g_return_val_if_fail (name != NULL && ndim >= 0 && ndim <= GV_ST_WRITE_MAX_DIMS, NULL);
  Entry e = { .name = g_strdup (name), .ndim = ndim, .numel = 1 };
  for (gint i = 0; i < ndim; i++) {
    g_return_val_if_fail (shape[i] >= 0, NULL);
    e.shape[i] = shape[i];
    e.numel *= shape[i];
  }
  g_array_append_val (w->entries, e);
  return &g_array_index (w->entries, Entry, w->entries->len - 1);
}

void
gv_st_writer_add (GvStWriter *w, const gchar *name, gint ndim, const gint64 *shape,
    const gfloat *values)
{
  Entry *e = add_entry (w, name, ndim, shape);
  if (e != NULL)
    e->values = g_memdup2 (values, e->numel * sizeof (gfloat));
}

void
gv_st_writer_add_lazy (GvStWriter *w, const gchar *name, gint ndim, const gint64 *shape,
    GvStFillFunc fill, gpointer data, GDestroyNotify destroy)
{
  g_return_if_fail (fill != NULL);
  Entry *e = add_entry (w, name, ndim, shape);
  if (e == NULL) {
    if (destroy)
      destroy (data);
    return;
  }
  e->fill = fill;
  e->data = data;
  e->destroy = destroy;
}

void
gv_st_writer_set_f16 (GvStWriter *w, gboolean f16)
{
  w->f16 = f16;
}

guint
gv_st_writer_get_n_tensors (GvStWriter *w)
{
  return w->entries->len;
}

static gsize
elem_size (GvStWriter *w)
{
  return w->f16 ? 2 : sizeof (gfloat);
}

guint64
gv_st_writer_get_data_size (GvStWriter *w)
{
  guint64 n = 0;
  for (guint i = 0; i < w->entries->len; i++)
    n += g_array_index (w->entries, Entry, i).numel * elem_size (w);
  return n;
}

/* The JSON header, or NULL when a name repeats. */
static gchar *
build_header (GvStWriter *w, gsize *length, GError **error)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  guint64 offset = 0;

  json_builder_begin_object (b);
  if (w->metadata->len > 0) {
    json_builder_set_member_name (b, "__metadata__");
    json_builder_begin_object (b);
    for (guint i = 0; i < w->metadata->len; i += 2) {
      json_builder_set_member_name (b, g_ptr_array_index (w->metadata, i));
      json_builder_add_string_value (b, g_ptr_array_index (w->metadata, i + 1));
    }
    json_builder_end_object (b);
  }
  for (guint i = 0; i < w->entries->len; i++) {
    const Entry *e = &g_array_index (w->entries, Entry, i);
    if (!g_hash_table_add (seen, e->name) || strcmp (e->name, "__metadata__") == 0) {
      g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "safetensors writer: tensor name '%s' "
          "used twice or reserved", e->name);
      return NULL;
    }
    json_builder_set_member_name (b, e->name);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "dtype");
    json_builder_add_string_value (b, w->f16 ? "F16" : "F32");
    json_builder_set_member_name (b, "shape");
    json_builder_begin_array (b);
    for (gint d = 0; d < e->ndim; d++)
      json_builder_add_int_value (b, e->shape[d]);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "data_offsets");
    json_builder_begin_array (b);
    json_builder_add_int_value (b, (gint64) offset);
    offset += (guint64) e->numel * elem_size (w);
    json_builder_add_int_value (b, (gint64) offset);
    json_builder_end_array (b);
    json_builder_end_object (b);
  }
  json_builder_end_object (b);

  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  gsize n;
  gchar *text = json_generator_to_data (gen, &n);
  /* pad to 8 bytes so that the data section is aligned for readers that map it */
  gsize padded = (n + 7) & ~(gsize) 7;
  text = g_realloc (text, padded + 1);
  memset (text + n, ' ', padded - n);
  text[padded] = '\0';
  *length = padded;
  return text;
}

static gboolean
write_all (FILE *f, gconstpointer data, gsize n, const gchar *path, GError **error)
{
  if (n > 0 && fwrite (data, 1, n, f) != n) {
    int err = errno;
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (err), "%s: write failed: %s",
        path, g_strerror (err));
    return FALSE;
  }
  return TRUE;
}

guint16
gv_float_to_half (gfloat value)
{
  guint32 x;
  memcpy (&x, &value, 4);
  guint32 sign = (x >> 16) & 0x8000, mant = x & 0x7fffff;
  gint exp = (gint) ((x >> 23) & 0xff) - 127 + 15;

  if (((x >> 23) & 0xff) == 0xff)     /* inf, nan (kept quiet) */
    return (guint16) (sign | 0x7c00 | (mant ? 0x200 | (mant >> 13) : 0));
  if (exp >= 31)
    return (guint16) (sign | 0x7c00);
  if (exp <= 0) {                     /* subnormal half, or zero */
    if (exp < -10)
      return (guint16) sign;
    mant |= 0x800000;
    guint shift = (guint) (14 - exp);
    guint32 half = mant >> shift, rest = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rest > mid || (rest == mid && (half & 1)))
      half++;
    return (guint16) (sign | half);
  }
  guint32 half = ((guint32) exp << 10) | (mant >> 13), rest = mant & 0x1fff;
  /* to nearest, ties to even; a carry into the exponent is the right result (up to inf) */
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1)))
    half++;
  return (guint16) (sign | half);
}

/* @n floats of @buf as little-endian halves, in place (the first 2n bytes) */
static void
to_half (gfloat *buf, gint64 n)
{
  guint16 *out = (guint16 *) buf;
  for (gint64 i = 0; i < n; i++)
    out[i] = GUINT16_TO_LE (gv_float_to_half (buf[i]));
}

static gboolean
write_tensor (FILE *f, const Entry *e, gboolean f16, const gchar *path, GError **error)
{
  gfloat *buf = e->values;
  if (buf == NULL) {
    buf = g_new (gfloat, MAX (e->numel, 1));
    e->fill (buf, e->numel, e->data);
  }
  if (f16) {
    if (buf == e->values)
      buf = g_memdup2 (e->values, MAX (e->numel, 1) * sizeof (gfloat));
    to_half (buf, e->numel);
    gboolean ok = write_all (f, buf, (gsize) e->numel * 2, path, error);
    g_free (buf);
    return ok;
  }
#if G_BYTE_ORDER == G_BIG_ENDIAN
  if (buf == e->values)
    buf = g_memdup2 (e->values, e->numel * sizeof (gfloat));
  for (gint64 i = 0; i < e->numel; i++) {
    guint32 v;
    memcpy (&v, &buf[i], 4);
    v = GUINT32_TO_LE (v);
    memcpy (&buf[i], &v, 4);
  }
#endif
  gboolean ok = write_all (f, buf, (gsize) e->numel * sizeof (gfloat), path, error);
  if (buf != e->values)
    g_free (buf);
  return ok;
}

gboolean
gv_st_writer_write (GvStWriter *w, const gchar *path, GError **error)
{
  gsize header_len;
  g_autofree gchar *header = build_header (w, &header_len, error);
  if (header == NULL)
    return FALSE;

  g_autofree gchar *tmp = g_strconcat (path, ".part", NULL);
  FILE *f = g_fopen (tmp, "wb");
  if (f == NULL) {
    int err = errno;
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (err), "%s: cannot create: %s",
        tmp, g_strerror (err));
    return FALSE;
  }
  guint64 len_le = GUINT64_TO_LE ((guint64) header_len);
  gboolean ok = write_all (f, &len_le, 8, tmp, error) &&
      write_all (f, header, header_len, tmp, error);
  for (guint i = 0; ok && i < w->entries->len; i++)
    ok = write_tensor (f, &g_array_index (w->entries, Entry, i), w->f16, tmp, error);
  if (fclose (f) != 0 && ok) {
    int err = errno;
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (err), "%s: write failed: %s",
        tmp, g_strerror (err));
    ok = FALSE;
  }
  if (ok && g_rename (tmp, path) != 0) {
    int err = errno;
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (err), "%s: cannot rename to "
        "%s: %s", tmp, path, g_strerror (err));
    ok = FALSE;
  }
  if (!ok)
    g_unlink (tmp);
  return ok;
}
