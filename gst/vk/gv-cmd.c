/* Command recording: batches of dispatches, hazard-tracked barriers, descriptor sets,
 * staging transfers and optional per-kernel timing. */
#include <string.h>

#include "vk/gv-device-private.h"

/* a batch goes to the queue after this many dispatches, or this many staged bytes */
#define BATCH_DISPATCHES 48
/* a cancellable command (gv_cmd_set_cancel_flag) submits sooner: a cancel waits for at most
 * MAX_IN_FLIGHT such batches (docs/performance.md, gv-bench-cancel) */
#define CANCELLABLE_BATCH_DISPATCHES 16
#define BATCH_STAGED_BYTES (256u << 20)
/* batches in flight per GvCmd before recording waits for the oldest */
#define MAX_IN_FLIGHT 2
#define SETS_PER_POOL 64

typedef struct {
  VkBuffer buffer;
  guint64 begin, end;
} Span;

typedef struct {
  GvMemory *staging;
  gpointer dst;
  gsize size;
} Download;

typedef struct {
  VkCommandBuffer cb;
  VkFence fence;
  gboolean begun;
  GPtrArray *pools;        /* VkDescriptorPool */
  guint pool_index;
  GArray *views;           /* VkBufferView */
  GPtrArray *refs;         /* GvMemory held until the batch is done */
  GArray *downloads;       /* Download */
  GArray *written, *read;  /* Span: memory touched since the last barrier */
  VkQueryPool queries;
  GPtrArray *query_names;  /* const gchar *, one per timed dispatch */
  guint n_dispatch;
  guint64 staged;
} Batch;

struct _GvCmd {
  GvDevice *dev;
  VkCommandPool pool;
  GQueue idle;             /* Batch */
  GQueue in_flight;        /* Batch, oldest first */
  Batch *cur;
  GError *error;
  const gint *cancel;
};

static Batch *
batch_new (GvCmd *cmd)
{
  GvDevice *dev = cmd->dev;
  Batch *b = g_new0 (Batch, 1);
  VkResult r;

  VkCommandBufferAllocateInfo ainfo = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
    .commandPool = cmd->pool,
    .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
    .commandBufferCount = 1,
  };
  r = vkAllocateCommandBuffers (dev->device, &ainfo, &b->cb);
  if (r != VK_SUCCESS) {
    g_free (b);
    GError *e = NULL;
    gv_set_vk_error (&e, r, "vkAllocateCommandBuffers");
    gv_cmd_fail (cmd, e);
    return NULL;
  }
  VkFenceCreateInfo finfo = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
  r = vkCreateFence (dev->device, &finfo, NULL, &b->fence);
  if (r != VK_SUCCESS) {
    vkFreeCommandBuffers (dev->device, cmd->pool, 1, &b->cb);
    g_free (b);
    GError *e = NULL;
    gv_set_vk_error (&e, r, "vkCreateFence");
    gv_cmd_fail (cmd, e);
    return NULL;
  }
  b->pools = g_ptr_array_new ();
  b->views = g_array_new (FALSE, FALSE, sizeof (VkBufferView));
  b->refs = g_ptr_array_new_with_free_func ((GDestroyNotify) gv_memory_unref);
  b->downloads = g_array_new (FALSE, FALSE, sizeof (Download));
  b->written = g_array_new (FALSE, FALSE, sizeof (Span));
  b->read = g_array_new (FALSE, FALSE, sizeof (Span));
  b->query_names = g_ptr_array_new ();
  if (dev->profile && dev->limits.timestamps) {
    VkQueryPoolCreateInfo qinfo = {
      .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
      .queryType = VK_QUERY_TYPE_TIMESTAMP,
      .queryCount = 2 * BATCH_DISPATCHES,
    };
    if (vkCreateQueryPool (dev->device, &qinfo, NULL, &b->queries) != VK_SUCCESS)
      b->queries = VK_NULL_HANDLE;
  }
  return b;
}

/* Returns the batch to its idle state; the GPU must be done with it. */
static void
batch_reset (GvCmd *cmd, Batch *b)
{
  GvDevice *dev = cmd->dev;

  for (guint i = 0; i < b->views->len; i++)
    vkDestroyBufferView (dev->device, g_array_index (b->views, VkBufferView, i), NULL);
  g_array_set_size (b->views, 0);
  for (guint i = 0; i < b->pools->len; i++)
    vkResetDescriptorPool (dev->device, g_ptr_array_index (b->pools, i), 0);
  b->pool_index = 0;
  g_ptr_array_set_size (b->refs, 0);
  for (guint i = 0; i < b->downloads->len; i++)
    gv_memory_unref (g_array_index (b->downloads, Download, i).staging);
  g_array_set_size (b->downloads, 0);
  g_array_set_size (b->written, 0);
  g_array_set_size (b->read, 0);
  g_ptr_array_set_size (b->query_names, 0);
  b->n_dispatch = 0;
  b->staged = 0;
  b->begun = FALSE;
  vkResetCommandBuffer (b->cb, 0);
  vkResetFences (dev->device, 1, &b->fence);
}

static void
batch_free (GvCmd *cmd, Batch *b)
{
  GvDevice *dev = cmd->dev;

  batch_reset (cmd, b);
  for (guint i = 0; i < b->pools->len; i++)
    vkDestroyDescriptorPool (dev->device, g_ptr_array_index (b->pools, i), NULL);
  if (b->queries)
    vkDestroyQueryPool (dev->device, b->queries, NULL);
  vkDestroyFence (dev->device, b->fence, NULL);
  vkFreeCommandBuffers (dev->device, cmd->pool, 1, &b->cb);
  g_ptr_array_unref (b->pools);
  g_array_unref (b->views);
  g_ptr_array_unref (b->refs);
  g_array_unref (b->downloads);
  g_array_unref (b->written);
  g_array_unref (b->read);
  g_ptr_array_unref (b->query_names);
  g_free (b);
}

GvCmd *
gv_cmd_new (GvDevice *dev)
{
  GvCmd *cmd = g_new0 (GvCmd, 1);

  cmd->dev = gv_device_ref (dev);
  g_queue_init (&cmd->idle);
  g_queue_init (&cmd->in_flight);
  VkCommandPoolCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
    .queueFamilyIndex = dev->queue_family,
  };
  VkResult r = vkCreateCommandPool (dev->device, &info, NULL, &cmd->pool);
  if (r != VK_SUCCESS) {
    GError *e = NULL;
    gv_set_vk_error (&e, r, "vkCreateCommandPool");
    gv_cmd_fail (cmd, e);
  }
  return cmd;
}

GvDevice *
gv_cmd_get_device (GvCmd *cmd)
{
  return cmd->dev;
}

void
gv_cmd_set_cancel_flag (GvCmd *cmd, const gint *flag)
{
  cmd->cancel = flag;
}

gboolean
gv_cmd_failed (GvCmd *cmd)
{
  return cmd->error != NULL;
}

void
gv_cmd_fail (GvCmd *cmd, GError *error)
{
  if (cmd->error == NULL)
    cmd->error = error;
  else
    g_error_free (error);
}

void
gv_cmd_failf (GvCmd *cmd, GvErrorCode code, const gchar *format, ...)
{
  va_list args;

  if (cmd->error != NULL)
    return;
  va_start (args, format);
  cmd->error = g_error_new_valist (GV_ERROR, code, format, args);
  va_end (args);
}

static gboolean
cancelled (GvCmd *cmd)
{
  if (cmd->cancel != NULL && g_atomic_int_get (cmd->cancel)) {
    gv_cmd_failf (cmd, GV_ERROR_CANCELLED, "cancelled");
    return TRUE;
  }
  return FALSE;
}

/* A full barrier between everything before and everything after, transfers and host included. */
static void
record_barrier (Batch *b, VkPipelineStageFlags dst_stage, VkAccessFlags dst_access)
{
  VkMemoryBarrier mb = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
    .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
    .dstAccessMask = dst_access,
  };
  vkCmdPipelineBarrier (b->cb,
      VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, dst_stage,
      0, 1, &mb, 0, NULL, 0, NULL);
  g_array_set_size (b->written, 0);
  g_array_set_size (b->read, 0);
}

#define STAGES_ALL_WORK (VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT)
#define ACCESS_ALL_WORK (VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | \
    VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT)

/* The batch that records now, begun; NULL when the command has failed. */
static Batch *
current_batch (GvCmd *cmd)
{
  if (cmd->error != NULL || cancelled (cmd))
    return NULL;
  if (cmd->cur == NULL) {
    cmd->cur = g_queue_pop_head (&cmd->idle);
    if (cmd->cur == NULL)
      cmd->cur = batch_new (cmd);
    if (cmd->cur == NULL)
      return NULL;
  }
  Batch *b = cmd->cur;
  if (!b->begun) {
    VkCommandBufferBeginInfo info = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
      .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    VkResult r = vkBeginCommandBuffer (b->cb, &info);
    if (r != VK_SUCCESS) {
      GError *e = NULL;
      gv_set_vk_error (&e, r, "vkBeginCommandBuffer");
      gv_cmd_fail (cmd, e);
      return NULL;
    }
    b->begun = TRUE;
    if (b->queries)
      vkCmdResetQueryPool (b->cb, b->queries, 0, 2 * BATCH_DISPATCHES);
    /* earlier batches on the queue are not ordered with this one otherwise */
    record_barrier (b, STAGES_ALL_WORK, ACCESS_ALL_WORK);
  }
  return b;
}

static gboolean
spans_overlap (GArray *spans, const Span *s)
{
  for (guint i = 0; i < spans->len; i++) {
    const Span *o = &g_array_index (spans, Span, i);
    if (o->buffer == s->buffer && o->begin < s->end && s->begin < o->end)
      return TRUE;
  }
  return FALSE;
}

/* Inserts a barrier when the new accesses conflict with unsynchronised earlier ones. */
static void
track_hazards (Batch *b, const Span *spans, const gboolean *writes, guint n)
{
  gboolean hazard = FALSE;
  for (guint i = 0; i < n && !hazard; i++) {
    hazard = spans_overlap (b->written, &spans[i]) ||
        (writes[i] && spans_overlap (b->read, &spans[i]));
  }
  if (hazard)
    record_barrier (b, STAGES_ALL_WORK, ACCESS_ALL_WORK);
  for (guint i = 0; i < n; i++)
    g_array_append_val (writes[i] ? b->written : b->read, spans[i]);
}

static Span
span_of (GvMemory *mem, guint64 offset, guint64 size)
{
  guint64 base = gv_memory_get_offset (mem) + offset;
  return (Span) { gv_memory_get_buffer (mem), base, base + size };
}

static VkDescriptorSet
allocate_set (GvCmd *cmd, Batch *b, GvKernel *k)
{
  GvDevice *dev = cmd->dev;
  VkDescriptorSet set = VK_NULL_HANDLE;

  while (TRUE) {
    if (b->pool_index >= b->pools->len) {
      VkDescriptorPoolSize sizes[] = {
        { VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, SETS_PER_POOL * GV_MAX_BINDINGS },
        { VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER, SETS_PER_POOL * GV_MAX_BINDINGS },
      };
      VkDescriptorPoolCreateInfo pinfo = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = SETS_PER_POOL,
        .poolSizeCount = G_N_ELEMENTS (sizes),
        .pPoolSizes = sizes,
      };
      VkDescriptorPool pool;
      VkResult r = vkCreateDescriptorPool (dev->device, &pinfo, NULL, &pool);
      if (r != VK_SUCCESS) {
        GError *e = NULL;
        gv_set_vk_error (&e, r, "vkCreateDescriptorPool");
        gv_cmd_fail (cmd, e);
        return VK_NULL_HANDLE;
      }
      g_ptr_array_add (b->pools, pool);
    }
    VkDescriptorSetAllocateInfo ainfo = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
      .descriptorPool = g_ptr_array_index (b->pools, b->pool_index),
      .descriptorSetCount = 1,
      .pSetLayouts = &k->set_layout,
    };
    VkResult r = vkAllocateDescriptorSets (dev->device, &ainfo, &set);
    if (r == VK_SUCCESS)
      return set;
    if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL) {
      GError *e = NULL;
      gv_set_vk_error (&e, r, "vkAllocateDescriptorSets");
      gv_cmd_fail (cmd, e);
      return VK_NULL_HANDLE;
    }
    b->pool_index++;
  }
}

void
gv_cmd_dispatch (GvCmd *cmd, GvKernel *k, const GvBinding *bindings, const void *params,
    guint gx, guint gy, guint gz)
{
  GvDevice *dev = cmd->dev;
  const GvShader *sh = k->shader;
  const GvDeviceLimits *lim = &dev->limits;
  guint32 push[GV_MAX_BINDINGS + 32] = { 0 };
  VkDescriptorBufferInfo binfo[GV_MAX_BINDINGS];
  VkBufferView views[GV_MAX_BINDINGS];
  VkWriteDescriptorSet writes[GV_MAX_BINDINGS];
  Span spans[GV_MAX_BINDINGS];
  gboolean is_write[GV_MAX_BINDINGS];

  Batch *b = current_batch (cmd);
  if (b == NULL)
    return;
  if (gx == 0 || gy == 0 || gz == 0)
    return;
  if (gx > lim->max_group_count[0] || gy > lim->max_group_count[1] ||
      gz > lim->max_group_count[2]) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "kernel '%s': %u x %u x %u workgroups exceed the "
        "device's %u x %u x %u", sh->name, gx, gy, gz, lim->max_group_count[0],
        lim->max_group_count[1], lim->max_group_count[2]);
    return;
  }

  for (guint i = 0; i < sh->n_bindings; i++) {
    const GvBinding *bd = &bindings[i];
    GvBindKind kind = sh->kinds[i];
    guint64 abs = gv_memory_get_offset (bd->mem) + bd->offset;
    guint64 elem = kind == GV_BIND_TEXEL_RGBA32F ? 16 : 4;
    guint64 align = kind == GV_BIND_BUFFER ? lim->storage_offset_align : lim->texel_offset_align;
    align = MAX (align, elem);
    guint64 start = abs / align * align;
    guint64 range = (abs + bd->size) - start;
    range = (range + elem - 1) / elem * elem;

    if ((abs - start) % elem != 0) {
      gv_cmd_failf (cmd, GV_ERROR_INVALID, "kernel '%s': binding %u is not aligned to its "
          "%" G_GUINT64_FORMAT "-byte elements", sh->name, i, elem);
      return;
    }
    if ((kind == GV_BIND_BUFFER && range > lim->max_storage_range) ||
        (kind != GV_BIND_BUFFER && range / elem > lim->max_texel_elements)) {
      gv_cmd_failf (cmd, GV_ERROR_INVALID, "kernel '%s': binding %u spans %" G_GUINT64_FORMAT
          " bytes, more than one binding may (the op must split its work)", sh->name, i, range);
      return;
    }
    push[i] = (guint32) ((abs - start) / elem);
    spans[i] = span_of (bd->mem, bd->offset, bd->size);
    is_write[i] = bd->write;

    writes[i] = (VkWriteDescriptorSet) {
      .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
      .dstBinding = i,
      .descriptorCount = 1,
    };
    if (kind == GV_BIND_BUFFER) {
      binfo[i] = (VkDescriptorBufferInfo) { gv_memory_get_buffer (bd->mem), start, range };
      writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      writes[i].pBufferInfo = &binfo[i];
    } else {
      VkBufferViewCreateInfo vinfo = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
        .buffer = gv_memory_get_buffer (bd->mem),
        .format = kind == GV_BIND_TEXEL_RGBA32F ? VK_FORMAT_R32G32B32A32_SFLOAT :
            VK_FORMAT_R32_SFLOAT,
        .offset = start,
        .range = range,
      };
      VkResult r = vkCreateBufferView (dev->device, &vinfo, NULL, &views[i]);
      if (r != VK_SUCCESS) {
        GError *e = NULL;
        gv_set_vk_error (&e, r, "vkCreateBufferView");
        gv_cmd_fail (cmd, e);
        return;
      }
      g_array_append_val (b->views, views[i]);
      writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER;
      writes[i].pTexelBufferView = &views[i];
    }
  }

  VkDescriptorSet set = allocate_set (cmd, b, k);
  if (set == VK_NULL_HANDLE)
    return;
  for (guint i = 0; i < sh->n_bindings; i++)
    writes[i].dstSet = set;
  vkUpdateDescriptorSets (dev->device, sh->n_bindings, writes, 0, NULL);

  track_hazards (b, spans, is_write, sh->n_bindings);
  for (guint i = 0; i < sh->n_bindings; i++)
    g_ptr_array_add (b->refs, gv_memory_ref (bindings[i].mem));

  if (sh->params_size > 0)
    memcpy ((guint8 *) push + GV_PUSH_HEADER_SIZE, params, sh->params_size);

  guint q = b->query_names->len;
  if (b->queries) {
    vkCmdWriteTimestamp (b->cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, b->queries, 2 * q);
    g_ptr_array_add (b->query_names, (gpointer) sh->name);
  }
  vkCmdBindPipeline (b->cb, VK_PIPELINE_BIND_POINT_COMPUTE, k->pipeline);
  vkCmdBindDescriptorSets (b->cb, VK_PIPELINE_BIND_POINT_COMPUTE, k->layout, 0, 1, &set, 0,
      NULL);
  vkCmdPushConstants (b->cb, k->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
      GV_PUSH_HEADER_SIZE + sh->params_size, push);
  vkCmdDispatch (b->cb, gx, gy, gz);
  if (b->queries)
    vkCmdWriteTimestamp (b->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, b->queries, 2 * q + 1);

  gint batch = cmd->cancel != NULL ? CANCELLABLE_BATCH_DISPATCHES : BATCH_DISPATCHES;
  if (++b->n_dispatch >= batch)
    gv_cmd_flush (cmd);
}

static void
track_copy (Batch *b, const Span *src, const Span *dst)
{
  Span spans[2] = { *src, *dst };
  gboolean writes[2] = { FALSE, TRUE };
  track_hazards (b, spans, writes, 2);
}

static GvMemory *
new_staging (GvCmd *cmd, gsize size)
{
  GError *e = NULL;
  GvMemory *st = gv_memory_new (cmd->dev, GV_MEMORY_STAGING, size, &e);
  if (st == NULL) {
    /* make room: finish what is in flight, then try once more */
    gv_cmd_drain (cmd);
    g_clear_error (&e);
    st = gv_memory_new (cmd->dev, GV_MEMORY_STAGING, size, &e);
  }
  if (st == NULL)
    gv_cmd_fail (cmd, e);
  return st;
}

void
gv_cmd_upload (GvCmd *cmd, GvMemory *dst, guint64 offset, gconstpointer data, gsize size)
{
  if (size == 0 || current_batch (cmd) == NULL)
    return;
  GvMemory *st = new_staging (cmd, size);
  Batch *b = current_batch (cmd);
  if (st == NULL || b == NULL) {
    if (st)
      gv_memory_unref (st);
    return;
  }
  memcpy (gv_memory_get_host_pointer (st), data, size);
  Span s = span_of (st, 0, size), d = span_of (dst, offset, size);
  track_copy (b, &s, &d);
  VkBufferCopy region = { gv_memory_get_offset (st), gv_memory_get_offset (dst) + offset, size };
  vkCmdCopyBuffer (b->cb, gv_memory_get_buffer (st), gv_memory_get_buffer (dst), 1, &region);
  g_ptr_array_add (b->refs, st);
  g_ptr_array_add (b->refs, gv_memory_ref (dst));
  b->staged += size;
  if (b->staged >= BATCH_STAGED_BYTES)
    gv_cmd_flush (cmd);
}

void
gv_cmd_download (GvCmd *cmd, GvMemory *src, guint64 offset, gpointer data, gsize size)
{
  if (size == 0 || current_batch (cmd) == NULL)
    return;
  GvMemory *st = new_staging (cmd, size);
  Batch *b = current_batch (cmd);
  if (st == NULL || b == NULL) {
    if (st)
      gv_memory_unref (st);
    return;
  }
  Span s = span_of (src, offset, size), d = span_of (st, 0, size);
  track_copy (b, &s, &d);
  VkBufferCopy region = { gv_memory_get_offset (src) + offset, gv_memory_get_offset (st), size };
  vkCmdCopyBuffer (b->cb, gv_memory_get_buffer (src), gv_memory_get_buffer (st), 1, &region);
  g_ptr_array_add (b->refs, gv_memory_ref (src));
  Download dl = { st, data, size };
  g_array_append_val (b->downloads, dl);
  b->staged += size;
  if (b->staged >= BATCH_STAGED_BYTES)
    gv_cmd_flush (cmd);
}

void
gv_cmd_copy (GvCmd *cmd, GvMemory *src, guint64 src_offset, GvMemory *dst, guint64 dst_offset,
    gsize size)
{
  Batch *b = current_batch (cmd);
  if (b == NULL || size == 0)
    return;
  Span s = span_of (src, src_offset, size), d = span_of (dst, dst_offset, size);
  track_copy (b, &s, &d);
  VkBufferCopy region = {
    gv_memory_get_offset (src) + src_offset, gv_memory_get_offset (dst) + dst_offset, size
  };
  vkCmdCopyBuffer (b->cb, gv_memory_get_buffer (src), gv_memory_get_buffer (dst), 1, &region);
  g_ptr_array_add (b->refs, gv_memory_ref (src));
  g_ptr_array_add (b->refs, gv_memory_ref (dst));
}

void
gv_cmd_fill (GvCmd *cmd, GvMemory *dst, guint64 offset, gsize size, guint32 pattern)
{
  Batch *b = current_batch (cmd);
  if (b == NULL || size == 0)
    return;
  if (((gv_memory_get_offset (dst) + offset) | size) % 4 != 0) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "fill of %" G_GSIZE_FORMAT " bytes at an offset not "
        "aligned to 4", size);
    return;
  }
  Span d = span_of (dst, offset, size);
  gboolean write = TRUE;
  track_hazards (b, &d, &write, 1);
  vkCmdFillBuffer (b->cb, gv_memory_get_buffer (dst), gv_memory_get_offset (dst) + offset, size,
      pattern);
  g_ptr_array_add (b->refs, gv_memory_ref (dst));
}

static void
submit_current (GvCmd *cmd)
{
  GvDevice *dev = cmd->dev;
  Batch *b = cmd->cur;
  VkResult r;

  if (b == NULL || !b->begun)
    return;
  cmd->cur = NULL;
  if (b->downloads->len > 0)
    record_barrier (b, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  r = vkEndCommandBuffer (b->cb);
  if (r == VK_SUCCESS) {
    VkSubmitInfo info = {
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
      .commandBufferCount = 1,
      .pCommandBuffers = &b->cb,
    };
    g_mutex_lock (&dev->queue_lock);
    r = vkQueueSubmit (dev->queue, 1, &info, b->fence);
    g_mutex_unlock (&dev->queue_lock);
  }
  if (r != VK_SUCCESS) {
    GError *e = NULL;
    if (r == VK_ERROR_DEVICE_LOST)
      gv_device_mark_lost (dev);
    gv_set_vk_error (&e, r, "vkQueueSubmit");
    gv_cmd_fail (cmd, e);
    /* nothing of it runs: give back what it held */
    for (guint i = 0; i < b->downloads->len; i++)
      g_array_index (b->downloads, Download, i).dst = NULL;
    batch_reset (cmd, b);
    g_queue_push_tail (&cmd->idle, b);
    return;
  }
  g_queue_push_tail (&cmd->in_flight, b);
}

static void
read_profile (GvCmd *cmd, Batch *b)
{
  guint n = b->query_names->len;
  if (b->queries == VK_NULL_HANDLE || n == 0)
    return;
  guint64 *ticks = g_new0 (guint64, 2 * n);
  VkResult r = vkGetQueryPoolResults (cmd->dev->device, b->queries, 0, 2 * n,
      2 * n * sizeof (guint64), ticks, sizeof (guint64),
      VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
  if (r == VK_SUCCESS) {
    for (guint i = 0; i < n; i++) {
      gdouble ms = (ticks[2 * i + 1] - ticks[2 * i]) * cmd->dev->limits.timestamp_period * 1e-6;
      gv_device_add_profile (cmd->dev, g_ptr_array_index (b->query_names, i), ms);
    }
  }
  g_free (ticks);
}

/* Waits for the oldest batch in flight and recycles it. */
static void
retire_oldest (GvCmd *cmd)
{
  GvDevice *dev = cmd->dev;
  Batch *b = g_queue_pop_head (&cmd->in_flight);
  VkResult r;

  if (b == NULL)
    return;
  do {
    r = vkWaitForFences (dev->device, 1, &b->fence, VK_TRUE, 100 * 1000 * 1000);
  } while (r == VK_TIMEOUT);
  if (r == VK_SUCCESS) {
    for (guint i = 0; i < b->downloads->len; i++) {
      Download *dl = &g_array_index (b->downloads, Download, i);
      if (dl->dst != NULL)
        memcpy (dl->dst, gv_memory_get_host_pointer (dl->staging), dl->size);
    }
    read_profile (cmd, b);
  } else {
    GError *e = NULL;
    if (r == VK_ERROR_DEVICE_LOST)
      gv_device_mark_lost (dev);
    gv_set_vk_error (&e, r, "vkWaitForFences");
    gv_cmd_fail (cmd, e);
  }
  batch_reset (cmd, b);
  g_queue_push_tail (&cmd->idle, b);
}

void
gv_cmd_flush (GvCmd *cmd)
{
  submit_current (cmd);
  while (g_queue_get_length (&cmd->in_flight) > MAX_IN_FLIGHT)
    retire_oldest (cmd);
}

void
gv_cmd_drain (GvCmd *cmd)
{
  submit_current (cmd);
  while (!g_queue_is_empty (&cmd->in_flight))
    retire_oldest (cmd);
}

gboolean
gv_cmd_finish (GvCmd *cmd, GError **error)
{
  if (cmd->error != NULL && cmd->cur != NULL) {
    /* recorded after a failure: never submit it */
    Batch *b = cmd->cur;
    cmd->cur = NULL;
    if (b->begun)
      vkEndCommandBuffer (b->cb);
    for (guint i = 0; i < b->downloads->len; i++)
      g_array_index (b->downloads, Download, i).dst = NULL;
    batch_reset (cmd, b);
    g_queue_push_tail (&cmd->idle, b);
  }
  gv_cmd_drain (cmd);
  if (cmd->error != NULL) {
    g_propagate_error (error, cmd->error);
    cmd->error = NULL;
    return FALSE;
  }
  return TRUE;
}

void
gv_cmd_free (GvCmd *cmd)
{
  Batch *b;

  if (cmd == NULL)
    return;
  gv_cmd_finish (cmd, NULL);
  while ((b = g_queue_pop_head (&cmd->idle)) != NULL)
    batch_free (cmd, b);
  if (cmd->pool)
    vkDestroyCommandPool (cmd->dev->device, cmd->pool, NULL);
  gv_device_unref (cmd->dev);
  g_free (cmd);
}
