/* The elements of the genvideo plugin. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

GST_ELEMENT_REGISTER_DECLARE (genvideotune);
GST_ELEMENT_REGISTER_DECLARE (invedit);
GST_ELEMENT_REGISTER_DECLARE (latentcorrect);

G_END_DECLS
