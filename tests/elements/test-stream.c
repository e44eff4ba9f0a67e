/* The three elements on data, computing on the shipped tiny model with few steps: clips,
 * chaining, the meta through queue/tee/videoconvert/videoscale, state changes while working,
 * progress messages, latency, and the README's main job writing a playable file. */
#include <glib/gstdio.h>
#include <string.h>

#include <gst/video/video.h>

#include "gv-element-test.h"

/* each element with settings that keep the compute short on the tiny model */
static const gchar *const fast[] = { GV_TEST_TUNE, GV_TEST_EDIT, GV_TEST_CORRECT };

GST_START_TEST (test_partition_each_element)
{
  for (guint e = 0; e < G_N_ELEMENTS (gv_test_elements); e++) {
    gchar *launch = g_strdup_printf ("%s clip-frames=4", fast[e]);
    GstHarness *h = gst_harness_new_parse (launch);
    gst_harness_set_src_caps_str (h, GV_TEST_CAPS);

    gv_test_push_frames (h, 0, 13);
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    /* latentcorrect writes new frames: only their timing and flags are the input's */
    GstBuffer **frames = e == 2 ? gv_test_pull_frames_timing (h, 0, 13) :
        gv_test_pull_frames (h, 0, 13);
    gv_test_wait_eos (h);
    gv_test_assert_clips (frames, 13, 4);
    fail_unless_equals_int (gst_harness_buffers_in_queue (h), 0);

    gv_test_frames_free (frames, 13);
    gst_harness_teardown (h);
    g_free (launch);
  }
}
GST_END_TEST;

/* The three stages share one clip object per clip: each adds what it knows. */
GST_START_TEST (test_three_chained)
{
  GstHarness *h = gst_harness_new_parse (GV_TEST_TUNE " source-prompt=\"a silver car\" ! "
      GV_TEST_EDIT " target-prompt=\"a red cadillac\" ! " GV_TEST_CORRECT);

  gst_harness_set_src_caps_str (h, GV_TEST_CAPS);
  gv_test_push_frames (h, 0, 19);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  GstBuffer **frames = gv_test_pull_frames_timing (h, 0, 19);
  gv_test_wait_eos (h);
  gv_test_assert_clips (frames, 19, 8);

  for (guint i = 0; i < 19; i += 8) {
    GvClip *clip = gv_test_clip_meta (frames[i])->clip;
    gchar *source = gv_clip_dup_prompt (clip, GV_CLIP_PROMPT_SOURCE);
    gchar *target = gv_clip_dup_prompt (clip, GV_CLIP_PROMPT_TARGET);
    fail_unless_equals_string (source, "a silver car");
    fail_unless_equals_string (target, "a red cadillac");
    g_free (source);
    g_free (target);
  }
  gv_test_frames_free (frames, 19);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* Runs @pipeline to EOS; fails on an error. The genvideo-progress messages on the way go to
 * @progress when it is not NULL. */
static void
run_to_eos (GstElement *pipeline, GPtrArray *progress)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;

  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE);
  while ((msg = gst_bus_timed_pop (bus, 300 * GST_SECOND))) {
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS || GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
      break;
    if (progress && gst_message_has_name (msg, GST_GEN_VIDEO_MESSAGE_PROGRESS))
      g_ptr_array_add (progress, gst_message_ref (msg));
    gst_message_unref (msg);
  }
  fail_unless (msg != NULL, "the pipeline did not finish");
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *error = NULL;
    gchar *debug = NULL;
    gst_message_parse_error (msg, &error, &debug);
    fail ("error from %s: %s (%s)", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), error->message,
        debug);
  }
  gst_message_unref (msg);
  gst_object_unref (bus);
}

static void
collect (GstElement *sink, GstBuffer *buffer, GstPad *pad, gpointer user_data)
{
  g_ptr_array_add (user_data, gst_buffer_ref (buffer));
}

/* Buffers that reach the fakesink @name (signal-handoffs=true); unref the array. */
static GPtrArray *
collect_from (GstElement *pipeline, const gchar *name)
{
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), name);
  GPtrArray *buffers = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);

  fail_unless (sink != NULL);
  g_signal_connect (sink, "handoff", G_CALLBACK (collect), buffers);
  gst_object_unref (sink);
  return buffers;
}

/* The meta travels through queue and tee, and through videoconvert (same size), but not
 * through videoscale (another size: the clip's state no longer fits). */
GST_START_TEST (test_meta_through_queue_tee_convert)
{
  GstElement *pipeline = gst_parse_launch ("videotestsrc num-buffers=10 ! "
      "video/x-raw,format=RGBA,width=64,height=64 ! " GV_TEST_TUNE " clip-frames=5 ! tee name=t "
      "t. ! queue ! fakesink name=plain signal-handoffs=true "
      "t. ! queue ! fakesink name=again signal-handoffs=true "
      "t. ! queue ! videoconvert ! video/x-raw,format=RGB ! "
      "  fakesink name=converted signal-handoffs=true "
      "t. ! queue ! videoscale ! video/x-raw,width=32,height=32 ! "
      "  fakesink name=scaled signal-handoffs=true", NULL);
  GPtrArray *plain = collect_from (pipeline, "plain");
  GPtrArray *again = collect_from (pipeline, "again");
  GPtrArray *converted = collect_from (pipeline, "converted");
  GPtrArray *scaled = collect_from (pipeline, "scaled");

  run_to_eos (pipeline, NULL);
  gv_test_stop (pipeline);

  fail_unless_equals_int (plain->len, 10);
  fail_unless_equals_int (again->len, 10);
  fail_unless_equals_int (converted->len, 10);
  fail_unless_equals_int (scaled->len, 10);
  gv_test_assert_clips ((GstBuffer **) plain->pdata, 10, 5);
  gv_test_assert_clips ((GstBuffer **) converted->pdata, 10, 5);
  for (guint i = 0; i < 10; i++) {
    GvClip *clip = gv_test_clip_meta (plain->pdata[i])->clip;
    fail_unless (gv_test_clip_meta (again->pdata[i])->clip == clip);
    fail_unless (gv_test_clip_meta (converted->pdata[i])->clip == clip);
    fail_unless (gv_test_clip_meta (scaled->pdata[i]) == NULL);
  }
  g_ptr_array_unref (plain);
  g_ptr_array_unref (again);
  g_ptr_array_unref (converted);
  g_ptr_array_unref (scaled);
}
GST_END_TEST;

/* Every element through the states several times with data flowing: processing is
 * cancelled and restarted without deadlock or leak. */
GST_START_TEST (test_states_with_data)
{
  for (guint e = 0; e < G_N_ELEMENTS (gv_test_elements); e++) {
    gchar *launch = g_strdup_printf ("videotestsrc is-live=true ! "
        "video/x-raw,format=RGB,width=32,height=32,framerate=100/1 ! %s clip-frames=3 ! "
        "fakesink sync=false", fast[e]);
    GstElement *pipeline = gst_parse_launch (launch, NULL);
    for (guint round = 0; round < 3; round++) {
      for (guint s = 0; s < G_N_ELEMENTS (gv_test_state_cycle); s++) {
        fail_if (gst_element_set_state (pipeline, gv_test_state_cycle[s]) ==
            GST_STATE_CHANGE_FAILURE);
        fail_if (gst_element_get_state (pipeline, NULL, NULL, GST_CLOCK_TIME_NONE)
            == GST_STATE_CHANGE_FAILURE);
      }
    }
    gst_object_unref (pipeline);
    g_free (launch);
  }
}
GST_END_TEST;

/* the main job's pipeline, with fewer steps and smaller frames */
static const gchar *main_job =
    "videotestsrc pattern=ball num-buffers=24 ! video/x-raw,width=64,height=64 ! "
    "videoconvert ! " GV_TEST_TUNE " name=tune ! " GV_TEST_EDIT " name=edit ! "
    GV_TEST_CORRECT " name=correct ! videoconvert ! ";

/* Every stage reports each clip's progress, up to 100 %, on the bus. */
GST_START_TEST (test_progress_messages)
{
  gchar *launch = g_strconcat (main_job, "fakesink", NULL);
  GstElement *pipeline = gst_parse_launch (launch, NULL);
  GPtrArray *messages = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_message_unref);

  run_to_eos (pipeline, messages);
  /* the stages each element goes through for every clip, in order */
  static const gchar *const stages[3][2] = {
    { "encoding", NULL }, { "inversion", "masks" }, { "sampling", "decoding" }
  };
  guint finished[3][2] = { { 0 } };
  guint64 last_clip[3][2] = { { 0 } };
  for (guint m = 0; m < messages->len; m++) {
    GstMessage *msg = messages->pdata[m];
    const GstStructure *s = gst_message_get_structure (msg);
    const gchar *name = GST_OBJECT_NAME (GST_MESSAGE_SRC (msg));
    guint el = g_str_equal (name, "tune") ? 0 : g_str_equal (name, "edit") ? 1 : 2;
    const gchar *stage = gst_structure_get_string (s, GST_GEN_VIDEO_FIELD_STAGE);
    guint current, total;
    gint percent;
    guint64 clip_id;

    fail_unless (stage != NULL);
    fail_unless (gst_structure_get (s, GST_GEN_VIDEO_FIELD_CURRENT, G_TYPE_UINT, &current,
            GST_GEN_VIDEO_FIELD_TOTAL, G_TYPE_UINT, &total, GST_GEN_VIDEO_FIELD_PERCENT,
            G_TYPE_INT, &percent, GST_GEN_VIDEO_FIELD_CLIP_ID, G_TYPE_UINT64, &clip_id, NULL));
    fail_unless (current <= total && percent >= 0 && percent <= 100 && clip_id > 0);
    guint k = g_strcmp0 (stage, stages[el][0]) == 0 ? 0 : 1;
    fail_unless_equals_string (stage, stages[el][k]);
    if (current == total) {
      fail_unless_equals_int (percent, 100);
      fail_unless (clip_id > last_clip[el][k]);
      last_clip[el][k] = clip_id;
      finished[el][k]++;
    }
  }
  /* 24 frames in clips of 8 */
  for (guint el = 0; el < 3; el++)
    for (guint k = 0; k < 2; k++)
      fail_unless_equals_int (finished[el][k], stages[el][k] ? 3 : 0);

  g_ptr_array_unref (messages);
  gv_test_stop (pipeline);
  g_free (launch);
}
GST_END_TEST;

/* In a live pipeline each stage adds its clip's duration and the time it took to process a
 * clip (measured by now) to the latency. */
GST_START_TEST (test_latency_live)
{
  GstElement *pipeline = gst_parse_launch ("videotestsrc is-live=true num-buffers=8 ! "
      "video/x-raw,format=RGBA,width=64,height=64,framerate=25/1 ! "
      GV_TEST_TUNE " clip-frames=4 ! " GV_TEST_CORRECT " name=correct clip-frames=4 ! fakesink",
      NULL);
  GstElement *correct = gst_bin_get_by_name (GST_BIN (pipeline), "correct");
  GstPad *src = gst_element_get_static_pad (correct, "src");
  GstQuery *query = gst_query_new_latency ();
  GstClockTime min, max;
  gboolean live;

  run_to_eos (pipeline, NULL);
  fail_unless (gst_pad_query (src, query));
  gst_query_parse_latency (query, &live, &min, &max);
  fail_unless (live);
  /* videotestsrc: one frame; each stage: four, and its processing time */
  fail_unless (min > 9 * (GST_SECOND / 25), "min latency %" GST_TIME_FORMAT,
      GST_TIME_ARGS (min));
  fail_unless (max >= min);
  gst_query_unref (query);
  gst_object_unref (src);
  gst_object_unref (correct);
  gv_test_stop (pipeline);
}
GST_END_TEST;

/* A size the model cannot take is scaled by videoscale to one it can: the caps say multiples
 * of 8, so videoscale picks one by itself (250 -> 248). */
GST_START_TEST (test_videoscale_picks_valid_size)
{
  GstElement *pipeline = gst_parse_launch ("videotestsrc num-buffers=2 ! "
      "video/x-raw,width=250,height=250 ! videoscale ! " GV_TEST_TUNE " ! "
      "fakesink name=out signal-handoffs=true", NULL);
  GstElement *out = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  GstPad *pad = gst_element_get_static_pad (out, "sink");
  GPtrArray *frames = collect_from (pipeline, "out");

  run_to_eos (pipeline, NULL);
  fail_unless_equals_int (frames->len, 2);
  GstCaps *caps = gst_pad_get_current_caps (pad);
  GstVideoInfo info;
  fail_unless (gst_video_info_from_caps (&info, caps));
  fail_unless (GST_VIDEO_INFO_WIDTH (&info) % 8 == 0 && GST_VIDEO_INFO_HEIGHT (&info) % 8 == 0);
  fail_unless (ABS (GST_VIDEO_INFO_WIDTH (&info) - 250) < 8, "%d", GST_VIDEO_INFO_WIDTH (&info));
  gst_caps_unref (caps);
  gst_object_unref (pad);
  gst_object_unref (out);
  g_ptr_array_unref (frames);
  gv_test_stop (pipeline);
}
GST_END_TEST;

/* The README's main job: it writes a WebM file that decodes to the 24 frames. */
GST_START_TEST (test_main_job_writes_playable_file)
{
  gchar *dir = g_dir_make_tmp ("genvideo-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, "out.webm", NULL);
  gchar *launch = g_strdup_printf ("%s vp8enc ! webmmux ! filesink location=\"%s\"", main_job,
      path);
  GstElement *pipeline = gst_parse_launch (launch, NULL);

  run_to_eos (pipeline, NULL);
  gv_test_stop (pipeline);
  g_free (launch);

  launch = g_strdup_printf ("filesrc location=\"%s\" ! matroskademux ! vp8dec ! "
      "fakesink name=out signal-handoffs=true", path);
  pipeline = gst_parse_launch (launch, NULL);
  GPtrArray *frames = collect_from (pipeline, "out");
  run_to_eos (pipeline, NULL);
  gv_test_stop (pipeline);
  fail_unless_equals_int (frames->len, 24);

  g_ptr_array_unref (frames);
  g_unlink (path);
  g_rmdir (dir);
  g_free (launch);
  g_free (path);
  g_free (dir);
}
GST_END_TEST;

/* The main job's side-by-side video (tests/main-job.sh): a tee of the source before the
 * stages and the two branches after invedit meet again in a compositor; every frame comes out,
 * with the masks (black and white) in the middle panel. One clip: the topology is the point. */
GST_START_TEST (test_main_job_side_by_side)
{
#define UNBOUNDED "queue max-size-buffers=0 max-size-time=0 max-size-bytes=0"
  GstElement *pipeline = gst_parse_launch ("videotestsrc pattern=ball num-buffers=8 ! "
      "video/x-raw,format=RGB,width=64,height=64,framerate=25/1 ! tee name=source "
      "source. ! " UNBOUNDED " ! " GV_TEST_TUNE " ! " GV_TEST_EDIT " ! tee name=t "
      "t. ! " UNBOUNDED " ! " GV_TEST_CORRECT " ! videoconvert ! mix.sink_2 "
      "t. ! " UNBOUNDED " ! invedit output=masks ! videoconvert ! mix.sink_1 "
      "source. ! " UNBOUNDED " ! videoconvert ! mix.sink_0 "
      "compositor name=mix sink_1::xpos=64 sink_2::xpos=128 ! "
      "video/x-raw,format=RGB,width=192,height=64 ! fakesink name=out signal-handoffs=true",
      NULL);
#undef UNBOUNDED
  GPtrArray *frames = collect_from (pipeline, "out");

  run_to_eos (pipeline, NULL);
  gv_test_stop (pipeline);
  fail_unless_equals_int (frames->len, 8);
  GstVideoInfo info;
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 192, 64);
  for (guint i = 0; i < frames->len; i++) {
    GstVideoFrame frame;
    fail_unless (gst_video_frame_map (&frame, &info, frames->pdata[i], GST_MAP_READ));
    for (gint y = 0; y < 64; y++) {
      const guint8 *row = (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0) +
          (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);
      for (gint x = 64 * 3; x < 128 * 3; x++)
        fail_unless (row[x] <= 2 || row[x] >= 253, "frame %u, mask pixel (%d, %d) is %d", i,
            x / 3 - 64, y, row[x]);
    }
    gst_video_frame_unmap (&frame);
  }
  g_ptr_array_unref (frames);
}
GST_END_TEST;

static Suite *
stream_suite (void)
{
  Suite *s = suite_create ("genvideo-stream");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_partition_each_element);
  tcase_add_test (tc, test_three_chained);
  tcase_add_test (tc, test_meta_through_queue_tee_convert);
  tcase_add_test (tc, test_states_with_data);
  tcase_add_test (tc, test_progress_messages);
  tcase_add_test (tc, test_latency_live);
  tcase_add_test (tc, test_videoscale_picks_valid_size);
  tcase_add_test (tc, test_main_job_writes_playable_file);
  tcase_add_test (tc, test_main_job_side_by_side);
  return s;
}

GST_CHECK_MAIN (stream);
