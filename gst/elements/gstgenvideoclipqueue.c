#include "gstgenvideoclipqueue.h"

GST_DEBUG_CATEGORY_EXTERN (gst_gen_video_clip_filter_debug);
#define GST_CAT_DEFAULT gst_gen_video_clip_filter_debug

GstGenVideoClipQueue *
gst_gen_video_clip_queue_new (void)
{
  GstGenVideoClipQueue *c = g_new0 (GstGenVideoClipQueue, 1);
  c->frames = g_ptr_array_new ();
  g_queue_init (&c->events);
  return c;
}

void
gst_gen_video_clip_queue_free (GstGenVideoClipQueue *c, GQueue *sticky)
{
  if (!c)
    return;
  for (guint i = 0; i < c->frames->len; i++) {
    if (c->frames->pdata[i])
      gst_buffer_unref (c->frames->pdata[i]);
  }
  g_ptr_array_free (c->frames, TRUE);

  GstGenVideoQueuedEvent *qe;
  while ((qe = g_queue_pop_head (&c->events))) {
    if (qe->event) {
      GstEventType type = GST_EVENT_TYPE (qe->event);
      if (sticky && GST_EVENT_IS_STICKY (qe->event) && type != GST_EVENT_SEGMENT
          && type != GST_EVENT_EOS)
        g_queue_push_tail (sticky, qe->event);
      else
        gst_event_unref (qe->event);
    }
    g_free (qe);
  }
  g_free (c);
}

gboolean
gst_gen_video_clip_queue_continues (const GstGenVideoClipQueue *c,
    const GstGenVideoClipMeta *meta)
{
  if (!c->upstream)
    return meta == NULL;
  return meta && meta->clip == c->upstream && meta->frame_index == c->upstream_next;
}

void
gst_gen_video_clip_queue_add_frame (GstGenVideoClipQueue *c, GstBuffer *buffer,
    const GstGenVideoClipMeta *meta, const GstVideoInfo *info)
{
  if (c->frames->len == 0)
    c->info = *info;
  c->upstream = meta ? meta->clip : NULL;
  c->upstream_next = meta ? meta->frame_index + 1 : 0;
  g_ptr_array_add (c->frames, buffer);
}

static void
add_item (GstGenVideoClipQueue *c, GstEvent *event, GstGenVideoQueuedQuery *query)
{
  GstGenVideoQueuedEvent *qe = g_new (GstGenVideoQueuedEvent, 1);
  qe->event = event;
  qe->query = query;
  qe->position = c->frames->len;
  g_queue_push_tail (&c->events, qe);
}

void
gst_gen_video_clip_queue_add_event (GstGenVideoClipQueue *c, GstEvent *event)
{
  add_item (c, event, NULL);
}

void
gst_gen_video_clip_queue_add_query (GstGenVideoClipQueue *c, GstGenVideoQueuedQuery *query)
{
  add_item (c, NULL, query);
}

/* The upstream clip object when the frames are exactly that clip, else NULL. */
static GvClip *
whole_upstream_clip (const GstGenVideoClipQueue *c)
{
  guint n = c->frames->len;
  GstGenVideoClipMeta *first = gst_buffer_get_gen_video_clip_meta (c->frames->pdata[0]);

  if (!first || first->frame_count != n
      || gv_clip_get_width (first->clip) != (guint) GST_VIDEO_INFO_WIDTH (&c->info)
      || gv_clip_get_height (first->clip) != (guint) GST_VIDEO_INFO_HEIGHT (&c->info))
    return NULL;
  for (guint i = 0; i < n; i++) {
    GstGenVideoClipMeta *meta = gst_buffer_get_gen_video_clip_meta (c->frames->pdata[i]);
    if (!meta || meta->clip != first->clip || meta->frame_index != i)
      return NULL;
  }
  return first->clip;
}

GvClip *
gst_gen_video_clip_queue_get_clip (const GstGenVideoClipQueue *c)
{
  GvClip *clip = whole_upstream_clip (c);

  if (clip) {
    GST_DEBUG ("reusing clip %" G_GUINT64_FORMAT " of %u frames", gv_clip_get_id (clip),
        c->frames->len);
    return gv_clip_ref (clip);
  }
  clip = gv_clip_new (c->frames->len, GST_VIDEO_INFO_WIDTH (&c->info),
      GST_VIDEO_INFO_HEIGHT (&c->info));
  GST_DEBUG ("new clip %" G_GUINT64_FORMAT " of %u frames", gv_clip_get_id (clip),
      c->frames->len);
  return clip;
}
