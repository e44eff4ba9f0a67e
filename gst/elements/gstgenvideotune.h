/* genvideotune: stage 1, one-shot fine-tuning of the inflated model on the clip. */
#pragma once

#include "gstgenvideoclipfilter.h"

G_BEGIN_DECLS

#define GST_TYPE_GEN_VIDEO_TUNE (gst_gen_video_tune_get_type ())
G_DECLARE_FINAL_TYPE (GstGenVideoTune, gst_gen_video_tune, GST, GEN_VIDEO_TUNE,
    GstGenVideoClipFilter)

G_END_DECLS
