/* The clip-collecting base class, through a test subclass whose process_clip() can be slow
 * (sleeping in small steps while it checks the cancellation flag), fail, or post progress.
 * This program links the elements' static library and never loads the plugin. */
#include <glib/gstdio.h>

#include "gv-element-test.h"
#include "gstgenvideoclipfilter.h"

/* What the test subclass does and saw; reset before every test. */
static struct {
  GMutex lock;
  GCond cond;
  /* settings */
  guint sleep_ms;       /* per clip, in 2 ms steps, checking the cancel flag */
  gboolean fail;        /* post an error and return GST_FLOW_ERROR */
  guint progress;       /* post this many progress messages */
  gboolean replace;     /* replace every frame by a new buffer without timing or flags */
  /* observations */
  guint n_clips;
  guint sizes[64];
  guint64 ids[64];
  GstGenVideoClipFilter *by[64];  /* which element processed the clip */
  gboolean started;     /* a slow process_clip() has begun */
  gboolean cancelled;   /* it saw the cancel flag */
  guint64 inside[8];    /* ids of the clips in process_clip() now, one entry per element */
  guint n_inside;
  guint overlaps;       /* times two elements were in process_clip() with one clip */
} ts;

#define GV_TYPE_TEST_CLIP (gv_test_clip_get_type ())
G_DECLARE_FINAL_TYPE (GvTestClip, gv_test_clip, GV, TEST_CLIP, GstGenVideoClipFilter)

struct _GvTestClip {
  GstGenVideoClipFilter parent;
};

G_DEFINE_TYPE (GvTestClip, gv_test_clip, GST_TYPE_GEN_VIDEO_CLIP_FILTER);

static GstFlowReturn
process_clip_body (GstGenVideoClipFilter *filter, GstGenVideoClipJob *job)
{
  g_mutex_lock (&ts.lock);
  if (ts.n_clips < G_N_ELEMENTS (ts.sizes)) {
    ts.sizes[ts.n_clips] = job->n_frames;
    ts.ids[ts.n_clips] = gv_clip_get_id (job->clip);
    ts.by[ts.n_clips] = filter;
  }
  ts.n_clips++;
  ts.started = TRUE;
  g_cond_broadcast (&ts.cond);
  guint sleep_ms = ts.sleep_ms;
  gboolean fail = ts.fail;
  guint progress = ts.progress;
  gboolean replace = ts.replace;
  g_mutex_unlock (&ts.lock);

  /* as compute that renders new frames would: the base class restores timing and flags */
  for (guint i = 0; replace && i < job->n_frames; i++) {
    GstBuffer *out = gst_buffer_new_and_alloc (gst_buffer_get_size (job->frames[i]));
    GstMapInfo map;
    gst_buffer_map (out, &map, GST_MAP_WRITE);
    gst_buffer_extract (job->frames[i], 0, map.data, map.size);
    gst_buffer_unmap (out, &map);
    gst_buffer_unref (job->frames[i]);
    job->frames[i] = out;
  }

  for (guint t = 0; t < sleep_ms; t += 2) {
    if (gst_gen_video_clip_filter_is_cancelled (filter)) {
      g_mutex_lock (&ts.lock);
      ts.cancelled = TRUE;
      g_mutex_unlock (&ts.lock);
      return GST_FLOW_FLUSHING;
    }
    g_usleep (2000);
  }
  if (fail) {
    GST_ELEMENT_ERROR (filter, LIBRARY, FAILED, ("Test failure."), ("requested by the test"));
    return GST_FLOW_ERROR;
  }
  for (guint i = 1; i <= progress; i++)
    gst_gen_video_clip_filter_post_progress (filter, "test", i, progress);
  return GST_FLOW_OK;
}

/* Records which clips are being processed, to catch two elements on one clip at once. */
static GstFlowReturn
gv_test_clip_process_clip (GstGenVideoClipFilter *filter, GstGenVideoClipJob *job)
{
  guint64 id = gv_clip_get_id (job->clip);

  g_mutex_lock (&ts.lock);
  for (guint i = 0; i < ts.n_inside; i++)
    ts.overlaps += ts.inside[i] == id;
  if (ts.n_inside < G_N_ELEMENTS (ts.inside))
    ts.inside[ts.n_inside++] = id;
  g_mutex_unlock (&ts.lock);

  GstFlowReturn ret = process_clip_body (filter, job);

  g_mutex_lock (&ts.lock);
  for (guint i = 0; i < ts.n_inside; i++) {
    if (ts.inside[i] == id) {
      ts.inside[i] = ts.inside[--ts.n_inside];
      break;
    }
  }
  g_cond_broadcast (&ts.cond);
  g_mutex_unlock (&ts.lock);
  return ret;
}

static void
gv_test_clip_class_init (GvTestClipClass *klass)
{
  GST_GEN_VIDEO_CLIP_FILTER_CLASS (klass)->process_clip = gv_test_clip_process_clip;
  /* no device nor model: the base class alone is under test */
  GST_GEN_VIDEO_CLIP_FILTER_CLASS (klass)->start = NULL;
  gst_element_class_set_static_metadata (GST_ELEMENT_CLASS (klass), "Test clip filter",
      "Filter/Video", "Test subclass of GstGenVideoClipFilter", "gst-genvideo");
}

static void
gv_test_clip_init (GvTestClip *self)
{
}

static void
reset_state (void)
{
  g_mutex_lock (&ts.lock);
  ts.sleep_ms = 0;
  ts.fail = FALSE;
  ts.progress = 0;
  ts.replace = FALSE;
  ts.n_clips = 0;
  memset (ts.sizes, 0, sizeof ts.sizes);
  memset (ts.ids, 0, sizeof ts.ids);
  memset (ts.by, 0, sizeof ts.by);
  ts.started = FALSE;
  ts.cancelled = FALSE;
  ts.n_inside = 0;
  ts.overlaps = 0;
  g_mutex_unlock (&ts.lock);
}

static gboolean
was_cancelled (void)
{
  g_mutex_lock (&ts.lock);
  gboolean cancelled = ts.cancelled;
  g_mutex_unlock (&ts.lock);
  return cancelled;
}

static guint64
clip_id (guint clip)
{
  g_mutex_lock (&ts.lock);
  guint64 id = ts.ids[clip];
  g_mutex_unlock (&ts.lock);
  return id;
}

static void
wait_started (void)
{
  g_mutex_lock (&ts.lock);
  while (!ts.started)
    g_cond_wait (&ts.cond, &ts.lock);
  g_mutex_unlock (&ts.lock);
}

/* A playing test element with GV_TEST_CAPS set. */
static GstHarness *
harness_new (guint clip_frames)
{
  GstElement *element = gst_element_factory_make ("gvtestclip", NULL);
  g_object_set (element, "clip-frames", clip_frames, NULL);
  GstHarness *h = gst_harness_new_with_element (element, "sink", "src");
  gst_object_unref (element);
  gst_harness_set_src_caps_str (h, GV_TEST_CAPS);
  return h;
}

/* (never fail with ts.lock held: without fork, the next test would wait for it forever) */
static void
assert_sizes (guint n, const guint *sizes)
{
  g_mutex_lock (&ts.lock);
  guint n_clips = ts.n_clips;
  guint seen[G_N_ELEMENTS (ts.sizes)];
  memcpy (seen, ts.sizes, sizeof seen);
  g_mutex_unlock (&ts.lock);

  fail_unless_equals_int (n_clips, n);
  for (guint i = 0; i < n; i++)
    fail_unless_equals_int (seen[i], sizes[i]);
}

static void
assert_log (GvTestRecorder *r, const gchar *expected)
{
  gchar *log = gv_test_recorder_dup (r);
  fail_unless_equals_string (log, expected);
  g_free (log);
}

static GstPad *
element_pad (GstHarness *h, const gchar *name)
{
  GstPad *pad = gst_element_get_static_pad (h->element, name);
  gst_object_unref (pad);       /* the element keeps it */
  return pad;
}

/* Pushes @n frames and EOS through the pipeline of @h, pulls the @n frames (checked one by
 * one), waits for EOS and checks that they form clips of @clip_frames; returns the frames
 * (gv_test_frames_free them). */
static GstBuffer **
run_stream (GstHarness *h, guint n, guint clip_frames)
{
  gst_harness_set_src_caps_str (h, GV_TEST_CAPS);
  gv_test_push_frames (h, 0, n);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  GstBuffer **frames = gv_test_pull_frames (h, 0, n);
  gv_test_wait_eos (h);
  gv_test_assert_clips (frames, n, clip_frames);
  return frames;
}

/* Two clips of four; with @replace process_clip() renders new buffers, which must leave with
 * the timing and flags of the frames they replace, and the clip meta. */
static void
check_two_clips (gboolean replace)
{
  GstHarness *h = harness_new (4);

  ts.replace = replace;
  gv_test_push_frames (h, 0, 8);
  GstBuffer **frames = gv_test_pull_frames (h, 0, 8);
  gv_test_assert_clips (frames, 8, 4);
  assert_sizes (2, (const guint[]) { 4, 4 });
  gv_test_frames_free (frames, 8);
  gst_harness_teardown (h);
}

GST_START_TEST (test_frames_in_order_with_timing)
{
  check_two_clips (FALSE);
}
GST_END_TEST;

GST_START_TEST (test_replaced_frames_keep_timing)
{
  check_two_clips (TRUE);
}
GST_END_TEST;

GST_START_TEST (test_partition_13_by_4)
{
  GstHarness *h = harness_new (4);
  GvTestRecorder *r = gv_test_recorder_new (element_pad (h, "src"));

  gv_test_push_frames (h, 0, 13);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  GstBuffer **frames = gv_test_pull_frames (h, 0, 13);
  gv_test_wait_eos (h);

  gv_test_assert_clips (frames, 13, 4);
  assert_sizes (4, (const guint[]) { 4, 4, 4, 1 });
  assert_log (r, "stream-start caps segment B0 B1 B2 B3 B4 B5 B6 B7 B8 B9 B10 B11 B12 eos");
  for (guint i = 0; i < 13; i++)
    fail_unless_equals_uint64 (gv_clip_get_id (gv_test_clip_meta (frames[i])->clip),
        clip_id (i / 4));
  fail_unless_equals_int (gst_harness_buffers_in_queue (h), 0);

  gv_test_frames_free (frames, 13);
  gv_test_recorder_free (r);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_clip_object_shape)
{
  GstHarness *h = harness_new (3);

  gv_test_push_frames (h, 0, 3);
  GstBuffer **frames = gv_test_pull_frames (h, 0, 3);
  GvClip *clip = gv_test_clip_meta (frames[0])->clip;

  fail_unless_equals_int (gv_clip_get_n_frames (clip), 3);
  fail_unless_equals_int (gv_clip_get_width (clip), 16);
  fail_unless_equals_int (gv_clip_get_height (clip), 16);
  gv_test_frames_free (frames, 3);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_one_frame_clips)
{
  GstHarness *h = harness_new (1);

  gv_test_push_frames (h, 0, 3);
  GstBuffer **frames = gv_test_pull_frames (h, 0, 3);
  gv_test_assert_clips (frames, 3, 1);
  assert_sizes (3, (const guint[]) { 1, 1, 1 });
  gv_test_frames_free (frames, 3);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_eos_mid_clip)
{
  GstHarness *h = harness_new (8);
  GvTestRecorder *r = gv_test_recorder_new (element_pad (h, "src"));

  gv_test_push_frames (h, 0, 3);
  fail_unless_equals_int (gst_harness_buffers_in_queue (h), 0);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  GstBuffer **frames = gv_test_pull_frames (h, 0, 3);
  gv_test_wait_eos (h);

  gv_test_assert_clips (frames, 3, 3);
  assert_sizes (1, (const guint[]) { 3 });
  assert_log (r, "stream-start caps segment B0 B1 B2 eos");
  gv_test_frames_free (frames, 3);
  gv_test_recorder_free (r);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_eos_without_frames)
{
  GstHarness *h = harness_new (8);
  GvTestRecorder *r = gv_test_recorder_new (element_pad (h, "src"));

  gst_harness_play (h);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  gv_test_wait_eos (h);

  fail_unless_equals_int (gst_harness_buffers_received (h), 0);
  assert_sizes (0, NULL);
  assert_log (r, "stream-start caps segment eos");
  gv_test_recorder_free (r);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_segment_mid_clip)
{
  GstHarness *h = harness_new (8);
  GvTestRecorder *r = gv_test_recorder_new (element_pad (h, "src"));
  GstSegment segment;

  gv_test_push_frames (h, 0, 3);
  gst_segment_init (&segment, GST_FORMAT_TIME);
  segment.base = 10 * GST_SECOND;
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&segment)));
  gv_test_push_frames (h, 3, 2);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  GstBuffer **frames = gv_test_pull_frames (h, 0, 5);
  gv_test_wait_eos (h);

  assert_sizes (2, (const guint[]) { 3, 2 });
  assert_log (r, "stream-start caps segment B0 B1 B2 segment B3 B4 eos");
  fail_unless (gv_test_clip_meta (frames[2])->clip != gv_test_clip_meta (frames[3])->clip);
  fail_unless_equals_int (gv_test_clip_meta (frames[3])->frame_index, 0);
  fail_unless_equals_int (gv_test_clip_meta (frames[4])->frame_count, 2);
  gv_test_frames_free (frames, 5);
  gv_test_recorder_free (r);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* A serialized event that does not end a clip leaves between the same frames. */
GST_START_TEST (test_event_kept_in_place)
{
  GstHarness *h = harness_new (4);
  GvTestRecorder *r = gv_test_recorder_new (element_pad (h, "src"));

  gv_test_push_frames (h, 0, 2);
  fail_unless (gst_harness_push_event (h, gst_event_new_tag (gst_tag_list_new (GST_TAG_TITLE,
                  "clip", NULL))));
  gv_test_push_frames (h, 2, 2);
  GstBuffer **frames = gv_test_pull_frames (h, 0, 4);

  assert_sizes (1, (const guint[]) { 4 });
  assert_log (r, "stream-start caps segment B0 B1 tag B2 B3");
  gv_test_frames_free (frames, 4);
  gv_test_recorder_free (r);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* A new format ends the clip: frames of one clip share one size. */
GST_START_TEST (test_caps_change_mid_clip)
{
  GstHarness *h = harness_new (8);

  gv_test_push_frames (h, 0, 2);
  gst_harness_set_src_caps_str (h, "video/x-raw,format=RGBA,width=16,height=16,framerate=50/1");
  gv_test_push_frames (h, 2, 1);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  GstBuffer **frames = gv_test_pull_frames (h, 0, 3);
  gv_test_wait_eos (h);

  assert_sizes (2, (const guint[]) { 2, 1 });
  gv_test_frames_free (frames, 3);
  gst_harness_teardown (h);
}
GST_END_TEST;

static void
push_flush (GstHarness *h)
{
  GstSegment segment;

  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&segment)));
}

GST_START_TEST (test_flush_while_collecting)
{
  GstHarness *h = harness_new (4);
  GvTestRecorder *r = gv_test_recorder_new (element_pad (h, "src"));
  gint freed = 0;

  for (guint i = 0; i < 2; i++)
    fail_unless_equals_int (gst_harness_push (h, gv_test_track (gv_test_frame_new (i), &freed)),
        GST_FLOW_OK);
  push_flush (h);
  fail_unless_equals_int (g_atomic_int_get (&freed), 2);

  gv_test_push_frames (h, 10, 4);
  GstBuffer **frames = gv_test_pull_frames (h, 10, 4);
  gv_test_assert_clips (frames, 4, 4);
  assert_sizes (1, (const guint[]) { 4 });
  fail_unless_equals_int (gst_harness_buffers_received (h), 4);
  /* the dropped clip's stream-start and caps still reach downstream, once */
  assert_log (r, "flush-start flush-stop stream-start caps segment B10 B11 B12 B13");
  gv_test_frames_free (frames, 4);
  gv_test_recorder_free (r);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_flush_while_processing)
{
  GstHarness *h = harness_new (4);
  GvTestRecorder *r = gv_test_recorder_new (element_pad (h, "src"));
  gint freed = 0;

  ts.sleep_ms = 600000;
  for (guint i = 0; i < 4; i++)
    fail_unless_equals_int (gst_harness_push (h, gv_test_track (gv_test_frame_new (i), &freed)),
        GST_FLOW_OK);
  wait_started ();
  /* returns only once the processing has stopped: it must see the cancel flag */
  push_flush (h);
  fail_unless (was_cancelled ());
  fail_unless_equals_int (g_atomic_int_get (&freed), 4);

  ts.sleep_ms = 0;
  gv_test_push_frames (h, 20, 4);
  GstBuffer **frames = gv_test_pull_frames (h, 20, 4);
  gv_test_assert_clips (frames, 4, 4);
  fail_unless_equals_int (gst_harness_buffers_received (h), 4);
  assert_log (r, "flush-start flush-stop stream-start caps segment B20 B21 B22 B23");
  gv_test_frames_free (frames, 4);
  gv_test_recorder_free (r);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* PLAYING -> NULL in the middle of a long processing step returns (the step sees the cancel
 * flag) and frees every frame the element held. */
GST_START_TEST (test_stop_while_processing)
{
  GstHarness *h = harness_new (4);
  gint freed = 0;

  ts.sleep_ms = 600000;
  for (guint i = 0; i < 6; i++)
    fail_unless_equals_int (gst_harness_push (h, gv_test_track (gv_test_frame_new (i), &freed)),
        GST_FLOW_OK);
  wait_started ();
  fail_unless_equals_int (gst_element_set_state (h->element, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  fail_unless (was_cancelled ());
  fail_unless_equals_int (g_atomic_int_get (&freed), 6);
  fail_unless_equals_int (gst_harness_buffers_received (h), 0);
  gst_harness_teardown (h);
}
GST_END_TEST;

typedef struct {
  GstHarness *h;
  gint *freed;
  gint attempted;       /* atomic: pushes begun */
  GstFlowReturn last;
} Pusher;

static gpointer
push_thread (gpointer data)
{
  Pusher *p = data;

  p->last = GST_FLOW_OK;
  for (guint i = 0; i < 40 && p->last == GST_FLOW_OK; i++) {
    g_atomic_int_inc (&p->attempted);
    p->last = gst_harness_push (p->h, gv_test_track (gv_test_frame_new (i), p->freed));
  }
  return NULL;
}

/* The streaming thread blocks when a closed clip already waits for the busy task; stopping
 * the element then must release it too, and free every frame it took. */
GST_START_TEST (test_stop_while_upstream_blocked)
{
  GstHarness *h = harness_new (2);
  gint freed = 0;
  Pusher p = { h, &freed, 0, GST_FLOW_OK };

  ts.sleep_ms = 600000;
  GThread *thread = g_thread_new ("pusher", push_thread, &p);
  wait_started ();
  /* frames 0-1 are processed, 2-3 wait, 4-5 close a clip: the push of 5 blocks */
  while (g_atomic_int_get (&p.attempted) < 6)
    g_usleep (1000);
  fail_unless_equals_int (gst_element_set_state (h->element, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  g_thread_join (thread);

  fail_unless (was_cancelled ());
  fail_unless_equals_int (p.last, GST_FLOW_FLUSHING);
  fail_unless_equals_int (g_atomic_int_get (&freed), p.attempted);
  fail_unless_equals_int (gst_harness_buffers_received (h), 0);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_restart_after_stop)
{
  GstHarness *h = harness_new (2);

  ts.sleep_ms = 600000;
  gv_test_push_frames (h, 0, 2);
  wait_started ();
  fail_unless_equals_int (gst_element_set_state (h->element, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);

  ts.sleep_ms = 0;
  gst_harness_play (h);
  fail_unless (gst_harness_push_event (h, gst_event_new_stream_start ("restart")));
  gst_harness_set_src_caps_str (h, GV_TEST_CAPS);
  gv_test_push_frames (h, 0, 2);
  GstBuffer **frames = gv_test_pull_frames (h, 0, 2);
  gv_test_assert_clips (frames, 2, 2);
  gv_test_frames_free (frames, 2);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_process_error)
{
  GstHarness *h = harness_new (2);
  GstBus *bus = gst_bus_new ();

  gst_element_set_bus (h->element, bus);
  ts.fail = TRUE;
  gv_test_push_frames (h, 0, 2);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE, GST_MESSAGE_ERROR);
  GError *error = NULL;
  gst_message_parse_error (msg, &error, NULL);
  fail_unless (g_error_matches (error, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_FAILED));
  g_clear_error (&error);
  gst_message_unref (msg);

  /* EOS goes downstream, no frame, and upstream hears of the error */
  gv_test_wait_eos (h);
  fail_unless_equals_int (gst_harness_buffers_received (h), 0);
  fail_unless_equals_int (gst_harness_push (h, gv_test_frame_new (2)), GST_FLOW_ERROR);

  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

static gboolean
accepts (GstHarness *h, const gchar *caps_str)
{
  GstCaps *caps = gst_caps_from_string (caps_str);
  gboolean ok = gst_pad_query_accept_caps (element_pad (h, "sink"), caps);
  gst_caps_unref (caps);
  return ok;
}

GST_START_TEST (test_caps_refusal)
{
  GstHarness *h = gst_harness_new ("gvtestclip");
  GstBus *bus = gst_bus_new ();

  gst_element_set_bus (h->element, bus);
  gst_harness_play (h);
  fail_unless (accepts (h, "video/x-raw,format=RGBA,width=256,height=128,framerate=25/1"));
  fail_unless (accepts (h, "video/x-raw,format=RGB,width=8,height=8,framerate=0/1"));
  fail_if (accepts (h, "video/x-raw,format=I420,width=256,height=256,framerate=25/1"));
  fail_if (accepts (h, "video/x-raw,format=RGBA,width=250,height=256,framerate=25/1"));
  fail_if (accepts (h, "video/x-raw,format=RGB,width=256,height=252,framerate=25/1"));
  fail_if (accepts (h, "video/x-raw,format=RGBA,width=256,height=256,framerate=25/1,"
          "interlace-mode=interleaved"));
  fail_unless (accepts (h, "video/x-raw,format=RGBA,width=256,height=256,framerate=25/1,"
          "interlace-mode=progressive"));

  /* the caps query says it: videoscale picks a valid size from the steps */
  GstCaps *allowed = gst_pad_query_caps (element_pad (h, "sink"), NULL);
  GstCaps *odd = gst_caps_from_string ("video/x-raw,width=250,height=256");
  GstCaps *even = gst_caps_from_string ("video/x-raw,width=248,height=256");
  fail_if (gst_caps_can_intersect (allowed, odd));
  fail_unless (gst_caps_can_intersect (allowed, even));
  gst_caps_unref (odd);
  gst_caps_unref (even);
  gst_caps_unref (allowed);

  /* a caps event of an odd size fails, with an error that says why */
  GstCaps *caps = gst_caps_from_string ("video/x-raw,format=RGBA,width=250,height=250,"
      "framerate=25/1");
  fail_if (gst_pad_send_event (element_pad (h, "sink"), gst_event_new_caps (caps)));
  gst_caps_unref (caps);
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  GError *error = NULL;
  gst_message_parse_error (msg, &error, NULL);
  fail_unless (g_error_matches (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT));
  fail_unless (strstr (error->message, "multiples of 8") != NULL, "%s", error->message);
  g_clear_error (&error);
  gst_message_unref (msg);

  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

static GstMessage *
pop_progress (GstBus *bus)
{
  GstMessage *msg;

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    if (gst_message_has_name (msg, GST_GEN_VIDEO_MESSAGE_PROGRESS))
      return msg;
    gst_message_unref (msg);
  }
  return NULL;
}

/* 2000 progress steps in a tight loop: the first and the last go out, and at most one in
 * between per GST_GEN_VIDEO_PROGRESS_INTERVAL of the time it took. */
GST_START_TEST (test_progress_rate_limit)
{
  GstHarness *h = harness_new (2);
  GstBus *bus = gst_bus_new ();
  const guint steps = 2000;

  gst_element_set_bus (h->element, bus);
  ts.progress = steps;
  gint64 start = g_get_monotonic_time ();
  gv_test_push_frames (h, 0, 2);
  GstBuffer **frames = gv_test_pull_frames (h, 0, 2);
  gint64 elapsed = g_get_monotonic_time () - start;

  guint n = 0, last_current = 0;
  GstMessage *msg;
  while ((msg = pop_progress (bus))) {
    const GstStructure *s = gst_message_get_structure (msg);
    guint current, total;
    gint percent;
    guint64 clip_id;
    fail_unless (gst_structure_get (s, GST_GEN_VIDEO_FIELD_CURRENT, G_TYPE_UINT, &current,
            GST_GEN_VIDEO_FIELD_TOTAL, G_TYPE_UINT, &total, GST_GEN_VIDEO_FIELD_PERCENT,
            G_TYPE_INT, &percent, GST_GEN_VIDEO_FIELD_CLIP_ID, G_TYPE_UINT64, &clip_id, NULL));
    fail_unless_equals_string (gst_structure_get_string (s, GST_GEN_VIDEO_FIELD_STAGE), "test");
    fail_unless_equals_int (total, steps);
    fail_unless_equals_int (percent, current * 100 / steps);
    fail_unless_equals_uint64 (clip_id, gv_clip_get_id (gv_test_clip_meta (frames[0])->clip));
    if (n == 0)
      fail_unless_equals_int (current, 1);
    fail_unless (current > last_current);
    last_current = current;
    n++;
    gst_message_unref (msg);
  }
  fail_unless_equals_int (last_current, steps);
  fail_unless (n <= 2 + elapsed / GST_GEN_VIDEO_PROGRESS_INTERVAL, "%u messages in %"
      G_GINT64_FORMAT " us", n, elapsed);

  gv_test_frames_free (frames, 2);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

static void
query_latency (GstHarness *h, GstClockTime *min, GstClockTime *max)
{
  GstQuery *query = gst_query_new_latency ();
  gboolean live;

  fail_unless (gst_pad_query (element_pad (h, "src"), query));
  gst_query_parse_latency (query, &live, min, max);
  gst_query_unref (query);
}

/* Live upstream (the harness): the clip's duration, and before any clip was processed as long
 * again as the estimate of its processing time. */
GST_START_TEST (test_latency)
{
  GstHarness *h = harness_new (4);
  GstClockTime min, max;

  gst_harness_set_upstream_latency (h, 10 * GST_MSECOND);
  query_latency (h, &min, &max);
  fail_unless_equals_uint64 (min, 10 * GST_MSECOND + 2 * 4 * GV_TEST_FRAME_DURATION);

  g_object_set (h->element, "clip-frames", 0, NULL);
  query_latency (h, &min, &max);
  fail_unless_equals_uint64 (min, 10 * GST_MSECOND);
  fail_unless_equals_uint64 (max, GST_CLOCK_TIME_NONE);

  /* no frame rate, no duration to add */
  g_object_set (h->element, "clip-frames", 4, NULL);
  gst_harness_set_src_caps_str (h, "video/x-raw,format=RGBA,width=16,height=16,framerate=0/1");
  query_latency (h, &min, &max);
  fail_unless_equals_uint64 (min, 10 * GST_MSECOND);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* Once a clip was processed, its measured processing time replaces the estimate, and a latency
 * message asks the pipeline to query again. */
GST_START_TEST (test_latency_measured)
{
  GstHarness *h = harness_new (4);
  GstBus *bus = gst_bus_new ();
  GstClockTime min, max;

  gst_harness_set_upstream_latency (h, 10 * GST_MSECOND);
  gst_element_set_bus (h->element, bus);
  ts.sleep_ms = 400;
  gv_test_push_frames (h, 0, 4);
  gv_test_frames_free (gv_test_pull_frames (h, 0, 4), 4);

  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_LATENCY);
  fail_unless (msg != NULL, "no latency message after the clip");
  gst_message_unref (msg);
  query_latency (h, &min, &max);
  /* the clip slept 400 ms: more than the estimate of one clip (160 ms) */
  fail_unless (min >= 10 * GST_MSECOND + 4 * GV_TEST_FRAME_DURATION + 400 * GST_MSECOND,
      "min latency %" GST_TIME_FORMAT, GST_TIME_ARGS (min));
  fail_unless (max >= min);

  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* A DRAIN query is answered after the frames queued before it were processed and pushed (it
 * ends the clip), and it reaches downstream after them. */
GST_START_TEST (test_drain_after_frames)
{
  GstHarness *h = harness_new (8);
  GvTestRecorder *r = gv_test_recorder_new (element_pad (h, "src"));

  ts.sleep_ms = 100;
  gv_test_push_frames (h, 0, 3);
  GstQuery *drain = gst_query_new_drain ();
  gst_pad_peer_query (h->srcpad, drain);
  gst_query_unref (drain);
  fail_unless_equals_int (gst_harness_buffers_received (h), 3);
  assert_sizes (1, (const guint[]) { 3 });
  assert_log (r, "stream-start caps segment B0 B1 B2 query-drain");

  /* the stream goes on in new clips */
  gv_test_push_frames (h, 3, 8);
  GstBuffer **frames = gv_test_pull_frames (h, 0, 11);
  assert_sizes (2, (const guint[]) { 3, 8 });
  gv_test_frames_free (frames, 11);
  gv_test_recorder_free (r);
  gst_harness_teardown (h);
}
GST_END_TEST;

static gpointer
drain_thread (gpointer data)
{
  GstQuery *drain = gst_query_new_drain ();
  gboolean answered = gst_pad_peer_query (((GstHarness *) data)->srcpad, drain);
  gst_query_unref (drain);
  return GINT_TO_POINTER (answered);
}

/* A DRAIN waiting behind a long clip returns, unanswered, when the element stops. */
GST_START_TEST (test_drain_while_stopping)
{
  GstHarness *h = harness_new (4);

  ts.sleep_ms = 600000;
  gv_test_push_frames (h, 0, 6);
  wait_started ();
  GThread *thread = g_thread_new ("drain", drain_thread, h);
  fail_unless_equals_int (gst_element_set_state (h->element, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  fail_if (GPOINTER_TO_INT (g_thread_join (thread)));
  fail_unless (was_cancelled ());
  fail_unless_equals_int (gst_harness_buffers_received (h), 0);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* ALLOCATION is answered here (video meta, no pool) and not passed downstream. */
GST_START_TEST (test_allocation_answered)
{
  GstHarness *h = harness_new (4);
  GstCaps *caps = gst_caps_from_string (GV_TEST_CAPS);
  GstQuery *query = gst_query_new_allocation (caps, TRUE);

  fail_unless (gst_pad_peer_query (h->srcpad, query));
  fail_unless (gst_query_find_allocation_meta (query, GST_VIDEO_META_API_TYPE, NULL));
  fail_unless_equals_int (gst_query_get_n_allocation_pools (query), 0);
  gst_query_unref (query);
  gst_caps_unref (caps);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* Upstream allocates from a pool of 4 buffers and clips have 8 frames: the element must let
 * each buffer go as it queues the frame, or upstream runs dry before the first clip is full.
 * The pool does not wait for a buffer: it fails, and so does the test. */
GST_START_TEST (test_small_upstream_pool)
{
  GstHarness *h = harness_new (8);
  GstBufferPool *pool = gst_buffer_pool_new ();
  GstStructure *config = gst_buffer_pool_get_config (pool);
  GstCaps *caps = gst_caps_from_string (GV_TEST_CAPS);
  GstBufferPoolAcquireParams params = { .flags = GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT };

  gst_buffer_pool_config_set_params (config, caps, 16 * 16 * 4, 4, 4);
  fail_unless (gst_buffer_pool_set_config (pool, config));
  fail_unless (gst_buffer_pool_set_active (pool, TRUE));
  for (guint i = 0; i < 20; i++) {
    GstBuffer *buffer = NULL, *frame = gv_test_frame_new (i);
    fail_unless (gst_buffer_pool_acquire_buffer (pool, &buffer, &params) == GST_FLOW_OK,
        "frame %u: the upstream pool of 4 ran dry", i);
    GstMapInfo map;
    gst_buffer_map (frame, &map, GST_MAP_READ);
    gst_buffer_fill (buffer, 0, map.data, map.size);
    gst_buffer_unmap (frame, &map);
    gst_buffer_copy_into (buffer, frame, GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_TIMESTAMPS,
        0, -1);
    gst_buffer_unref (frame);
    fail_unless_equals_int (gst_harness_push (h, buffer), GST_FLOW_OK);
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  GstBuffer **frames = gv_test_pull_frames (h, 0, 20);
  gv_test_wait_eos (h);
  gv_test_assert_clips (frames, 20, 8);
  gv_test_frames_free (frames, 20);
  gst_harness_teardown (h);
  fail_unless (gst_buffer_pool_set_active (pool, FALSE));
  gst_object_unref (pool);
  gst_caps_unref (caps);
}
GST_END_TEST;

/* QoS is off: dropping frames upstream would tear clips apart, so QoS events stop here while
 * other upstream events pass. */
GST_START_TEST (test_qos_not_forwarded)
{
  GstHarness *h = harness_new (4);
  guint before = gst_harness_upstream_events_received (h);

  fail_unless (gst_harness_push_upstream_event (h, gst_event_new_qos (GST_QOS_TYPE_UNDERFLOW,
              0.5, 10 * GST_MSECOND, GST_SECOND)));
  fail_unless_equals_int (gst_harness_upstream_events_received (h), before);
  fail_unless (gst_harness_push_upstream_event (h, gst_event_new_reconfigure ()));
  fail_unless_equals_int (gst_harness_upstream_events_received (h), before + 1);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* Two elements in a row agree on the clips: the second follows the first's clips (despite its
 * own clip-frames) and reuses its clip objects. */
GST_START_TEST (test_downstream_follows_upstream_clips)
{
  GstHarness *h = gst_harness_new_parse ("gvtestclip clip-frames=3 ! gvtestclip clip-frames=8");

  GstBuffer **frames = run_stream (h, 7, 3);

  /* each element processed clips of 3, 3, 1, the second the first's clip objects (the two
   * run in their own threads, so their records interleave) */
  guint sizes[2][3], n[2] = { 0, 0 };
  guint64 ids[2][3];
  GstGenVideoClipFilter *first_element = NULL;
  g_mutex_lock (&ts.lock);
  guint n_clips = ts.n_clips;
  for (guint i = 0; i < MIN (n_clips, 6); i++) {
    if (!first_element)
      first_element = ts.by[i];
    guint e = ts.by[i] == first_element ? 0 : 1;
    if (n[e] < 3) {
      sizes[e][n[e]] = ts.sizes[i];
      ids[e][n[e]] = ts.ids[i];
    }
    n[e]++;
  }
  g_mutex_unlock (&ts.lock);
  fail_unless_equals_int (n_clips, 6);
  fail_unless_equals_int (n[0], 3);
  fail_unless_equals_int (n[1], 3);
  for (guint k = 0; k < 3; k++) {
    fail_unless_equals_int (sizes[0][k], k < 2 ? 3 : 1);
    fail_unless_equals_int (sizes[1][k], sizes[0][k]);
    fail_unless_equals_uint64 (ids[1][k], ids[0][k]);
  }
  gv_test_frames_free (frames, 7);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* After a tee, two elements share each clip's state (the README's main job: latentcorrect and
 * invedit output=masks after one invedit). The base class holds the clip while process_clip()
 * runs, so the two take turns on it, while the element upstream works on the next clip. */
GST_START_TEST (test_tee_branches_take_turns)
{
  GstHarness *h = gst_harness_new_parse ("gvtestclip clip-frames=4 ! tee name=t "
      "t. ! queue ! gvtestclip ! fakesink sync=false async=false t. ! queue ! gvtestclip");

  ts.sleep_ms = 30;
  GstBuffer **frames = run_stream (h, 12, 4);

  /* three clips, each processed by the three elements, never by two at once (the branch
   * into fakesink may still be at work: wait for it) */
  g_mutex_lock (&ts.lock);
  while (ts.n_clips < 9 || ts.n_inside > 0)
    g_cond_wait (&ts.cond, &ts.lock);
  guint n_clips = ts.n_clips, overlaps = ts.overlaps;
  guint per_clip[3] = { 0, 0, 0 };
  for (guint i = 0; i < MIN (n_clips, G_N_ELEMENTS (ts.ids)); i++)
    for (guint k = 0; k < 3; k++)
      per_clip[k] += ts.ids[i] == gv_clip_get_id (gv_test_clip_meta (frames[4 * k])->clip);
  g_mutex_unlock (&ts.lock);
  fail_unless_equals_int (n_clips, 9);
  fail_unless_equals_int (overlaps, 0);
  for (guint k = 0; k < 3; k++)
    fail_unless_equals_int (per_clip[k], 3);
  gv_test_frames_free (frames, 12);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* An element waiting for a clip that another holds stops with the element: the wait is
 * cancelled, process_clip() never runs, every frame is freed. */
GST_START_TEST (test_stop_while_waiting_for_clip)
{
  GstHarness *h = harness_new (8);
  GvClip *clip = gv_clip_new (4, 16, 16);
  gint freed = 0;

  fail_unless (gv_clip_lock (clip, NULL, NULL));
  for (guint i = 0; i < 4; i++) {
    GstBuffer *buffer = gv_test_track (gv_test_frame_new (i), &freed);
    gst_buffer_add_gen_video_clip_meta (buffer, clip, i);
    fail_unless_equals_int (gst_harness_push (h, buffer), GST_FLOW_OK);
  }
  fail_unless_equals_int (gst_element_set_state (h->element, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gv_clip_unlock (clip);
  fail_unless_equals_int (ts.n_clips, 0);
  fail_unless_equals_int (g_atomic_int_get (&freed), 4);
  fail_unless_equals_int (gst_harness_buffers_received (h), 0);
  gv_clip_unref (clip);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* A frame whose meta names another clip (or a frame out of order) is not reused. */
GST_START_TEST (test_foreign_meta_replaced)
{
  GstHarness *h = harness_new (2);
  GvClip *foreign = gv_clip_new (5, 16, 16);

  for (guint i = 0; i < 2; i++) {
    GstBuffer *buffer = gv_test_frame_new (i);
    gst_buffer_add_gen_video_clip_meta (buffer, foreign, i + 2);
    fail_unless_equals_int (gst_harness_push (h, buffer), GST_FLOW_OK);
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  GstBuffer **frames = gv_test_pull_frames (h, 0, 2);
  gv_test_assert_clips (frames, 2, 2);
  fail_unless (gv_test_clip_meta (frames[0])->clip != foreign);
  fail_unless (gst_buffer_get_n_meta (frames[0], GST_GEN_VIDEO_CLIP_META_API_TYPE) == 1);
  gv_test_frames_free (frames, 2);
  gv_clip_unref (foreign);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_mutable_ready_property)
{
  GstElement *element = gst_element_factory_make ("gvtestclip", NULL);
  g_object_set (element, "model", "/a", "device-index", 1, NULL);
  GstHarness *h = gst_harness_new_with_element (element, "sink", "src");
  gst_object_unref (element);
  gchar *model;
  gint index;

  /* PLAYING: the change waits for READY, so it is refused */
  g_object_set (h->element, "model", "/b", "device-index", 2, "seed", (guint64) 7, NULL);
  guint64 seed;
  g_object_get (h->element, "model", &model, "device-index", &index, "seed", &seed, NULL);
  fail_unless_equals_string (model, "/a");
  fail_unless_equals_int (index, 1);
  fail_unless_equals_uint64 (seed, 7);
  g_free (model);

  gst_element_set_state (h->element, GST_STATE_READY);
  g_object_set (h->element, "model", "/b", NULL);
  g_object_get (h->element, "model", &model, NULL);
  fail_unless_equals_string (model, "/b");
  g_free (model);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* The model a clip filter loads: the model property, else GENVIDEO_MODEL, else the default
 * model, genvideo-shapes where it is found, else the tiny one (GENVIDEO_MODELS_DIR is looked
 * in first). */
GST_START_TEST (test_default_model_lookup)
{
  gchar *dir = g_dir_make_tmp ("genvideo-models-XXXXXX", NULL);
  gchar *tiny = g_build_filename (dir, "tiny-sd21-unclip", NULL);
  gchar *shapes = g_build_filename (dir, "genvideo-shapes", NULL);
  gchar *env_model = g_strdup (g_getenv ("GENVIDEO_MODEL"));
  gchar *path;

  fail_unless (dir != NULL);
  g_setenv ("GENVIDEO_MODELS_DIR", dir, TRUE);
  fail_unless_equals_int (g_mkdir (tiny, 0700), 0);
  path = gst_gen_video_default_model_dir ();
  fail_unless_equals_string (path, tiny);
  g_free (path);
  fail_unless_equals_int (g_mkdir (shapes, 0700), 0);
  path = gst_gen_video_default_model_dir ();
  fail_unless_equals_string (path, shapes);
  g_free (path);

  GstElement *element = gst_element_factory_make ("gvtestclip", NULL);
  GstGenVideoClipFilter *filter = GST_GEN_VIDEO_CLIP_FILTER (element);
  g_unsetenv ("GENVIDEO_MODEL");
  path = gst_gen_video_clip_filter_dup_model_path (filter);
  fail_unless_equals_string (path, shapes);
  g_free (path);
  g_setenv ("GENVIDEO_MODEL", "/from/the/environment", TRUE);
  path = gst_gen_video_clip_filter_dup_model_path (filter);
  fail_unless_equals_string (path, "/from/the/environment");
  g_free (path);
  g_object_set (element, "model", "/from/the/property", NULL);
  path = gst_gen_video_clip_filter_dup_model_path (filter);
  fail_unless_equals_string (path, "/from/the/property");
  g_free (path);
  gst_object_unref (element);

  if (env_model != NULL)
    g_setenv ("GENVIDEO_MODEL", env_model, TRUE);
  else
    g_unsetenv ("GENVIDEO_MODEL");
  g_unsetenv ("GENVIDEO_MODELS_DIR");
  g_rmdir (shapes);
  g_rmdir (tiny);
  g_rmdir (dir);
  g_free (env_model);
  g_free (shapes);
  g_free (tiny);
  g_free (dir);
}
GST_END_TEST;

GST_START_TEST (test_meta_transform)
{
  GvClip *clip = gv_clip_new (4, 16, 16);
  GstBuffer *buffer = gv_test_frame_new (0);
  const GstMetaInfo *info = GST_GEN_VIDEO_CLIP_META_INFO;

  gst_buffer_add_gen_video_clip_meta (buffer, clip, 2);
  gv_clip_unref (clip);

  /* a whole copy keeps it, a part of the frame does not */
  GstBuffer *copy = gst_buffer_copy (buffer);
  GstGenVideoClipMeta *meta = gst_buffer_get_gen_video_clip_meta (copy);
  fail_unless (meta && meta->clip == clip && meta->frame_index == 2 && meta->frame_count == 4);
  gst_buffer_unref (copy);
  copy = gst_buffer_copy_region (buffer, GST_BUFFER_COPY_ALL, 0, 16);
  fail_if (gst_buffer_get_gen_video_clip_meta (copy));
  gst_buffer_unref (copy);

  /* scaling keeps it only at the same size */
  GstVideoInfo in, same, other;
  gst_video_info_set_format (&in, GST_VIDEO_FORMAT_RGBA, 16, 16);
  gst_video_info_set_format (&same, GST_VIDEO_FORMAT_RGB, 16, 16);
  gst_video_info_set_format (&other, GST_VIDEO_FORMAT_RGBA, 32, 16);
  GstVideoMetaTransform scale_same = { &in, &same }, scale_other = { &in, &other };
  GstMeta *m = (GstMeta *) gst_buffer_get_gen_video_clip_meta (buffer);

  copy = gst_buffer_new ();
  fail_unless (info->transform_func (copy, m, buffer, gst_video_meta_transform_scale_get_quark (),
          &scale_same));
  fail_unless (gst_buffer_get_gen_video_clip_meta (copy) != NULL);
  gst_buffer_unref (copy);
  copy = gst_buffer_new ();
  fail_unless (info->transform_func (copy, m, buffer, gst_video_meta_transform_scale_get_quark (),
          &scale_other));
  fail_if (gst_buffer_get_gen_video_clip_meta (copy));
  gst_buffer_unref (copy);

  fail_unless (gst_meta_api_type_has_tag (GST_GEN_VIDEO_CLIP_META_API_TYPE,
          g_quark_from_string (GST_META_TAG_VIDEO_SIZE_STR)));
  gst_buffer_unref (buffer);
}
GST_END_TEST;

static Suite *
clipfilter_suite (void)
{
  Suite *s = suite_create ("clipfilter");
  TCase *tc = tcase_create ("general");

  tcase_add_checked_fixture (tc, reset_state, NULL);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_frames_in_order_with_timing);
  tcase_add_test (tc, test_replaced_frames_keep_timing);
  tcase_add_test (tc, test_partition_13_by_4);
  tcase_add_test (tc, test_clip_object_shape);
  tcase_add_test (tc, test_one_frame_clips);
  tcase_add_test (tc, test_eos_mid_clip);
  tcase_add_test (tc, test_eos_without_frames);
  tcase_add_test (tc, test_segment_mid_clip);
  tcase_add_test (tc, test_event_kept_in_place);
  tcase_add_test (tc, test_caps_change_mid_clip);
  tcase_add_test (tc, test_flush_while_collecting);
  tcase_add_test (tc, test_flush_while_processing);
  tcase_add_test (tc, test_stop_while_processing);
  tcase_add_test (tc, test_stop_while_upstream_blocked);
  tcase_add_test (tc, test_restart_after_stop);
  tcase_add_test (tc, test_process_error);
  tcase_add_test (tc, test_caps_refusal);
  tcase_add_test (tc, test_progress_rate_limit);
  tcase_add_test (tc, test_latency);
  tcase_add_test (tc, test_latency_measured);
  tcase_add_test (tc, test_drain_after_frames);
  tcase_add_test (tc, test_drain_while_stopping);
  tcase_add_test (tc, test_allocation_answered);
  tcase_add_test (tc, test_small_upstream_pool);
  tcase_add_test (tc, test_qos_not_forwarded);
  tcase_add_test (tc, test_downstream_follows_upstream_clips);
  tcase_add_test (tc, test_tee_branches_take_turns);
  tcase_add_test (tc, test_stop_while_waiting_for_clip);
  tcase_add_test (tc, test_foreign_meta_replaced);
  tcase_add_test (tc, test_mutable_ready_property);
  tcase_add_test (tc, test_default_model_lookup);
  tcase_add_test (tc, test_meta_transform);
  return s;
}

int
main (int argc, char **argv)
{
  gst_check_init (&argc, &argv);
  gst_element_register (NULL, "gvtestclip", GST_RANK_NONE, GV_TYPE_TEST_CLIP);
  return gst_check_run_suite (clipfilter_suite (), "clipfilter", __FILE__);
}
