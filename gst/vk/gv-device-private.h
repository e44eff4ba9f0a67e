/* Internals shared by the files of the Vulkan core. Nothing outside gst/vk/ includes this. */
#pragma once

#include "vk/gv-cmd.h"
#include "vk/gv-device.h"
#include "vk/gv-kernel.h"
#include "vk/gv-memory.h"

typedef struct _GvMemBlock GvMemBlock;

struct _GvDevice {
  gint ref;
  gint index;
  gchar *name;
  GvDeviceLimits limits;
  GvKernelPath path;
  gint lost;                       /* atomic */

  VkInstance instance;
  VkDebugUtilsMessengerEXT messenger;
  VkPhysicalDevice phys;
  VkDevice device;
  VkQueue queue;
  guint32 queue_family;
  GMutex queue_lock;               /* vkQueueSubmit needs external synchronisation */

  /* memory: blocks per GvMemoryKind */
  GMutex mem_lock;
  guint32 mem_type[2];
  GPtrArray *blocks[2];
  guint64 block_size[2];
  guint64 range_align;
  guint64 tensor_bytes, tensor_peak, block_bytes, block_peak;

  /* kernels, keyed by "shader-address/spec..." */
  GMutex kernel_lock;
  GHashTable *kernels;

  /* GENVIDEO_PROFILE=1: kernel name -> GvProfileEntry */
  gboolean profile;
  GMutex profile_lock;
  GHashTable *profile_table;
};

struct _GvKernel {
  GvDevice *dev;
  const GvShader *shader;
  VkDescriptorSetLayout set_layout;
  VkPipelineLayout layout;
  VkPipeline pipeline;
};

typedef struct {
  guint64 count;
  gdouble total_ms;
} GvProfileEntry;

void gv_device_add_profile (GvDevice *dev, const gchar *name, gdouble ms);
void gv_device_mark_lost (GvDevice *dev);
void gv_memory_release_all (GvDevice *dev);
void gv_kernels_release_all (GvDevice *dev);
