/* Pipelines, created on first use and cached by (shader, specialization constants). */
#include "vk/gv-device-private.h"

static VkDescriptorType
descriptor_type (GvBindKind kind)
{
  return kind == GV_BIND_BUFFER ? VK_DESCRIPTOR_TYPE_STORAGE_BUFFER :
      VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER;
}

static void
kernel_destroy (GvDevice *dev, GvKernel *k)
{
  if (k->pipeline)
    vkDestroyPipeline (dev->device, k->pipeline, NULL);
  if (k->layout)
    vkDestroyPipelineLayout (dev->device, k->layout, NULL);
  if (k->set_layout)
    vkDestroyDescriptorSetLayout (dev->device, k->set_layout, NULL);
  g_free (k);
}

static GvKernel *
kernel_create (GvDevice *dev, const GvShader *shader, const guint32 *spec, guint n_spec,
    GError **error)
{
  GvKernel *k = g_new0 (GvKernel, 1);
  VkShaderModule module = VK_NULL_HANDLE;
  VkResult r;
  gchar *what;

  k->dev = dev;
  k->shader = shader;

  VkDescriptorSetLayoutBinding binds[GV_MAX_BINDINGS];
  for (guint i = 0; i < shader->n_bindings; i++) {
    binds[i] = (VkDescriptorSetLayoutBinding) {
      .binding = i,
      .descriptorType = descriptor_type (shader->kinds[i]),
      .descriptorCount = 1,
      .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    };
  }
  VkDescriptorSetLayoutCreateInfo sinfo = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
    .bindingCount = shader->n_bindings,
    .pBindings = binds,
  };
  r = vkCreateDescriptorSetLayout (dev->device, &sinfo, NULL, &k->set_layout);
  if (r != VK_SUCCESS)
    goto failed;

  VkPushConstantRange push = {
    .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    .offset = 0,
    .size = GV_PUSH_HEADER_SIZE + shader->params_size,
  };
  VkPipelineLayoutCreateInfo linfo = {
    .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
    .setLayoutCount = 1,
    .pSetLayouts = &k->set_layout,
    .pushConstantRangeCount = 1,
    .pPushConstantRanges = &push,
  };
  r = vkCreatePipelineLayout (dev->device, &linfo, NULL, &k->layout);
  if (r != VK_SUCCESS)
    goto failed;

  VkShaderModuleCreateInfo minfo = {
    .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
    .codeSize = shader->spirv_size,
    .pCode = shader->spirv,
  };
  r = vkCreateShaderModule (dev->device, &minfo, NULL, &module);
  if (r != VK_SUCCESS)
    goto failed;

  VkSpecializationMapEntry entries[GV_MAX_SPEC];
  for (guint i = 0; i < n_spec; i++)
    entries[i] = (VkSpecializationMapEntry) { i, i * 4, 4 };
  VkSpecializationInfo specinfo = {
    .mapEntryCount = n_spec,
    .pMapEntries = entries,
    .dataSize = n_spec * 4,
    .pData = spec,
  };
  VkComputePipelineCreateInfo pinfo = {
    .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
    .stage = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
      .stage = VK_SHADER_STAGE_COMPUTE_BIT,
      .module = module,
      .pName = "main",
      .pSpecializationInfo = n_spec ? &specinfo : NULL,
    },
    .layout = k->layout,
  };
  r = vkCreateComputePipelines (dev->device, VK_NULL_HANDLE, 1, &pinfo, NULL, &k->pipeline);
  vkDestroyShaderModule (dev->device, module, NULL);
  if (r != VK_SUCCESS)
    goto failed;
  return k;

failed:
  what = g_strdup_printf ("creating the pipeline of kernel '%s'", shader->name);
  gv_set_vk_error (error, r, what);
  g_free (what);
  kernel_destroy (dev, k);
  return NULL;
}

GvKernel *
gv_device_get_kernel (GvDevice *dev, const GvShader *shader, const guint32 *spec, guint n_spec,
    GError **error)
{
  g_return_val_if_fail (n_spec <= GV_MAX_SPEC, NULL);
  g_return_val_if_fail (shader->n_bindings <= GV_MAX_BINDINGS, NULL);
  g_return_val_if_fail (GV_PUSH_HEADER_SIZE + shader->params_size <=
      dev->limits.max_push_constants, NULL);

  GString *key = g_string_new (NULL);
  g_string_append_printf (key, "%p", (gpointer) shader);
  for (guint i = 0; i < n_spec; i++)
    g_string_append_printf (key, "/%u", spec[i]);

  g_mutex_lock (&dev->kernel_lock);
  GvKernel *k = g_hash_table_lookup (dev->kernels, key->str);
  if (k == NULL) {
    k = kernel_create (dev, shader, spec, n_spec, error);
    if (k != NULL)
      g_hash_table_insert (dev->kernels, g_string_free (key, FALSE), k);
    else
      g_string_free (key, TRUE);
  } else {
    g_string_free (key, TRUE);
  }
  g_mutex_unlock (&dev->kernel_lock);
  return k;
}

const GvShader *
gv_kernel_get_shader (GvKernel *kernel)
{
  return kernel->shader;
}

void
gv_kernels_release_all (GvDevice *dev)
{
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, dev->kernels);
  while (g_hash_table_iter_next (&it, NULL, &value))
    kernel_destroy (dev, value);
  g_hash_table_remove_all (dev->kernels);
}
