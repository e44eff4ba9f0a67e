/* Glue between the elements and the GStreamer-free edit code (genvideo/gv-edit.h): frames as
 * pictures, the environment of a stage, errors as element errors. */
#pragma once

#include "genvideo/gv-edit.h"
#include "genvideo/gv-tune-file.h"
#include "gstgenvideoclipfilter.h"

G_BEGIN_DECLS

/* Maps the frames of @job for reading (@frames and @pictures hold job->n_frames entries). */
gboolean gst_gen_video_map_frames (GstGenVideoClipJob *job, GstVideoFrame *frames,
    GvPicture *pictures, GvPixelFormat *format);
void gst_gen_video_unmap_frames (GstVideoFrame *frames, guint n);

/* The environment of a stage of @filter: its seed, cancel flag and progress. */
void gst_gen_video_edit_env (GstGenVideoClipFilter *filter, GvEditEnv *env);

/* Posts @error (taken) as an element error about @what and returns GST_FLOW_ERROR, or
 * GST_FLOW_FLUSHING when the work was cancelled. An error of GStreamer's own domains keeps its
 * domain and code. */
GstFlowReturn gst_gen_video_post_error (GstGenVideoClipFilter *filter, const gchar *what,
    GError *error);

/* Prepares the source of job->clip (held by the caller) from its frames on the element's model
 * (VAE encode, @prompt, temporal layers from @tuned_location or initialised), then, when @tune
 * is not NULL and no tuned layers were loaded, tunes them on the clip (gv_edit_tune); FALSE
 * after posting an error into *@ret. */
gboolean gst_gen_video_prepare_source (GstGenVideoClipFilter *filter, GstGenVideoClipJob *job,
    const gchar *prompt, const gchar *tuned_location, const GvTuneParams *tune,
    GstFlowReturn *ret);

/* Makes sure job->clip (held by the caller) has its source prepared (stage 1 without
 * training), doing it here when no genvideotune upstream did; FALSE after posting an error. */
gboolean gst_gen_video_ensure_source (GstGenVideoClipFilter *filter, GstGenVideoClipJob *job,
    GstFlowReturn *ret);

G_END_DECLS
