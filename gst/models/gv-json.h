/* Typed reading of JSON files (configs, indexes, case sidecars) with json-glib. A reader keeps
 * the first error (sticky), so a config is read with straight-line code and checked once.
 * Errors name the file and the key. */
#pragma once

#include <json-glib/json-glib.h>

#include "base/gv-error.h"

G_BEGIN_DECLS

typedef struct {
  gchar *path;
  JsonObject *obj;          /* the root object (or a nested one, see gv_json_enter) */
  GError *error;            /* the first error */
} GvJson;

/* json-glib's parser recurses once per level of nesting, so a file nested tens of thousands
 * deep overflows the stack: every JSON text is checked against this depth first. Real configs
 * and safetensors headers nest 3 or 4 deep. */
#define GV_JSON_MAX_DEPTH 64

/* GV_ERROR_CORRUPT "@where: JSON nested deeper than ..." when @text nests [ and { (outside
 * strings) more than GV_JSON_MAX_DEPTH deep. */
gboolean gv_json_check_depth (const gchar *where, const gchar *text, gsize len,
    GError **error);
/* gv_json_check_depth(), then json_parser_load_from_data(); a parse error is
 * GV_ERROR_CORRUPT "@where: <json-glib's message>". The one way JSON is parsed here. */
gboolean gv_json_parser_load (JsonParser *parser, const gchar *where, const gchar *text,
    gsize len, GError **error);

/* Parses @path, whose root must be an object. A missing file is GV_ERROR_NOT_FOUND, bad JSON
 * GV_ERROR_CORRUPT. */
JsonObject *gv_json_load_object (const gchar *path, GError **error);
gboolean gv_json_open (GvJson *j, const gchar *path, GError **error);
/* A reader on @obj (referenced), for nested objects and in-memory JSON. */
void gv_json_init (GvJson *j, const gchar *path, JsonObject *obj);
void gv_json_clear (GvJson *j);
/* Moves the error (if any) to @error; FALSE when there was one. */
gboolean gv_json_finish (GvJson *j, GError **error);
/* gv_json_finish() and gv_json_clear(). */
gboolean gv_json_close (GvJson *j, GError **error);

/* A GV_ERROR "@where: <formatted message>", the form of every error of gst/models. */
GError *gv_error_new_at (GvErrorCode code, const gchar *where, const gchar *format,
    va_list args) G_GNUC_PRINTF (3, 0);

void gv_json_fail (GvJson *j, GvErrorCode code, const gchar *format, ...) G_GNUC_PRINTF (3, 4);
/* GV_ERROR_UNSUPPORTED: "FILE: KEY = VALUE is not supported (supported: ...)" */
void gv_json_unsupported (GvJson *j, const gchar *key, const gchar *value,
    const gchar *supported);

/* The member @key, or NULL when it is absent or JSON null. */
JsonNode *gv_json_get (GvJson *j, const gchar *key);
/* Typed getters: an absent or null key gives @def; a value of the wrong type fails the reader
 * (GV_ERROR_CORRUPT) and gives @def. */
gint64 gv_json_int (GvJson *j, const gchar *key, gint64 def);
/* The same, also failing (GV_ERROR_CORRUPT) when the value is outside [min, max]. */
gint gv_json_int_range (GvJson *j, const gchar *key, gint def, gint min, gint max);
gdouble gv_json_double (GvJson *j, const gchar *key, gdouble def);
/* A finite number in [@min, @max] ((@min, @max] with @open_min), else the reader fails
 * (GV_ERROR_CORRUPT) and @def is returned. */
gdouble gv_json_double_range (GvJson *j, const gchar *key, gdouble def, gdouble min,
    gdouble max, gboolean open_min);
gboolean gv_json_bool (GvJson *j, const gchar *key, gboolean def);
const gchar *gv_json_string (GvJson *j, const gchar *key, const gchar *def);
/* An int or a list of ints (at most @max, each in [min, max_value]) into @out. An int
 * fills @n_fill entries. Returns the count (0 when absent: @out untouched). */
gint gv_json_int_list (GvJson *j, const gchar *key, gint *out, gint max, gint n_fill,
    gint min, gint max_value);
/* The index of the string value of @key in the NULL-terminated @allowed (@def when absent:
 * an index too), or -1 after failing the reader with GV_ERROR_UNSUPPORTED that lists them. */
gint gv_json_enum (GvJson *j, const gchar *key, gint def, const gchar *const *allowed);
/* Fails with GV_ERROR_UNSUPPORTED unless @key is absent or null; @supported says what is. */
void gv_json_expect_null (GvJson *j, const gchar *key, const gchar *supported);
/* Fails with GV_ERROR_UNSUPPORTED unless the boolean @key is absent or @want. */
void gv_json_expect_bool (GvJson *j, const gchar *key, gboolean want);
/* The value of @node as JSON text (for messages); g_free() it. */
gchar *gv_json_node_text (JsonNode *node);
/* A list of strings (NULL when absent); g_strfreev() it. */
gchar **gv_json_strv (GvJson *j, const gchar *key);
/* A float or a list of floats into @out; returns the count (0 when absent). */
gint gv_json_double_list (GvJson *j, const gchar *key, gdouble *out, gint max);

G_END_DECLS
