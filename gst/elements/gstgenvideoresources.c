#include "gstgenvideodevice.h"
#include "gstgenvideoresources.h"

GST_DEBUG_CATEGORY_EXTERN (gst_gen_video_clip_filter_debug);
#define GST_CAT_DEFAULT gst_gen_video_clip_filter_debug

void
gst_gen_video_resources_init (GstGenVideoResources *res, GstElement *element, GstPad *sinkpad,
    GstPad *srcpad)
{
  *res = (GstGenVideoResources) { element, sinkpad, srcpad, NULL, NULL };
}

GvDevice *
gst_gen_video_resources_get_device (GstGenVideoResources *res, gint index, GError **error)
{
  return gst_gen_video_device_ensure (res->element, res->sinkpad, res->srcpad, index,
      &res->device, error);
}

GvModel *
gst_gen_video_resources_get_model (GstGenVideoResources *res, gint index, const gchar *path,
    GError **error)
{
  GST_OBJECT_LOCK (res->element);
  GvModel *model = res->model;
  GST_OBJECT_UNLOCK (res->element);
  if (model != NULL)
    return model;

  GvDevice *device = gst_gen_video_resources_get_device (res, index, error);
  if (device == NULL)
    return NULL;
  GST_INFO_OBJECT (res->element, "loading the model of %s on %s", path,
      gv_device_get_name (device));
  model = gv_model_get_shared (device, path, error);
  if (model != NULL) {
    GST_OBJECT_LOCK (res->element);
    res->model = model;
    GST_OBJECT_UNLOCK (res->element);
  }
  return model;
}

void
gst_gen_video_resources_set_context (GstGenVideoResources *res, GstContext *context, gint index)
{
  GST_OBJECT_LOCK (res->element);
  /* a device is only taken before the element uses one */
  if (res->model == NULL)
    gst_gen_video_device_from_context (context, index, &res->device);
  GST_OBJECT_UNLOCK (res->element);
}

gboolean
gst_gen_video_resources_answer_query (GstGenVideoResources *res, GstQuery *query)
{
  GST_OBJECT_LOCK (res->element);
  GvDevice *device = res->device ? gv_device_ref (res->device) : NULL;
  GST_OBJECT_UNLOCK (res->element);
  gboolean answered = gst_gen_video_device_handle_query (query, device);
  if (device)
    gv_device_unref (device);
  return answered;
}

void
gst_gen_video_resources_release (GstGenVideoResources *res)
{
  GST_OBJECT_LOCK (res->element);
  GvModel *model = g_steal_pointer (&res->model);
  GvDevice *device = g_steal_pointer (&res->device);
  GST_OBJECT_UNLOCK (res->element);
  if (model)
    gv_model_unref (model);
  if (device)
    gv_device_unref (device);
}
