/* A clip on its way through a genvideo element: its frames and the serialized events among
 * them, in arrival order, and the upstream clip the frames belong to. Owned by one element and
 * touched under that element's streaming lock (gstgenvideoclipfilter.c); no locking here. */
#pragma once

#include <gst/video/video.h>

#include "gstgenvideoclipmeta.h"

G_BEGIN_DECLS

/* A serialized query (DRAIN, ...) waiting in a clip. It belongs to the thread that sent it,
 * which waits until the src pad's task has passed it downstream after the frames before it
 * (done), or until the element flushes while the task has not taken it. Fields under the
 * element's streaming lock. */
typedef struct {
  GstQuery *query;      /* (not owned) */
  gboolean taken;       /* the task is passing it downstream: the sender waits for done */
  gboolean done;
  gboolean result;
} GstGenVideoQueuedQuery;

/* A serialized event or query, in its place among the frames. */
typedef struct {
  GstEvent *event;      /* NULL once pushed, and for a query */
  GstGenVideoQueuedQuery *query;   /* (not owned) or NULL; never read after a flush */
  guint position;       /* frames of the clip that arrived before it */
} GstGenVideoQueuedEvent;

typedef struct {
  GPtrArray *frames;    /* GstBuffer * (owned), NULL once pushed */
  GQueue events;        /* GstGenVideoQueuedEvent *, in arrival order */
  GstVideoInfo info;    /* of the frames, taken with the first one */
  GvClip *upstream;     /* the upstream clip the frames belong to (the frames' metas hold it) */
  guint upstream_next;  /* index the next frame of that clip must have */
} GstGenVideoClipQueue;

GstGenVideoClipQueue *gst_gen_video_clip_queue_new (void);
/* Frees @c (may be NULL) and what it holds. The sticky events that were not pushed go to
 * @sticky (when not NULL) except SEGMENT and EOS: after a flush they are stored on the src pad
 * (as GstQueue does), so that downstream still gets the caps and tags that upstream will not
 * send again; upstream sends a new segment. */
void gst_gen_video_clip_queue_free (GstGenVideoClipQueue *c, GQueue *sticky);

/* A frame with @meta (may be NULL) continues @c when both have no upstream clip, or when it is
 * the next frame of the same upstream clip. */
gboolean gst_gen_video_clip_queue_continues (const GstGenVideoClipQueue *c,
    const GstGenVideoClipMeta *meta);
/* Appends @buffer (transfer full) with @meta (its clip meta or NULL); the first frame takes
 * @info as the clip's format. */
void gst_gen_video_clip_queue_add_frame (GstGenVideoClipQueue *c, GstBuffer *buffer,
    const GstGenVideoClipMeta *meta, const GstVideoInfo *info);
/* Appends @event (transfer full) after the frames queued so far. */
void gst_gen_video_clip_queue_add_event (GstGenVideoClipQueue *c, GstEvent *event);
/* Appends @query (transfer none: its sender waits for it) after the frames queued so far. */
void gst_gen_video_clip_queue_add_query (GstGenVideoClipQueue *c, GstGenVideoQueuedQuery *query);

/* (transfer full): the clip state of the frames (at least one): the upstream clip when the
 * frames are exactly that clip (every frame, in order, at the same size), else a new one. */
GvClip *gst_gen_video_clip_queue_get_clip (const GstGenVideoClipQueue *c);

G_END_DECLS
