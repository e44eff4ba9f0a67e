#include <stdio.h>
#include <string.h>

#include "gstgenvideoimage.h"

GST_DEBUG_CATEGORY_STATIC (gst_gen_video_image_debug);
#define GST_CAT_DEFAULT gst_gen_video_image_debug

static void
init_debug (void)
{
  static gsize done = 0;
  if (g_once_init_enter (&done)) {
    GST_DEBUG_CATEGORY_INIT (gst_gen_video_image_debug, "genvideoimage", 0,
        "genvideo still images (target and mask)");
    g_once_init_leave (&done, 1);
  }
}

/* A decoded format without alpha is opaque: alpha 255 whatever the converter made of it. */
static void
make_opaque (guint8 *rgba, gint width, gint height)
{
  for (gsize i = 0; i < (gsize) width * height; i++)
    rgba[4 * i + 3] = 255;
}

/* TRUE when @path is a PNG of 16 bits per sample (the IHDR chunk's bit depth). GStreamer
 * 1.22's pngdec gives those as ARGB64 with the samples shifted (a 16-bit RGB picture comes out
 * with a near-zero alpha and its colours rotated), so they go to gdkpixbufdec instead. */
static gboolean
is_png16 (const gchar *path)
{
  static const guint8 signature[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  guint8 head[26];
  FILE *f = fopen (path, "rb");
  gboolean png16 = FALSE;

  if (f == NULL)
    return FALSE;
  if (fread (head, 1, sizeof head, f) == sizeof head)
    png16 = memcmp (head, signature, 8) == 0 && memcmp (head + 12, "IHDR", 4) == 0 &&
        head[24] == 16;
  fclose (f);
  return png16;
}

/* copies the frame of @sample into a tightly packed buffer */
static guint8 *
copy_frame (GstSample *sample, gint *width, gint *height, gint *stride, GError **error)
{
  GstVideoInfo info;
  GstVideoFrame frame;
  GstBuffer *buffer = gst_sample_get_buffer (sample);

  if (!gst_video_info_from_caps (&info, gst_sample_get_caps (sample)) ||
      !gst_video_frame_map (&frame, &info, buffer, GST_MAP_READ)) {
    g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE,
        "the decoded image could not be read");
    return NULL;
  }
  gint w = GST_VIDEO_INFO_WIDTH (&info), h = GST_VIDEO_INFO_HEIGHT (&info);
  gint bpp = GST_VIDEO_INFO_COMP_PSTRIDE (&info, 0);
  guint8 *out = g_new (guint8, (gsize) w * h * bpp);
  for (gint y = 0; y < h; y++)
    memcpy (out + (gsize) y * w * bpp, (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0) +
        (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0), (gsize) w * bpp);
  gst_video_frame_unmap (&frame);
  *width = w;
  *height = h;
  *stride = w * bpp;
  return out;
}

/* @decoded: the caps the image came in. Without alpha, an RGBA picture is opaque. */
static void
check_alpha (GstCaps *decoded, const gchar *what, guint8 *rgba, gint width, gint height)
{
  GstVideoInfo info;

  if (decoded != NULL && gst_video_info_from_caps (&info, decoded) &&
      !GST_VIDEO_INFO_HAS_ALPHA (&info)) {
    GST_INFO ("%s: %s, without alpha: opaque (the target's object is then what differs from "
        "its border colour, unless a mask is given)", what, GST_VIDEO_INFO_NAME (&info));
    make_opaque (rgba, width, height);
  }
}

/* check_alpha() on what the decoder gave: the caps into the converter named "convert" */
static void
check_decoded_alpha (GstElement *pipeline, const gchar *what, guint8 *rgba, gint width,
    gint height)
{
  GstElement *convert = gst_bin_get_by_name (GST_BIN (pipeline), "convert");
  GstPad *pad = gst_element_get_static_pad (convert, "sink");
  GstCaps *caps = gst_pad_get_current_caps (pad);

  check_alpha (caps, what, rgba, width, height);
  if (caps)
    gst_caps_unref (caps);
  gst_object_unref (pad);
  gst_object_unref (convert);
}

/* Runs @pipeline (ending in an appsink named "sink") to its first sample. */
static guint8 *
run_to_first_frame (GstElement *pipeline, const gchar *what, GstVideoFormat format,
    gint *width, gint *height, gint *stride, GError **error)
{
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstSample *sample = NULL;
  guint8 *out = NULL;

  gst_element_set_state (pipeline, GST_STATE_PAUSED);
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
      GST_MESSAGE_ASYNC_DONE | GST_MESSAGE_ERROR);
  if (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ASYNC_DONE)
    g_signal_emit_by_name (sink, "pull-preroll", &sample);
  if (sample != NULL) {
    out = copy_frame (sample, width, height, stride, error);
    gst_sample_unref (sample);
    if (out != NULL && format == GST_VIDEO_FORMAT_RGBA)
      check_decoded_alpha (pipeline, what, out, *width, *height);
  } else if (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = NULL;
    gst_message_parse_error (msg, &err, NULL);
    g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE,
        "%s could not be decoded as an image: %s", what, err->message);
    g_error_free (err);
  } else {
    g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE,
        "%s could not be decoded as an image (no frame came out)", what);
  }
  if (msg)
    gst_message_unref (msg);
  gst_object_unref (bus);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (sink);
  return out;
}

static GstElement *
make_pipeline (const gchar *description, GError **error)
{
  GError *err = NULL;
  GstElement *p = gst_parse_launch_full (description, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &err);
  if (p == NULL) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
        "cannot decode images: %s (install gstreamer1.0-plugins-base and -good)",
        err ? err->message : "unknown error");
    g_clear_error (&err);
  }
  return p;
}

guint8 *
gst_gen_video_load_image (const gchar *path, GstVideoFormat format, gint *width, gint *height,
    gint *stride, GError **error)
{
  if (path == NULL || !g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: no such file",
        path ? path : "(none)");
    return NULL;
  }
  init_debug ();
  gboolean png16 = is_png16 (path);
  if (png16 && !gst_registry_check_feature_version (gst_registry_get (), "gdkpixbufdec",
          GST_VERSION_MAJOR, 0, 0)) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN, "%s is a PNG of 16 "
        "bits per sample, which GStreamer's pngdec decodes wrongly, and gdkpixbufdec is "
        "missing (install gstreamer1.0-plugins-good, or save the image with 8 bits)", path);
    return NULL;
  }
  if (png16)
    GST_INFO ("%s: a PNG of 16 bits per sample, decoded with gdkpixbufdec", path);
  gchar *escaped = g_strescape (path, NULL);
  gchar *desc = g_strdup_printf ("filesrc location=\"%s\" ! %s ! videoconvert name=convert ! "
      "video/x-raw,format=%s ! appsink name=sink sync=false", escaped,
      png16 ? "gdkpixbufdec" : "decodebin", gst_video_format_to_string (format));
  GstElement *pipeline = make_pipeline (desc, error);
  guint8 *out = pipeline ? run_to_first_frame (pipeline, path, format, width, height, stride,
      error) : NULL;
  if (pipeline)
    gst_object_unref (pipeline);
  g_free (desc);
  g_free (escaped);
  return out;
}

guint8 *
gst_gen_video_convert_image (GstBuffer *buffer, GstCaps *caps, GstVideoFormat format,
    gint *width, gint *height, gint *stride, GError **error)
{
  GstSample *in = gst_sample_new (buffer, caps, NULL, NULL);
  GstCaps *to = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING,
      gst_video_format_to_string (format), NULL);
  GError *err = NULL;
  GstSample *out = gst_video_convert_sample (in, to, GST_CLOCK_TIME_NONE, &err);
  guint8 *pixels = NULL;
  if (out != NULL) {
    pixels = copy_frame (out, width, height, stride, error);
    gst_sample_unref (out);
    init_debug ();
    if (pixels != NULL && format == GST_VIDEO_FORMAT_RGBA)
      check_alpha (caps, "the target pad's image", pixels, *width, *height);
  } else {
    g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE,
        "the target image could not be converted: %s", err ? err->message : "unknown error");
    g_clear_error (&err);
  }
  gst_caps_unref (to);
  gst_sample_unref (in);
  return pixels;
}

/* Parses the conversion after a '%' at @p ("04d"): its width into @width, @zero for the 0
 * flag; returns the character after it, or NULL when it is not a frame number. */
static const gchar *
parse_frame_number (const gchar *p, gint *width, gboolean *zero)
{
  *zero = *p == '0';
  if (*zero)
    p++;
  *width = 0;
  while (g_ascii_isdigit (*p) && *width < 100)
    *width = *width * 10 + (*p++ - '0');
  return *width < 100 && (*p == 'd' || *p == 'u' || *p == 'i') ? p + 1 : NULL;
}

gchar *
gst_gen_video_image_sequence_path (const gchar *pattern, guint64 index, GError **error)
{
  GString *path = g_string_new (NULL);
  gint numbers = 0;

  for (const gchar *p = pattern; p != NULL && *p != '\0';) {
    if (*p != '%') {
      g_string_append_c (path, *p++);
    } else if (p[1] == '%') {
      g_string_append_c (path, '%');
      p += 2;
    } else {
      gint width;
      gboolean zero;
      p = parse_frame_number (p + 1, &width, &zero);
      if (p != NULL)
        g_string_append_printf (path, zero ? "%0*" G_GUINT64_FORMAT : "%*" G_GUINT64_FORMAT,
            width, index);
      numbers = p != NULL ? numbers + 1 : -1;
    }
  }
  if (numbers != 1) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, "'%s' is not a file "
        "name pattern with one frame number (such as masks/%%04d.png)", pattern ? pattern : "");
    g_string_free (path, TRUE);
    return NULL;
  }
  return g_string_free (path, FALSE);
}
