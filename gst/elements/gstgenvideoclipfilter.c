/**
 * SECTION:gstgenvideoclipfilter
 * @title: GstGenVideoClipFilter
 * @short_description: base class of the genvideo elements: collect a clip, process it, push it
 *
 * Threads: the sink pad's streaming thread queues frames and serialized events into the clip
 * being collected and hands a finished clip to the src pad's task (one closed clip may wait
 * there while the task works on another, then the streaming thread blocks). The task runs
 * process_clip() and pushes. A serialized query closes the clip after itself; the thread that
 * sent it waits until the task has passed it downstream after the frames before it. FLUSH_START and deactivation raise the cancellation flag, which
 * long work polls, and wake everything that waits.
 *
 * Locks: the object lock guards the properties and the compute resources, priv->lock the
 * streaming state. Neither is held while pushing or while calling process_clip(). The task
 * holds the clip state (gv_clip_lock()) during process_clip() and never while pushing.
 *
 * Files: the clip queue (gstgenvideoclipqueue.c), the device and model
 * (gstgenvideoresources.c), and this, the element: pads, events, task, properties.
 */
#include <math.h>
#include <string.h>

#include "gstgenvideoclipfilter.h"
#include "gstgenvideoclipqueue.h"
#include "gstgenvideocompute.h"
#include "gstgenvideoresources.h"

GST_DEBUG_CATEGORY (gst_gen_video_clip_filter_debug);
#define GST_CAT_DEFAULT gst_gen_video_clip_filter_debug

#define DEFAULT_CLIP_FRAMES 8
#define MAX_CLIP_FRAMES 10000
#define DEFAULT_DEVICE_INDEX -1
#define DEFAULT_SEED 0

enum {
  PROP_0,
  PROP_CLIP_FRAMES,
  PROP_MODEL,
  PROP_DEVICE_INDEX,
  PROP_SEED,
};

/* Width and height in steps of 8 (the VAE's 8x downsampling), so that videoscale picks a valid
 * size by itself; progressive frames only (the model sees whole pictures, not fields). The code
 * checks both again for caps that come without negotiation, with an error that says why. */
#define CLIP_CAPS \
  "video/x-raw, format = (string) { RGBA, RGB }, " \
  "width = (int) [ 8, 2147483640, 8 ], height = (int) [ 8, 2147483640, 8 ], " \
  "framerate = (fraction) [ 0/1, 2147483647/1 ], interlace-mode = (string) progressive"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (CLIP_CAPS));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (CLIP_CAPS));

typedef struct {
  GstPad *sinkpad;
  GstPad *srcpad;

  /* properties, under the object lock */
  guint clip_frames;
  gchar *model;
  gint device_index;
  guint64 seed;

  /* streaming state, under lock */
  GMutex lock;
  GCond cond;           /* the ready slot or srcresult changed */
  GstFlowReturn srcresult;      /* FLUSHING while flushing or inactive, else the last push */
  GstVideoInfo sink_info;
  gboolean have_info;
  gboolean format_error_posted;
  GstClockTime processing_time; /* of a recent clip, for the latency; NONE until measured */
  GstGenVideoClipQueue *collecting;
  GstGenVideoClipQueue *ready;     /* closed clip waiting for the task, or NULL */
  GQueue sticky;        /* unpushed sticky events of dropped clips, for after a flush */
  GvClip *processing;   /* the clip in process_clip(), for progress messages */
  gchar *last_stage;
  gint64 last_progress_us;

  gint cancelled;       /* atomic */

  GstGenVideoResources resources;  /* device and model, under the object lock */
} GstGenVideoClipFilterPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_CODE (GstGenVideoClipFilter, gst_gen_video_clip_filter,
    GST_TYPE_ELEMENT, G_ADD_PRIVATE (GstGenVideoClipFilter);
    GST_DEBUG_CATEGORY_INIT (gst_gen_video_clip_filter_debug, "genvideo", 0,
        "genvideo clip collection"));

static void gst_gen_video_clip_filter_loop (gpointer user_data);

#define PRIV(self) \
  ((GstGenVideoClipFilterPrivate *) \
      gst_gen_video_clip_filter_get_instance_private (GST_GEN_VIDEO_CLIP_FILTER (self)))

/* Drops every queued clip, keeping their unpushed sticky events in priv->sticky (oldest
 * first) or, with @keep_sticky FALSE, dropping those too. */
static void
drop_clips (GstGenVideoClipFilter *self, gboolean keep_sticky)
{
  GstGenVideoClipFilterPrivate *priv = PRIV (self);

  g_mutex_lock (&priv->lock);
  gst_gen_video_clip_queue_free (g_steal_pointer (&priv->ready), &priv->sticky);
  gst_gen_video_clip_queue_free (priv->collecting, &priv->sticky);
  priv->collecting = gst_gen_video_clip_queue_new ();
  if (!keep_sticky)
    g_queue_clear_full (&priv->sticky, (GDestroyNotify) gst_event_unref);
  g_cond_broadcast (&priv->cond);
  g_mutex_unlock (&priv->lock);
}

/* Hands the clip being collected to the task, after the one waiting there (if any) was taken.
 * Called with the lock held; returns srcresult when the element stops meanwhile. */
static GstFlowReturn
close_clip_locked (GstGenVideoClipFilter *self)
{
  GstGenVideoClipFilterPrivate *priv = PRIV (self);

  while (priv->ready && priv->srcresult == GST_FLOW_OK)
    g_cond_wait (&priv->cond, &priv->lock);
  if (priv->srcresult != GST_FLOW_OK)
    return priv->srcresult;

  GST_DEBUG_OBJECT (self, "clip of %u frames and %u events closed", priv->collecting->frames->len,
      priv->collecting->events.length);
  priv->ready = priv->collecting;
  priv->collecting = gst_gen_video_clip_queue_new ();
  g_cond_broadcast (&priv->cond);
  return GST_FLOW_OK;
}

/* A frame from a buffer pool returns to it only when we let it go, and we hold whole clips: an
 * upstream pool smaller than that (a decoder's, a capture device's) would stall. So such a
 * frame, or one whose memory is not plain system memory, is copied into our own memory as it
 * is queued, and the upstream buffer goes back at once. A memcpy per frame, next to seconds
 * of compute per clip. */
static GstBuffer *
own_frame (GstGenVideoClipFilter *self, GstBuffer *buffer)
{
  gboolean foreign = buffer->pool != NULL;
  for (guint i = 0; !foreign && i < gst_buffer_n_memory (buffer); i++)
    foreign = !gst_memory_is_type (gst_buffer_peek_memory (buffer, i), GST_ALLOCATOR_SYSMEM);
  if (!foreign)
    return buffer;

  GstBuffer *copy = gst_buffer_copy_deep (buffer);
  if (copy == NULL) {
    GST_WARNING_OBJECT (self, "could not copy a frame: holding the upstream buffer");
    return buffer;
  }
  gst_buffer_unref (buffer);
  return copy;
}

static GstFlowReturn
gst_gen_video_clip_filter_chain (GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  GstGenVideoClipFilter *self = GST_GEN_VIDEO_CLIP_FILTER (parent);
  GstGenVideoClipFilterPrivate *priv = PRIV (self);
  guint clip_frames = gst_gen_video_clip_filter_get_clip_frames (self);
  GstFlowReturn ret;

  buffer = own_frame (self, buffer);
  GstGenVideoClipMeta *meta = gst_buffer_get_gen_video_clip_meta (buffer);

  g_mutex_lock (&priv->lock);
  ret = priv->srcresult;
  if (ret != GST_FLOW_OK)
    goto drop;
  if (!priv->have_info) {
    g_mutex_unlock (&priv->lock);
    gst_buffer_unref (buffer);
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("No format was set before the first frame."),
        (NULL));
    return GST_FLOW_NOT_NEGOTIATED;
  }

  GstGenVideoClipQueue *c = priv->collecting;
  if (c->frames->len > 0 && !gst_gen_video_clip_queue_continues (c, meta)) {
    GST_DEBUG_OBJECT (self, "frame starts a new upstream clip: closing ours");
    ret = close_clip_locked (self);
    if (ret != GST_FLOW_OK)
      goto drop;
    c = priv->collecting;
  }
  gst_gen_video_clip_queue_add_frame (c, buffer, meta, &priv->sink_info);

  /* upstream clips win over clip-frames, so that all stages share one clip object */
  gboolean full = meta ? meta->frame_index + 1 >= meta->frame_count
      : clip_frames > 0 && c->frames->len >= clip_frames;
  if (full)
    ret = close_clip_locked (self);
  g_mutex_unlock (&priv->lock);
  return ret;

drop:
  g_mutex_unlock (&priv->lock);
  GST_LOG_OBJECT (self, "dropping a frame: %s", gst_flow_get_name (ret));
  gst_buffer_unref (buffer);
  return ret;
}

/* FALSE when a fixed width or height is no multiple of 8 (ranges pass). */
static gboolean
size_is_valid (const GstCaps *caps, gint *width, gint *height)
{
  for (guint i = 0; i < gst_caps_get_size (caps); i++) {
    const GstStructure *s = gst_caps_get_structure (caps, i);
    *width = *height = 0;
    gst_structure_get_int (s, "width", width);
    gst_structure_get_int (s, "height", height);
    if (*width % 8 != 0 || *height % 8 != 0)
      return FALSE;
  }
  return TRUE;
}

/* FALSE when a fixed interlace-mode is not progressive (a missing one means progressive). */
static gboolean
is_progressive (const GstCaps *caps, const gchar **mode)
{
  for (guint i = 0; i < gst_caps_get_size (caps); i++) {
    *mode = gst_structure_get_string (gst_caps_get_structure (caps, i), "interlace-mode");
    if (*mode && strcmp (*mode, "progressive") != 0)
      return FALSE;
  }
  return TRUE;
}

/* The checks behind the caps: a fixed size that is no multiple of 8, or interlaced frames,
 * refused with an error that says why (once per stream). FALSE when refused; the error is
 * posted only when @post is TRUE. */
static gboolean
check_format (GstGenVideoClipFilter *self, const GstCaps *caps, gboolean post)
{
  GstGenVideoClipFilterPrivate *priv = PRIV (self);
  gint width, height;
  const gchar *mode = NULL;
  gboolean size_ok = size_is_valid (caps, &width, &height);
  gboolean progressive = size_ok && is_progressive (caps, &mode);

  if (size_ok && progressive)
    return TRUE;
  g_mutex_lock (&priv->lock);
  gboolean posted = priv->format_error_posted;
  priv->format_error_posted |= post;
  g_mutex_unlock (&priv->lock);
  if (!post || posted) {
    GST_DEBUG_OBJECT (self, "refusing %" GST_PTR_FORMAT, caps);
    return FALSE;
  }

  if (!size_ok)
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Video width and height must be multiples of 8, not %dx%d. Scale the video first, "
            "e.g. videoscale ! video/x-raw,width=512,height=512.", width, height),
        ("refused caps %" GST_PTR_FORMAT, caps));
  else
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Interlaced video (%s) is not supported: deinterlace it first, e.g. "
            "deinterlace ! videoconvert.", mode), ("refused caps %" GST_PTR_FORMAT, caps));
  return FALSE;
}

/* A copy of @caps with interlace-mode=progressive where the field is missing: GstVideoInfo
 * reads a missing field as progressive, and caps written by hand (appsrc) often leave it out. */
static GstCaps *
with_progressive_default (const GstCaps *caps)
{
  GstCaps *copy = gst_caps_copy (caps);
  for (guint i = 0; i < gst_caps_get_size (copy); i++) {
    GstStructure *s = gst_caps_get_structure (copy, i);
    if (!gst_structure_has_field (s, "interlace-mode"))
      gst_structure_set (s, "interlace-mode", G_TYPE_STRING, "progressive", NULL);
  }
  return copy;
}

/* The caps that leave for @caps (a new reference), or NULL when they are the same. */
static GstCaps *
output_caps (GstGenVideoClipFilter *self, GstCaps *caps)
{
  GstGenVideoClipFilterClass *klass = GST_GEN_VIDEO_CLIP_FILTER_GET_CLASS (self);
  return klass->output_caps ? klass->output_caps (self, caps) : NULL;
}

static gboolean
gst_gen_video_clip_filter_accept_caps (GstGenVideoClipFilter *self, GstPad *pad, GstCaps *caps)
{
  GstGenVideoClipFilterPrivate *priv = PRIV (self);

  /* first, for the error that says why (the template refuses these too, silently) */
  if (!check_format (self, caps, gst_caps_is_fixed (caps)))
    return FALSE;
  GstCaps *templ = gst_pad_get_pad_template_caps (pad);
  GstCaps *full = with_progressive_default (caps);
  gboolean ok = gst_caps_is_subset (full, templ);
  gst_caps_unref (full);
  gst_caps_unref (templ);
  if (!ok) {
    GST_DEBUG_OBJECT (self, "caps outside the template: %" GST_PTR_FORMAT, caps);
    return FALSE;
  }
  /* downstream must take the caps the frames leave with */
  if (gst_pad_is_linked (priv->srcpad)) {
    GstCaps *out = output_caps (self, caps);
    gboolean accepted = gst_pad_peer_query_accept_caps (priv->srcpad, out ? out : caps);
    if (out)
      gst_caps_unref (out);
    return accepted;
  }
  return TRUE;
}

/* Caps queries when the output differs from the input: the sink takes what its template
 * takes (the output is made from it), the src gives the output of that. */
static gboolean
answer_caps_query (GstGenVideoClipFilter *self, GstPad *pad, GstQuery *query)
{
  GstGenVideoClipFilterPrivate *priv = PRIV (self);
  GstCaps *templ = gst_pad_get_pad_template_caps (priv->sinkpad);
  GstCaps *out = output_caps (self, templ);
  if (out == NULL) {
    gst_caps_unref (templ);
    return FALSE;
  }
  GstCaps *filter, *result;
  gst_query_parse_caps (query, &filter);
  if (pad == priv->sinkpad) {
    gst_caps_unref (out);
    result = templ;
  } else {
    gst_caps_unref (templ);
    result = out;
  }
  if (filter) {
    GstCaps *both = gst_caps_intersect_full (filter, result, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (result);
    result = both;
  }
  gst_query_set_caps_result (query, result);
  gst_caps_unref (result);
  return TRUE;
}

/* ALLOCATION is answered here, never passed downstream: we hold whole clips, which would
 * drain a downstream pool that upstream allocated from. We map frames with GstVideoFrame, so
 * any strides and offsets (GstVideoMeta) do. No pool is proposed: upstream keeps its own, of
 * any size, because frames from a pool are copied as they are queued (own_frame). */
static gboolean
answer_allocation_query (GstGenVideoClipFilter *self, GstQuery *query)
{
  GST_DEBUG_OBJECT (self, "allocation: video meta, no pool");
  gst_query_add_allocation_meta (query, GST_VIDEO_META_API_TYPE, NULL);
  return TRUE;
}

/* Other serialized queries (DRAIN, ...) wait in the clip with the frames and leave in their
 * place: the task passes them downstream after the frames queued before them were processed
 * and pushed, as GstQueue does. A query so ends the clip being collected (a DRAIN cannot wait
 * for frames that upstream holds back until it has the answer). This thread waits for the
 * answer, or for a flush or stop before the task took the query. */
static gboolean
queue_query (GstGenVideoClipFilter *self, GstQuery *query)
{
  GstGenVideoClipFilterPrivate *priv = PRIV (self);
  GstGenVideoQueuedQuery qq = { query, FALSE, FALSE, FALSE };

  GST_DEBUG_OBJECT (self, "queueing %" GST_PTR_FORMAT, query);
  g_mutex_lock (&priv->lock);
  if (priv->srcresult == GST_FLOW_OK) {
    gst_gen_video_clip_queue_add_query (priv->collecting, &qq);
    close_clip_locked (self);
  }
  /* once the task took it, wait for it even while flushing: it is in use */
  while (!qq.done && (qq.taken || priv->srcresult == GST_FLOW_OK))
    g_cond_wait (&priv->cond, &priv->lock);
  gboolean result = qq.done && qq.result;
  g_mutex_unlock (&priv->lock);
  GST_DEBUG_OBJECT (self, "%" GST_PTR_FORMAT " answered: %d", query, result);
  return result;
}

/* The task's side of queue_query(): passes @qq downstream unless the element stopped. */
static void
pass_query (GstGenVideoClipFilter *self, GstGenVideoQueuedQuery *qq)
{
  GstGenVideoClipFilterPrivate *priv = PRIV (self);

  g_mutex_lock (&priv->lock);
  /* after a flush, the sender may be gone: never touch its query then */
  gboolean take = priv->srcresult == GST_FLOW_OK;
  if (take)
    qq->taken = TRUE;
  g_mutex_unlock (&priv->lock);
  if (!take)
    return;
  gboolean result = gst_pad_peer_query (priv->srcpad, qq->query);
  g_mutex_lock (&priv->lock);
  qq->result = result;
  qq->done = TRUE;
  g_cond_broadcast (&priv->cond);
  g_mutex_unlock (&priv->lock);
}

static gboolean
gst_gen_video_clip_filter_sink_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstGenVideoClipFilter *self = GST_GEN_VIDEO_CLIP_FILTER (parent);

  if (GST_QUERY_TYPE (query) == GST_QUERY_CONTEXT
      && gst_gen_video_resources_answer_query (&PRIV (self)->resources, query))
    return TRUE;
  if (GST_QUERY_TYPE (query) == GST_QUERY_CAPS && answer_caps_query (self, pad, query))
    return TRUE;
  if (GST_QUERY_TYPE (query) == GST_QUERY_ACCEPT_CAPS) {
    GstCaps *caps;
    gst_query_parse_accept_caps (query, &caps);
    gst_query_set_accept_caps_result (query,
        gst_gen_video_clip_filter_accept_caps (self, pad, caps));
    return TRUE;
  }
  if (GST_QUERY_TYPE (query) == GST_QUERY_ALLOCATION)
    return answer_allocation_query (self, query);
  if (GST_QUERY_IS_SERIALIZED (query))
    return queue_query (self, query);
  return gst_pad_query_default (pad, parent, query);
}

/* Latency: the first frame of a clip leaves after the last one arrived. */
static gboolean
gst_gen_video_clip_filter_src_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstGenVideoClipFilter *self = GST_GEN_VIDEO_CLIP_FILTER (parent);
  GstGenVideoClipFilterPrivate *priv = PRIV (self);

  if (GST_QUERY_TYPE (query) == GST_QUERY_CONTEXT
      && gst_gen_video_resources_answer_query (&PRIV (self)->resources, query))
    return TRUE;
  if (GST_QUERY_TYPE (query) == GST_QUERY_CAPS && answer_caps_query (self, pad, query))
    return TRUE;
  if (GST_QUERY_TYPE (query) != GST_QUERY_LATENCY)
    return gst_pad_query_default (pad, parent, query);

  if (!gst_pad_peer_query (priv->sinkpad, query))
    return FALSE;

  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency (query, &live, &min, &max);

  guint clip_frames = gst_gen_video_clip_filter_get_clip_frames (self);
  g_mutex_lock (&priv->lock);
  gint fps_n = priv->have_info ? GST_VIDEO_INFO_FPS_N (&priv->sink_info) : 0;
  gint fps_d = priv->have_info ? GST_VIDEO_INFO_FPS_D (&priv->sink_info) : 1;
  GstClockTime processing = priv->processing_time;
  g_mutex_unlock (&priv->lock);

  /* a frame leaves after its clip was collected (the clip's duration) and processed */
  GstClockTime clip = 0;
  if (clip_frames > 0 && fps_n > 0)
    clip = gst_util_uint64_scale_int (clip_frames * GST_SECOND, fps_d, fps_n);
  else
    GST_DEBUG_OBJECT (self, "clip duration unknown: not added");
  /* before the first clip, the most a live pipeline can afford: as long as a clip lasts */
  if (!GST_CLOCK_TIME_IS_VALID (processing))
    processing = clip;
  GstClockTime added = clip + (live ? processing : 0);
  min += added;
  if (clip_frames == 0)
    max = GST_CLOCK_TIME_NONE;  /* the whole stream is one clip: no bound */
  else if (GST_CLOCK_TIME_IS_VALID (max))
    max += added;
  GST_DEBUG_OBJECT (self, "latency: live %d, min %" GST_TIME_FORMAT ", max %" GST_TIME_FORMAT,
      live, GST_TIME_ARGS (min), GST_TIME_ARGS (max));
  gst_query_set_latency (query, live, min, max);
  return TRUE;
}

static gboolean
gst_gen_video_clip_filter_src_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  /* QoS off: dropping frames upstream would tear clips apart */
  if (GST_EVENT_TYPE (event) == GST_EVENT_QOS) {
    gst_event_unref (event);
    return TRUE;
  }
  return gst_pad_event_default (pad, parent, event);
}

/* Stops everything that waits or works: the chain function, the task, process_clip(). */
static void
set_flushing (GstGenVideoClipFilter *self)
{
  GstGenVideoClipFilterPrivate *priv = PRIV (self);

  g_mutex_lock (&priv->lock);
  priv->srcresult = GST_FLOW_FLUSHING;
  g_atomic_int_set (&priv->cancelled, 1);
  g_cond_broadcast (&priv->cond);
  g_mutex_unlock (&priv->lock);
}

static gboolean
flush_start (GstGenVideoClipFilter *self, GstEvent *event)
{
  GstGenVideoClipFilterPrivate *priv = PRIV (self);

  set_flushing (self);
  /* downstream first, so that a push in the task returns */
  gboolean ret = gst_pad_push_event (priv->srcpad, event);
  gst_pad_pause_task (priv->srcpad);
  GST_DEBUG_OBJECT (self, "flushing: task paused");
  return ret;
}

static gboolean
flush_stop (GstGenVideoClipFilter *self, GstEvent *event)
{
  GstGenVideoClipFilterPrivate *priv = PRIV (self);

  GQueue sticky = G_QUEUE_INIT;

  /* first, so that the src pad stops flushing and can store sticky events */
  gboolean ret = gst_pad_push_event (priv->srcpad, event);

  drop_clips (self, TRUE);
  g_mutex_lock (&priv->lock);
  sticky = priv->sticky;
  g_queue_init (&priv->sticky);
  priv->srcresult = GST_FLOW_OK;
  g_atomic_int_set (&priv->cancelled, 0);
  g_mutex_unlock (&priv->lock);

  GstEvent *sticky_event;
  while ((sticky_event = g_queue_pop_head (&sticky))) {
    gst_pad_store_sticky_event (priv->srcpad, sticky_event);
    gst_event_unref (sticky_event);
  }
  if (gst_pad_is_active (priv->srcpad))
    ret &= gst_pad_start_task (priv->srcpad, gst_gen_video_clip_filter_loop, self, NULL);
  return ret;
}

/* Serialized events wait in the clip with the frames, so they leave in their place. SEGMENT,
 * STREAM_START and a new format end the clip before them; EOS ends it after itself (a clip of
 * no frame then carries only events). */
static gboolean
queue_event (GstGenVideoClipFilter *self, GstEvent *event)
{
  GstGenVideoClipFilterPrivate *priv = PRIV (self);
  GstVideoInfo info;
  gboolean ends_clip = FALSE;
  GstFlowReturn ret;

  if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
    GstCaps *caps;
    gst_event_parse_caps (event, &caps);
    if (!gst_video_info_from_caps (&info, caps)) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Unsupported video format."),
          ("caps %" GST_PTR_FORMAT, caps));
      gst_event_unref (event);
      return FALSE;
    }
    if (!check_format (self, caps, TRUE)) {
      gst_event_unref (event);
      return FALSE;
    }
  }

  g_mutex_lock (&priv->lock);
  ret = priv->srcresult;
  if (ret != GST_FLOW_OK)
    goto refuse;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:
      ends_clip = priv->have_info && !gst_video_info_is_equal (&info, &priv->sink_info);
      break;
    case GST_EVENT_SEGMENT:
    case GST_EVENT_STREAM_START:
      ends_clip = TRUE;
      break;
    default:
      break;
  }
  if (ends_clip && priv->collecting->frames->len > 0) {
    ret = close_clip_locked (self);
    if (ret != GST_FLOW_OK)
      goto refuse;
  }
  gboolean rate_changed = FALSE;
  if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
    rate_changed = !priv->have_info
        || GST_VIDEO_INFO_FPS_N (&info) != GST_VIDEO_INFO_FPS_N (&priv->sink_info)
        || GST_VIDEO_INFO_FPS_D (&info) != GST_VIDEO_INFO_FPS_D (&priv->sink_info);
    priv->sink_info = info;
    priv->have_info = TRUE;
  }

  gst_gen_video_clip_queue_add_event (priv->collecting, event);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS)
    ret = close_clip_locked (self);
  g_mutex_unlock (&priv->lock);

  /* the clip's duration changed: a live pipeline asks for the latency again */
  if (rate_changed)
    gst_element_post_message (GST_ELEMENT (self), gst_message_new_latency (GST_OBJECT (self)));
  return ret == GST_FLOW_OK;

refuse:
  g_mutex_unlock (&priv->lock);
  GST_DEBUG_OBJECT (self, "refusing %" GST_PTR_FORMAT ": %s", event, gst_flow_get_name (ret));
  gst_event_unref (event);
  return FALSE;
}

static gboolean
gst_gen_video_clip_filter_sink_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstGenVideoClipFilter *self = GST_GEN_VIDEO_CLIP_FILTER (parent);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_FLUSH_START:
      return flush_start (self, event);
    case GST_EVENT_FLUSH_STOP:
      return flush_stop (self, event);
    default:
      break;
  }
  if (GST_EVENT_IS_SERIALIZED (event))
    return queue_event (self, event);
  return gst_pad_event_default (pad, parent, event);
}

static gboolean
gst_gen_video_clip_filter_src_activate_mode (GstPad *pad, GstObject *parent, GstPadMode mode,
    gboolean active)
{
  GstGenVideoClipFilter *self = GST_GEN_VIDEO_CLIP_FILTER (parent);
  GstGenVideoClipFilterPrivate *priv = PRIV (self);

  if (mode != GST_PAD_MODE_PUSH)
    return FALSE;

  if (active) {
    g_mutex_lock (&priv->lock);
    priv->srcresult = GST_FLOW_OK;
    g_atomic_int_set (&priv->cancelled, 0);
    g_mutex_unlock (&priv->lock);
    return gst_pad_start_task (pad, gst_gen_video_clip_filter_loop, self, NULL);
  }

  set_flushing (self);
  gboolean ret = gst_pad_stop_task (pad);
  drop_clips (self, FALSE);
  return ret;
}

/* The src pad goes first on deactivation; this covers a sink pad deactivated on its own,
 * whose chain function may wait for the task. */
static gboolean
gst_gen_video_clip_filter_sink_activate_mode (GstPad *pad, GstObject *parent, GstPadMode mode,
    gboolean active)
{
  if (mode != GST_PAD_MODE_PUSH)
    return FALSE;
  if (!active)
    set_flushing (GST_GEN_VIDEO_CLIP_FILTER (parent));
  return TRUE;
}

/* What the element restores on every frame it pushes: the timing and flags the frame came
 * with (process_clip() may replace the buffer). */
typedef struct {
  GstClockTime pts, dts, duration;
  GstBufferFlags flags;
} FrameTiming;

static FrameTiming
timing_of_buffer (GstBuffer *buffer)
{
  return (FrameTiming) { GST_BUFFER_PTS (buffer), GST_BUFFER_DTS (buffer),
      GST_BUFFER_DURATION (buffer), GST_BUFFER_FLAGS (buffer) };
}

/* Gives frame @index its original timing and flags and the clip meta, copying the buffer
 * only when something has to change. */
static GstBuffer *
finish_frame (GstBuffer *buffer, GvClip *clip, guint index, const FrameTiming *orig)
{
  GstGenVideoClipMeta *meta = gst_buffer_get_gen_video_clip_meta (buffer);
  gboolean meta_ok = meta && meta->clip == clip && meta->frame_index == index;
  FrameTiming now = timing_of_buffer (buffer);
  gboolean timing_ok = now.pts == orig->pts && now.dts == orig->dts
      && now.duration == orig->duration && now.flags == orig->flags;

  if (meta_ok && timing_ok)
    return buffer;

  buffer = gst_buffer_make_writable (buffer);
  if (!meta_ok) {
    while ((meta = gst_buffer_get_gen_video_clip_meta (buffer)))
      gst_buffer_remove_meta (buffer, &meta->meta);
    gst_buffer_add_gen_video_clip_meta (buffer, clip, index);
  }
  GST_BUFFER_PTS (buffer) = orig->pts;
  GST_BUFFER_DTS (buffer) = orig->dts;
  GST_BUFFER_DURATION (buffer) = orig->duration;
  GST_BUFFER_FLAGS (buffer) = orig->flags;
  return buffer;
}

/* Keeps the processing time of a clip for the latency answer: a clip that took longer than the
 * time kept raises it at once, one that took less than three quarters of it lowers it; smaller
 * changes are ignored, so that a live pipeline's latency does not move with every clip. A
 * change posts a latency message, for the pipeline to ask again. */
static void
note_processing_time (GstGenVideoClipFilter *self, GstClockTime took)
{
  GstGenVideoClipFilterPrivate *priv = PRIV (self);

  g_mutex_lock (&priv->lock);
  GstClockTime kept = priv->processing_time;
  gboolean changed = !GST_CLOCK_TIME_IS_VALID (kept) || took > kept || took < kept / 4 * 3;
  if (changed)
    priv->processing_time = took;
  g_mutex_unlock (&priv->lock);
  GST_DEBUG_OBJECT (self, "clip processed in %" GST_TIME_FORMAT "%s", GST_TIME_ARGS (took),
      changed ? ": latency changed" : "");
  if (changed)
    gst_element_post_message (GST_ELEMENT (self), gst_message_new_latency (GST_OBJECT (self)));
}

/* Runs process_clip() with the clip state held by this thread: another element sharing the
 * clip (a tee's other branch) waits meanwhile, and this one waits for it, cancellably. */
static GstFlowReturn
process_locked (GstGenVideoClipFilter *self, GstGenVideoClipJob *job)
{
  GstGenVideoClipFilterClass *klass = GST_GEN_VIDEO_CLIP_FILTER_GET_CLASS (self);
  GstGenVideoClipFilterPrivate *priv = PRIV (self);

  if (!gv_clip_lock (job->clip, &priv->cancelled, NULL))
    return GST_FLOW_FLUSHING;
  GstFlowReturn ret = GST_FLOW_FLUSHING;
  if (!gst_gen_video_clip_filter_is_cancelled (self))
    ret = klass->process_clip (self, job);
  gv_clip_unlock (job->clip);
  return ret;
}

static GstFlowReturn
process_and_push (GstGenVideoClipFilter *self, GstGenVideoClipQueue *c, gboolean *process_failed)
{
  GstGenVideoClipFilterPrivate *priv = PRIV (self);
  guint n = c->frames->len;
  FrameTiming *orig = NULL;
  GvClip *clip = NULL;
  GstFlowReturn ret = GST_FLOW_OK;

  if (n > 0) {
    orig = g_new (FrameTiming, n);
    for (guint i = 0; i < n; i++)
      orig[i] = timing_of_buffer (c->frames->pdata[i]);
    clip = gst_gen_video_clip_queue_get_clip (c);

    GstGenVideoClipJob job = { clip, c->info, (GstBuffer **) c->frames->pdata, n };
    g_mutex_lock (&priv->lock);
    priv->processing = clip;
    g_mutex_unlock (&priv->lock);
    gint64 start = g_get_monotonic_time ();
    ret = process_locked (self, &job);
    GstClockTime took = (g_get_monotonic_time () - start) * GST_USECOND;
    g_mutex_lock (&priv->lock);
    priv->processing = NULL;
    g_mutex_unlock (&priv->lock);
    if (ret == GST_FLOW_OK)
      note_processing_time (self, took);

    if (ret == GST_FLOW_OK && gst_gen_video_clip_filter_is_cancelled (self))
      ret = GST_FLOW_FLUSHING;
    if (ret != GST_FLOW_OK) {
      GST_DEBUG_OBJECT (self, "processing clip %" G_GUINT64_FORMAT " stopped: %s",
          gv_clip_get_id (clip), gst_flow_get_name (ret));
      *process_failed = ret != GST_FLOW_FLUSHING;
      goto done;
    }
  }

  GList *l = c->events.head;
  for (guint i = 0; i <= n && ret == GST_FLOW_OK; i++) {
    for (; l && ((GstGenVideoQueuedEvent *) l->data)->position <= i; l = l->next) {
      GstGenVideoQueuedEvent *qe = l->data;
      if (qe->query) {
        pass_query (self, g_steal_pointer (&qe->query));
        continue;
      }
      GstEvent *event = g_steal_pointer (&qe->event);
      if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
        GstCaps *caps;
        gst_event_parse_caps (event, &caps);
        GstCaps *out = output_caps (self, caps);
        if (out) {
          gst_event_unref (event);
          event = gst_event_new_caps (out);
          gst_caps_unref (out);
        }
      }
      GST_LOG_OBJECT (self, "pushing %" GST_PTR_FORMAT, event);
      gst_pad_push_event (priv->srcpad, event);
    }
    if (i < n) {
      GstBuffer *buffer = g_steal_pointer (&c->frames->pdata[i]);
      ret = gst_pad_push (priv->srcpad, finish_frame (buffer, clip, i, &orig[i]));
    }
  }

done:
  g_free (orig);
  if (clip)
    gv_clip_unref (clip);
  return ret;
}

static void
gst_gen_video_clip_filter_loop (gpointer user_data)
{
  GstGenVideoClipFilter *self = GST_GEN_VIDEO_CLIP_FILTER (user_data);
  GstGenVideoClipFilterPrivate *priv = PRIV (self);
  gboolean process_failed = FALSE;
  GstFlowReturn ret;

  g_mutex_lock (&priv->lock);
  while (!priv->ready && priv->srcresult == GST_FLOW_OK)
    g_cond_wait (&priv->cond, &priv->lock);
  ret = priv->srcresult;
  GstGenVideoClipQueue *c = ret == GST_FLOW_OK ? g_steal_pointer (&priv->ready) : NULL;
  g_cond_broadcast (&priv->cond);
  g_mutex_unlock (&priv->lock);

  if (c) {
    ret = process_and_push (self, c, &process_failed);
    g_mutex_lock (&priv->lock);
    gst_gen_video_clip_queue_free (c, &priv->sticky);
    if (ret == GST_FLOW_OK) {
      g_mutex_unlock (&priv->lock);
      return;
    }
    /* a flush may have come meanwhile: it wins */
    if (priv->srcresult == GST_FLOW_OK)
      priv->srcresult = ret;
    g_cond_broadcast (&priv->cond);
    g_mutex_unlock (&priv->lock);
  }

  GST_DEBUG_OBJECT (self, "pausing the task: %s", gst_flow_get_name (ret));
  gst_pad_pause_task (priv->srcpad);
  if (ret == GST_FLOW_NOT_LINKED || ret < GST_FLOW_EOS) {
    /* process_clip() posted its own error */
    if (!process_failed)
      GST_ELEMENT_FLOW_ERROR (self, ret);
    gst_pad_push_event (priv->srcpad, gst_event_new_eos ());
  }
}

static GstFlowReturn
gst_gen_video_clip_filter_default_process_clip (GstGenVideoClipFilter *filter,
    GstGenVideoClipJob *job)
{
  for (guint i = 0; i < job->n_frames; i++) {
    if (gst_gen_video_clip_filter_is_cancelled (filter))
      return GST_FLOW_FLUSHING;
    gst_gen_video_clip_filter_post_progress (filter, "passthrough", i + 1, job->n_frames);
  }
  return GST_FLOW_OK;
}

gboolean
gst_gen_video_clip_filter_is_cancelled (GstGenVideoClipFilter *filter)
{
  return g_atomic_int_get (gst_gen_video_clip_filter_get_cancel_flag (filter)) != 0;
}

const gint *
gst_gen_video_clip_filter_get_cancel_flag (GstGenVideoClipFilter *filter)
{
  return &PRIV (filter)->cancelled;
}

void
gst_gen_video_clip_filter_post_progress (GstGenVideoClipFilter *filter, const gchar *stage,
    guint current, guint total)
{
  gst_gen_video_clip_filter_post_progress_loss (filter, stage, current, total, NAN);
}

void
gst_gen_video_clip_filter_post_progress_loss (GstGenVideoClipFilter *filter,
    const gchar *stage, guint current, guint total, gdouble loss)
{
  GstGenVideoClipFilterPrivate *priv = PRIV (filter);
  gint64 now = g_get_monotonic_time ();
  guint64 clip_id = 0;

  g_return_if_fail (stage != NULL);

  g_mutex_lock (&priv->lock);
  gboolean new_stage = g_strcmp0 (stage, priv->last_stage) != 0;
  gboolean post = new_stage || current >= total
      || now - priv->last_progress_us >= GST_GEN_VIDEO_PROGRESS_INTERVAL;
  if (post) {
    priv->last_progress_us = now;
    if (new_stage) {
      g_free (priv->last_stage);
      priv->last_stage = g_strdup (stage);
    }
  }
  if (priv->processing)
    clip_id = gv_clip_get_id (priv->processing);
  g_mutex_unlock (&priv->lock);
  if (!post)
    return;

  gint percent = total > 0 ? (gint) (MIN (current, total) * (guint64) 100 / total) : 100;
  GstStructure *s = gst_structure_new (GST_GEN_VIDEO_MESSAGE_PROGRESS,
      GST_GEN_VIDEO_FIELD_STAGE, G_TYPE_STRING, stage,
      GST_GEN_VIDEO_FIELD_CURRENT, G_TYPE_UINT, current,
      GST_GEN_VIDEO_FIELD_TOTAL, G_TYPE_UINT, total,
      GST_GEN_VIDEO_FIELD_PERCENT, G_TYPE_INT, percent,
      GST_GEN_VIDEO_FIELD_CLIP_ID, G_TYPE_UINT64, clip_id, NULL);
  if (!isnan (loss))
    gst_structure_set (s, GST_GEN_VIDEO_FIELD_LOSS, G_TYPE_DOUBLE, loss, NULL);
  gst_element_post_message (GST_ELEMENT (filter), gst_message_new_element (GST_OBJECT (filter),
          s));
}

guint
gst_gen_video_clip_filter_get_clip_frames (GstGenVideoClipFilter *filter)
{
  GST_OBJECT_LOCK (filter);
  guint n = PRIV (filter)->clip_frames;
  GST_OBJECT_UNLOCK (filter);
  return n;
}

gchar *
gst_gen_video_clip_filter_dup_model (GstGenVideoClipFilter *filter)
{
  GST_OBJECT_LOCK (filter);
  gchar *model = g_strdup (PRIV (filter)->model);
  GST_OBJECT_UNLOCK (filter);
  return model;
}

gint
gst_gen_video_clip_filter_get_device_index (GstGenVideoClipFilter *filter)
{
  GST_OBJECT_LOCK (filter);
  gint index = PRIV (filter)->device_index;
  GST_OBJECT_UNLOCK (filter);
  return index;
}

guint64
gst_gen_video_clip_filter_get_seed (GstGenVideoClipFilter *filter)
{
  GST_OBJECT_LOCK (filter);
  guint64 seed = PRIV (filter)->seed;
  GST_OBJECT_UNLOCK (filter);
  return seed;
}

gchar *
gst_gen_video_clip_filter_dup_model_path (GstGenVideoClipFilter *filter)
{
  gchar *model = gst_gen_video_clip_filter_dup_model (filter);
  if (model != NULL && *model != '\0')
    return model;
  g_free (model);
  const gchar *env = g_getenv ("GENVIDEO_MODEL");
  if (env != NULL && *env != '\0')
    return g_strdup (env);
  return gst_gen_video_default_model_dir ();
}

/* the default models, the one to take first first */
static const gchar *const default_model_names[] = { GV_SHAPES_MODEL_NAME, GV_TINY_MODEL_NAME };

/* @name in @dir when it is a folder there, else NULL */
static gchar *
model_in (const gchar *dir, const gchar *name)
{
  gchar *path = g_build_filename (dir, name, NULL);
  gchar *canonical = g_canonicalize_filename (path, NULL);
  g_free (path);
  if (g_file_test (canonical, G_FILE_TEST_IS_DIR))
    return canonical;
  g_free (canonical);
  return NULL;
}

/* the models folder at the same place relative to the loaded plugin file, or NULL */
static gchar *
models_dir_beside_plugin (void)
{
  GstPlugin *plugin = gst_registry_find_plugin (gst_registry_get (), "genvideo");
  const gchar *file = plugin ? gst_plugin_get_filename (plugin) : NULL;
  gchar *dir = NULL;
  if (file != NULL) {
    gchar *plugin_dir = g_path_get_dirname (file);
    dir = g_build_filename (plugin_dir, GV_MODELS_RELATIVE_DIR, NULL);
    g_free (plugin_dir);
  }
  if (plugin != NULL)
    gst_object_unref (plugin);
  return dir;
}

gchar *
gst_gen_video_default_model_dir (void)
{
  /* GENVIDEO_MODELS_DIR (meson devenv: the source tree's models/), the prefix the plugin was
   * built for, then where a DESTDIR or moved install put the models beside the plugin */
  const gchar *env = g_getenv ("GENVIDEO_MODELS_DIR");
  gchar *dirs[3] = { g_strdup (env != NULL && *env != '\0' ? env : NULL),
    g_strdup (GV_MODELS_DIR), models_dir_beside_plugin () };
  gchar *path = NULL;
  for (guint n = 0; n < G_N_ELEMENTS (default_model_names) && path == NULL; n++)
    for (guint d = 0; d < G_N_ELEMENTS (dirs) && path == NULL; d++)
      if (dirs[d] != NULL)
        path = model_in (dirs[d], default_model_names[n]);
  for (guint d = 0; d < G_N_ELEMENTS (dirs); d++)
    g_free (dirs[d]);
  /* else the compiled path of the tiny model: the error then names where it was expected */
  return path != NULL ? path : g_build_filename (GV_MODELS_DIR, GV_TINY_MODEL_NAME, NULL);
}

GvDevice *
gst_gen_video_clip_filter_get_device (GstGenVideoClipFilter *filter, GError **error)
{
  return gst_gen_video_resources_get_device (&PRIV (filter)->resources,
      gst_gen_video_clip_filter_get_device_index (filter), error);
}

GvModel *
gst_gen_video_clip_filter_get_model (GstGenVideoClipFilter *filter, GError **error)
{
  gchar *path = gst_gen_video_clip_filter_dup_model_path (filter);
  GvModel *model = gst_gen_video_resources_get_model (&PRIV (filter)->resources,
      gst_gen_video_clip_filter_get_device_index (filter), path, error);
  g_free (path);
  return model;
}

static gboolean
gst_gen_video_clip_filter_default_start (GstGenVideoClipFilter *filter)
{
  GError *error = NULL;

  if (gst_gen_video_clip_filter_get_model (filter, &error) != NULL)
    return TRUE;
  gst_gen_video_post_error (filter, "Loading the model", error);
  return FALSE;
}

static void
gst_gen_video_clip_filter_set_context (GstElement *element, GstContext *context)
{
  GstGenVideoClipFilter *self = GST_GEN_VIDEO_CLIP_FILTER (element);

  gst_gen_video_resources_set_context (&PRIV (self)->resources, context,
      gst_gen_video_clip_filter_get_device_index (self));
  GST_ELEMENT_CLASS (gst_gen_video_clip_filter_parent_class)->set_context (element, context);
}

gboolean
gst_gen_video_clip_filter_can_set_property (GstGenVideoClipFilter *filter, GParamSpec *pspec)
{
  if ((pspec->flags & GST_PARAM_MUTABLE_READY) && GST_STATE (filter) > GST_STATE_READY) {
    GST_WARNING_OBJECT (filter, "%s can only change in the NULL or READY state", pspec->name);
    return FALSE;
  }
  return TRUE;
}

static void
gst_gen_video_clip_filter_set_property (GObject *object, guint prop_id, const GValue *value,
    GParamSpec *pspec)
{
  GstGenVideoClipFilter *self = GST_GEN_VIDEO_CLIP_FILTER (object);
  GstGenVideoClipFilterPrivate *priv = PRIV (self);
  gboolean latency_changed = FALSE;

  GST_OBJECT_LOCK (self);
  if (!gst_gen_video_clip_filter_can_set_property (self, pspec)) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  switch (prop_id) {
    case PROP_CLIP_FRAMES:
      latency_changed = priv->clip_frames != g_value_get_uint (value);
      priv->clip_frames = g_value_get_uint (value);
      break;
    case PROP_MODEL:
      g_free (priv->model);
      priv->model = g_value_dup_string (value);
      break;
    case PROP_DEVICE_INDEX:
      priv->device_index = g_value_get_int (value);
      break;
    case PROP_SEED:
      priv->seed = g_value_get_uint64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);

  if (latency_changed)
    gst_element_post_message (GST_ELEMENT (self), gst_message_new_latency (GST_OBJECT (self)));
}

static void
gst_gen_video_clip_filter_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstGenVideoClipFilter *self = GST_GEN_VIDEO_CLIP_FILTER (object);
  GstGenVideoClipFilterPrivate *priv = PRIV (self);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_CLIP_FRAMES:
      g_value_set_uint (value, priv->clip_frames);
      break;
    case PROP_MODEL:
      g_value_set_string (value, priv->model);
      break;
    case PROP_DEVICE_INDEX:
      g_value_set_int (value, priv->device_index);
      break;
    case PROP_SEED:
      g_value_set_uint64 (value, priv->seed);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static GstStateChangeReturn
gst_gen_video_clip_filter_change_state (GstElement *element, GstStateChange transition)
{
  GstGenVideoClipFilter *self = GST_GEN_VIDEO_CLIP_FILTER (element);
  GstGenVideoClipFilterPrivate *priv = PRIV (self);

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    g_mutex_lock (&priv->lock);
    priv->have_info = FALSE;
    priv->format_error_posted = FALSE;
    priv->processing_time = GST_CLOCK_TIME_NONE;
    g_clear_pointer (&priv->last_stage, g_free);
    priv->last_progress_us = 0;
    g_mutex_unlock (&priv->lock);
  }
  /* device and model now, before the pads are active: a wrong model fails here, not after
   * a whole clip was collected */
  GstGenVideoClipFilterClass *klass = GST_GEN_VIDEO_CLIP_FILTER_GET_CLASS (self);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED && klass->start != NULL
      && !klass->start (self)) {
    gst_gen_video_resources_release (&priv->resources);
    return GST_STATE_CHANGE_FAILURE;
  }
  /* PAUSED -> READY deactivates the pads: that cancels and joins the task */
  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS (gst_gen_video_clip_filter_parent_class)->change_state (element,
      transition);
  /* the model (device memory) is let go with the stream; another model may come next */
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    gst_gen_video_resources_release (&priv->resources);
  return ret;
}

static void
gst_gen_video_clip_filter_finalize (GObject *object)
{
  GstGenVideoClipFilterPrivate *priv = PRIV (object);

  gst_gen_video_clip_queue_free (priv->collecting, NULL);
  gst_gen_video_clip_queue_free (priv->ready, NULL);
  g_queue_clear_full (&priv->sticky, (GDestroyNotify) gst_event_unref);
  g_free (priv->last_stage);
  g_free (priv->model);
  gst_gen_video_resources_release (&priv->resources);
  g_mutex_clear (&priv->lock);
  g_cond_clear (&priv->cond);
  G_OBJECT_CLASS (gst_gen_video_clip_filter_parent_class)->finalize (object);
}

static void
gst_gen_video_clip_filter_class_init (GstGenVideoClipFilterClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  gobject_class->set_property = gst_gen_video_clip_filter_set_property;
  gobject_class->get_property = gst_gen_video_clip_filter_get_property;
  gobject_class->finalize = gst_gen_video_clip_filter_finalize;
  element_class->change_state = gst_gen_video_clip_filter_change_state;
  element_class->set_context = gst_gen_video_clip_filter_set_context;
  klass->process_clip = gst_gen_video_clip_filter_default_process_clip;
  klass->start = gst_gen_video_clip_filter_default_start;

  g_object_class_install_property (gobject_class, PROP_CLIP_FRAMES,
      g_param_spec_uint ("clip-frames", "Clip frames",
          "Frames per clip: they are collected, processed together, then pushed "
          "(0 = the whole stream). A clip also ends at EOS, a new segment or format, and "
          "where a clip from an upstream genvideo element ends. Applies from the next frame",
          0, MAX_CLIP_FRAMES, DEFAULT_CLIP_FRAMES, flags | GST_PARAM_MUTABLE_PLAYING));
  /* the blurb names the default model as found now, so that gst-inspect-1.0 shows it */
  gchar *default_model = gst_gen_video_default_model_dir ();
  gchar *model_blurb = g_strdup_printf ("Folder of a Stable Diffusion 2.1 unCLIP checkpoint "
      "in the diffusers layout (model_index.json, unet/, vae/, text_encoder/, ...). NULL = the "
      "folder GENVIDEO_MODEL names, else the default model: " GV_SHAPES_MODEL_NAME " (trained "
      "on the synthetic world) where installed, else " GV_TINY_MODEL_NAME " (random weights); "
      "here: %s", default_model);
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model", model_blurb, NULL,
          (flags & ~G_PARAM_STATIC_BLURB) | GST_PARAM_MUTABLE_READY));
  g_free (model_blurb);
  g_free (default_model);
  g_object_class_install_property (gobject_class, PROP_DEVICE_INDEX,
      g_param_spec_int ("device-index", "Device index",
          "Vulkan device to compute on, in Vulkan enumeration order (-1 = the device "
          "GENVIDEO_DEVICE names, else the best one: discrete GPU first, CPU last)",
          -1, G_MAXINT, DEFAULT_DEVICE_INDEX, flags | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_SEED,
      g_param_spec_uint64 ("seed", "Seed",
          "Seed of the random numbers (noise, time steps): the same seed, input and "
          "settings give the same output. Applies from the next clip",
          0, G_MAXUINT64, DEFAULT_SEED, flags | GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_type_mark_as_plugin_api (GST_TYPE_GEN_VIDEO_CLIP_FILTER, 0);
}

static void
gst_gen_video_clip_filter_init (GstGenVideoClipFilter *self)
{
  GstGenVideoClipFilterPrivate *priv = PRIV (self);
  GstElementClass *klass = GST_ELEMENT_GET_CLASS (self);

  priv->clip_frames = DEFAULT_CLIP_FRAMES;
  priv->device_index = DEFAULT_DEVICE_INDEX;
  priv->seed = DEFAULT_SEED;
  g_mutex_init (&priv->lock);
  g_cond_init (&priv->cond);
  priv->srcresult = GST_FLOW_FLUSHING;
  priv->processing_time = GST_CLOCK_TIME_NONE;
  priv->collecting = gst_gen_video_clip_queue_new ();
  g_queue_init (&priv->sticky);

  priv->sinkpad = gst_pad_new_from_template (gst_element_class_get_pad_template (klass, "sink"),
      "sink");
  gst_pad_set_chain_function (priv->sinkpad, gst_gen_video_clip_filter_chain);
  gst_pad_set_event_function (priv->sinkpad, gst_gen_video_clip_filter_sink_event);
  gst_pad_set_query_function (priv->sinkpad, gst_gen_video_clip_filter_sink_query);
  gst_pad_set_activatemode_function (priv->sinkpad, gst_gen_video_clip_filter_sink_activate_mode);
  /* no PROXY_ALLOCATION: we hold whole clips, which could drain a downstream pool */
  GST_PAD_SET_PROXY_CAPS (priv->sinkpad);
  gst_element_add_pad (GST_ELEMENT (self), priv->sinkpad);

  priv->srcpad = gst_pad_new_from_template (gst_element_class_get_pad_template (klass, "src"),
      "src");
  gst_pad_set_event_function (priv->srcpad, gst_gen_video_clip_filter_src_event);
  gst_pad_set_query_function (priv->srcpad, gst_gen_video_clip_filter_src_query);
  gst_pad_set_activatemode_function (priv->srcpad, gst_gen_video_clip_filter_src_activate_mode);
  GST_PAD_SET_PROXY_CAPS (priv->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), priv->srcpad);
  gst_gen_video_resources_init (&priv->resources, GST_ELEMENT (self), priv->sinkpad,
      priv->srcpad);
}
