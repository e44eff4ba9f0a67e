/* Sub-allocation of large VkDeviceMemory blocks: best fit over a sorted free list per block,
 * neighbours coalesced on free. One empty block per kind is kept for reuse. */
#include <string.h>

#include "vk/gv-device-private.h"

typedef struct {
  guint64 offset;
  guint64 size;
} FreeRange;

struct _GvMemBlock {
  GvDevice *dev;
  GvMemoryKind kind;
  VkDeviceMemory memory;
  VkBuffer buffer;
  guint64 size;
  gpointer mapped;
  GArray *free;      /* FreeRange, sorted by offset */
  guint live;        /* ranges handed out */
};

struct _GvMemory {
  gint ref;
  GvMemBlock *block;
  guint64 offset;
  guint64 size;      /* as asked */
  guint64 reserved;  /* aligned size taken from the block */
};

static void
block_destroy (GvMemBlock *b)
{
  GvDevice *dev = b->dev;

  if (b->mapped)
    vkUnmapMemory (dev->device, b->memory);
  vkDestroyBuffer (dev->device, b->buffer, NULL);
  vkFreeMemory (dev->device, b->memory, NULL);
  dev->block_bytes -= b->size;
  g_array_unref (b->free);
  g_free (b);
}

static GvMemBlock *
block_new (GvDevice *dev, GvMemoryKind kind, guint64 size, GError **error)
{
  GvMemBlock *b = g_new0 (GvMemBlock, 1);
  VkResult r;

  b->dev = dev;
  b->kind = kind;
  b->size = size;
  VkBufferCreateInfo binfo = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
    .size = size,
    .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT |
        (kind == GV_MEMORY_DEVICE ? VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
        VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT : 0),
  };
  r = vkCreateBuffer (dev->device, &binfo, NULL, &b->buffer);
  if (r != VK_SUCCESS) {
    g_free (b);
    gv_set_vk_error (error, r, "vkCreateBuffer");
    return NULL;
  }
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements (dev->device, b->buffer, &req);
  VkMemoryAllocateInfo ainfo = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
    .allocationSize = req.size,
    .memoryTypeIndex = dev->mem_type[kind],
  };
  r = vkAllocateMemory (dev->device, &ainfo, NULL, &b->memory);
  if (r == VK_SUCCESS)
    r = vkBindBufferMemory (dev->device, b->buffer, b->memory, 0);
  if (r == VK_SUCCESS && kind == GV_MEMORY_STAGING)
    r = vkMapMemory (dev->device, b->memory, 0, VK_WHOLE_SIZE, 0, &b->mapped);
  if (r != VK_SUCCESS) {
    if (b->memory != VK_NULL_HANDLE)
      vkFreeMemory (dev->device, b->memory, NULL);
    vkDestroyBuffer (dev->device, b->buffer, NULL);
    g_free (b);
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) {
      g_set_error (error, GV_ERROR, GV_ERROR_OUT_OF_MEMORY,
          "Out of %s memory on %s: could not allocate a block of %.1f MiB "
          "(%.1f MiB already in use)", kind == GV_MEMORY_DEVICE ? "device" : "staging",
          dev->name, size / 1048576.0, dev->block_bytes / 1048576.0);
      return NULL;
    }
    gv_set_vk_error (error, r, "vkAllocateMemory");
    return NULL;
  }
  b->free = g_array_new (FALSE, FALSE, sizeof (FreeRange));
  FreeRange all = { 0, size };
  g_array_append_val (b->free, all);
  dev->block_bytes += size;
  dev->block_peak = MAX (dev->block_peak, dev->block_bytes);
  return b;
}

/* best fit in @b; returns the index in the free list or -1 */
static gint
block_best_fit (GvMemBlock *b, guint64 size)
{
  gint best = -1;
  for (guint i = 0; i < b->free->len; i++) {
    FreeRange *f = &g_array_index (b->free, FreeRange, i);
    if (f->size >= size && (best < 0 || f->size < g_array_index (b->free, FreeRange, best).size))
      best = (gint) i;
  }
  return best;
}

static guint64
block_take (GvMemBlock *b, gint idx, guint64 size)
{
  FreeRange *f = &g_array_index (b->free, FreeRange, idx);
  guint64 offset = f->offset;
  f->offset += size;
  f->size -= size;
  if (f->size == 0)
    g_array_remove_index (b->free, idx);
  b->live++;
  return offset;
}

static void
block_give_back (GvMemBlock *b, guint64 offset, guint64 size)
{
  guint i = 0;
  while (i < b->free->len && g_array_index (b->free, FreeRange, i).offset < offset)
    i++;
  FreeRange fr = { offset, size };
  g_array_insert_val (b->free, i, fr);
  /* merge with the next, then with the previous */
  if (i + 1 < b->free->len) {
    FreeRange *cur = &g_array_index (b->free, FreeRange, i);
    FreeRange *next = &g_array_index (b->free, FreeRange, i + 1);
    if (cur->offset + cur->size == next->offset) {
      cur->size += next->size;
      g_array_remove_index (b->free, i + 1);
    }
  }
  if (i > 0) {
    FreeRange *prev = &g_array_index (b->free, FreeRange, i - 1);
    FreeRange *cur = &g_array_index (b->free, FreeRange, i);
    if (prev->offset + prev->size == cur->offset) {
      prev->size += cur->size;
      g_array_remove_index (b->free, i);
    }
  }
  b->live--;
}

static guint
count_empty_blocks (GPtrArray *blocks)
{
  guint n = 0;
  for (guint i = 0; i < blocks->len; i++)
    n += ((GvMemBlock *) g_ptr_array_index (blocks, i))->live == 0;
  return n;
}

GvMemory *
gv_memory_new (GvDevice *dev, GvMemoryKind kind, guint64 size, GError **error)
{
  guint64 reserved = (MAX (size, 1) + dev->range_align - 1) / dev->range_align * dev->range_align;
  GPtrArray *blocks = dev->blocks[kind];
  GvMemBlock *block = NULL;
  gint idx = -1;

  if (reserved > dev->limits.max_allocation) {
    g_set_error (error, GV_ERROR, GV_ERROR_OUT_OF_MEMORY,
        "%.1f MiB asked in one piece, more than the %.1f MiB one allocation of %s may hold",
        size / 1048576.0, dev->limits.max_allocation / 1048576.0, dev->name);
    return NULL;
  }

  g_mutex_lock (&dev->mem_lock);
  for (guint i = 0; i < blocks->len && block == NULL; i++) {
    GvMemBlock *b = g_ptr_array_index (blocks, i);
    idx = block_best_fit (b, reserved);
    if (idx >= 0)
      block = b;
  }
  if (block == NULL) {
    guint64 bsize = MAX (dev->block_size[kind], reserved);
    block = block_new (dev, kind, bsize, error);
    if (block == NULL && bsize > reserved) {
      /* a smaller block may still fit */
      g_clear_error (error);
      block = block_new (dev, kind, reserved, error);
    }
    if (block == NULL) {
      g_mutex_unlock (&dev->mem_lock);
      return NULL;
    }
    g_ptr_array_add (blocks, block);
    idx = 0;
  }

  GvMemory *mem = g_new0 (GvMemory, 1);
  mem->ref = 1;
  mem->block = block;
  mem->size = size;
  mem->reserved = reserved;
  mem->offset = block_take (block, idx, reserved);
  if (kind == GV_MEMORY_DEVICE) {
    dev->tensor_bytes += reserved;
    dev->tensor_peak = MAX (dev->tensor_peak, dev->tensor_bytes);
  }
  g_mutex_unlock (&dev->mem_lock);
  gv_device_ref (dev);   /* the device outlives its memory */
  return mem;
}

GvMemory *
gv_memory_ref (GvMemory *mem)
{
  g_atomic_int_inc (&mem->ref);
  return mem;
}

void
gv_memory_unref (GvMemory *mem)
{
  if (mem == NULL || !g_atomic_int_dec_and_test (&mem->ref))
    return;

  GvMemBlock *b = mem->block;
  GvDevice *dev = b->dev;
  g_mutex_lock (&dev->mem_lock);
  block_give_back (b, mem->offset, mem->reserved);
  if (b->kind == GV_MEMORY_DEVICE)
    dev->tensor_bytes -= mem->reserved;
  /* keep one empty block for reuse, free the others */
  if (b->live == 0 && count_empty_blocks (dev->blocks[b->kind]) > 1) {
    g_ptr_array_remove (dev->blocks[b->kind], b);
    block_destroy (b);
  }
  g_mutex_unlock (&dev->mem_lock);
  g_free (mem);
  gv_device_unref (dev);
}

guint64
gv_memory_get_size (GvMemory *mem)
{
  return mem->size;
}

GvDevice *
gv_memory_get_device (GvMemory *mem)
{
  return mem->block->dev;
}

VkBuffer
gv_memory_get_buffer (GvMemory *mem)
{
  return mem->block->buffer;
}

guint64
gv_memory_get_offset (GvMemory *mem)
{
  return mem->offset;
}

gpointer
gv_memory_get_host_pointer (GvMemory *mem)
{
  return mem->block->mapped ? (guint8 *) mem->block->mapped + mem->offset : NULL;
}

void
gv_device_get_memory_stats (GvDevice *dev, guint64 *tensor_bytes, guint64 *tensor_peak,
    guint64 *block_bytes, guint64 *block_peak)
{
  g_mutex_lock (&dev->mem_lock);
  if (tensor_bytes)
    *tensor_bytes = dev->tensor_bytes;
  if (tensor_peak)
    *tensor_peak = dev->tensor_peak;
  if (block_bytes)
    *block_bytes = dev->block_bytes;
  if (block_peak)
    *block_peak = dev->block_peak;
  g_mutex_unlock (&dev->mem_lock);
}

void
gv_device_reset_peak_memory (GvDevice *dev)
{
  g_mutex_lock (&dev->mem_lock);
  dev->tensor_peak = dev->tensor_bytes;
  dev->block_peak = dev->block_bytes;
  g_mutex_unlock (&dev->mem_lock);
}

void
gv_device_trim (GvDevice *dev)
{
  g_mutex_lock (&dev->mem_lock);
  for (int kind = 0; kind < 2; kind++) {
    GPtrArray *blocks = dev->blocks[kind];
    for (guint i = blocks->len; i-- > 0;) {
      GvMemBlock *b = g_ptr_array_index (blocks, i);
      if (b->live == 0) {
        g_ptr_array_remove_index (blocks, i);
        block_destroy (b);
      }
    }
  }
  g_mutex_unlock (&dev->mem_lock);
}

void
gv_memory_release_all (GvDevice *dev)
{
  for (int kind = 0; kind < 2; kind++) {
    GPtrArray *blocks = dev->blocks[kind];
    for (guint i = 0; i < blocks->len; i++) {
      GvMemBlock *b = g_ptr_array_index (blocks, i);
      if (b->live != 0)
        g_printerr ("genvideo: %u memory range(s) still alive when the device is freed\n",
            b->live);
      block_destroy (b);
    }
    g_ptr_array_set_size (blocks, 0);
  }
}
