#include "vk/gv-error.h"

const gchar *
gv_vk_result_name (VkResult result)
{
  switch (result) {
#define CASE(x) case x: return #x;
    CASE (VK_SUCCESS)
    CASE (VK_NOT_READY)
    CASE (VK_TIMEOUT)
    CASE (VK_INCOMPLETE)
    CASE (VK_ERROR_OUT_OF_HOST_MEMORY)
    CASE (VK_ERROR_OUT_OF_DEVICE_MEMORY)
    CASE (VK_ERROR_INITIALIZATION_FAILED)
    CASE (VK_ERROR_DEVICE_LOST)
    CASE (VK_ERROR_MEMORY_MAP_FAILED)
    CASE (VK_ERROR_LAYER_NOT_PRESENT)
    CASE (VK_ERROR_EXTENSION_NOT_PRESENT)
    CASE (VK_ERROR_FEATURE_NOT_PRESENT)
    CASE (VK_ERROR_INCOMPATIBLE_DRIVER)
    CASE (VK_ERROR_TOO_MANY_OBJECTS)
    CASE (VK_ERROR_FORMAT_NOT_SUPPORTED)
    CASE (VK_ERROR_FRAGMENTED_POOL)
    CASE (VK_ERROR_OUT_OF_POOL_MEMORY)
    CASE (VK_ERROR_INVALID_SHADER_NV)
#undef CASE
    default:
      return "VK_ERROR_UNKNOWN";
  }
}

gboolean
gv_set_vk_error (GError **error, VkResult result, const gchar *what)
{
  GvErrorCode code = GV_ERROR_VULKAN;

  if (result == VK_ERROR_OUT_OF_DEVICE_MEMORY || result == VK_ERROR_OUT_OF_HOST_MEMORY)
    code = GV_ERROR_OUT_OF_MEMORY;
  else if (result == VK_ERROR_DEVICE_LOST)
    code = GV_ERROR_DEVICE_LOST;
  g_set_error (error, GV_ERROR, code, "%s failed: %s (%d)", what,
      gv_vk_result_name (result), (int) result);
  return FALSE;
}
