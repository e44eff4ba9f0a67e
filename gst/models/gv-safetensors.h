/* safetensors files: memory-mapped, header validated before anything is trusted. */
#pragma once

#include <glib.h>

#include "base/gv-error.h"

G_BEGIN_DECLS

typedef enum {
  GV_ST_F32, GV_ST_F16, GV_ST_BF16, GV_ST_F64,
  GV_ST_I64, GV_ST_I32, GV_ST_I16, GV_ST_I8, GV_ST_U8, GV_ST_BOOL,
  GV_ST_U16, GV_ST_U32, GV_ST_U64,
} GvStDType;

#define GV_ST_MAX_DIMS 8
/* Longest header accepted (the limit of the reference implementation). */
#define GV_ST_MAX_HEADER 100000000

typedef struct {
  gchar *name;
  GvStDType dtype;
  gint ndim;                       /* 0 for a scalar */
  gint64 shape[GV_ST_MAX_DIMS];
  gint64 numel;
  guint64 begin, end;              /* byte offsets into the data section */
} GvStTensor;

typedef struct _GvSafetensors GvSafetensors;

/* Maps @path and validates the header: length sane and inside the file, JSON well formed,
 * known dtypes, shapes consistent with the byte ranges, ranges inside the data section and
 * not overlapping. Errors (GV_ERROR_NOT_FOUND / GV_ERROR_CORRUPT; GV_ERROR_UNSUPPORTED for a
 * valid dtype we cannot convert, such as F8_E4M3) name the file and what is wrong. */
GvSafetensors *gv_safetensors_open (const gchar *path, GError **error);
/* The same on bytes in memory (kept referenced); @name is used in messages. */
GvSafetensors *gv_safetensors_new_from_bytes (const gchar *name, GBytes *bytes, GError **error);
void gv_safetensors_close (GvSafetensors *st);

const gchar *gv_safetensors_get_path (GvSafetensors *st);
/* Tensors in the order of the header. */
guint gv_safetensors_get_n_tensors (GvSafetensors *st);
const GvStTensor *gv_safetensors_get_nth (GvSafetensors *st, guint i);
/* NULL when there is no tensor of that name */
const GvStTensor *gv_safetensors_lookup (GvSafetensors *st, const gchar *name);
/* Raw little-endian bytes of @t (inside the mapping). */
gconstpointer gv_safetensors_get_data (GvSafetensors *st, const GvStTensor *t);
/* A string of the __metadata__ object, or NULL. */
const gchar *gv_safetensors_get_metadata (GvSafetensors *st, const gchar *key);

/* The values of @t converted to float (F32, F16, BF16, F64, integer types); g_free() it. */
gfloat *gv_safetensors_read_f32 (GvSafetensors *st, const GvStTensor *t);
/* The values of an integer tensor as int64; g_free() it. NULL for float dtypes. */
gint64 *gv_safetensors_read_i64 (GvSafetensors *st, const GvStTensor *t);
/* Converts @n values of @dtype at @src (little-endian, any alignment) to float. */
void gv_st_convert_f32 (GvStDType dtype, gconstpointer src, gfloat *dst, gsize n);

const gchar *gv_st_dtype_name (GvStDType dtype);
gsize gv_st_dtype_size (GvStDType dtype);
gboolean gv_st_dtype_is_float (GvStDType dtype);
/* "[320, 4, 3, 3]" ("[]" for a scalar); g_free() it. */
gchar *gv_st_shape_string (gint ndim, const gint64 *shape);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvSafetensors, gv_safetensors_close)

G_END_DECLS
