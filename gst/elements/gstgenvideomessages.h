/* The element messages of the genvideo elements: their names and field names, for applications
 * that watch the bus (match on the name: gst_message_has_name (msg, GST_GEN_VIDEO_MESSAGE_...)).
 * Every name starts with "genvideo-", so that they do not clash with other elements' messages
 * (progressreport and qtdemux post "progress" with int64 fields). docs/elements.md lists them
 * with their types. Plain #defines: this header needs nothing but a C compiler. */
#pragma once

/* Progress of long work, at most one per GST_GEN_VIDEO_PROGRESS_INTERVAL per element, plus one
 * at each stage's start and end. */
#define GST_GEN_VIDEO_MESSAGE_PROGRESS "genvideo-progress"
/* (string) what runs: "encoding", "tuning", "inversion", "masks", "sampling", "decoding" */
#define GST_GEN_VIDEO_FIELD_STAGE "stage"
/* (uint) steps done */
#define GST_GEN_VIDEO_FIELD_CURRENT "current"
/* (uint) steps of the stage */
#define GST_GEN_VIDEO_FIELD_TOTAL "total"
/* (int) current * 100 / total */
#define GST_GEN_VIDEO_FIELD_PERCENT "percent"
/* (double) stage "tuning" only: the training loss of the step */
#define GST_GEN_VIDEO_FIELD_LOSS "loss"

/* The masks invedit found, once per clip. */
#define GST_GEN_VIDEO_MESSAGE_MASK "genvideo-mask"
/* (uint) frames of the clip */
#define GST_GEN_VIDEO_FIELD_FRAMES "frames"
/* (int) latent width and height of the masks */
#define GST_GEN_VIDEO_FIELD_WIDTH "width"
#define GST_GEN_VIDEO_FIELD_HEIGHT "height"
/* (GstValueArray of double) the edited fraction of each frame */
#define GST_GEN_VIDEO_FIELD_AREA "area"
/* (string) where the masks come from: InvEdit's branches in this element, given to it (the
 * mask pad or mask-location), or an upstream invedit's, shown again */
#define GST_GEN_VIDEO_FIELD_ORIGIN "origin"
#define GST_GEN_VIDEO_MASKS_INVEDIT "invedit"
#define GST_GEN_VIDEO_MASKS_GIVEN "given"
#define GST_GEN_VIDEO_MASKS_UPSTREAM "upstream"

/* A step latentcorrect corrected. */
#define GST_GEN_VIDEO_MESSAGE_CORRECTION "genvideo-correction"
/* (int) the denoising step */
#define GST_GEN_VIDEO_FIELD_STEP "step"
/* (double) mean cosine similarity of the matched features (1: identical frames) */
#define GST_GEN_VIDEO_FIELD_MEAN_COSINE "mean-cosine"

/* In every message above: (uint64) the id of the clip object (gv_clip_get_id). */
#define GST_GEN_VIDEO_FIELD_CLIP_ID "clip-id"
