/* gv-video-sheet: a contact sheet PNG of a few frames of videos (any file decodebin reads). Each
 * video gives one row, or --panels K rows when its frames are K pictures of equal width side by
 * side (the main job's source | masks | edit video); the columns are --frames N frames spread
 * evenly over the video, its first and last included.
 *
 *   gv-video-sheet [--frames N] [--panels K] --out FILE.png VIDEO...
 */
#include <stdlib.h>
#include <string.h>

#include <gst/video/video.h>

#include "gv-contact-sheet.h"
#include "gv-png.h"

typedef struct {
  gint width, height;
  GPtrArray *frames;      /* RGB, rows of 3 width bytes */
} Video;

static void
video_clear (Video *v)
{
  g_clear_pointer (&v->frames, g_ptr_array_unref);
}

/* the frames of @path, decoded: filesrc ! decodebin ! videoconvert ! appsink (RGB) */
static gboolean
decode (const gchar *path, Video *v, GError **error)
{
  GstElement *pipeline = gst_parse_launch ("filesrc name=src ! decodebin ! videoconvert ! "
      "appsink name=sink sync=false wait-on-eos=false caps=video/x-raw,format=RGB", error);
  if (pipeline == NULL)
    return FALSE;
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_object_set (src, "location", path, NULL);
  v->frames = g_ptr_array_new_with_free_func (g_free);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);

  /* the sink keeps every frame, and does not wait for them to be taken before the EOS */
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gboolean ok = GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS;
  GstSample *sample;
  while (ok && (g_signal_emit_by_name (sink, "pull-sample", &sample), sample != NULL)) {
    GstVideoInfo info;
    GstVideoFrame frame;
    if (gst_video_info_from_caps (&info, gst_sample_get_caps (sample)) &&
        gst_video_frame_map (&frame, &info, gst_sample_get_buffer (sample), GST_MAP_READ)) {
      v->width = GST_VIDEO_INFO_WIDTH (&info);
      v->height = GST_VIDEO_INFO_HEIGHT (&info);
      guint8 *rgb = g_malloc ((gsize) v->width * v->height * 3);
      for (gint y = 0; y < v->height; y++)
        memcpy (rgb + (gsize) y * v->width * 3, (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame,
                0) + (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0), v->width * 3);
      gst_video_frame_unmap (&frame);
      g_ptr_array_add (v->frames, rgb);
    }
    gst_sample_unref (sample);
  }
  if (!ok) {
    GError *err = NULL;
    gst_message_parse_error (msg, &err, NULL);
    g_set_error (error, GV_PNG_ERROR, GV_PNG_ERROR_DECODE, "%s: %s", path, err->message);
    g_error_free (err);
  } else if (v->frames->len == 0) {
    ok = FALSE;
    g_set_error (error, GV_PNG_ERROR, GV_PNG_ERROR_DECODE, "%s: no frame decoded", path);
  }
  gst_message_unref (msg);
  gst_object_unref (bus);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (src);
  gst_object_unref (pipeline);
  return ok;
}

/* panel @p of @panels of frame @rgb, packed */
static guint8 *
panel_of (const guint8 *rgb, gint width, gint height, gint panels, gint p)
{
  gint pw = width / panels;
  guint8 *out = g_malloc ((gsize) pw * height * 3);
  for (gint y = 0; y < height; y++)
    memcpy (out + (gsize) y * pw * 3, rgb + ((gsize) y * width + (gsize) p * pw) * 3, pw * 3);
  return out;
}

int
main (int argc, char **argv)
{
  gint n_frames = 4, panels = 1;
  gchar *out = NULL, **inputs = NULL;
  GOptionEntry entries[] = {
    { "frames", 'f', 0, G_OPTION_ARG_INT, &n_frames, "Frames per row, spread evenly (4)", "N" },
    { "panels", 0, 0, G_OPTION_ARG_INT, &panels,
      "Pictures side by side in each frame, one row each (1)", "K" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "PNG file to write", "FILE.png" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &inputs, NULL, "VIDEO..." },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- a contact sheet of frames of videos");
  GError *error = NULL;
  gint n_videos = 0, status = EXIT_FAILURE;
  Video *videos = NULL;
  GvContactSheet *sheet = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("gv-video-sheet: %s\n", error->message);
    goto out;
  }
  n_videos = inputs ? g_strv_length (inputs) : 0;
  if (out == NULL || n_videos == 0 || n_frames < 1 || n_frames > 64 || panels < 1 ||
      panels > 16) {
    g_printerr ("gv-video-sheet: needs --out FILE.png, one VIDEO or more, --frames from 1 to "
        "64 and --panels from 1 to 16\n");
    goto out;
  }
  videos = g_new0 (Video, n_videos);
  for (gint i = 0; i < n_videos; i++) {
    if (!decode (inputs[i], &videos[i], &error)) {
      g_printerr ("gv-video-sheet: %s\n", error->message);
      goto out;
    }
    if (videos[i].width % panels != 0 || videos[i].width != videos[0].width ||
        videos[i].height != videos[0].height) {
      g_printerr ("gv-video-sheet: %s is %dx%d: the videos must be of one size, a multiple of "
          "%d panels wide\n", inputs[i], videos[i].width, videos[i].height, panels);
      goto out;
    }
  }

  gint pw = videos[0].width / panels, h = videos[0].height;
  sheet = gv_contact_sheet_new (n_frames, n_videos * panels, pw, h, 4);
  for (gint i = 0; i < n_videos; i++) {
    gint len = videos[i].frames->len;
    for (gint c = 0; c < n_frames; c++) {
      gint k = n_frames > 1 ? (gint) ((gint64) c * (len - 1) / (n_frames - 1)) : 0;
      const guint8 *rgb = g_ptr_array_index (videos[i].frames, k);
      for (gint p = 0; p < panels; p++) {
        guint8 *tile = panel_of (rgb, videos[i].width, h, panels, p);
        gv_contact_sheet_put (sheet, c, i * panels + p, tile, pw, h, 3);
        g_free (tile);
      }
    }
  }
  if (!gv_png_write (out, sheet->rgb, sheet->width, sheet->height, 3, &error)) {
    g_printerr ("gv-video-sheet: %s\n", error->message);
    goto out;
  }
  status = EXIT_SUCCESS;

out:
  for (gint i = 0; videos && i < n_videos; i++)
    video_clear (&videos[i]);
  g_free (videos);
  gv_contact_sheet_free (sheet);
  g_clear_error (&error);
  g_option_context_free (ctx);
  g_strfreev (inputs);
  g_free (out);
  return status;
}
