#include "gstgenvideocompute.h"

GST_DEBUG_CATEGORY_EXTERN (gst_gen_video_clip_filter_debug);
#define GST_CAT_DEFAULT gst_gen_video_clip_filter_debug

gboolean
gst_gen_video_map_frames (GstGenVideoClipJob *job, GstVideoFrame *frames, GvPicture *pictures,
    GvPixelFormat *format)
{
  *format = GST_VIDEO_INFO_FORMAT (&job->info) == GST_VIDEO_FORMAT_RGBA ? GV_PIXELS_RGBA :
      GV_PIXELS_RGB;
  for (guint i = 0; i < job->n_frames; i++) {
    if (!gst_video_frame_map (&frames[i], &job->info, job->frames[i], GST_MAP_READ)) {
      gst_gen_video_unmap_frames (frames, i);
      return FALSE;
    }
    pictures[i].data = GST_VIDEO_FRAME_PLANE_DATA (&frames[i], 0);
    pictures[i].stride = GST_VIDEO_FRAME_PLANE_STRIDE (&frames[i], 0);
  }
  return TRUE;
}

void
gst_gen_video_unmap_frames (GstVideoFrame *frames, guint n)
{
  for (guint i = 0; i < n; i++)
    gst_video_frame_unmap (&frames[i]);
}

static void
post_progress (const gchar *stage, gint current, gint total, gpointer data)
{
  gst_gen_video_clip_filter_post_progress (data, stage, (guint) MAX (current, 0),
      (guint) MAX (total, 0));
}

void
gst_gen_video_edit_env (GstGenVideoClipFilter *filter, GvEditEnv *env)
{
  *env = (GvEditEnv) {
    .seed = gst_gen_video_clip_filter_get_seed (filter),
    .cancel = gst_gen_video_clip_filter_get_cancel_flag (filter),
    .progress = post_progress,
    .progress_data = filter,
  };
}

GstFlowReturn
gst_gen_video_post_error (GstGenVideoClipFilter *filter, const gchar *what, GError *error)
{
  GstFlowReturn ret = GST_FLOW_ERROR;

  if (error == NULL) {
    GST_ELEMENT_ERROR (filter, LIBRARY, FAILED, ("%s failed.", what), (NULL));
  } else if (error->domain == GV_ERROR && error->code == GV_ERROR_CANCELLED) {
    ret = GST_FLOW_FLUSHING;
  } else if (error->domain == GV_ERROR) {
    switch ((GvErrorCode) error->code) {
      case GV_ERROR_NOT_FOUND:
        GST_ELEMENT_ERROR (filter, RESOURCE, NOT_FOUND, ("%s: a file is missing.", what),
            ("%s", error->message));
        break;
      case GV_ERROR_CORRUPT:
        GST_ELEMENT_ERROR (filter, RESOURCE, READ, ("%s: a file is damaged.", what),
            ("%s", error->message));
        break;
      case GV_ERROR_UNSUPPORTED:
        GST_ELEMENT_ERROR (filter, RESOURCE, SETTINGS,
            ("%s: the model or its configuration is not supported.", what),
            ("%s", error->message));
        break;
      case GV_ERROR_OUT_OF_MEMORY:
        GST_ELEMENT_ERROR (filter, RESOURCE, NO_SPACE_LEFT,
            ("%s: the device ran out of memory (try shorter clips or smaller frames).", what),
            ("%s", error->message));
        break;
      case GV_ERROR_INVALID:
        GST_ELEMENT_ERROR (filter, STREAM, FORMAT, ("%s: %s", what, error->message),
            ("%s", error->message));
        break;
      case GV_ERROR_NO_DEVICE:
        /* the message says which device was asked for and which exist */
        GST_ELEMENT_ERROR (filter, RESOURCE, NOT_FOUND, ("%s: %s", what, error->message),
            ("%s", error->message));
        break;
      case GV_ERROR_DEVICE_LOST:
      case GV_ERROR_VULKAN:
      default:
        GST_ELEMENT_ERROR (filter, LIBRARY, FAILED, ("%s: the Vulkan device failed.", what),
            ("%s", error->message));
        break;
    }
  } else if (error->domain == GST_CORE_ERROR || error->domain == GST_LIBRARY_ERROR ||
      error->domain == GST_RESOURCE_ERROR || error->domain == GST_STREAM_ERROR) {
    /* already said in GStreamer's terms (a file, a stream): posted as it is */
    gst_element_message_full (GST_ELEMENT (filter), GST_MESSAGE_ERROR, error->domain,
        error->code, g_strdup_printf ("%s: %s", what, error->message), NULL, __FILE__,
        GST_FUNCTION, __LINE__);
  } else {
    GST_ELEMENT_ERROR (filter, LIBRARY, FAILED, ("%s: %s", what, error->message),
        ("%s", error->message));
  }
  g_clear_error (&error);
  return ret;
}

gboolean
gst_gen_video_prepare_source (GstGenVideoClipFilter *filter, GstGenVideoClipJob *job,
    const gchar *prompt, const gchar *tuned_location, const GvTuneParams *tune,
    GstFlowReturn *ret)
{
  GError *error = NULL;

  *ret = GST_FLOW_OK;
  GvModel *model = gst_gen_video_clip_filter_get_model (filter, &error);
  if (model == NULL) {
    *ret = gst_gen_video_post_error (filter, "Loading the model", error);
    return FALSE;
  }
  GvEditEnv env;
  gst_gen_video_edit_env (filter, &env);
  GstVideoFrame *frames = g_new (GstVideoFrame, job->n_frames);
  GvPicture *pictures = g_new (GvPicture, job->n_frames);
  GvPixelFormat format;
  gboolean ok = FALSE;
  if (!gst_gen_video_map_frames (job, frames, pictures, &format)) {
    GST_ELEMENT_ERROR (filter, STREAM, FAILED, ("A frame could not be read."), (NULL));
    *ret = GST_FLOW_ERROR;
  } else {
    gboolean tuning = tune != NULL && tune->steps > 0;
    gboolean exists = tuned_location && g_file_test (tuned_location, G_FILE_TEST_EXISTS);
    GvTuneParams params = tuning ? *tune : (GvTuneParams) { 0 };
    gchar *fingerprint = NULL;
    if (tuning && tuned_location) {
      fingerprint = gv_tune_file_fingerprint (gv_model_get_folder (model), pictures,
          (gint) job->n_frames, GST_VIDEO_INFO_WIDTH (&job->info),
          GST_VIDEO_INFO_HEIGHT (&job->info), format, prompt, tune, env.seed);
      params.fingerprint = fingerprint;
      params.save_path = exists ? NULL : tuned_location;
    }
    /* a file tuned for something else is refused, never overwritten */
    ok = !(tuning && exists) || gv_tune_file_check (tuned_location, fingerprint, &error);
    if (!ok)
      *ret = gst_gen_video_post_error (filter, "Loading the tuned layers", error);
    if (ok) {
      ok = gv_edit_prepare_source (job->clip, model, &env, pictures, format, prompt,
          tuned_location, &error);
      if (!ok)
        *ret = gst_gen_video_post_error (filter, "Encoding the clip", error);
    }
    /* tuned layers loaded from the file are not tuned again */
    if (ok && tuning && !exists) {
      ok = gv_edit_tune (job->clip, &env, pictures, format, &params, &error);
      if (!ok)
        *ret = gst_gen_video_post_error (filter, "Tuning the model", error);
    }
    g_free (fingerprint);
    gst_gen_video_unmap_frames (frames, job->n_frames);
  }
  g_free (frames);
  g_free (pictures);
  return ok;
}

gboolean
gst_gen_video_ensure_source (GstGenVideoClipFilter *filter, GstGenVideoClipJob *job,
    GstFlowReturn *ret)
{
  *ret = GST_FLOW_OK;
  if (gv_edit_has_source (job->clip))
    return TRUE;
  gchar *prompt = gv_clip_dup_prompt (job->clip, GV_CLIP_PROMPT_SOURCE);
  gboolean ok = gst_gen_video_prepare_source (filter, job, prompt, NULL, NULL, ret);
  g_free (prompt);
  return ok;
}
