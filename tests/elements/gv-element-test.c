#include "gv-element-test.h"

const gchar *const gv_test_elements[3] = { "genvideotune", "invedit", "latentcorrect" };

const GstState gv_test_state_cycle[10] = { GST_STATE_READY, GST_STATE_PAUSED, GST_STATE_PLAYING,
  GST_STATE_PAUSED, GST_STATE_READY, GST_STATE_NULL, GST_STATE_PLAYING, GST_STATE_NULL,
  GST_STATE_PAUSED, GST_STATE_NULL };

void
gv_test_stop (GstElement *pipeline)
{
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (pipeline);
}

static const GstBufferFlags frame_flags[] = {
  GST_BUFFER_FLAG_DISCONT,
  GST_BUFFER_FLAG_DELTA_UNIT,
  GST_BUFFER_FLAG_DELTA_UNIT | GST_BUFFER_FLAG_MARKER,
  0,
  GST_BUFFER_FLAG_DELTA_UNIT | GST_BUFFER_FLAG_DROPPABLE,
};

static GstClockTime
frame_pts (guint index)
{
  return index * GV_TEST_FRAME_DURATION + GST_MSECOND;
}

GstBuffer *
gv_test_frame_new (guint index)
{
  GstBuffer *buffer = gst_buffer_new_and_alloc (16 * 16 * 4);
  gst_buffer_memset (buffer, 0, 0x80, 16 * 16 * 4);
  gst_buffer_memset (buffer, 0, (guint8) index, 1);
  GST_BUFFER_PTS (buffer) = frame_pts (index);
  GST_BUFFER_DTS (buffer) = frame_pts (index) - GST_MSECOND;
  GST_BUFFER_DURATION (buffer) = GV_TEST_FRAME_DURATION;
  GST_BUFFER_FLAG_SET (buffer, frame_flags[index % G_N_ELEMENTS (frame_flags)]);
  return buffer;
}

void
gv_test_assert_frame (GstBuffer *buffer, guint index)
{
  guint8 byte;

  fail_unless (buffer != NULL, "frame %u missing", index);
  fail_unless_equals_int (gst_buffer_extract (buffer, 0, &byte, 1), 1);
  fail_unless_equals_int (byte, (guint8) index);
  gv_test_assert_frame_timing (buffer, index);
}

void
gv_test_assert_frame_timing (GstBuffer *buffer, guint index)
{
  fail_unless (buffer != NULL, "frame %u missing", index);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (buffer), frame_pts (index));
  fail_unless_equals_uint64 (GST_BUFFER_DTS (buffer), frame_pts (index) - GST_MSECOND);
  fail_unless_equals_uint64 (GST_BUFFER_DURATION (buffer), GV_TEST_FRAME_DURATION);
  fail_unless_equals_int (GST_BUFFER_FLAGS (buffer),
      frame_flags[index % G_N_ELEMENTS (frame_flags)]);
}

void
gv_test_push_frames (GstHarness *h, guint start, guint n)
{
  for (guint i = start; i < start + n; i++)
    fail_unless_equals_int (gst_harness_push (h, gv_test_frame_new (i)), GST_FLOW_OK);
}

GstGenVideoClipMeta *
gv_test_clip_meta (GstBuffer *buffer)
{
  GType api = g_type_from_name ("GstGenVideoClipMetaAPI");
  fail_unless (api != 0, "the clip meta is not registered");
  return (GstGenVideoClipMeta *) gst_buffer_get_meta (buffer, api);
}

void
gv_test_assert_clips (GstBuffer **frames, guint n, guint clip_frames)
{
  GvClip *previous = NULL;

  for (guint i = 0; i < n; i++) {
    GstGenVideoClipMeta *meta = gv_test_clip_meta (frames[i]);
    guint start = i / clip_frames * clip_frames;
    guint count = MIN (clip_frames, n - start);

    fail_unless (meta != NULL, "frame %u has no clip meta", i);
    fail_unless_equals_int (meta->frame_index, i - start);
    fail_unless_equals_int (meta->frame_count, count);
    fail_unless_equals_int (gv_clip_get_n_frames (meta->clip), count);
    if (i == start)
      fail_unless (meta->clip != previous, "frame %u should start a new clip", i);
    else
      fail_unless (meta->clip == previous, "frame %u should continue the clip", i);
    previous = meta->clip;
  }
}

GstBuffer **
gv_test_pull_frames (GstHarness *h, guint start, guint n)
{
  GstBuffer **frames = g_new0 (GstBuffer *, n);

  for (guint i = 0; i < n; i++) {
    frames[i] = gst_harness_pull (h);
    gv_test_assert_frame (frames[i], start + i);
  }
  return frames;
}

GstBuffer **
gv_test_pull_frames_timing (GstHarness *h, guint start, guint n)
{
  GstBuffer **frames = g_new0 (GstBuffer *, n);

  for (guint i = 0; i < n; i++) {
    frames[i] = gst_harness_pull (h);
    gv_test_assert_frame_timing (frames[i], start + i);
  }
  return frames;
}

void
gv_test_frames_free (GstBuffer **frames, guint n)
{
  for (guint i = 0; i < n; i++)
    gst_clear_buffer (&frames[i]);
  g_free (frames);
}

void
gv_test_wait_eos (GstHarness *h)
{
  GstEvent *event;

  while ((event = gst_harness_pull_event (h))) {
    gboolean eos = GST_EVENT_TYPE (event) == GST_EVENT_EOS;
    gst_event_unref (event);
    if (eos)
      return;
  }
  fail ("no EOS came out");
}

struct _GvTestRecorder {
  GstPad *pad;
  gulong probe;
  GMutex lock;
  GString *log;
};

static GstPadProbeReturn
record (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GvTestRecorder *r = user_data;

  /* of the queries, only the serialized ones have a place among the data; each is seen on its
   * way down (PUSH) and with its answer (PULL): once is enough */
  if ((GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM)
      && (!GST_QUERY_IS_SERIALIZED (GST_PAD_PROBE_INFO_QUERY (info))
          || (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_PULL)))
    return GST_PAD_PROBE_OK;
  g_mutex_lock (&r->lock);
  if (r->log->len)
    g_string_append_c (r->log, ' ');
  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM) {
    g_string_append_printf (r->log, "query-%s",
        GST_QUERY_TYPE_NAME (GST_PAD_PROBE_INFO_QUERY (info)));
  } else if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER) {
    guint8 first = 0;
    gst_buffer_extract (GST_PAD_PROBE_INFO_BUFFER (info), 0, &first, 1);
    g_string_append_printf (r->log, "B%u", first);
  } else {
    g_string_append (r->log, GST_EVENT_TYPE_NAME (GST_PAD_PROBE_INFO_EVENT (info)));
  }
  g_mutex_unlock (&r->lock);
  return GST_PAD_PROBE_OK;
}

GvTestRecorder *
gv_test_recorder_new (GstPad *pad)
{
  GvTestRecorder *r = g_new0 (GvTestRecorder, 1);

  r->pad = gst_object_ref (pad);
  g_mutex_init (&r->lock);
  r->log = g_string_new (NULL);
  r->probe = gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER
      | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM | GST_PAD_PROBE_TYPE_EVENT_FLUSH
      | GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM, record, r, NULL);
  return r;
}

gchar *
gv_test_recorder_dup (GvTestRecorder *r)
{
  g_mutex_lock (&r->lock);
  gchar *log = g_strdup (r->log->str);
  g_mutex_unlock (&r->lock);
  return log;
}

void
gv_test_recorder_free (GvTestRecorder *r)
{
  gst_pad_remove_probe (r->pad, r->probe);
  gst_object_unref (r->pad);
  g_string_free (r->log, TRUE);
  g_mutex_clear (&r->lock);
  g_free (r);
}

static void
count_freed (gpointer data, GstMiniObject *where_the_object_was)
{
  g_atomic_int_inc ((gint *) data);
}

GstBuffer *
gv_test_track (GstBuffer *buffer, gint *freed)
{
  gst_mini_object_weak_ref (GST_MINI_OBJECT (buffer), count_freed, freed);
  return buffer;
}
