/* Device choice and creation. */
#include <stdlib.h>
#include <string.h>

#include "vk/gv-device-private.h"

static guint validation_errors;   /* atomic */

guint
gv_validation_error_count (void)
{
  return (guint) g_atomic_int_get (&validation_errors);
}

static VKAPI_ATTR VkBool32 VKAPI_CALL
on_validation_message (VkDebugUtilsMessageSeverityFlagBitsEXT severity,
    VkDebugUtilsMessageTypeFlagsEXT types, const VkDebugUtilsMessengerCallbackDataEXT *data,
    void *user_data)
{
  if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) {
    g_atomic_int_inc (&validation_errors);
    /* not g_warning: test harnesses make warnings fatal, and the count is what tests check */
    g_printerr ("genvideo: Vulkan validation error: %s\n", data->pMessage);
  } else if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
    g_printerr ("genvideo: Vulkan validation warning: %s\n", data->pMessage);
  }
  return VK_FALSE;
}

static gboolean
env_flag (const gchar *name)
{
  const gchar *v = g_getenv (name);
  return v != NULL && v[0] != '\0' && strcmp (v, "0") != 0;
}

static gboolean
has_layer (const gchar *name)
{
  guint32 n = 0;
  gboolean found = FALSE;

  vkEnumerateInstanceLayerProperties (&n, NULL);
  VkLayerProperties *layers = g_new0 (VkLayerProperties, n);
  vkEnumerateInstanceLayerProperties (&n, layers);
  for (guint32 i = 0; i < n && !found; i++)
    found = strcmp (layers[i].layerName, name) == 0;
  g_free (layers);
  return found;
}

static gboolean
create_instance (GvDevice *dev, GError **error)
{
  const gchar *layer = "VK_LAYER_KHRONOS_validation";
  const gchar *ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
  gboolean validate = env_flag ("GENVIDEO_VALIDATE");
  VkResult r;

  if (validate && !has_layer (layer)) {
    g_printerr ("genvideo: GENVIDEO_VALIDATE is set but %s is not installed "
        "(Debian: vulkan-validationlayers); running without it\n", layer);
    validate = FALSE;
  }

  VkApplicationInfo app = {
    .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
    .pApplicationName = "gst-genvideo",
    .pEngineName = "genvideo",
    .apiVersion = VK_API_VERSION_1_2,
  };
  VkInstanceCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
    .pApplicationInfo = &app,
    .enabledLayerCount = validate ? 1 : 0,
    .ppEnabledLayerNames = validate ? &layer : NULL,
    .enabledExtensionCount = validate ? 1 : 0,
    .ppEnabledExtensionNames = validate ? &ext : NULL,
  };
  r = vkCreateInstance (&info, NULL, &dev->instance);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER) {
    g_set_error (error, GV_ERROR, GV_ERROR_NO_DEVICE,
        "No Vulkan 1.2 driver found (install a Vulkan driver, e.g. mesa-vulkan-drivers)");
    return FALSE;
  }
  if (r != VK_SUCCESS)
    return gv_set_vk_error (error, r, "vkCreateInstance");

  if (validate) {
    PFN_vkCreateDebugUtilsMessengerEXT create_messenger = (PFN_vkCreateDebugUtilsMessengerEXT)
        vkGetInstanceProcAddr (dev->instance, "vkCreateDebugUtilsMessengerEXT");
    VkDebugUtilsMessengerCreateInfoEXT minfo = {
      .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
      .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT |
          VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT,
      .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
          VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
          VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
      .pfnUserCallback = on_validation_message,
    };
    if (create_messenger)
      create_messenger (dev->instance, &minfo, NULL, &dev->messenger);
  }
  return TRUE;
}

static gint
device_type_rank (VkPhysicalDeviceType type)
{
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
  }
}

static gint
compute_queue_family (VkPhysicalDevice phys)
{
  guint32 n = 0;
  gint best = -1;

  vkGetPhysicalDeviceQueueFamilyProperties (phys, &n, NULL);
  VkQueueFamilyProperties *props = g_new0 (VkQueueFamilyProperties, n);
  vkGetPhysicalDeviceQueueFamilyProperties (phys, &n, props);
  for (guint32 i = 0; i < n; i++) {
    if (!(props[i].queueFlags & VK_QUEUE_COMPUTE_BIT))
      continue;
    /* a compute-only family is the dedicated async-compute queue: prefer it */
    if (best < 0 || !(props[i].queueFlags & VK_QUEUE_GRAPHICS_BIT))
      best = (gint) i;
  }
  g_free (props);
  return best;
}

static gboolean
usable (VkPhysicalDevice phys)
{
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties (phys, &props);
  return props.apiVersion >= VK_API_VERSION_1_2 && compute_queue_family (phys) >= 0;
}

/* "0: llvmpipe (CPU), 1: ..." for error messages that say which devices exist */
static gchar *
describe_devices (const VkPhysicalDevice *devs, guint32 n)
{
  GString *s = g_string_new (NULL);

  for (guint32 i = 0; i < n; i++) {
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties (devs[i], &props);
    g_string_append_printf (s, "%s%u: %s (Vulkan %u.%u%s)", i ? ", " : "", i, props.deviceName,
        VK_API_VERSION_MAJOR (props.apiVersion), VK_API_VERSION_MINOR (props.apiVersion),
        usable (devs[i]) ? "" : ", not usable");
  }
  return g_string_free (s, FALSE);
}

static gboolean
choose_physical_device (GvDevice *dev, gint index, GError **error)
{
  guint32 n = 0;
  VkResult r = vkEnumeratePhysicalDevices (dev->instance, &n, NULL);
  if (r != VK_SUCCESS)
    return gv_set_vk_error (error, r, "vkEnumeratePhysicalDevices");
  if (n == 0) {
    g_set_error (error, GV_ERROR, GV_ERROR_NO_DEVICE,
        "No Vulkan device found (install a driver, e.g. mesa-vulkan-drivers for lavapipe)");
    return FALSE;
  }
  VkPhysicalDevice *devs = g_new0 (VkPhysicalDevice, n);
  vkEnumeratePhysicalDevices (dev->instance, &n, devs);
  g_autofree gchar *known = describe_devices (devs, n);

  if (index < 0) {
    const gchar *env = g_getenv ("GENVIDEO_DEVICE");
    if (env != NULL && env[0] != '\0') {
      gchar *end = NULL;
      gint64 v = g_ascii_strtoll (env, &end, 10);
      if (end == env || *end != '\0' || v < 0) {
        g_set_error (error, GV_ERROR, GV_ERROR_NO_DEVICE,
            "GENVIDEO_DEVICE='%s' is not a device index (devices: %s)", env, known);
        g_free (devs);
        return FALSE;
      }
      index = (gint) v;
    }
  }

  if (index >= 0) {
    if ((guint32) index >= n) {
      g_set_error (error, GV_ERROR, GV_ERROR_NO_DEVICE,
          "Vulkan device %d requested, but only %u device(s) exist: %s", index, n, known);
      g_free (devs);
      return FALSE;
    }
    if (!usable (devs[index])) {
      g_set_error (error, GV_ERROR, GV_ERROR_NO_DEVICE,
          "Vulkan device %d has no Vulkan 1.2 compute queue (devices: %s)", index, known);
      g_free (devs);
      return FALSE;
    }
  } else {
    gint best_rank = 0;
    for (guint32 i = 0; i < n; i++) {
      VkPhysicalDeviceProperties props;
      vkGetPhysicalDeviceProperties (devs[i], &props);
      gint rank = device_type_rank (props.deviceType);
      if (usable (devs[i]) && rank > best_rank) {
        best_rank = rank;
        index = (gint) i;
      }
    }
    if (index < 0) {
      g_set_error (error, GV_ERROR, GV_ERROR_NO_DEVICE,
          "None of the %u Vulkan device(s) supports Vulkan 1.2 compute: %s", n, known);
      g_free (devs);
      return FALSE;
    }
  }
  dev->index = index;
  dev->phys = devs[index];
  g_free (devs);
  return TRUE;
}

static void
read_limits (GvDevice *dev, VkPhysicalDeviceVulkan11Features *f11,
    VkPhysicalDeviceVulkan12Features *f12)
{
  VkPhysicalDeviceVulkan11Properties p11 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_PROPERTIES,
  };
  VkPhysicalDeviceProperties2 props2 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
    .pNext = &p11,
  };
  vkGetPhysicalDeviceProperties2 (dev->phys, &props2);
  const VkPhysicalDeviceLimits *l = &props2.properties.limits;
  GvDeviceLimits *lim = &dev->limits;

  *f11 = (VkPhysicalDeviceVulkan11Features) {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
  };
  *f12 = (VkPhysicalDeviceVulkan12Features) {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
    .pNext = f11,
  };
  VkPhysicalDeviceFeatures2 feats = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
    .pNext = f12,
  };
  vkGetPhysicalDeviceFeatures2 (dev->phys, &feats);

  dev->name = g_strdup (props2.properties.deviceName);
  lim->max_storage_range = l->maxStorageBufferRange;
  lim->max_texel_elements = l->maxTexelBufferElements;
  lim->storage_offset_align = l->minStorageBufferOffsetAlignment;
  lim->texel_offset_align = l->minTexelBufferOffsetAlignment;
  lim->max_push_constants = l->maxPushConstantsSize;
  for (int i = 0; i < 3; i++) {
    lim->max_group_count[i] = l->maxComputeWorkGroupCount[i];
    lim->max_group_size[i] = l->maxComputeWorkGroupSize[i];
  }
  lim->max_group_invocations = l->maxComputeWorkGroupInvocations;
  lim->max_shared_memory = l->maxComputeSharedMemorySize;
  lim->subgroup_size = p11.subgroupSize;
  lim->subgroup_shuffle = (p11.subgroupSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
      (p11.subgroupSupportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT);
  lim->timestamp_period = l->timestampPeriod;
  lim->float16 = f12->shaderFloat16 && f11->storageBuffer16BitAccess;
  lim->is_cpu = props2.properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
  const gchar *cap = g_getenv ("GENVIDEO_GEMM_MAX_BINDING");
  gint64 cap_bytes = cap != NULL ? g_ascii_strtoll (cap, NULL, 10) : 0;
  lim->gemm_max_binding = cap_bytes >= 16 ? (guint64) cap_bytes : 0;

  VkPhysicalDeviceMaintenance3Properties m3 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES,
  };
  VkPhysicalDeviceProperties2 props3 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
    .pNext = &m3,
  };
  vkGetPhysicalDeviceProperties2 (dev->phys, &props3);
  lim->max_allocation = m3.maxMemoryAllocationSize;

  guint32 nq = 0;
  vkGetPhysicalDeviceQueueFamilyProperties (dev->phys, &nq, NULL);
  VkQueueFamilyProperties *qprops = g_new0 (VkQueueFamilyProperties, nq);
  vkGetPhysicalDeviceQueueFamilyProperties (dev->phys, &nq, qprops);
  lim->timestamps = qprops[dev->queue_family].timestampValidBits > 0 && l->timestampPeriod > 0;
  g_free (qprops);
}

static void
log_device (GvDevice *dev)
{
  const GvDeviceLimits *l = &dev->limits;
  g_debug ("device %d: %s (%s kernels)", dev->index, dev->name,
      dev->path == GV_KERNEL_PATH_CPU ? "cpu" : "gpu");
  g_debug ("  max storage range %" G_GUINT64_FORMAT " B, max texel elements %" G_GUINT64_FORMAT
      ", offset alignment storage %" G_GUINT64_FORMAT " / texel %" G_GUINT64_FORMAT
      ", max allocation %" G_GUINT64_FORMAT " B", l->max_storage_range, l->max_texel_elements,
      l->storage_offset_align, l->texel_offset_align, l->max_allocation);
  g_debug ("  push constants %u B, group count %u x %u x %u, group size %u x %u x %u (%u), "
      "shared memory %u B, subgroup %u%s, timestamps %s, fp16 %s", l->max_push_constants,
      l->max_group_count[0], l->max_group_count[1], l->max_group_count[2], l->max_group_size[0],
      l->max_group_size[1], l->max_group_size[2], l->max_group_invocations, l->max_shared_memory,
      l->subgroup_size, l->subgroup_shuffle ? " (shuffle)" : "", l->timestamps ? "yes" : "no",
      l->float16 ? "yes" : "no");
}

static gboolean
check_formats (GvDevice *dev, GError **error)
{
  const VkFormat formats[] = { VK_FORMAT_R32_SFLOAT, VK_FORMAT_R32G32B32A32_SFLOAT };
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
    VkFormatProperties fp;
    vkGetPhysicalDeviceFormatProperties (dev->phys, formats[i], &fp);
    if (!(fp.bufferFeatures & VK_FORMAT_FEATURE_STORAGE_TEXEL_BUFFER_BIT)) {
      g_set_error (error, GV_ERROR, GV_ERROR_UNSUPPORTED,
          "%s: format %d cannot be a storage texel buffer", dev->name, formats[i]);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
find_memory_types (GvDevice *dev, GError **error)
{
  VkPhysicalDeviceMemoryProperties mp;
  vkGetPhysicalDeviceMemoryProperties (dev->phys, &mp);

  /* which memory types a tensor buffer may live in */
  VkBufferCreateInfo binfo = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
    .size = 1 << 20,
    .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT |
        VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
  };
  VkBuffer probe;
  VkResult r = vkCreateBuffer (dev->device, &binfo, NULL, &probe);
  if (r != VK_SUCCESS)
    return gv_set_vk_error (error, r, "vkCreateBuffer (probe)");
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements (dev->device, probe, &req);
  vkDestroyBuffer (dev->device, probe, NULL);

  gint dev_type = -1, dev_any = -1, stage_type = -1, stage_cached = -1;
  for (guint32 i = 0; i < mp.memoryTypeCount; i++) {
    if (!(req.memoryTypeBits & (1u << i)))
      continue;
    VkMemoryPropertyFlags f = mp.memoryTypes[i].propertyFlags;
    if (dev_any < 0)
      dev_any = (gint) i;
    if (dev_type < 0 && (f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT))
      dev_type = (gint) i;
    gboolean host = (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) &&
        (f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    if (host && stage_type < 0)
      stage_type = (gint) i;
    if (host && stage_cached < 0 && (f & VK_MEMORY_PROPERTY_HOST_CACHED_BIT))
      stage_cached = (gint) i;
  }
  if (dev_type < 0)
    dev_type = dev_any;
  if (stage_cached >= 0)
    stage_type = stage_cached;
  if (dev_type < 0 || stage_type < 0) {
    g_set_error (error, GV_ERROR, GV_ERROR_UNSUPPORTED,
        "%s: no suitable memory type for tensors or staging", dev->name);
    return FALSE;
  }
  dev->mem_type[GV_MEMORY_DEVICE] = (guint32) dev_type;
  dev->mem_type[GV_MEMORY_STAGING] = (guint32) stage_type;

  guint64 align = MAX (MAX (dev->limits.storage_offset_align, dev->limits.texel_offset_align),
      req.alignment);
  dev->range_align = MAX (align, 256);
  guint64 block = 256u << 20;
  dev->block_size[GV_MEMORY_DEVICE] = MIN (block, dev->limits.max_allocation);
  dev->block_size[GV_MEMORY_STAGING] = MIN (64u << 20, dev->limits.max_allocation);
  return TRUE;
}

static gboolean
create_device (GvDevice *dev, GError **error)
{
  VkPhysicalDeviceVulkan11Features f11;
  VkPhysicalDeviceVulkan12Features f12;
  gint family = compute_queue_family (dev->phys);

  dev->queue_family = (guint32) family;
  read_limits (dev, &f11, &f12);

  const gchar *force = g_getenv ("GENVIDEO_KERNELS");
  if (force != NULL && strcmp (force, "cpu") == 0)
    dev->path = GV_KERNEL_PATH_CPU;
  else if (force != NULL && strcmp (force, "gpu") == 0)
    dev->path = GV_KERNEL_PATH_GPU;
  else
    dev->path = dev->limits.is_cpu ? GV_KERNEL_PATH_CPU : GV_KERNEL_PATH_GPU;

  /* enable only what we use: 16-bit storage and arithmetic for the fp16 path */
  VkPhysicalDeviceVulkan11Features e11 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
    .storageBuffer16BitAccess = dev->limits.float16,
  };
  VkPhysicalDeviceVulkan12Features e12 = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
    .pNext = &e11,
    .shaderFloat16 = dev->limits.float16,
  };
  float priority = 1.0f;
  VkDeviceQueueCreateInfo qinfo = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
    .queueFamilyIndex = dev->queue_family,
    .queueCount = 1,
    .pQueuePriorities = &priority,
  };
  VkDeviceCreateInfo dinfo = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
    .pNext = &e12,
    .queueCreateInfoCount = 1,
    .pQueueCreateInfos = &qinfo,
  };
  VkResult r = vkCreateDevice (dev->phys, &dinfo, NULL, &dev->device);
  if (r != VK_SUCCESS)
    return gv_set_vk_error (error, r, "vkCreateDevice");
  vkGetDeviceQueue (dev->device, dev->queue_family, 0, &dev->queue);
  return check_formats (dev, error) && find_memory_types (dev, error);
}

static void device_free (GvDevice *dev);

GvDevice *
gv_device_new (gint index, GError **error)
{
  GvDevice *dev = g_new0 (GvDevice, 1);

  dev->ref = 1;
  dev->index = -1;
  g_mutex_init (&dev->queue_lock);
  g_mutex_init (&dev->mem_lock);
  g_mutex_init (&dev->kernel_lock);
  g_mutex_init (&dev->profile_lock);
  dev->blocks[GV_MEMORY_DEVICE] = g_ptr_array_new ();
  dev->blocks[GV_MEMORY_STAGING] = g_ptr_array_new ();
  dev->kernels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  dev->profile = env_flag ("GENVIDEO_PROFILE");
  dev->profile_table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  if (!create_instance (dev, error) || !choose_physical_device (dev, index, error) ||
      !create_device (dev, error)) {
    /* not shared yet, and gv_device_get_shared () may hold shared_lock here: free directly */
    device_free (dev);
    return NULL;
  }
  log_device (dev);
  return dev;
}

static GMutex shared_lock;
static GHashTable *shared_devices;   /* requested index -> GvDevice (weak) */

GvDevice *
gv_device_get_shared (gint index, GError **error)
{
  GvDevice *dev;
  gint key = index < 0 ? -1 : index;

  g_mutex_lock (&shared_lock);
  if (shared_devices == NULL)
    shared_devices = g_hash_table_new (g_direct_hash, g_direct_equal);
  dev = g_hash_table_lookup (shared_devices, GINT_TO_POINTER (key + 1));
  if (dev != NULL) {
    g_atomic_int_inc (&dev->ref);
  } else {
    dev = gv_device_new (index, error);
    if (dev != NULL)
      g_hash_table_insert (shared_devices, GINT_TO_POINTER (key + 1), dev);
  }
  g_mutex_unlock (&shared_lock);
  return dev;
}

GvDevice *
gv_device_ref (GvDevice *dev)
{
  g_atomic_int_inc (&dev->ref);
  return dev;
}

static void
remove_shared (GvDevice *dev)
{
  GHashTableIter it;
  gpointer key, value;

  if (shared_devices == NULL)
    return;
  g_hash_table_iter_init (&it, shared_devices);
  while (g_hash_table_iter_next (&it, &key, &value))
    if (value == dev)
      g_hash_table_iter_remove (&it);
}

void
gv_device_unref (GvDevice *dev)
{
  if (dev == NULL)
    return;
  /* the shared table holds no reference: take its lock so that a concurrent
   * gv_device_get_shared () cannot revive a device being freed */
  g_mutex_lock (&shared_lock);
  if (!g_atomic_int_dec_and_test (&dev->ref)) {
    g_mutex_unlock (&shared_lock);
    return;
  }
  remove_shared (dev);
  g_mutex_unlock (&shared_lock);
  device_free (dev);
}

static void
device_free (GvDevice *dev)
{
  if (dev->profile) {
    gchar *report = gv_device_profile_report (dev);
    if (report != NULL)
      g_printerr ("%s", report);
    g_free (report);
  }
  if (dev->device != VK_NULL_HANDLE) {
    vkDeviceWaitIdle (dev->device);
    gv_kernels_release_all (dev);
    gv_memory_release_all (dev);
    vkDestroyDevice (dev->device, NULL);
  }
  if (dev->messenger != VK_NULL_HANDLE) {
    PFN_vkDestroyDebugUtilsMessengerEXT destroy = (PFN_vkDestroyDebugUtilsMessengerEXT)
        vkGetInstanceProcAddr (dev->instance, "vkDestroyDebugUtilsMessengerEXT");
    if (destroy)
      destroy (dev->instance, dev->messenger, NULL);
  }
  if (dev->instance != VK_NULL_HANDLE)
    vkDestroyInstance (dev->instance, NULL);
  g_ptr_array_unref (dev->blocks[GV_MEMORY_DEVICE]);
  g_ptr_array_unref (dev->blocks[GV_MEMORY_STAGING]);
  g_hash_table_unref (dev->kernels);
  g_hash_table_unref (dev->profile_table);
  g_mutex_clear (&dev->queue_lock);
  g_mutex_clear (&dev->mem_lock);
  g_mutex_clear (&dev->kernel_lock);
  g_mutex_clear (&dev->profile_lock);
  g_free (dev->name);
  g_free (dev);
}

const gchar *
gv_device_get_name (GvDevice *dev)
{
  return dev->name;
}

gint
gv_device_get_index (GvDevice *dev)
{
  return dev->index;
}

GvKernelPath
gv_device_get_kernel_path (GvDevice *dev)
{
  return dev->path;
}

const GvDeviceLimits *
gv_device_get_limits (GvDevice *dev)
{
  return &dev->limits;
}

gboolean
gv_device_is_lost (GvDevice *dev)
{
  return g_atomic_int_get (&dev->lost) != 0;
}

void
gv_device_mark_lost (GvDevice *dev)
{
  g_atomic_int_set (&dev->lost, 1);
}

void
gv_device_add_profile (GvDevice *dev, const gchar *name, gdouble ms)
{
  g_mutex_lock (&dev->profile_lock);
  GvProfileEntry *e = g_hash_table_lookup (dev->profile_table, name);
  if (e == NULL) {
    e = g_new0 (GvProfileEntry, 1);
    g_hash_table_insert (dev->profile_table, g_strdup (name), e);
  }
  e->count++;
  e->total_ms += ms;
  g_mutex_unlock (&dev->profile_lock);
}

static gint
compare_profile (gconstpointer a, gconstpointer b, gpointer table)
{
  const GvProfileEntry *ea = g_hash_table_lookup (table, *(const gchar **) a);
  const GvProfileEntry *eb = g_hash_table_lookup (table, *(const gchar **) b);
  return ea->total_ms < eb->total_ms ? 1 : ea->total_ms > eb->total_ms ? -1 : 0;
}

void
gv_device_reset_profile (GvDevice *dev)
{
  g_mutex_lock (&dev->profile_lock);
  g_hash_table_remove_all (dev->profile_table);
  g_mutex_unlock (&dev->profile_lock);
}

gchar *
gv_device_profile_report (GvDevice *dev)
{
  if (!dev->profile)
    return NULL;
  g_mutex_lock (&dev->profile_lock);
  GPtrArray *names = g_ptr_array_new ();
  GHashTableIter it;
  gpointer key, value;
  gdouble total = 0;
  g_hash_table_iter_init (&it, dev->profile_table);
  while (g_hash_table_iter_next (&it, &key, &value)) {
    g_ptr_array_add (names, key);
    total += ((GvProfileEntry *) value)->total_ms;
  }
  g_ptr_array_sort_with_data (names, compare_profile, dev->profile_table);
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "genvideo profile (%s): GPU time per kernel\n", dev->name);
  g_string_append_printf (s, "%-32s %10s %12s %10s %7s\n", "kernel", "calls", "total ms",
      "mean ms", "share");
  for (guint i = 0; i < names->len; i++) {
    const gchar *name = g_ptr_array_index (names, i);
    GvProfileEntry *e = g_hash_table_lookup (dev->profile_table, name);
    g_string_append_printf (s, "%-32s %10" G_GUINT64_FORMAT " %12.3f %10.4f %6.1f%%\n", name,
        e->count, e->total_ms, e->total_ms / (gdouble) e->count,
        total > 0 ? 100.0 * e->total_ms / total : 0.0);
  }
  g_string_append_printf (s, "%-32s %10s %12.3f\n", "total", "", total);
  g_ptr_array_unref (names);
  g_mutex_unlock (&dev->profile_lock);
  return g_string_free (s, FALSE);
}
