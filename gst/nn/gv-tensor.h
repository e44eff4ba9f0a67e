/* Tensors: up to 5 dimensions, C order, living in a range of device memory.
 * A video latent is N x C x F x H x W; most ops see frames as images, (N*F) x C x H x W. */
#pragma once

#include "vk/gv-cmd.h"

G_BEGIN_DECLS

#define GV_MAX_DIMS 5

typedef enum {
  GV_DTYPE_F32,
  GV_DTYPE_F16,     /* storage type of the fp16 path (not used by the fp32 ops yet) */
  GV_DTYPE_I32,     /* indices (gather, nearest-neighbour fields) */
} GvDType;

typedef struct _GvTensor GvTensor;
struct _GvTensor {
  gint ref;
  GvDevice *dev;
  GvMemory *mem;         /* NULL when the allocation failed (the GvCmd then holds the error) */
  guint64 offset;        /* bytes from the start of @mem (views start inside their parent) */
  GvDType dtype;
  gint ndim;
  gint64 shape[GV_MAX_DIMS];
  gint64 numel;
};

/* A tensor of its own memory. Returns NULL and sets @error when the device has no room. */
GvTensor *gv_tensor_new (GvDevice *dev, gint ndim, const gint64 *shape, GError **error);
GvTensor *gv_tensor_new_typed (GvDevice *dev, GvDType dtype, gint ndim, const gint64 *shape,
    GError **error);

/* The same, for model code that records on @cmd: never NULL; when memory runs out it first lets
 * the work in flight finish (freeing memory), and if that is not enough it fails @cmd. */
GvTensor *gv_tensor_alloc (GvCmd *cmd, gint ndim, const gint64 *shape);
#define GV_NDIMS(...) ((gint) (sizeof ((const gint64[]) { __VA_ARGS__ }) / sizeof (gint64)))
/* GV_TENSOR (cmd, 2, 77, 1024): a tensor of that shape, as gv_tensor_alloc() */
#define GV_TENSOR(cmd, ...) \
  gv_tensor_alloc ((cmd), GV_NDIMS (__VA_ARGS__), (const gint64[]) { __VA_ARGS__ })
GvTensor *gv_tensor_alloc_typed (GvCmd *cmd, GvDType dtype, gint ndim, const gint64 *shape);

/* A view of @numel elements of @t from element @first, with a new shape (a reshape when
 * @first is 0 and the sizes match). The view holds a reference on @t's memory. A view of a
 * tensor without memory (what a failed command hands out, possibly a one-element placeholder)
 * is a tensor of that shape without memory too: the command has failed already, and every op
 * on it is skipped. */
GvTensor *gv_tensor_view (GvTensor *t, gint64 first, gint ndim, const gint64 *shape);
#define GV_VIEW(t, first, ...) \
  gv_tensor_view ((t), (first), GV_NDIMS (__VA_ARGS__), (const gint64[]) { __VA_ARGS__ })

GvTensor *gv_tensor_ref (GvTensor *t);
void gv_tensor_unref (GvTensor *t);

gsize gv_tensor_nbytes (const GvTensor *t);
gsize gv_tensor_elem_size (const GvTensor *t);
gboolean gv_tensor_same_shape (const GvTensor *a, const GvTensor *b);
/* "2x4x16x16", for messages; free with g_free */
gchar *gv_tensor_shape_string (const GvTensor *t);

/* Binding of the whole tensor, or of elements [first, first + count), for gv_cmd_dispatch. */
GvBinding gv_tensor_bind (const GvTensor *t, gboolean write);
GvBinding gv_tensor_bind_range (const GvTensor *t, gint64 first, gint64 count, gboolean write);

/* Transfers recorded on @cmd (download data is valid after gv_cmd_finish). @data holds
 * gv_tensor_nbytes() bytes of the tensor's dtype. */
void gv_tensor_record_upload (GvCmd *cmd, GvTensor *t, gconstpointer data);
void gv_tensor_record_download (GvCmd *cmd, GvTensor *t, gpointer data);
void gv_tensor_record_copy (GvCmd *cmd, GvTensor *dst, GvTensor *src);
void gv_tensor_record_fill (GvCmd *cmd, GvTensor *t, gfloat value);

/* Synchronous transfers (each one submits and waits). */
gboolean gv_tensor_upload (GvTensor *t, gconstpointer data, GError **error);
gboolean gv_tensor_download (GvTensor *t, gpointer data, GError **error);
/* A new tensor holding @data. */
GvTensor *gv_tensor_new_from_data (GvDevice *dev, gint ndim, const gint64 *shape,
    const gfloat *data, GError **error);

/* TRUE when every tensor is allocated and @cmd has not failed: ops start with it. */
gboolean gv_tensors_ready (GvCmd *cmd, const gchar *op, guint n, GvTensor *const *tensors);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvTensor, gv_tensor_unref)

G_END_DECLS
