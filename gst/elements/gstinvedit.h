/* invedit: stage 2, DDIM inversion of the clip and the InvEdit masks of the edit. */
#pragma once

#include "gstgenvideoclipfilter.h"

G_BEGIN_DECLS

#define GST_TYPE_INV_EDIT (gst_inv_edit_get_type ())
G_DECLARE_FINAL_TYPE (GstInvEdit, gst_inv_edit, GST, INV_EDIT, GstGenVideoClipFilter)

G_END_DECLS
