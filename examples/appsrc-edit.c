/* An application that hands its own frames to the genvideo elements and takes the edited frames
 * back: appsrc ! genvideotune ! invedit ! latentcorrect ! appsink.
 *
 *   appsrc-edit TARGET.png [FRAMES] [STEPS]
 *
 * It draws a white disc moving over a dark background (FRAMES frames, 128x128 RGBA), asks for
 * it to become the object of TARGET.png, and prints for every edited frame its timestamp and how
 * much it changed inside and outside the disc. Exit status 0 when every frame came back once,
 * in order, with its timestamp. Run it where the plugin is found (`meson devenv -C build`). */
#include <math.h>
#include <stdlib.h>

#include <gst/app/app.h>
#include <gst/gst.h>

#define SIZE 128
#define FPS 25

static gboolean
in_disc (gint frame, gint x, gint y)
{
  gdouble cx = 30 + 6 * frame, cy = 64, r = 20;
  return (x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r;
}

static GstBuffer *
draw_frame (gint frame)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, SIZE * SIZE * 4, NULL);
  GstMapInfo map;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (gint y = 0; y < SIZE; y++)
    for (gint x = 0; x < SIZE; x++) {
      guint8 *p = map.data + (y * SIZE + x) * 4;
      guint8 v = in_disc (frame, x, y) ? 240 : 16;
      p[0] = p[1] = p[2] = v;
      p[3] = 255;
    }
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = gst_util_uint64_scale (frame, GST_SECOND, FPS);
  GST_BUFFER_DURATION (buf) = gst_util_uint64_scale (1, GST_SECOND, FPS);
  return buf;
}

/* mean absolute change per channel inside and outside the source disc */
static void
measure (GstBuffer *edited, gint frame, gdouble *inside, gdouble *outside)
{
  GstBuffer *source = draw_frame (frame);
  GstMapInfo a, b;
  gdouble sum[2] = { 0, 0 }, n[2] = { 0, 0 };

  gst_buffer_map (edited, &a, GST_MAP_READ);
  gst_buffer_map (source, &b, GST_MAP_READ);
  for (gint y = 0; y < SIZE; y++)
    for (gint x = 0; x < SIZE; x++) {
      gint k = in_disc (frame, x, y) ? 0 : 1;
      for (gint c = 0; c < 3; c++)
        sum[k] += abs (a.data[(y * SIZE + x) * 4 + c] - b.data[(y * SIZE + x) * 4 + c]);
      n[k] += 3;
    }
  gst_buffer_unmap (edited, &a);
  gst_buffer_unmap (source, &b);
  gst_buffer_unref (source);
  *inside = sum[0] / MAX (n[0], 1);
  *outside = sum[1] / MAX (n[1], 1);
}

int
main (int argc, char **argv)
{
  GError *error = NULL;

  gst_init (&argc, &argv);
  if (argc < 2) {
    g_printerr ("usage: %s TARGET.png [FRAMES] [STEPS]\n", argv[0]);
    return 2;
  }
  gint frames = argc > 2 ? atoi (argv[2]) : 8, steps = argc > 3 ? atoi (argv[3]) : 10;
  if (frames < 1 || steps < 1) {
    g_printerr ("FRAMES and STEPS must be positive\n");
    return 2;
  }

  gchar *target = g_strescape (argv[1], NULL);
  gchar *launch = g_strdup_printf ("appsrc name=src format=time ! "
      "genvideotune source-prompt=\"a white ball on a black background\" steps=0 ! "
      "invedit target-prompt=\"a red disc on a black background\" target-location=\"%s\" "
      "inversion-steps=%d ! latentcorrect steps=%d ! "
      "appsink name=sink sync=false caps=video/x-raw,format=RGBA", target, steps, steps);
  GstElement *pipeline = gst_parse_launch (launch, &error);
  g_free (launch);
  g_free (target);
  if (pipeline == NULL) {
    g_printerr ("could not build the pipeline: %s\n", error->message);
    return 1;
  }

  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstCaps *caps = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING, "RGBA",
      "width", G_TYPE_INT, SIZE, "height", G_TYPE_INT, SIZE,
      "framerate", GST_TYPE_FRACTION, FPS, 1, NULL);
  gst_app_src_set_caps (GST_APP_SRC (src), caps);
  gst_caps_unref (caps);

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  /* the elements collect a whole clip before they answer: push everything, then pull */
  for (gint i = 0; i < frames; i++)
    gst_app_src_push_buffer (GST_APP_SRC (src), draw_frame (i));
  gst_app_src_end_of_stream (GST_APP_SRC (src));

  gint got = 0, status = 0;
  GstSample *sample;
  while ((sample = gst_app_sink_pull_sample (GST_APP_SINK (sink))) != NULL) {
    GstBuffer *buf = gst_sample_get_buffer (sample);
    GstClockTime want = gst_util_uint64_scale (got, GST_SECOND, FPS);
    gdouble inside, outside;
    if (got >= frames || GST_BUFFER_PTS (buf) != want) {
      g_printerr ("frame %d: timestamp %" GST_TIME_FORMAT ", expected %" GST_TIME_FORMAT "\n",
          got, GST_TIME_ARGS (GST_BUFFER_PTS (buf)), GST_TIME_ARGS (want));
      status = 1;
    } else {
      measure (buf, got, &inside, &outside);
      g_print ("frame %d at %" GST_TIME_FORMAT ": mean change %.1f inside the disc, %.1f outside\n",
          got, GST_TIME_ARGS (GST_BUFFER_PTS (buf)), inside, outside);
    }
    gst_sample_unref (sample);
    got++;
  }

  /* an error ends the stream early: report it */
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  if (msg != NULL) {
    gchar *debug = NULL;
    gst_message_parse_error (msg, &error, &debug);
    g_printerr ("error from %s: %s\n  %s\n", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)),
        error->message, debug ? debug : "");
    g_clear_error (&error);
    g_free (debug);
    gst_message_unref (msg);
    status = 1;
  }
  if (got != frames) {
    g_printerr ("%d frames came back, %d went in\n", got, frames);
    status = 1;
  }
  gst_object_unref (bus);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (src);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  return status;
}
