/* The three elements as GStreamer loads them from the build folder: properties, clips,
 * chaining, the meta through queue/tee/videoconvert/videoscale, caps refusal, states,
 * progress messages, latency, and the README's main job writing a playable file. */
#include <glib/gstdio.h>
#include <string.h>

#include "gv-element-test.h"

static const gchar *const elements[] = { "genvideotune", "invedit", "latentcorrect" };
/* each element with settings that keep the compute short on the tiny model */
static const gchar *const fast[] = { GVT_TUNE, GVT_EDIT, GVT_CORRECT };

typedef struct {
  const gchar *element;         /* NULL: all three */
  const gchar *name;
  const gchar *def;             /* serialized default; NULL for a NULL string */
  gboolean mutable_ready;
} PropertySpec;

static const PropertySpec properties[] = {
  { NULL, "clip-frames", "8", FALSE },
  { NULL, "model", NULL, TRUE },
  { NULL, "device-index", "-1", TRUE },
  { NULL, "seed", "0", FALSE },
  { "genvideotune", "source-prompt", NULL, FALSE },
  { "genvideotune", "steps", "300", FALSE },
  { "genvideotune", "learning-rate", "3e-5", FALSE },
  { "genvideotune", "tuned-location", NULL, TRUE },
  { "invedit", "target-prompt", NULL, FALSE },
  { "invedit", "target-location", NULL, FALSE },
  { "invedit", "target-mask-location", NULL, FALSE },
  { "invedit", "inversion-steps", "50", FALSE },
  { "invedit", "guidance-scale", "7.5", FALSE },
  { "invedit", "mask-threshold", "0.5", FALSE },
  { "invedit", "mask-dilation", "0", FALSE },
  { "invedit", "output", "frames", TRUE },
  { "latentcorrect", "steps", "50", FALSE },
  { "latentcorrect", "guidance-scale", "7.5", FALSE },
  { "latentcorrect", "correction-steps", "5", FALSE },
  { "latentcorrect", "weight-prev", "0.25", FALSE },
  { "latentcorrect", "weight-current", "0.5", FALSE },
  { "latentcorrect", "weight-next", "0.25", FALSE },
  { "latentcorrect", "search-radius", "0", FALSE },
  { "latentcorrect", "preserve-background", "true", FALSE },
};

static void
assert_property (GstElement *element, const PropertySpec *spec)
{
  const gchar *factory = GST_OBJECT_NAME (gst_element_get_factory (element));
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (element), spec->name);

  fail_unless (pspec != NULL, "%s has no property %s", factory, spec->name);
  fail_unless (strlen (g_param_spec_get_blurb (pspec)) > 30, "%s:%s needs a real blurb",
      factory, spec->name);
  fail_unless (pspec->flags & G_PARAM_READWRITE);
  fail_unless_equals_int (! !(pspec->flags & GST_PARAM_MUTABLE_READY), spec->mutable_ready);
  if (!spec->mutable_ready)
    fail_unless (pspec->flags & GST_PARAM_MUTABLE_PLAYING, "%s:%s", factory, spec->name);

  const GValue *def = g_param_spec_get_default_value (pspec);
  if (G_PARAM_SPEC_VALUE_TYPE (pspec) == G_TYPE_STRING) {
    fail_unless (spec->def == NULL && g_value_get_string (def) == NULL);
    return;
  }
  GValue expected = G_VALUE_INIT;
  g_value_init (&expected, G_PARAM_SPEC_VALUE_TYPE (pspec));
  fail_unless (gst_value_deserialize (&expected, spec->def));
  fail_unless (gst_value_compare (def, &expected) == GST_VALUE_EQUAL, "%s:%s default",
      factory, spec->name);

  /* and a new element has it */
  GValue now = G_VALUE_INIT;
  g_value_init (&now, G_PARAM_SPEC_VALUE_TYPE (pspec));
  g_object_get_property (G_OBJECT (element), spec->name, &now);
  fail_unless (gst_value_compare (&now, &expected) == GST_VALUE_EQUAL);
  g_value_unset (&now);
  g_value_unset (&expected);
}

GST_START_TEST (test_plugin_from_build_folder)
{
  GstPlugin *plugin = gst_registry_find_plugin (gst_registry_get (), "genvideo");

  fail_unless (plugin != NULL);
  const gchar *path = g_getenv ("GST_PLUGIN_PATH");
  fail_unless (path && g_str_has_prefix (gst_plugin_get_filename (plugin), path),
      "%s is not the build's plugin", gst_plugin_get_filename (plugin));
  gst_object_unref (plugin);

  for (guint e = 0; e < G_N_ELEMENTS (elements); e++) {
    GstElementFactory *factory = gst_element_factory_find (elements[e]);
    fail_unless (factory != NULL, "no %s", elements[e]);
    fail_unless_equals_string (gst_element_factory_get_metadata (factory,
            GST_ELEMENT_METADATA_KLASS), "Filter/Effect/Video");
    /* sink and src; invedit also takes its target image on a pad */
    fail_unless_equals_int (gst_element_factory_get_num_pad_templates (factory),
        g_str_equal (elements[e], "invedit") ? 3 : 2);
    gst_object_unref (factory);
  }
}
GST_END_TEST;

GST_START_TEST (test_properties)
{
  for (guint e = 0; e < G_N_ELEMENTS (elements); e++) {
    GstElement *element = gst_element_factory_make (elements[e], NULL);
    guint n = 0;
    for (guint p = 0; p < G_N_ELEMENTS (properties); p++) {
      if (properties[p].element && strcmp (properties[p].element, elements[e]) != 0)
        continue;
      assert_property (element, &properties[p]);
      n++;
    }
    /* nothing undocumented: name and parent come from GstObject */
    guint n_all;
    g_free (g_object_class_list_properties (G_OBJECT_GET_CLASS (element), &n_all));
    fail_unless_equals_int (n_all, n + 2);
    gst_object_unref (element);
  }
}
GST_END_TEST;

GST_START_TEST (test_partition_each_element)
{
  for (guint e = 0; e < G_N_ELEMENTS (elements); e++) {
    gchar *launch = g_strdup_printf ("%s clip-frames=4", fast[e]);
    GstHarness *h = gst_harness_new_parse (launch);
    gst_harness_set_src_caps_str (h, GVT_CAPS);

    gvt_push_frames (h, 0, 13);
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    /* latentcorrect writes new frames: only their timing and flags are the input's */
    GstBuffer **frames = e == 2 ? gvt_pull_frames_timing (h, 0, 13) : gvt_pull_frames (h, 0, 13);
    gvt_wait_eos (h);
    gvt_assert_clips (frames, 13, 4);
    fail_unless_equals_int (gst_harness_buffers_in_queue (h), 0);

    gvt_frames_free (frames, 13);
    gst_harness_teardown (h);
    g_free (launch);
  }
}
GST_END_TEST;

/* The three stages share one clip object per clip: each adds what it knows. */
GST_START_TEST (test_three_chained)
{
  GstHarness *h = gst_harness_new_parse (GVT_TUNE " source-prompt=\"a silver car\" ! "
      GVT_EDIT " target-prompt=\"a red cadillac\" ! " GVT_CORRECT);

  gst_harness_set_src_caps_str (h, GVT_CAPS);
  gvt_push_frames (h, 0, 19);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  GstBuffer **frames = gvt_pull_frames_timing (h, 0, 19);
  gvt_wait_eos (h);
  gvt_assert_clips (frames, 19, 8);

  for (guint i = 0; i < 19; i += 8) {
    GvClip *clip = gvt_clip_meta (frames[i])->clip;
    gchar *source = gv_clip_dup_prompt (clip, GV_CLIP_PROMPT_SOURCE);
    gchar *target = gv_clip_dup_prompt (clip, GV_CLIP_PROMPT_TARGET);
    fail_unless_equals_string (source, "a silver car");
    fail_unless_equals_string (target, "a red cadillac");
    g_free (source);
    g_free (target);
  }
  gvt_frames_free (frames, 19);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* Runs @pipeline to EOS; fails on an error. The "progress" messages on the way go to
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
    if (progress && gst_message_has_name (msg, "progress"))
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
stop (GstElement *pipeline)
{
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (pipeline);
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
      "video/x-raw,format=RGBA,width=64,height=64 ! " GVT_TUNE " clip-frames=5 ! tee name=t "
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
  stop (pipeline);

  fail_unless_equals_int (plain->len, 10);
  fail_unless_equals_int (again->len, 10);
  fail_unless_equals_int (converted->len, 10);
  fail_unless_equals_int (scaled->len, 10);
  gvt_assert_clips ((GstBuffer **) plain->pdata, 10, 5);
  gvt_assert_clips ((GstBuffer **) converted->pdata, 10, 5);
  for (guint i = 0; i < 10; i++) {
    GvClip *clip = gvt_clip_meta (plain->pdata[i])->clip;
    fail_unless (gvt_clip_meta (again->pdata[i])->clip == clip);
    fail_unless (gvt_clip_meta (converted->pdata[i])->clip == clip);
    fail_unless (gvt_clip_meta (scaled->pdata[i]) == NULL);
  }
  g_ptr_array_unref (plain);
  g_ptr_array_unref (again);
  g_ptr_array_unref (converted);
  g_ptr_array_unref (scaled);
}
GST_END_TEST;

GST_START_TEST (test_odd_size_refused)
{
  for (guint e = 0; e < G_N_ELEMENTS (elements); e++) {
    gchar *launch = g_strdup_printf ("videotestsrc num-buffers=2 ! "
        "video/x-raw,format=RGBA,width=250,height=256 ! %s name=el ! fakesink", elements[e]);
    GstElement *pipeline = gst_parse_launch (launch, NULL);
    GstBus *bus = gst_element_get_bus (pipeline);
    GstElement *el = gst_bin_get_by_name (GST_BIN (pipeline), "el");

    gst_element_set_state (pipeline, GST_STATE_PLAYING);
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, 300 * GST_SECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR);
    /* the first error is ours, and says why */
    fail_unless (GST_MESSAGE_SRC (msg) == GST_OBJECT (el), "error from %s",
        GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)));
    GError *error = NULL;
    gst_message_parse_error (msg, &error, NULL);
    fail_unless (g_error_matches (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT));
    fail_unless (strstr (error->message, "multiples of 8") != NULL, "%s", error->message);
    fail_unless (strstr (error->message, "250x256") != NULL, "%s", error->message);

    g_clear_error (&error);
    gst_message_unref (msg);
    gst_object_unref (el);
    gst_object_unref (bus);
    stop (pipeline);
    g_free (launch);
  }
}
GST_END_TEST;

/* Every element through NULL, READY, PAUSED, PLAYING and back, several times, alone and with
 * data flowing. */
GST_START_TEST (test_states)
{
  static const GstState cycle[] = { GST_STATE_READY, GST_STATE_PAUSED, GST_STATE_PLAYING,
    GST_STATE_PAUSED, GST_STATE_READY, GST_STATE_NULL, GST_STATE_PLAYING, GST_STATE_NULL,
    GST_STATE_PAUSED, GST_STATE_NULL };

  for (guint e = 0; e < G_N_ELEMENTS (elements); e++) {
    GstElement *element = gst_element_factory_make (elements[e], NULL);
    for (guint round = 0; round < 3; round++) {
      for (guint s = 0; s < G_N_ELEMENTS (cycle); s++)
        fail_if (gst_element_set_state (element, cycle[s]) == GST_STATE_CHANGE_FAILURE,
            "%s to %s", elements[e], gst_element_state_get_name (cycle[s]));
    }
    gst_object_unref (element);

    gchar *launch = g_strdup_printf ("videotestsrc is-live=true ! "
        "video/x-raw,format=RGB,width=32,height=32,framerate=100/1 ! %s clip-frames=3 ! "
        "fakesink sync=false", fast[e]);
    GstElement *pipeline = gst_parse_launch (launch, NULL);
    for (guint round = 0; round < 3; round++) {
      for (guint s = 0; s < G_N_ELEMENTS (cycle); s++) {
        fail_if (gst_element_set_state (pipeline, cycle[s]) == GST_STATE_CHANGE_FAILURE);
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
    "videoconvert ! " GVT_TUNE " name=tune ! " GVT_EDIT " name=edit ! "
    GVT_CORRECT " name=correct ! videoconvert ! ";

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
    const gchar *stage = gst_structure_get_string (s, "stage");
    guint current, total;
    gint percent;
    guint64 clip_id;

    fail_unless (stage != NULL);
    fail_unless (gst_structure_get (s, "current", G_TYPE_UINT, &current, "total", G_TYPE_UINT,
            &total, "percent", G_TYPE_INT, &percent, "clip-id", G_TYPE_UINT64, &clip_id, NULL));
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
  stop (pipeline);
  g_free (launch);
}
GST_END_TEST;

/* In a live pipeline each stage adds its clip's duration to the latency. */
GST_START_TEST (test_latency_live)
{
  GstElement *pipeline = gst_parse_launch ("videotestsrc is-live=true num-buffers=8 ! "
      "video/x-raw,format=RGBA,width=64,height=64,framerate=25/1 ! "
      GVT_TUNE " clip-frames=4 ! " GVT_CORRECT " name=correct clip-frames=4 ! fakesink", NULL);
  GstElement *correct = gst_bin_get_by_name (GST_BIN (pipeline), "correct");
  GstPad *src = gst_element_get_static_pad (correct, "src");
  GstQuery *query = gst_query_new_latency ();
  GstClockTime min, max;
  gboolean live;

  run_to_eos (pipeline, NULL);
  fail_unless (gst_pad_query (src, query));
  gst_query_parse_latency (query, &live, &min, &max);
  fail_unless (live);
  /* videotestsrc: one frame; each stage: four */
  fail_unless_equals_uint64 (min, 9 * (GST_SECOND / 25));
  gst_query_unref (query);
  gst_object_unref (src);
  gst_object_unref (correct);
  stop (pipeline);
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
  stop (pipeline);
  g_free (launch);

  launch = g_strdup_printf ("filesrc location=\"%s\" ! matroskademux ! vp8dec ! "
      "fakesink name=out signal-handoffs=true", path);
  pipeline = gst_parse_launch (launch, NULL);
  GPtrArray *frames = collect_from (pipeline, "out");
  run_to_eos (pipeline, NULL);
  stop (pipeline);
  fail_unless_equals_int (frames->len, 24);

  g_ptr_array_unref (frames);
  g_unlink (path);
  g_rmdir (dir);
  g_free (launch);
  g_free (path);
  g_free (dir);
}
GST_END_TEST;

static Suite *
plugin_suite (void)
{
  Suite *s = suite_create ("genvideo");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_plugin_from_build_folder);
  tcase_add_test (tc, test_properties);
  tcase_add_test (tc, test_partition_each_element);
  tcase_add_test (tc, test_three_chained);
  tcase_add_test (tc, test_meta_through_queue_tee_convert);
  tcase_add_test (tc, test_odd_size_refused);
  tcase_add_test (tc, test_states);
  tcase_add_test (tc, test_progress_messages);
  tcase_add_test (tc, test_latency_live);
  tcase_add_test (tc, test_main_job_writes_playable_file);
  return s;
}

GST_CHECK_MAIN (plugin);
