/* GstGenVideoClipMeta: which clip a frame belongs to, and where in it. Every buffer a genvideo
 * element pushes carries one; the next element finds the shared GvClip (and what earlier stages
 * stored in it) through it. */
#pragma once

#include <gst/gst.h>

#include "genvideo/gv-clip.h"

G_BEGIN_DECLS

typedef struct _GstGenVideoClipMeta GstGenVideoClipMeta;

struct _GstGenVideoClipMeta {
  GstMeta meta;

  GvClip *clip;         /* one reference held by the meta */
  guint frame_index;    /* 0 .. frame_count - 1 */
  guint frame_count;    /* gv_clip_get_n_frames (clip), for readers that do not link the core */
};

#define GST_GEN_VIDEO_CLIP_META_API_TYPE (gst_gen_video_clip_meta_api_get_type ())
#define GST_GEN_VIDEO_CLIP_META_INFO (gst_gen_video_clip_meta_get_info ())

GType gst_gen_video_clip_meta_api_get_type (void);
const GstMetaInfo *gst_gen_video_clip_meta_get_info (void);

#define gst_buffer_get_gen_video_clip_meta(b) \
  ((GstGenVideoClipMeta *) gst_buffer_get_meta ((b), GST_GEN_VIDEO_CLIP_META_API_TYPE))

/* Adds a meta referencing @clip (a new reference) for frame @frame_index to a writable
 * @buffer. */
GstGenVideoClipMeta *gst_buffer_add_gen_video_clip_meta (GstBuffer *buffer, GvClip *clip,
    guint frame_index);

G_END_DECLS
