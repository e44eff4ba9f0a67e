/* invedit: stage 2, DDIM inversion of the clip and the InvEdit masks of the edit. */
#pragma once

#include "gstgenvideoclipfilter.h"

G_BEGIN_DECLS

typedef enum {
  GST_INV_EDIT_OUTPUT_FRAMES,
  GST_INV_EDIT_OUTPUT_MASKS,
} GstInvEditOutput;

#define GST_TYPE_INV_EDIT_OUTPUT (gst_inv_edit_output_get_type ())
GType gst_inv_edit_output_get_type (void);

#define GST_TYPE_INV_EDIT (gst_inv_edit_get_type ())
G_DECLARE_FINAL_TYPE (GstInvEdit, gst_inv_edit, GST, INV_EDIT, GstGenVideoClipFilter)

G_END_DECLS
