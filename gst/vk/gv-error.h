/* Vulkan results as errors of the GV_ERROR domain (base/gv-error.h). */
#pragma once

#include <vulkan/vulkan.h>

#include "base/gv-error.h"

G_BEGIN_DECLS

/* Fills @error from a failed VkResult; @what names the operation. Returns FALSE. */
gboolean gv_set_vk_error (GError **error, VkResult result, const gchar *what);

const gchar *gv_vk_result_name (VkResult result);

G_END_DECLS
