#include <string.h>

#include <gst/video/video.h>

#include "gstgenvideoimage.h"
#include "gstgenvideomasks.h"

/* Pictures a mask pad keeps before its chain waits (more when a clip asks for more): a few
 * clips of 8 frames, so that a matte stream read from files runs a little ahead of the edit. */
#define MASK_PAD_AHEAD 32

/* Checks a decoded picture's size and copies it to @plane; FALSE with @error otherwise. */
static gboolean
copy_mask (guint8 *plane, const guint8 *pixels, gint mw, gint mh, gint width, gint height,
    const gchar *what, GError **error)
{
  if (mw != width || mh != height) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, "The mask %s is "
        "%dx%d but the frames are %dx%d: they must be the same size.", what, mw, mh, width,
        height);
    return FALSE;
  }
  memcpy (plane, pixels, (gsize) width * height);   /* GRAY8 comes packed: stride = width */
  return TRUE;
}

guint8 *
gst_gen_video_masks_from_files (const gchar *pattern, guint64 first, guint n, gint width,
    gint height, GError **error)
{
  gsize plane = (gsize) width * height;
  guint8 *masks = g_new (guint8, n * plane);
  GError *err = NULL;

  for (guint i = 0; i < n; i++) {
    gint mw = 0, mh = 0, stride = 0;
    gchar *path = gst_gen_video_image_sequence_path (pattern, first + i, &err);
    guint8 *mask = path ? gst_gen_video_load_image (path, GST_VIDEO_FORMAT_GRAY8, &mw, &mh,
        &stride, &err) : NULL;
    gboolean ok = mask != NULL && copy_mask (masks + i * plane, mask, mw, mh, width, height,
        path, error);
    if (mask == NULL && path == NULL)
      g_set_error (error, err->domain, err->code, "Wrong mask-location: %s.", err->message);
    else if (mask == NULL && err->domain == G_FILE_ERROR)
      g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND, "The mask of "
          "frame %" G_GUINT64_FORMAT " was not found: %s.", first + i, path);
    else if (mask == NULL)
      g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE, "The mask of frame %"
          G_GUINT64_FORMAT " could not be read: %s.", first + i, err->message);
    g_clear_error (&err);
    g_free (mask);
    g_free (path);
    if (!ok) {
      g_free (masks);
      return NULL;
    }
  }
  return masks;
}

/* --- the mask pad --- */

struct _GstGenVideoMaskPad {
  GMutex lock;
  GCond cond;
  GQueue samples;       /* GstSample: the pictures that came and wait, oldest first */
  GstCaps *caps;
  guint wanted;         /* pictures a waiting clip needs: the chain does not block below it */
  guint64 taken;        /* pictures taken since the start */
  gboolean eos, flushing;
};

#define MASK_PAD_KEY "gst-gen-video-mask-pad"

static GstGenVideoMaskPad *
mask_pad (GstPad *pad)
{
  return g_object_get_data (G_OBJECT (pad), MASK_PAD_KEY);
}

static void
mask_pad_free (GstGenVideoMaskPad *mp)
{
  g_queue_clear_full (&mp->samples, (GDestroyNotify) gst_sample_unref);
  gst_caps_replace (&mp->caps, NULL);
  g_mutex_clear (&mp->lock);
  g_cond_clear (&mp->cond);
  g_free (mp);
}

static GstFlowReturn
mask_pad_chain (GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  GstGenVideoMaskPad *mp = mask_pad (pad);
  GstFlowReturn ret = GST_FLOW_OK;

  g_mutex_lock (&mp->lock);
  while (!mp->flushing && mp->samples.length >= MAX (MASK_PAD_AHEAD, mp->wanted))
    g_cond_wait (&mp->cond, &mp->lock);
  if (mp->flushing) {
    ret = GST_FLOW_FLUSHING;
  } else if (mp->caps == NULL) {
    ret = GST_FLOW_NOT_NEGOTIATED;
  } else {
    g_queue_push_tail (&mp->samples, gst_sample_new (buffer, mp->caps, NULL, NULL));
    g_cond_broadcast (&mp->cond);
  }
  g_mutex_unlock (&mp->lock);
  gst_buffer_unref (buffer);
  return ret;
}

static gboolean
mask_pad_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstGenVideoMaskPad *mp = mask_pad (pad);
  GstCaps *caps;

  g_mutex_lock (&mp->lock);
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:
      gst_event_parse_caps (event, &caps);
      gst_caps_replace (&mp->caps, caps);
      break;
    case GST_EVENT_EOS:
      mp->eos = TRUE;
      break;
    case GST_EVENT_FLUSH_START:
      mp->flushing = TRUE;
      break;
    case GST_EVENT_FLUSH_STOP:
      mp->flushing = FALSE;
      mp->eos = FALSE;
      g_queue_clear_full (&mp->samples, (GDestroyNotify) gst_sample_unref);
      break;
    default:
      break;
  }
  g_cond_broadcast (&mp->cond);
  g_mutex_unlock (&mp->lock);
  /* the pictures are kept, not passed on */
  gst_event_unref (event);
  return TRUE;
}

/* deactivation wakes a chain that waits for room (the pad's streaming stops right after) */
static gboolean
mask_pad_activate_mode (GstPad *pad, GstObject *parent, GstPadMode mode, gboolean active)
{
  GstGenVideoMaskPad *mp = mask_pad (pad);

  g_mutex_lock (&mp->lock);
  mp->flushing = !active;
  g_cond_broadcast (&mp->cond);
  g_mutex_unlock (&mp->lock);
  return TRUE;
}

void
gst_gen_video_mask_pad_setup (GstPad *pad)
{
  GstGenVideoMaskPad *mp = g_new0 (GstGenVideoMaskPad, 1);

  g_mutex_init (&mp->lock);
  g_cond_init (&mp->cond);
  g_queue_init (&mp->samples);
  mp->flushing = TRUE;
  g_object_set_data_full (G_OBJECT (pad), MASK_PAD_KEY, mp, (GDestroyNotify) mask_pad_free);
  gst_pad_set_chain_function (pad, mask_pad_chain);
  gst_pad_set_event_function (pad, mask_pad_event);
  gst_pad_set_activatemode_function (pad, mask_pad_activate_mode);
}

void
gst_gen_video_mask_pad_reset (GstPad *pad)
{
  GstGenVideoMaskPad *mp = mask_pad (pad);

  g_mutex_lock (&mp->lock);
  g_queue_clear_full (&mp->samples, (GDestroyNotify) gst_sample_unref);
  mp->eos = FALSE;
  mp->wanted = 0;
  mp->taken = 0;
  g_cond_broadcast (&mp->cond);
  g_mutex_unlock (&mp->lock);
}

guint8 *
gst_gen_video_mask_pad_take (GstPad *pad, guint n, gint width, gint height, const gint *cancel,
    GError **error)
{
  GstGenVideoMaskPad *mp = mask_pad (pad);
  GstSample **samples = g_new0 (GstSample *, n);
  gboolean ended = FALSE;
  guint64 first;

  g_mutex_lock (&mp->lock);
  mp->wanted = n;
  g_cond_broadcast (&mp->cond);
  while (mp->samples.length < n && !mp->eos && !mp->flushing && !g_atomic_int_get (cancel))
    g_cond_wait_until (&mp->cond, &mp->lock, g_get_monotonic_time () +
        100 * G_TIME_SPAN_MILLISECOND);
  first = mp->taken;
  gboolean stopped = mp->flushing || g_atomic_int_get (cancel);
  if (!stopped && mp->samples.length >= n) {
    for (guint i = 0; i < n; i++)
      samples[i] = g_queue_pop_head (&mp->samples);
    mp->taken += n;
  } else if (!stopped) {
    ended = TRUE;
    first += mp->samples.length;
  }
  mp->wanted = 0;
  g_cond_broadcast (&mp->cond);
  g_mutex_unlock (&mp->lock);

  if (ended)
    g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED, "The mask pad's stream "
        "ended after %" G_GUINT64_FORMAT " pictures, before the clip's last frame (a clip of "
        "%u frames).", first, n);
  gsize plane = (gsize) width * height;
  guint8 *masks = samples[0] != NULL ? g_new (guint8, n * plane) : NULL;
  for (guint i = 0; i < n && masks != NULL; i++) {
    gint mw = 0, mh = 0, stride = 0;
    gchar *what = g_strdup_printf ("picture %" G_GUINT64_FORMAT " of the mask pad", first + i);
    GError *err = NULL;
    guint8 *mask = gst_gen_video_convert_image (gst_sample_get_buffer (samples[i]),
        gst_sample_get_caps (samples[i]), GST_VIDEO_FORMAT_GRAY8, &mw, &mh, &stride, &err);
    if (mask == NULL)
      g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE, "The %s could not be "
          "read: %s.", what, err->message);
    if (mask == NULL || !copy_mask (masks + i * plane, mask, mw, mh, width, height, what,
            error))
      g_clear_pointer (&masks, g_free);
    g_clear_error (&err);
    g_free (mask);
    g_free (what);
  }
  for (guint i = 0; i < n; i++)
    if (samples[i] != NULL)
      gst_sample_unref (samples[i]);
  g_free (samples);
  return masks;
}
