/* Sharing the Vulkan device between elements and with the application through GstContext
 * (context type "gst.genvideo.device", field "device" of type GvDevice). */
#pragma once

#include <gst/gst.h>

#include "vk/gv-device.h"

G_BEGIN_DECLS

#define GST_GEN_VIDEO_DEVICE_CONTEXT_TYPE "gst.genvideo.device"
#define GST_TYPE_GEN_VIDEO_DEVICE (gst_gen_video_device_get_type ())
GType gst_gen_video_device_get_type (void);

/* A context holding @device (for applications that bring their own). */
GstContext *gst_gen_video_device_context_new (GvDevice *device);

/* Takes the device of @context into @slot (when it holds one and @index, if >= 0, matches). */
void gst_gen_video_device_from_context (GstContext *context, gint index, GvDevice **slot);

/* The device of @element in @slot: already there (set_context), from a neighbour (context
 * query both ways), from the application (need-context message), or else a new one, which the
 * element then announces (have-context message). */
GvDevice *gst_gen_video_device_ensure (GstElement *element, GstPad *sinkpad, GstPad *srcpad,
    gint index, GvDevice **slot, GError **error);

/* Answers a context query for the device; FALSE when it is not one or there is no device. */
gboolean gst_gen_video_device_handle_query (GstQuery *query, GvDevice *device);

G_END_DECLS
