/* A Vulkan device and its compute queue, chosen once and shared by everything that computes.
 *
 * Ownership: ref-counted; gv_device_new() and gv_device_get_shared() return a reference the
 * caller drops with gv_device_unref(). Threads: any thread may use a device at any time (its
 * queue, memory and kernel cache have locks of their own); the work itself is recorded into a
 * GvCmd, which one thread at a time uses. */
#pragma once

#include <glib.h>
#include <vulkan/vulkan.h>

#include "vk/gv-error.h"

G_BEGIN_DECLS

typedef struct _GvDevice GvDevice;

/* Which family of kernels suits the device: CPU devices (lavapipe) want register-blocked kernels
 * reading texel buffers and no shared memory; GPUs want shared-memory tiles. */
typedef enum {
  GV_KERNEL_PATH_CPU,
  GV_KERNEL_PATH_GPU,
} GvKernelPath;

typedef struct {
  guint64 max_storage_range;      /* bytes one storage-buffer binding may span */
  guint64 max_texel_elements;     /* texels one texel-buffer binding may span */
  guint64 storage_offset_align;   /* bytes */
  guint64 texel_offset_align;     /* bytes */
  guint64 max_allocation;         /* bytes of one VkDeviceMemory */
  guint32 max_push_constants;     /* bytes */
  guint32 max_group_count[3];
  guint32 max_group_size[3];
  guint32 max_group_invocations;
  guint32 max_shared_memory;      /* bytes */
  guint32 subgroup_size;
  gboolean subgroup_shuffle;      /* subgroupShuffle usable in compute shaders */
  gboolean timestamps;            /* timestamp queries on the compute queue */
  gfloat timestamp_period;        /* ns per tick */
  gboolean float16;               /* shaderFloat16 + 16-bit storage: the fp16 path is possible */
  gboolean is_cpu;                /* VK_PHYSICAL_DEVICE_TYPE_CPU */
  guint64 gemm_max_binding;       /* bytes: GENVIDEO_GEMM_MAX_BINDING when the device opened
                                   * (tests), else 0; caps the matrix-product ops' bindings */
} GvDeviceLimits;

/* Opens device @index (Vulkan enumeration order), or with @index < 0 the one GENVIDEO_DEVICE names,
 * or else the best one: discrete GPU, integrated GPU, virtual GPU, then CPU.
 * GENVIDEO_VALIDATE=1 enables the Khronos validation layer; GENVIDEO_KERNELS=cpu|gpu forces a
 * kernel family (tests use it to run both families on lavapipe). */
GvDevice *gv_device_new (gint index, GError **error);   /* (transfer full) */

/* One device per index and process: elements and tools that ask for the same index share it
 * (and so share weights uploaded to it). (transfer full): a new reference; the cache itself
 * holds none, so the device closes with its last user. The elements reach it through
 * GstContext first (gst/elements/gstgenvideoresources.h). */
GvDevice *gv_device_get_shared (gint index, GError **error);

GvDevice *gv_device_ref (GvDevice *dev);   /* (transfer full) */
void gv_device_unref (GvDevice *dev);

/* (transfer none) */
const gchar *gv_device_get_name (GvDevice *dev);
gint gv_device_get_index (GvDevice *dev);
GvKernelPath gv_device_get_kernel_path (GvDevice *dev);
const GvDeviceLimits *gv_device_get_limits (GvDevice *dev);
gboolean gv_device_is_lost (GvDevice *dev);

/* Bytes of device memory held by live tensors (current, peak since the last reset) and in
 * VkDeviceMemory blocks (current, peak). Any pointer may be NULL. */
void gv_device_get_memory_stats (GvDevice *dev, guint64 *tensor_bytes, guint64 *tensor_peak,
    guint64 *block_bytes, guint64 *block_peak);
void gv_device_reset_peak_memory (GvDevice *dev);

/* Releases cached empty memory blocks. */
void gv_device_trim (GvDevice *dev);

/* Number of validation-layer errors reported so far (GENVIDEO_VALIDATE=1), for tests. */
guint gv_validation_error_count (void);

/* With GENVIDEO_PROFILE=1: the per-kernel GPU time table collected so far, as text
 * (NULL when profiling is off). Printed to stderr when the device is freed. */
gchar *gv_device_profile_report (GvDevice *dev);
/* Empties that table (a benchmark's phases, each on its own). */
void gv_device_reset_profile (GvDevice *dev);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvDevice, gv_device_unref)

G_END_DECLS
