/* Recording compute work. A GvCmd records dispatches and transfers into command buffers,
 * inserts a barrier only where a dispatch touches memory that an earlier, unsynchronised one
 * wrote (or reads what a later one overwrites), and submits in batches: a batch goes to the
 * queue every few dozen dispatches so that the device works while the host records, memory
 * freed by the host is recycled as batches finish, and cancellation is noticed promptly.
 *
 * Errors are sticky: the first failure (out of memory, device lost, a bad shape, cancellation)
 * is kept, later recording becomes a no-op, and gv_cmd_finish() returns it. Model code can so
 * record long sequences of ops and check once. */
#pragma once

#include "vk/gv-kernel.h"
#include "vk/gv-memory.h"

G_BEGIN_DECLS

typedef struct _GvCmd GvCmd;

typedef struct {
  GvMemory *mem;
  guint64 offset;     /* first byte the kernel may touch, relative to @mem */
  guint64 size;       /* bytes the kernel may touch */
  gboolean write;     /* the kernel writes (or reads and writes) this range */
} GvBinding;

GvCmd *gv_cmd_new (GvDevice *dev);
/* Waits for work in flight, drops what was recorded and not submitted. */
void gv_cmd_free (GvCmd *cmd);
GvDevice *gv_cmd_get_device (GvCmd *cmd);

/* @flag (may be NULL) is read atomically before each dispatch and while waiting: when it is
 * non-zero the command stops recording and gv_cmd_finish() returns GV_ERROR_CANCELLED. */
void gv_cmd_set_cancel_flag (GvCmd *cmd, const gint *flag);

/* Records one dispatch of @kernel. @bindings has one entry per binding of the kernel's shader;
 * @params (of the shader's params_size) follows the push header. */
void gv_cmd_dispatch (GvCmd *cmd, GvKernel *kernel, const GvBinding *bindings,
    const void *params, guint groups_x, guint groups_y, guint groups_z);

/* Transfers. Upload copies @data at once; download writes @data when the work has finished
 * (after gv_cmd_finish() returns TRUE). */
void gv_cmd_upload (GvCmd *cmd, GvMemory *dst, guint64 offset, gconstpointer data, gsize size);
void gv_cmd_download (GvCmd *cmd, GvMemory *src, guint64 offset, gpointer data, gsize size);
void gv_cmd_copy (GvCmd *cmd, GvMemory *src, guint64 src_offset, GvMemory *dst,
    guint64 dst_offset, gsize size);
/* Fills @size bytes (a multiple of 4) with the 32-bit @pattern. */
void gv_cmd_fill (GvCmd *cmd, GvMemory *dst, guint64 offset, gsize size, guint32 pattern);

/* Submits what is recorded without waiting. */
void gv_cmd_flush (GvCmd *cmd);
/* Submits what is recorded and waits for all of it. Returns FALSE with the first error of the
 * recording (then cleared: the GvCmd can be used again). */
gboolean gv_cmd_finish (GvCmd *cmd, GError **error);

/* Sticky error handling, for ops. gv_cmd_fail takes ownership of @error. */
gboolean gv_cmd_failed (GvCmd *cmd);
void gv_cmd_fail (GvCmd *cmd, GError *error);
void gv_cmd_failf (GvCmd *cmd, GvErrorCode code, const gchar *format, ...) G_GNUC_PRINTF (3, 4);

/* Makes room when memory ran out: submits what is recorded and waits until all of it is done,
 * so that memory freed meanwhile returns to the allocator. Does not clear errors. */
void gv_cmd_drain (GvCmd *cmd);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvCmd, gv_cmd_free)

G_END_DECLS
