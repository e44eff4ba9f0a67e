/* The three elements as GStreamer loads them from the build folder, without computing:
 * registration, properties, caps refusal, state changes. (test-stream runs them on data.) */
#include <glib/gstdio.h>
#include <string.h>

#include "gv-element-test.h"

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
  { "genvideotune", "recompute", "false", FALSE },
  { "invedit", "target-prompt", NULL, FALSE },
  { "invedit", "target-location", NULL, FALSE },
  { "invedit", "target-mask-location", NULL, FALSE },
  { "invedit", "inversion-steps", "50", FALSE },
  { "invedit", "guidance-scale", "0", FALSE },
  { "invedit", "mask-threshold", "0.5", FALSE },
  { "invedit", "mask-dilation", "0", FALSE },
  { "invedit", "output", "frames", TRUE },
  { "invedit", "mask-location", NULL, FALSE },
  { "invedit", "mask-start-index", "0", FALSE },
  { "latentcorrect", "steps", "50", FALSE },
  { "latentcorrect", "guidance-scale", "0", FALSE },
  { "latentcorrect", "correction-steps", "5", FALSE },
  { "latentcorrect", "weight-prev", "0.25", FALSE },
  { "latentcorrect", "weight-current", "0.5", FALSE },
  { "latentcorrect", "weight-next", "0.25", FALSE },
  { "latentcorrect", "search-radius", "0", FALSE },
  { "latentcorrect", "correction-space", "predictions", FALSE },
  { "latentcorrect", "preserve-background", "true", FALSE },
  { "latentcorrect", "pixel-background", "true", FALSE },
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

  for (guint e = 0; e < G_N_ELEMENTS (gv_test_elements); e++) {
    GstElementFactory *factory = gst_element_factory_find (gv_test_elements[e]);
    fail_unless (factory != NULL, "no %s", gv_test_elements[e]);
    fail_unless_equals_string (gst_element_factory_get_metadata (factory,
            GST_ELEMENT_METADATA_KLASS), "Filter/Effect/Video");
    /* sink and src; invedit also takes its target image and its masks on pads */
    fail_unless_equals_int (gst_element_factory_get_num_pad_templates (factory),
        g_str_equal (gv_test_elements[e], "invedit") ? 4 : 2);
    gst_object_unref (factory);
  }
}
GST_END_TEST;

GST_START_TEST (test_properties)
{
  for (guint e = 0; e < G_N_ELEMENTS (gv_test_elements); e++) {
    GstElement *element = gst_element_factory_make (gv_test_elements[e], NULL);
    guint n = 0;
    for (guint p = 0; p < G_N_ELEMENTS (properties); p++) {
      if (properties[p].element && strcmp (properties[p].element, gv_test_elements[e]) != 0)
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

/* The error that building @launch gives: the caps of the filter and the element do not
 * intersect, so the two cannot be linked (with the old template they were, and ran). */
static void
assert_cannot_link (const gchar *launch)
{
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch_full (launch, NULL, GST_PARSE_FLAG_FATAL_ERRORS,
      &error);

  fail_unless (pipeline == NULL, "%s was built", launch);
  fail_unless (g_error_matches (error, GST_PARSE_ERROR, GST_PARSE_ERROR_LINK), "%s: %s",
      launch, error ? error->message : "");
  g_clear_error (&error);
}

/* Caps sent to @element without negotiation (a caps event straight to its sink pad): refused,
 * with an error from the element that has @part. */
static void
assert_caps_event_refused (const gchar *element, const gchar *caps_str, const gchar *part)
{
  GstHarness *h = gst_harness_new (element);
  GstBus *bus = gst_bus_new ();
  GstPad *sink = gst_element_get_static_pad (h->element, "sink");

  gst_element_set_bus (h->element, bus);
  gst_harness_play (h);
  GstCaps *caps = gst_caps_from_string (caps_str);
  fail_if (gst_pad_send_event (sink, gst_event_new_caps (caps)), "%s took %s", element,
      caps_str);
  gst_caps_unref (caps);
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "%s: no error", element);
  fail_unless (GST_MESSAGE_SRC (msg) == GST_OBJECT (h->element));
  GError *error = NULL;
  gst_message_parse_error (msg, &error, NULL);
  fail_unless (g_error_matches (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT));
  fail_unless (strstr (error->message, part) != NULL, "%s: %s", element, error->message);
  g_clear_error (&error);
  gst_message_unref (msg);
  gst_object_unref (sink);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

/* Sizes that are no multiple of 8: the caps refuse them, so a pipeline that forces one cannot
 * link (with videoscale in front, it picks a valid size: test-stream); caps that
 * arrive without negotiation get the element's own error, which says why. */
GST_START_TEST (test_odd_size_refused)
{
  for (guint e = 0; e < G_N_ELEMENTS (gv_test_elements); e++) {
    gchar *launch = g_strdup_printf ("videotestsrc num-buffers=2 ! "
        "video/x-raw,format=RGBA,width=250,height=256 ! %s ! fakesink", gv_test_elements[e]);
    assert_cannot_link (launch);
    g_free (launch);

    assert_caps_event_refused (gv_test_elements[e],
        "video/x-raw,format=RGBA,width=250,height=256,framerate=25/1", "multiples of 8");
    assert_caps_event_refused (gv_test_elements[e],
        "video/x-raw,format=RGBA,width=250,height=256,framerate=25/1", "250x256");
  }
}
GST_END_TEST;

/* Interlaced frames are refused in the caps: a source forced to make them cannot link, and
 * caps that arrive without negotiation get an error that says to deinterlace. */
GST_START_TEST (test_interlaced_refused)
{
  for (guint e = 0; e < G_N_ELEMENTS (gv_test_elements); e++) {
    gchar *launch = g_strdup_printf ("videotestsrc num-buffers=2 ! "
        "video/x-raw,format=RGBA,width=64,height=64,interlace-mode=interleaved ! %s ! "
        "fakesink", gv_test_elements[e]);
    assert_cannot_link (launch);
    g_free (launch);

    assert_caps_event_refused (gv_test_elements[e],
        "video/x-raw,format=RGBA,width=64,height=64,framerate=25/1,interlace-mode=mixed",
        "deinterlace");
  }
}
GST_END_TEST;

/* Every element through NULL, READY, PAUSED, PLAYING and back, several times. */
GST_START_TEST (test_states)
{
  for (guint e = 0; e < G_N_ELEMENTS (gv_test_elements); e++) {
    GstElement *element = gst_element_factory_make (gv_test_elements[e], NULL);
    for (guint round = 0; round < 3; round++) {
      for (guint s = 0; s < G_N_ELEMENTS (gv_test_state_cycle); s++)
        fail_if (gst_element_set_state (element, gv_test_state_cycle[s]) ==
            GST_STATE_CHANGE_FAILURE, "%s to %s", gv_test_elements[e],
            gst_element_state_get_name (gv_test_state_cycle[s]));
    }
    gst_object_unref (element);
  }
}
GST_END_TEST;

static GstPadProbeReturn
count_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  g_atomic_int_inc ((gint *) data);
  return GST_PAD_PROBE_OK;
}

/* Asserts that a state change to PLAYING fails in @el itself with a RESOURCE error naming
 * @what, and that no buffer reached it. */
static void
assert_start_fails (GstElement *pipeline, GstElement *el, const gint *buffers, const gchar *what)
{
  GstBus *bus = gst_element_get_bus (pipeline);

  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_PLAYING),
      GST_STATE_CHANGE_FAILURE);
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error posted at the state change");
  fail_unless (GST_MESSAGE_SRC (msg) == GST_OBJECT (el), "error from %s",
      GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)));
  GError *error = NULL;
  gchar *debug = NULL;
  gst_message_parse_error (msg, &error, &debug);
  fail_unless (error->domain == GST_RESOURCE_ERROR, "%s", error->message);
  fail_unless (strstr (debug, what) != NULL, "%s / %s", error->message, debug);
  fail_unless_equals_int (g_atomic_int_get (buffers), 0);
  g_clear_error (&error);
  g_free (debug);
  gst_message_unref (msg);
  gst_object_unref (bus);
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
}

/* A wrong model is an error at READY->PAUSED, before any frame (a live source that never
 * fills a clip would otherwise hide it), and a model set in READY is the one the next start
 * loads. */
GST_START_TEST (test_wrong_model_fails_at_start)
{
  for (guint e = 0; e < G_N_ELEMENTS (gv_test_elements); e++) {
    gchar *launch = g_strdup_printf ("videotestsrc is-live=true num-buffers=2 ! "
        "video/x-raw,format=RGBA,width=64,height=64 ! %s name=el clip-frames=100 "
        "model=/nonexistent ! fakesink", gv_test_elements[e]);
    GstElement *pipeline = gst_parse_launch (launch, NULL);
    GstElement *el = gst_bin_get_by_name (GST_BIN (pipeline), "el");
    GstPad *sinkpad = gst_element_get_static_pad (el, "sink");
    gint buffers = 0;
    gst_pad_add_probe (sinkpad, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, &buffers, NULL);

    assert_start_fails (pipeline, el, &buffers, "/nonexistent");

    /* the default model (GENVIDEO_MODEL) from the next start on */
    g_object_set (el, "model", NULL, NULL);
    fail_if (gst_element_set_state (pipeline, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE);
    fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_READY),
        GST_STATE_CHANGE_SUCCESS);
    /* and a wrong one again, set in READY */
    gchar *missing = g_build_filename (g_get_tmp_dir (), "genvideo-no-such-model", NULL);
    g_object_set (el, "model", missing, NULL);
    assert_start_fails (pipeline, el, &buffers, missing);

    g_free (missing);
    gst_object_unref (sinkpad);
    gst_object_unref (el);
    gst_object_unref (pipeline);
    g_free (launch);
  }
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
  tcase_add_test (tc, test_odd_size_refused);
  tcase_add_test (tc, test_interlaced_refused);
  tcase_add_test (tc, test_states);
  tcase_add_test (tc, test_wrong_model_fails_at_start);
  return s;
}

GST_CHECK_MAIN (plugin);
