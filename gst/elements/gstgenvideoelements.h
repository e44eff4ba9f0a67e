/* The elements of the genvideo plugin. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* The author in the elements' metadata (GST_PACKAGE_ORIGIN comes from meson.build). */
#define GST_GEN_VIDEO_AUTHOR "The gst-genvideo developers <" GST_PACKAGE_ORIGIN ">"

GST_ELEMENT_REGISTER_DECLARE (genvideotune);
GST_ELEMENT_REGISTER_DECLARE (invedit);
GST_ELEMENT_REGISTER_DECLARE (latentcorrect);

G_END_DECLS
