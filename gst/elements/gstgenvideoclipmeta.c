#include <gst/video/video.h>

#include "gstgenvideoclipmeta.h"

/* Tagged "video" + "size": the clip's latents and masks depend on the frame size, so a
 * transform that knows the tags (videoconvert, videoscale) asks our transform function, which
 * keeps the meta only when the size stays; transforms that know nothing of it drop it. */
GType
gst_gen_video_clip_meta_api_get_type (void)
{
  static GType type = 0;
  static const gchar *tags[] = { GST_META_TAG_VIDEO_STR, GST_META_TAG_VIDEO_SIZE_STR, NULL };

  if (g_once_init_enter (&type)) {
    GType t = gst_meta_api_type_register ("GstGenVideoClipMetaAPI", tags);
    g_once_init_leave (&type, t);
  }
  return type;
}

static gboolean
clip_meta_init (GstMeta *meta, gpointer params, GstBuffer *buffer)
{
  GstGenVideoClipMeta *m = (GstGenVideoClipMeta *) meta;

  m->clip = NULL;
  m->frame_index = 0;
  m->frame_count = 0;
  return TRUE;
}

static void
clip_meta_free (GstMeta *meta, GstBuffer *buffer)
{
  GstGenVideoClipMeta *m = (GstGenVideoClipMeta *) meta;

  g_clear_pointer (&m->clip, gv_clip_unref);
}

static gboolean
clip_meta_transform (GstBuffer *dest, GstMeta *meta, GstBuffer *buffer, GQuark type,
    gpointer data)
{
  GstGenVideoClipMeta *m = (GstGenVideoClipMeta *) meta;
  gboolean keep = FALSE;

  if (GST_META_TRANSFORM_IS_COPY (type)) {
    const GstMetaTransformCopy *copy = data;
    /* a part of a frame is no frame of the clip */
    keep = !copy->region;
  } else if (GST_VIDEO_META_TRANSFORM_IS_SCALE (type)) {
    const GstVideoMetaTransform *scale = data;
    keep = GST_VIDEO_INFO_WIDTH (scale->in_info) == GST_VIDEO_INFO_WIDTH (scale->out_info)
        && GST_VIDEO_INFO_HEIGHT (scale->in_info) == GST_VIDEO_INFO_HEIGHT (scale->out_info);
  } else {
    /* unknown transform: the frame may no longer match the clip's state */
    return FALSE;
  }

  if (keep && m->clip)
    gst_buffer_add_gen_video_clip_meta (dest, m->clip, m->frame_index);
  return TRUE;
}

const GstMetaInfo *
gst_gen_video_clip_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;

  if (g_once_init_enter ((GstMetaInfo **) &info)) {
    const GstMetaInfo *i = gst_meta_register (GST_GEN_VIDEO_CLIP_META_API_TYPE,
        "GstGenVideoClipMeta", sizeof (GstGenVideoClipMeta), clip_meta_init, clip_meta_free,
        clip_meta_transform);
    g_once_init_leave ((GstMetaInfo **) &info, (GstMetaInfo *) i);
  }
  return info;
}

GstGenVideoClipMeta *
gst_buffer_add_gen_video_clip_meta (GstBuffer *buffer, GvClip *clip, guint frame_index)
{
  g_return_val_if_fail (clip != NULL, NULL);
  g_return_val_if_fail (frame_index < gv_clip_get_n_frames (clip), NULL);

  GstGenVideoClipMeta *m = (GstGenVideoClipMeta *) gst_buffer_add_meta (buffer,
      GST_GEN_VIDEO_CLIP_META_INFO, NULL);
  if (!m)
    return NULL;
  m->clip = gv_clip_ref (clip);
  m->frame_index = frame_index;
  m->frame_count = gv_clip_get_n_frames (clip);
  return m;
}
