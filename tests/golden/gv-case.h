/* One golden reference case: NAME.safetensors (the tensors) and NAME.json (what was run, the
 * inputs that are not tensors, the tolerances), the format of tests/golden/data/cases/.
 * Nothing here knows a particular case: the tools decide what to run from the name. */
#pragma once

#include <json-glib/json-glib.h>

#include "models/gv-safetensors.h"

G_BEGIN_DECLS

typedef struct _GvCase GvCase;

/* What a tensor is, from its name. */
typedef enum {
  GV_CASE_PLAIN,     /* an input, or a named output (image_embeds, input_ids...): which one
                        depends on the kind of case */
  GV_CASE_OUTPUT,    /* out_* */
  GV_CASE_INTER,     /* inter.<module path>: intermediate output of that module */
  GV_CASE_PARAM,     /* param.<state-dict name>: parameter values */
  GV_CASE_GRAD,      /* grad.<name>: gradient */
  GV_CASE_NEW,       /* new.<name>: value after the optimiser step */
} GvCaseRole;

typedef struct {
  const gchar *metric;   /* "rel_l2", "exact", "rel", ... as the JSON says */
  gdouble value;         /* 0 for "exact" */
} GvCaseTolerance;

/* The names of the cases in @dir (files NAME.safetensors), sorted; g_strfreev() it. */
gchar **gv_case_list (const gchar *dir, GError **error);

/* Opens a case from its path without extension (or with .safetensors / .json). The JSON
 * sidecar may be missing when the safetensors metadata holds it ("info"). Errors:
 * GV_ERROR_NOT_FOUND, GV_ERROR_CORRUPT. */
GvCase *gv_case_open (const gchar *path, GError **error);
void gv_case_free (GvCase *c);

const gchar *gv_case_get_name (GvCase *c);
GvSafetensors *gv_case_get_safetensors (GvCase *c);
JsonObject *gv_case_get_json (GvCase *c);

/* Tensors, in the order of the file. */
guint gv_case_get_n_tensors (GvCase *c);
const gchar *gv_case_get_tensor_name (GvCase *c, guint i);
/* The names of the tensors of @role, in file order; g_strfreev() it. */
gchar **gv_case_list_tensors (GvCase *c, GvCaseRole role);
GvCaseRole gv_case_tensor_role (const gchar *name);
gboolean gv_case_has_tensor (GvCase *c, const gchar *name);
/* The number of dimensions of @name (0 for a scalar) and its shape (GV_ST_MAX_DIMS), or -1
 * when there is no such tensor. */
gint gv_case_get_shape (GvCase *c, const gchar *name, gint64 *shape);
gint64 gv_case_get_numel (GvCase *c, const gchar *name);

/* Values of @name as float (any dtype), as int64 (integer dtypes) or as uint8 (U8 only);
 * g_free() them. Errors: GV_ERROR_NOT_FOUND, GV_ERROR_INVALID for the wrong dtype. */
gfloat *gv_case_read_f32 (GvCase *c, const gchar *name, GError **error);
gint64 *gv_case_read_i64 (GvCase *c, const gchar *name, GError **error);
guint8 *gv_case_read_u8 (GvCase *c, const gchar *name, GError **error);

/* Inputs that are not tensors: members of the JSON, found by name or by a path of names
 * separated by '/' ("timesteps/4"). NULL / FALSE when absent, null or of another type. */
JsonNode *gv_case_get_member (GvCase *c, const gchar *key);
const gchar *gv_case_get_string (GvCase *c, const gchar *key);
gboolean gv_case_get_double (GvCase *c, const gchar *key, gdouble *value);
gboolean gv_case_get_int (GvCase *c, const gchar *key, gint64 *value);
/* A list of strings; g_strfreev() it. */
gchar **gv_case_get_strv (GvCase *c, const gchar *key);
/* A list of numbers (@n of them); g_free() it. */
gdouble *gv_case_get_doubles (GvCase *c, const gchar *key, guint *n);

/* The tolerance for @tensor: "tolerance" is either {metric, value, [other keys]} where another
 * key names tensors it overrides ("timesteps": "exact"), or a map of tensor patterns
 * ("loss", "grad.*") to {metric, value}. A key names a tensor when it is equal to it, matches
 * it as a glob, or is a prefix of it followed by '_' or '.'. FALSE when none applies. */
gboolean gv_case_get_tolerance (GvCase *c, const gchar *tensor, GvCaseTolerance *tol);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvCase, gv_case_free)

G_END_DECLS
