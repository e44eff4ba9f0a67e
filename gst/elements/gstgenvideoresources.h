/* The compute resources of one genvideo element, and the one way the elements get them: the
 * Vulkan device from a neighbour or the application through GstContext, else from the
 * process-wide cache (gv_device_get_shared), and the model of the element's folder on it from
 * the process-wide cache (gv_model_get_shared). Both are taken at READY->PAUSED (the base class's
 * start) or else on first use, and held until the element goes back to READY; the element hands the model to the clip state
 * (gv_edit_prepare_source), which keeps its own reference.
 *
 * Locking: the owner's object lock guards @device and @model; the getters are called from the
 * src pad's task, set_context and answer_query from any thread. */
#pragma once

#include <gst/gst.h>

#include "models/gv-model.h"

G_BEGIN_DECLS

typedef struct {
  GstElement *element;  /* the owner (no reference) */
  GstPad *sinkpad;      /* its pads, for context queries (no references) */
  GstPad *srcpad;
  GvDevice *device;     /* a reference, or NULL */
  GvModel *model;       /* a reference, or NULL */
} GstGenVideoResources;

void gst_gen_video_resources_init (GstGenVideoResources *res, GstElement *element,
    GstPad *sinkpad, GstPad *srcpad);

/* (transfer none): the device (device @index, -1: any), found or opened on first use; valid
 * until gst_gen_video_resources_release(). Errors are for GST_ELEMENT_ERROR. */
GvDevice *gst_gen_video_resources_get_device (GstGenVideoResources *res, gint index,
    GError **error);
/* (transfer none): the model of folder @path on that device, loaded on first use; valid until
 * gst_gen_video_resources_release(). */
GvModel *gst_gen_video_resources_get_model (GstGenVideoResources *res, gint index,
    const gchar *path, GError **error);

/* Takes the device of @context (transfer none) when the element has not used one yet. */
void gst_gen_video_resources_set_context (GstGenVideoResources *res, GstContext *context,
    gint index);
/* Answers a context query for the device; FALSE when it is not one or there is no device. */
gboolean gst_gen_video_resources_answer_query (GstGenVideoResources *res, GstQuery *query);

/* Drops the model and the device (device memory goes with the stream; another model may come
 * next). */
void gst_gen_video_resources_release (GstGenVideoResources *res);

G_END_DECLS
