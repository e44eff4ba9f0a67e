/* safetensors writer: F32 (or F16) tensors into one file that gv_safetensors_open() (and the
 * reference implementation) reads. Values are given at once or produced at write time, so
 * that a large random checkpoint never sits in memory whole. */
#pragma once

#include <glib.h>

#include "base/gv-error.h"

G_BEGIN_DECLS

typedef struct _GvStWriter GvStWriter;

/* Writes the @numel values of one tensor into @out. */
typedef void (*GvStFillFunc) (gfloat *out, gint64 numel, gpointer data);

GvStWriter *gv_st_writer_new (void);
void gv_st_writer_free (GvStWriter *w);

/* A string in the header's __metadata__ (torch's files carry "format": "pt"). */
void gv_st_writer_set_metadata (GvStWriter *w, const gchar *key, const gchar *value);
/* A F32 tensor @name of @shape (@ndim dims, 0 for a scalar); its values are copied now. */
void gv_st_writer_add (GvStWriter *w, const gchar *name, gint ndim, const gint64 *shape,
    const gfloat *values);
/* The same, with values that @fill writes when the file is written; @destroy (may be NULL)
 * frees @data with the writer. */
void gv_st_writer_add_lazy (GvStWriter *w, const gchar *name, gint ndim, const gint64 *shape,
    GvStFillFunc fill, gpointer data, GDestroyNotify destroy);
/* Stores every tensor as F16 (round to nearest, ties to even; beyond the range: infinity)
 * instead of F32; values are still given as floats. */
void gv_st_writer_set_f16 (GvStWriter *w, gboolean f16);
/* The F16 bits of @value, rounded as above. */
guint16 gv_float_to_half (gfloat value);
guint gv_st_writer_get_n_tensors (GvStWriter *w);
/* Bytes of tensor data in the file. */
guint64 gv_st_writer_get_data_size (GvStWriter *w);

/* Writes the file (through a temporary name, renamed when complete). A repeated tensor name is
 * GV_ERROR_INVALID; a file system error names the file. */
gboolean gv_st_writer_write (GvStWriter *w, const gchar *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvStWriter, gv_st_writer_free)

G_END_DECLS
