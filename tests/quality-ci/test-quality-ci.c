/* quality-ci: the shipped demo model (models/genvideo-shapes) loads, edits one small clip of the
 * synthetic world end to end through the three elements with few steps, and the edit clears
 * floors that a broken method does not (issue 11, section 5): the InvEdit masks against the
 * clip's ideal edit masks (IoU), the background against the source (PSNR outside the edit
 * masks), and the colour of the target object against the ideal edit. check-breaks.sh beside
 * this file shows each of three breaks failing it.
 *
 * Skips (exit 77) when the model is not there. GENVIDEO_QUALITY_CI_MODEL names another model
 * folder and GENVIDEO_QUALITY_CI_FLOORS="IOU,PSNR,COLOUR" other floors: for measuring, and for
 * trying check-breaks.sh out on the tiny model. The figures are printed, pass or fail. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <gst/video/video.h>

#include "gv-png.h"
#include "gv-quality-metrics.h"
#include "gv-world-render.h"

/* The clip and the work: one clip of the world (4 frames, 128x128, the model's frame size) and
 * few steps, so that the edit takes well under a minute on 2 CPU cores with the demo model
 * (about 25 s on the Xeon of docs/benchmark.md). 20 steps, not fewer: at 5 the masks and the
 * background of the method and of its breaks were within 3 dB of each other. */
#define CI_SEED 11
#define CI_CLIP 0
#define CI_FRAMES 4
#define CI_SIZE 128
#define CI_STEPS 20         /* DDIM inversion and sampling */
#define CI_TUNE_STEPS 0

/* The floors, in one place, from measurements with models/genvideo-shapes on this clip at 20
 * steps (docs/benchmark.md, "The shipped model"): the method reaches mask IoU 0.176,
 * background 35.75 dB, colour error 153; background not preserved 11 dB, masks from one
 * branch 30.2 dB. The background floor sits between them with ~2.7 dB on each side. The
 * model edits from the caption and all but ignores the target image, so no floor separates
 * "target image ignored" (0.167, 34.9 dB, 154) from the method, and its masks and colours are
 * far from the targets: the IoU floor only catches masks that leave the object (empty
 * masks: 0), the colour ceiling an edit far from the target's colour or none at all (NaN);
 * the method scores 153 of 441. Measure again and move them when the model changes: this
 * test and check-breaks.sh print every figure. */
#define MIN_MASK_IOU 0.10
#define MIN_BACKGROUND_PSNR 33.0
#define MAX_COLOUR_ERROR 200.0

typedef struct {
  gdouble mask_iou, background_psnr, colour_error;
} Figures;

static GstBuffer *
frame_buffer (const guint8 *rgb, gint index)
{
  GstVideoInfo info;
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, CI_SIZE, CI_SIZE);
  GstBuffer *buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  GstVideoFrame frame;
  gst_video_frame_map (&frame, &info, buf, GST_MAP_WRITE);
  for (gint y = 0; y < CI_SIZE; y++)
    memcpy ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0) +
        (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0), rgb + (gsize) y * CI_SIZE * 3,
        CI_SIZE * 3);
  gst_video_frame_unmap (&frame);
  GST_BUFFER_PTS (buf) = gst_util_uint64_scale (index, GST_SECOND, 8);
  GST_BUFFER_DURATION (buf) = GST_SECOND / 8;
  return buf;
}

/* every frame @sink received, packed: @channels bytes a pixel; NULL unless CI_FRAMES came */
static guint8 *
collect (GstElement *sink, gint channels)
{
  gsize plane = (gsize) CI_SIZE * CI_SIZE * channels;
  guint8 *out = g_malloc (plane * CI_FRAMES);
  gint n = 0;
  GstSample *sample;
  while ((g_signal_emit_by_name (sink, "pull-sample", &sample), sample != NULL)) {
    GstVideoInfo info;
    GstVideoFrame frame;
    if (n < CI_FRAMES && gst_video_info_from_caps (&info, gst_sample_get_caps (sample)) &&
        GST_VIDEO_INFO_WIDTH (&info) == CI_SIZE && GST_VIDEO_INFO_HEIGHT (&info) == CI_SIZE &&
        gst_video_frame_map (&frame, &info, gst_sample_get_buffer (sample), GST_MAP_READ)) {
      for (gint y = 0; y < CI_SIZE; y++)
        memcpy (out + n * plane + (gsize) y * CI_SIZE * channels,
            (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0) +
            (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0), CI_SIZE * channels);
      gst_video_frame_unmap (&frame);
    }
    n++;
    gst_sample_unref (sample);
  }
  if (n != CI_FRAMES) {
    g_printerr ("FAIL: %d frames came out of %s, not %d\n", n, GST_ELEMENT_NAME (sink),
        CI_FRAMES);
    g_clear_pointer (&out, g_free);
  }
  return out;
}

/* Runs the three stages on @r through appsrc; the edit (RGB) and the masks (GRAY8) come back. */
static gboolean
edit_clip (const GvWorldRender *r, const gchar *target_path, guint8 **edit, guint8 **masks)
{
  gchar *launch = g_strdup_printf ("appsrc name=src format=time "
      "caps=video/x-raw,format=RGB,width=%d,height=%d,framerate=8/1 ! "
      "genvideotune source-prompt=\"%s\" steps=%d ! "
      "invedit target-prompt=\"%s\" target-location=\"%s\" inversion-steps=%d ! tee name=t "
      "t. ! queue max-size-buffers=0 max-size-time=0 max-size-bytes=0 ! latentcorrect steps=%d ! "
      "appsink name=edit sync=false wait-on-eos=false "
      "t. ! queue max-size-buffers=0 max-size-time=0 max-size-bytes=0 ! invedit output=masks ! "
      "appsink name=masks sync=false wait-on-eos=false", CI_SIZE, CI_SIZE, r->source_prompt,
      CI_TUNE_STEPS, r->target_prompt, target_path, CI_STEPS, CI_STEPS);
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (launch, &error);
  g_free (launch);
  if (pipeline == NULL) {
    g_printerr ("FAIL: the pipeline does not build: %s (is the plugin in GST_PLUGIN_PATH?)\n",
        error->message);
    g_error_free (error);
    return FALSE;
  }
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  GstElement *edit_sink = gst_bin_get_by_name (GST_BIN (pipeline), "edit");
  GstElement *masks_sink = gst_bin_get_by_name (GST_BIN (pipeline), "masks");
  GstBus *bus = gst_element_get_bus (pipeline);
  gboolean ok = FALSE;

  /* the model loads at READY -> PAUSED: a model that does not load fails here */
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE) {
    for (gint i = 0; i < CI_FRAMES; i++) {
      GstFlowReturn flow;
      GstBuffer *buf = frame_buffer (r->source + (gsize) i * CI_SIZE * CI_SIZE * 3, i);
      g_signal_emit_by_name (src, "push-buffer", buf, &flow);
      gst_buffer_unref (buf);
    }
    GstFlowReturn flow;
    g_signal_emit_by_name (src, "end-of-stream", &flow);
  }
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    gchar *debug = NULL;
    gst_message_parse_error (msg, &error, &debug);
    g_printerr ("FAIL: %s: %s (%s)\n", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), error->message,
        GST_STR_NULL (debug));
    g_error_free (error);
    g_free (debug);
  } else {
    *edit = collect (edit_sink, 3);
    *masks = collect (masks_sink, 1);
    ok = *edit != NULL && *masks != NULL;
  }
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (masks_sink);
  gst_object_unref (edit_sink);
  gst_object_unref (src);
  gst_object_unref (pipeline);
  return ok;
}

static Figures
measure (const GvWorldClip *clip, const GvWorldRender *r, const guint8 *edit,
    const guint8 *masks)
{
  gsize plane = (gsize) CI_SIZE * CI_SIZE, n = plane * CI_FRAMES;
  guint8 *target_cover = g_malloc (n);
  for (gint k = 0; k < CI_FRAMES; k++)
    gv_world_render_coverage (clip->target.shape, &clip->path[k], CI_SIZE, CI_SIZE,
        target_cover + k * plane);
  Figures f = {
    gv_quality_iou (masks, r->edit_masks, n),
    gv_quality_background_psnr (edit, r->source, r->edit_masks, CI_SIZE, CI_SIZE, CI_FRAMES),
    gv_quality_colour_error (edit, r->edit, n, target_cover),
  };
  g_free (target_cover);
  return f;
}

/* the floors, or GENVIDEO_QUALITY_CI_FLOORS's */
static gboolean
floors (Figures *min)
{
  *min = (Figures) { MIN_MASK_IOU, MIN_BACKGROUND_PSNR, MAX_COLOUR_ERROR };
  const gchar *env = g_getenv ("GENVIDEO_QUALITY_CI_FLOORS");
  if (env == NULL || *env == '\0')
    return TRUE;
  gchar *end;
  min->mask_iou = g_ascii_strtod (env, &end);
  if (*end == ',')
    min->background_psnr = g_ascii_strtod (end + 1, &end);
  if (*end == ',')
    min->colour_error = g_ascii_strtod (end + 1, &end);
  if (*end != '\0') {
    g_printerr ("GENVIDEO_QUALITY_CI_FLOORS must be \"IOU,PSNR,COLOUR\", not \"%s\"\n", env);
    return FALSE;
  }
  return TRUE;
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  const gchar *model = g_getenv ("GENVIDEO_QUALITY_CI_MODEL");
  if (model == NULL || *model == '\0')
    model = g_getenv ("GENVIDEO_SHIPPED_MODEL_DIR");
  Figures min;
  if (model == NULL || !floors (&min))
    return EXIT_FAILURE;
  gchar *index = g_build_filename (model, "model_index.json", NULL);
  gboolean present = g_file_test (index, G_FILE_TEST_IS_REGULAR);
  g_free (index);
  if (!present) {
    g_print ("SKIP: no trained model at %s (a tree without models/genvideo-shapes); this "
        "test measures the edit with it\n", model);
    return 77;
  }
  g_setenv ("GENVIDEO_MODEL", model, TRUE);

  GvWorldClip *clip = gv_world_clip_new (CI_SEED, CI_CLIP, CI_SIZE, CI_SIZE, CI_FRAMES);
  GvWorldRender *r = gv_world_render (clip);
  gchar *dir = g_dir_make_tmp ("gv-quality-ci-XXXXXX", NULL);
  gchar *target = g_build_filename (dir, "target.png", NULL);
  GError *error = NULL;
  guint8 *edit = NULL, *masks = NULL;
  int status = EXIT_FAILURE;

  g_print ("quality-ci: %s; \"%s\" -> \"%s\", %d frames %dx%d, %d steps, %d tuning steps\n",
      model, r->source_prompt, r->target_prompt, CI_FRAMES, CI_SIZE, CI_SIZE, CI_STEPS,
      CI_TUNE_STEPS);
  if (!gv_png_write (target, r->target, CI_SIZE, CI_SIZE, 4, &error)) {
    g_printerr ("FAIL: %s\n", error->message);
    g_error_free (error);
    goto out;
  }
  gint64 start = g_get_monotonic_time ();
  if (!edit_clip (r, target, &edit, &masks))
    goto out;
  Figures f = measure (clip, r, edit, masks);
  g_print ("quality-ci: mask_iou %.3f (floor %.3f), background_psnr %.2f dB (floor %.2f), "
      "colour_error %.1f (ceiling %.1f); the edit took %.1f s\n", f.mask_iou, min.mask_iou,
      f.background_psnr, min.background_psnr, f.colour_error, min.colour_error,
      (g_get_monotonic_time () - start) / 1e6);
  status = EXIT_SUCCESS;
  /* NaN (no pixel to measure) fails too */
  if (!(f.mask_iou >= min.mask_iou)) {
    g_printerr ("FAIL: the masks miss the object: IoU with the ideal edit masks %.3f, below "
        "%.3f\n", f.mask_iou, min.mask_iou);
    status = EXIT_FAILURE;
  }
  if (!(f.background_psnr >= min.background_psnr)) {
    g_printerr ("FAIL: the background is not the source's: PSNR %.2f dB outside the edit "
        "masks, below %.2f dB\n", f.background_psnr, min.background_psnr);
    status = EXIT_FAILURE;
  }
  if (!(f.colour_error <= min.colour_error)) {
    g_printerr ("FAIL: the object is not the target's colour: mean distance %.1f to the "
        "ideal edit on the target object, above %.1f\n", f.colour_error, min.colour_error);
    status = EXIT_FAILURE;
  }

out:
  g_free (edit);
  g_free (masks);
  g_remove (target);
  g_rmdir (dir);
  g_free (target);
  g_free (dir);
  gv_world_render_free (r);
  gv_world_clip_free (clip);
  return status;
}
