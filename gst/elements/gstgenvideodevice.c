#include "gstgenvideodevice.h"

G_DEFINE_BOXED_TYPE (GvDevice, gst_gen_video_device, gv_device_ref, gv_device_unref)

GstContext *
gst_gen_video_device_context_new (GvDevice *device)
{
  GstContext *context = gst_context_new (GST_GEN_VIDEO_DEVICE_CONTEXT_TYPE, TRUE);
  GstStructure *s = gst_context_writable_structure (context);
  gst_structure_set (s, "device", GST_TYPE_GEN_VIDEO_DEVICE, device, NULL);
  return context;
}

void
gst_gen_video_device_from_context (GstContext *context, gint index, GvDevice **slot)
{
  GvDevice *device = NULL;

  if (g_strcmp0 (gst_context_get_context_type (context), GST_GEN_VIDEO_DEVICE_CONTEXT_TYPE))
    return;
  if (!gst_structure_get (gst_context_get_structure (context), "device",
          GST_TYPE_GEN_VIDEO_DEVICE, &device, NULL) || device == NULL)
    return;
  if (index >= 0 && gv_device_get_index (device) != index) {
    /* the element was told to use another device */
    gv_device_unref (device);
    return;
  }
  if (*slot)
    gv_device_unref (*slot);
  *slot = device;
}

static gboolean
query_pad (GstPad *pad, GstQuery *query)
{
  return pad != NULL && gst_pad_peer_query (pad, query);
}

GvDevice *
gst_gen_video_device_ensure (GstElement *element, GstPad *sinkpad, GstPad *srcpad, gint index,
    GvDevice **slot, GError **error)
{
  if (*slot != NULL)
    return *slot;

  /* a neighbour's, downstream first (it asked the application already if it had to) */
  GstQuery *query = gst_query_new_context (GST_GEN_VIDEO_DEVICE_CONTEXT_TYPE);
  if (query_pad (srcpad, query) || query_pad (sinkpad, query)) {
    GstContext *context = NULL;
    gst_query_parse_context (query, &context);
    if (context != NULL)
      gst_gen_video_device_from_context (context, index, slot);
  }
  gst_query_unref (query);
  if (*slot != NULL)
    return *slot;

  /* the application's: it answers with gst_element_set_context (), usually from a sync
   * handler, so the device is there when the message returns */
  GstMessage *need = gst_message_new_need_context (GST_OBJECT (element),
      GST_GEN_VIDEO_DEVICE_CONTEXT_TYPE);
  gst_element_post_message (element, need);
  GST_OBJECT_LOCK (element);
  gboolean have = *slot != NULL;
  GST_OBJECT_UNLOCK (element);
  if (have)
    return *slot;

  GvDevice *device = gv_device_get_shared (index, error);
  if (device == NULL)
    return NULL;
  GST_OBJECT_LOCK (element);
  *slot = device;
  GST_OBJECT_UNLOCK (element);
  GstContext *context = gst_gen_video_device_context_new (device);
  gst_element_post_message (element, gst_message_new_have_context (GST_OBJECT (element),
          context));
  return device;
}

gboolean
gst_gen_video_device_handle_query (GstQuery *query, GvDevice *device)
{
  const gchar *type;

  if (GST_QUERY_TYPE (query) != GST_QUERY_CONTEXT || device == NULL)
    return FALSE;
  gst_query_parse_context_type (query, &type);
  if (g_strcmp0 (type, GST_GEN_VIDEO_DEVICE_CONTEXT_TYPE) != 0)
    return FALSE;
  GstContext *context = gst_gen_video_device_context_new (device);
  gst_query_set_context (query, context);
  gst_context_unref (context);
  return TRUE;
}
