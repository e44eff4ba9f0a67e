/* GstGenVideoClipFilter: the base class of genvideotune, invedit and latentcorrect.
 *
 * It collects a clip (buffers and the serialized events and queries between them), hands the
 * whole clip to the subclass's process_clip() on a task of the src pad, then pushes every frame
 * in order with its original timestamps and flags, each with a GstGenVideoClipMeta, and the
 * queued events and queries in their place. A clip ends after clip-frames frames (0: the whole
 * stream), at EOS or a serialized query (DRAIN), at a new SEGMENT, STREAM_START or CAPS, or
 * where the clip that arrives from an upstream genvideo element ends (so the three elements
 * agree on the clips and share one GvClip). */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include "genvideo/gv-clip.h"
#include "gstgenvideomessages.h"
#include "models/gv-model.h"

G_BEGIN_DECLS

#define GST_TYPE_GEN_VIDEO_CLIP_FILTER (gst_gen_video_clip_filter_get_type ())
G_DECLARE_DERIVABLE_TYPE (GstGenVideoClipFilter, gst_gen_video_clip_filter, GST,
    GEN_VIDEO_CLIP_FILTER, GstElement)

/* One clip, as process_clip() sees it. */
typedef struct {
  GvClip *clip;          /* the shared clip state: reused from upstream or new; held by the
                          * task while process_clip() runs */
  GstVideoInfo info;     /* format of the frames */
  GstBuffer **frames;    /* n_frames buffers in order; process_clip may replace them (unref the
                          * old one); timestamps, flags and the meta are set again on push */
  guint n_frames;        /* at least 1 */
} GstGenVideoClipJob;

struct _GstGenVideoClipFilterClass {
  GstElementClass parent_class;

  /* Runs on the src pad's task with a whole clip, holding job->clip (gv_clip_lock(): another
   * element sharing the clip, after a tee, waits meanwhile). Long work checks
   * gst_gen_video_clip_filter_is_cancelled() between steps and returns GST_FLOW_FLUSHING when
   * it is set; on failure it posts GST_ELEMENT_ERROR and returns GST_FLOW_ERROR. The default
   * passes the frames through and reports progress. */
  GstFlowReturn (*process_clip) (GstGenVideoClipFilter *filter, GstGenVideoClipJob *job);

  /* The caps of the frames that leave for frames of @input_caps, or NULL when they leave as
   * they came (the default). process_clip() then replaces every frame by one of those caps. */
  GstCaps *(*output_caps) (GstGenVideoClipFilter *filter, GstCaps *input_caps);

  /* Called at READY->PAUSED, before the pads are activated: opens what the element computes
   * with, so that a wrong model or a missing device fails the state change instead of the
   * first clip. On failure it posts GST_ELEMENT_ERROR and returns FALSE. The default opens the
   * device and loads the model (gst_gen_video_clip_filter_get_model()); NULL: nothing. */
  gboolean (*start) (GstGenVideoClipFilter *filter);
};

/* Set from FLUSH_START or a state change to READY until the processing has stopped. */
gboolean gst_gen_video_clip_filter_is_cancelled (GstGenVideoClipFilter *filter);
/* The flag itself (read it with g_atomic_int_get), for GStreamer-free compute loops. */
const gint *gst_gen_video_clip_filter_get_cancel_flag (GstGenVideoClipFilter *filter);

/* Posts an element message GST_GEN_VIDEO_MESSAGE_PROGRESS ("genvideo-progress": stage, current,
 * total, percent, clip-id; gstgenvideomessages.h) for the clip being processed. Rate-limited:
 * a message goes out when the stage changes, when current == total, or when
 * GST_GEN_VIDEO_PROGRESS_INTERVAL has passed since the last one. */
#define GST_GEN_VIDEO_PROGRESS_INTERVAL (250 * G_TIME_SPAN_MILLISECOND)
void gst_gen_video_clip_filter_post_progress (GstGenVideoClipFilter *filter,
    const gchar *stage, guint current, guint total);
/* The same with GST_GEN_VIDEO_FIELD_LOSS (the training loss of the step; NaN: none). */
void gst_gen_video_clip_filter_post_progress_loss (GstGenVideoClipFilter *filter,
    const gchar *stage, guint current, guint total, gdouble loss);

/* Property values, read under the object lock. */
guint gst_gen_video_clip_filter_get_clip_frames (GstGenVideoClipFilter *filter);
gchar *gst_gen_video_clip_filter_dup_model (GstGenVideoClipFilter *filter);
gint gst_gen_video_clip_filter_get_device_index (GstGenVideoClipFilter *filter);
guint64 gst_gen_video_clip_filter_get_seed (GstGenVideoClipFilter *filter);

/* The model folder: the model property, else GENVIDEO_MODEL, else the installed default
 * model. g_free() it. */
gchar *gst_gen_video_clip_filter_dup_model_path (GstGenVideoClipFilter *filter);
/* The default model: genvideo-shapes where it is found, else tiny-sd21-unclip, each looked
 * up in GENVIDEO_MODELS_DIR (when set), the models folder under the prefix the plugin was
 * built for, and the same place relative to the loaded plugin file (a DESTDIR or moved
 * install). g_free() it. */
gchar *gst_gen_video_default_model_dir (void);

/* (transfer none): the Vulkan device (shared through GstContext, else the process-wide one)
 * and the model on it (the process-wide cache), loaded on first use and held until the element
 * goes back to READY (gstgenvideoresources.h). Errors are for GST_ELEMENT_ERROR. */
GvDevice *gst_gen_video_clip_filter_get_device (GstGenVideoClipFilter *filter, GError **error);
GvModel *gst_gen_video_clip_filter_get_model (GstGenVideoClipFilter *filter, GError **error);

/* For set_property: FALSE (and a warning) when @pspec is GST_PARAM_MUTABLE_READY and the
 * element is above READY. Call it with the object lock held. */
gboolean gst_gen_video_clip_filter_can_set_property (GstGenVideoClipFilter *filter,
    GParamSpec *pspec);

G_END_DECLS
