/* The kernel registry (shaders/meson.build): every variant is found by its name, carries
 * SPIR-V, and fits the binding and push-constant limits every Vulkan device has. */
#include "gv-kernels.h"

#define SPIRV_MAGIC 0x07230203u
/* maxPushConstantsSize guaranteed by Vulkan */
#define MIN_PUSH_CONSTANTS 128

static void
test_registry (void)
{
  for (guint i = 0; i < GV_N_KERNELS; i++) {
    const GvShader *s = &gv_kernels[i];
    g_assert_nonnull (s->name);
    g_assert_true (gv_kernel_lookup (s->name) == s);
    g_assert_cmpuint (s->spirv_size, >=, 20);
    g_assert_cmpuint (s->spirv_size % 4, ==, 0);
    g_assert_cmphex (s->spirv[0], ==, SPIRV_MAGIC);
    g_assert_cmpuint (s->n_bindings, >=, 1);
    g_assert_cmpuint (s->n_bindings, <=, GV_MAX_BINDINGS);
    g_assert_cmpuint (s->params_size % 4, ==, 0);
    g_assert_cmpuint (GV_PUSH_HEADER_SIZE + s->params_size, <=, MIN_PUSH_CONSTANTS);
  }
}

static void
test_lookup_unknown (void)
{
  g_assert_null (gv_kernel_lookup ("no.such.kernel"));
  g_assert_null (gv_kernel_lookup (""));
  /* names are whole: a prefix of one is not a kernel */
  g_assert_nonnull (gv_kernel_lookup ("matmul.gpu"));
  g_assert_null (gv_kernel_lookup ("matmul"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/kernels/registry", test_registry);
  g_test_add_func ("/kernels/lookup-unknown", test_lookup_unknown);
  return g_test_run ();
}
