#include <string.h>

#include <gst/video/video.h>

#include "gv-png.h"

G_DEFINE_QUARK (gv-png-error-quark, gv_png_error)

static GstVideoFormat
format_of (gint channels)
{
  switch (channels) {
    case 1:
      return GST_VIDEO_FORMAT_GRAY8;
    case 3:
      return GST_VIDEO_FORMAT_RGB;
    case 4:
      return GST_VIDEO_FORMAT_RGBA;
    default:
      g_return_val_if_reached (GST_VIDEO_FORMAT_UNKNOWN);
  }
}

gboolean
gv_png_write (const gchar *path, const guint8 *pixels, gint width, gint height, gint channels,
    GError **error)
{
  GstVideoInfo info;
  gst_video_info_set_format (&info, format_of (channels), width, height);
  GstBuffer *buffer = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  GstMapInfo map;
  gst_buffer_map (buffer, &map, GST_MAP_WRITE);
  /* video rows are padded to 4 bytes */
  for (gint y = 0; y < height; y++)
    memcpy (map.data + (gsize) y * GST_VIDEO_INFO_PLANE_STRIDE (&info, 0),
        pixels + (gsize) y * width * channels, (gsize) width * channels);
  gst_buffer_unmap (buffer, &map);

  GstCaps *caps = gst_video_info_to_caps (&info);
  GstSample *raw = gst_sample_new (buffer, caps, NULL, NULL);
  GstCaps *png_caps = gst_caps_new_empty_simple ("image/png");
  GError *err = NULL;
  GstSample *png = gst_video_convert_sample (raw, png_caps, GST_CLOCK_TIME_NONE, &err);
  gboolean ok = FALSE;

  if (png == NULL) {
    g_set_error (error, GV_PNG_ERROR, GV_PNG_ERROR_ENCODE, "%s: PNG encoding failed: %s "
        "(is gstreamer1.0-plugins-good installed?)", path, err ? err->message : "unknown error");
  } else {
    GstBuffer *bytes = gst_sample_get_buffer (png);
    gst_buffer_map (bytes, &map, GST_MAP_READ);
    ok = g_file_set_contents (path, (const gchar *) map.data, map.size, &err);
    if (!ok)
      g_set_error (error, GV_PNG_ERROR, GV_PNG_ERROR_ENCODE, "%s", err->message);
    gst_buffer_unmap (bytes, &map);
    gst_sample_unref (png);
  }
  g_clear_error (&err);
  gst_caps_unref (png_caps);
  gst_sample_unref (raw);
  gst_caps_unref (caps);
  gst_buffer_unref (buffer);
  return ok;
}

/* filesrc ! pngdec ! videoconvert ! appsink caps=@format, or NULL when an element is missing */
static GstElement *
decode_pipeline (const gchar *path, GstVideoFormat format, GError **error)
{
  const gchar *names[] = { "filesrc", "pngdec", "videoconvert", "appsink" };
  GstElement *e[G_N_ELEMENTS (names)];
  GstElement *pipeline = gst_pipeline_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    e[i] = gst_element_factory_make (names[i], i == 3 ? "sink" : NULL);
    if (e[i] == NULL) {
      g_set_error (error, GV_PNG_ERROR, GV_PNG_ERROR_NO_PLUGIN, "cannot read %s: GStreamer "
          "element %s is missing (install gstreamer1.0-plugins-base and -good)", path, names[i]);
      gst_object_unref (pipeline);
      return NULL;
    }
    gst_bin_add (GST_BIN (pipeline), e[i]);
  }
  GstCaps *caps = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING,
      gst_video_format_to_string (format), NULL);
  g_object_set (e[0], "location", path, NULL);
  g_object_set (e[3], "caps", caps, "sync", FALSE, NULL);
  gst_caps_unref (caps);
  gst_element_link_many (e[0], e[1], e[2], e[3], NULL);
  return pipeline;
}

/* The pixels of @sample as packed rows. */
static guint8 *
packed_pixels (GstSample *sample, gint channels, gint *width, gint *height)
{
  GstVideoInfo info;
  GstVideoFrame frame;
  if (!gst_video_info_from_caps (&info, gst_sample_get_caps (sample)) ||
      !gst_video_frame_map (&frame, &info, gst_sample_get_buffer (sample), GST_MAP_READ))
    return NULL;
  gint w = GST_VIDEO_INFO_WIDTH (&info), h = GST_VIDEO_INFO_HEIGHT (&info);
  guint8 *out = g_new (guint8, (gsize) w * h * channels);
  for (gint y = 0; y < h; y++)
    memcpy (out + (gsize) y * w * channels, (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame,
            0) + (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0), (gsize) w * channels);
  gst_video_frame_unmap (&frame);
  *width = w;
  *height = h;
  return out;
}

guint8 *
gv_png_read (const gchar *path, gint channels, gint *width, gint *height, GError **error)
{
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, GV_PNG_ERROR, GV_PNG_ERROR_MISSING, "%s: no such file", path);
    return NULL;
  }
  GstElement *pipeline = decode_pipeline (path, format_of (channels), error);
  if (pipeline == NULL)
    return NULL;

  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstBus *bus = gst_element_get_bus (pipeline);
  GstSample *sample = NULL;
  guint8 *out = NULL;
  gst_element_set_state (pipeline, GST_STATE_PAUSED);
  /* a decoder that hangs would be a GStreamer bug; the bound keeps a tool from waiting forever */
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      GST_MESSAGE_ASYNC_DONE | GST_MESSAGE_ERROR);
  if (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ASYNC_DONE)
    g_signal_emit_by_name (sink, "pull-preroll", &sample);
  if (sample != NULL) {
    out = packed_pixels (sample, channels, width, height);
    gst_sample_unref (sample);
  }
  if (out == NULL) {
    GError *err = NULL;
    if (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
      gst_message_parse_error (msg, &err, NULL);
    g_set_error (error, GV_PNG_ERROR, GV_PNG_ERROR_DECODE, "%s: not a readable PNG (%s)", path,
        err ? err->message : "the decoder found no image in it");
    g_clear_error (&err);
  }
  if (msg != NULL)
    gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  return out;
}
