/* An application that opens the Vulkan device itself and hands it to the genvideo elements
 * through GstContext ("gst.genvideo.device"), so that they compute on it and the application
 * can use the same device (its own compute, or another pipeline) without a second one.
 *
 *   device-context [DEVICE-INDEX]
 *
 * Builds against the installed library: cc device-context.c $(pkg-config --cflags --libs
 * gstreamer-genvideo-1.0). Exit status 0 when the element answered a context query with the
 * application's device after a clip went through. */
#include <stdlib.h>

#include <gst/gst.h>
#include <gstgenvideodevice.h>

int
main (int argc, char **argv)
{
  GError *error = NULL;

  gst_init (&argc, &argv);
  GvDevice *device = gv_device_new (argc > 1 ? atoi (argv[1]) : -1, &error);
  if (device == NULL) {
    g_printerr ("no device: %s\n", error->message);
    return 1;
  }
  g_print ("application's device: %s\n", gv_device_get_name (device));

  GstElement *pipeline = gst_parse_launch ("videotestsrc num-buffers=2 ! "
      "video/x-raw,format=RGBA,width=32,height=32 ! genvideotune name=tune steps=0 "
      "clip-frames=2 ! fakesink", &error);
  if (pipeline == NULL) {
    g_printerr ("%s\n", error->message);
    return 1;
  }
  /* before the elements start: they take it at READY->PAUSED instead of opening their own */
  GstContext *context = gst_gen_video_device_context_new (device);
  gst_element_set_context (pipeline, context);
  gst_context_unref (context);

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gboolean ok = GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS;
  if (!ok) {
    gst_message_parse_error (msg, &error, NULL);
    g_printerr ("error: %s\n", error->message);
    g_clear_error (&error);
  }
  gst_message_unref (msg);

  /* which device does the element compute on? it answers context queries on its pads */
  GstElement *tune = gst_bin_get_by_name (GST_BIN (pipeline), "tune");
  GstPad *pad = gst_element_get_static_pad (tune, "sink");
  GstQuery *query = gst_query_new_context (GST_GEN_VIDEO_DEVICE_CONTEXT_TYPE);
  GvDevice *used = NULL;
  if (gst_pad_query (pad, query)) {
    GstContext *answer = NULL;
    gst_query_parse_context (query, &answer);
    gst_gen_video_device_from_context (answer, -1, &used);
  }
  g_print ("element's device: %s (%s)\n", used ? gv_device_get_name (used) : "none",
      used == device ? "the application's" : "another one");
  ok &= used == device;

  if (used)
    gv_device_unref (used);
  gst_query_unref (query);
  gst_object_unref (pad);
  gst_object_unref (tune);
  gst_object_unref (bus);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  gv_device_unref (device);
  return ok ? 0 : 1;
}
