/* The kernel registry (shaders/meson.build): every variant is found by its name, carries
 * SPIR-V, fits the binding and push-constant limits every Vulkan device has, and its shader
 * declares the push-constant block that the registry line names (read back from the SPIR-V). */
#include "gv-kernels.h"

#define SPIRV_MAGIC 0x07230203u
/* maxPushConstantsSize guaranteed by Vulkan */
#define MIN_PUSH_CONSTANTS 128

/* SPIR-V opcodes, storage class and decorations read here */
enum {
  OP_TYPE_INT = 21, OP_TYPE_FLOAT = 22, OP_TYPE_ARRAY = 28, OP_TYPE_STRUCT = 30,
  OP_TYPE_POINTER = 32, OP_CONSTANT = 43, OP_VARIABLE = 59, OP_DECORATE = 71,
  OP_MEMBER_DECORATE = 72,
  STORAGE_PUSH_CONSTANT = 9,
  DECORATION_ARRAY_STRIDE = 6, DECORATION_OFFSET = 35,
};

typedef struct {
  const guint32 *words;
  guint32 bound;
  const guint32 **def;         /* per id: the instruction that defines it */
  guint32 *stride;             /* per array type id: ArrayStride */
  GHashTable *offsets;         /* (struct id << 8 | member) -> Offset + 1 */
} Spirv;

static gint64 type_size (const Spirv *m, guint32 id);

/* Bytes a struct spans, or -1 when its members leave a hole (a layout C would not match). */
static gint64
struct_size (const Spirv *m, const guint32 *ins)
{
  guint n = (ins[0] >> 16) - 2;
  gint64 end = 0;
  for (guint i = 0; i < n; i++) {
    guint32 off = GPOINTER_TO_UINT (g_hash_table_lookup (m->offsets,
            GUINT_TO_POINTER (ins[1] << 8 | i)));
    gint64 size = type_size (m, ins[2 + i]);
    if (off == 0 || off - 1 != end || size < 0)
      return -1;
    end += size;
  }
  return end;
}

/* Bytes of a 32-bit scalar, an array of them or a struct of those; -1 for anything else. */
static gint64
type_size (const Spirv *m, guint32 id)
{
  const guint32 *ins = id < m->bound ? m->def[id] : NULL;
  if (ins == NULL)
    return -1;
  switch (ins[0] & 0xffff) {
    case OP_TYPE_INT:
    case OP_TYPE_FLOAT:
      return ins[2] == 32 ? 4 : -1;
    case OP_TYPE_ARRAY:{
      const guint32 *len = ins[3] < m->bound ? m->def[ins[3]] : NULL;
      if (len == NULL || (len[0] & 0xffff) != OP_CONSTANT || m->stride[id] != 4 ||
          type_size (m, ins[2]) != 4)
        return -1;
      return (gint64) len[3] * 4;
    }
    case OP_TYPE_STRUCT:
      return struct_size (m, ins);
    default:
      return -1;
  }
}

/* Bytes of the parameters after the offset header in @s's push-constant block, as declared by
 * GV_PUSH (T): { uint gv_off[8]; T p; }; -1 when the block is not of that form. */
static gint64
push_params_size (const GvShader *s)
{
  Spirv m = { s->spirv, s->spirv[3] };
  gsize n_words = s->spirv_size / 4;
  guint32 push_ptr = 0;
  gint64 size = -1;

  m.def = g_new0 (const guint32 *, m.bound);
  m.stride = g_new0 (guint32, m.bound);
  m.offsets = g_hash_table_new (NULL, NULL);
  for (gsize w = 5; w < n_words && (s->spirv[w] >> 16) > 0; w += s->spirv[w] >> 16) {
    const guint32 *ins = &s->spirv[w];
    switch (ins[0] & 0xffff) {
      case OP_TYPE_INT: case OP_TYPE_FLOAT: case OP_TYPE_ARRAY: case OP_TYPE_STRUCT:
      case OP_TYPE_POINTER:
        if (ins[1] < m.bound)
          m.def[ins[1]] = ins;
        break;
      case OP_CONSTANT:
        if (ins[2] < m.bound)
          m.def[ins[2]] = ins;
        break;
      case OP_DECORATE:
        if (ins[2] == DECORATION_ARRAY_STRIDE && ins[1] < m.bound)
          m.stride[ins[1]] = ins[3];
        break;
      case OP_MEMBER_DECORATE:
        if (ins[3] == DECORATION_OFFSET)
          g_hash_table_insert (m.offsets, GUINT_TO_POINTER (ins[1] << 8 | ins[2]),
              GUINT_TO_POINTER (ins[4] + 1));
        break;
      case OP_VARIABLE:
        if (ins[3] == STORAGE_PUSH_CONSTANT)
          push_ptr = ins[1];
        break;
    }
  }
  const guint32 *ptr = push_ptr < m.bound ? m.def[push_ptr] : NULL;
  const guint32 *block = ptr && ptr[3] < m.bound ? m.def[ptr[3]] : NULL;
  /* two members: the offsets (8 uints), then the parameter struct */
  if (block && (block[0] & 0xffff) == OP_TYPE_STRUCT && (block[0] >> 16) == 4 &&
      type_size (&m, block[2]) == GV_PUSH_HEADER_SIZE && struct_size (&m, block) >= 0) {
    const guint32 *params = block[3] < m.bound ? m.def[block[3]] : NULL;
    if (params && (params[0] & 0xffff) == OP_TYPE_STRUCT)
      size = type_size (&m, block[3]);
  }
  g_hash_table_unref (m.offsets);
  g_free (m.stride);
  g_free (m.def);
  return size;
}

static void
test_registry (void)
{
  for (guint i = 0; i < GV_N_KERNELS; i++) {
    const GvShader *s = &gv_kernels[i];
    g_test_message ("%s", s->name);
    g_assert_true (gv_kernel_lookup (s->name) == s);
    g_assert_cmpuint (s->spirv_size, >=, 20);
    g_assert_cmpuint (s->spirv_size % 4, ==, 0);
    g_assert_cmphex (s->spirv[0], ==, SPIRV_MAGIC);
    g_assert_cmpuint (s->n_bindings, >=, 1);
    g_assert_cmpuint (s->n_bindings, <=, GV_MAX_BINDINGS);
    g_assert_cmpuint (GV_PUSH_HEADER_SIZE + s->params_size, <=, MIN_PUSH_CONSTANTS);
    /* the shader's GV_PUSH (T) is the struct the registry line names, packed as in C */
    g_assert_cmpint (push_params_size (s), ==, s->params_size);
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
