/* Device memory: few large VkDeviceMemory blocks, handed out as ref-counted sub-ranges.
 * A range goes back to its block when the last reference goes: command batches hold a
 * reference on every range they bind until the GPU has finished with them, so freeing a
 * tensor while work on it is in flight is safe, and its memory is reused as soon as it can be. */
#pragma once

#include "vk/gv-device.h"

G_BEGIN_DECLS

typedef struct _GvMemory GvMemory;

typedef enum {
  GV_MEMORY_DEVICE,    /* tensors: device-local */
  GV_MEMORY_STAGING,   /* host-visible, for uploads and downloads */
} GvMemoryKind;

/* Returns NULL and sets @error (GV_ERROR_OUT_OF_MEMORY) when the device has no room. */
GvMemory *gv_memory_new (GvDevice *dev, GvMemoryKind kind, guint64 size, GError **error);
GvMemory *gv_memory_ref (GvMemory *mem);
void gv_memory_unref (GvMemory *mem);

guint64 gv_memory_get_size (GvMemory *mem);
GvDevice *gv_memory_get_device (GvMemory *mem);
/* The VkBuffer that spans the block and the byte offset of this range in it. */
VkBuffer gv_memory_get_buffer (GvMemory *mem);
guint64 gv_memory_get_offset (GvMemory *mem);
/* Host pointer of a staging range (NULL for device ranges). */
gpointer gv_memory_get_host_pointer (GvMemory *mem);

G_END_DECLS
