/* Error domain of the genvideo core library: every layer reports with it. GLib only, so that
 * code without a device (the file parsers, their fuzz target) needs no Vulkan header. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define GV_ERROR (gv_error_quark ())
GQuark gv_error_quark (void);

typedef enum {
  GV_ERROR_NO_DEVICE,       /* no usable Vulkan device */
  GV_ERROR_VULKAN,          /* a Vulkan call failed for another reason */
  GV_ERROR_OUT_OF_MEMORY,   /* host or device memory exhausted */
  GV_ERROR_DEVICE_LOST,     /* the device was lost: nothing more can run on it */
  GV_ERROR_CANCELLED,       /* the work was cancelled between two steps */
  GV_ERROR_INVALID,         /* bad arguments: shapes, sizes, values */
  GV_ERROR_NOT_FOUND,       /* a file, folder or tensor is missing */
  GV_ERROR_CORRUPT,         /* a file is truncated or malformed */
  GV_ERROR_UNSUPPORTED,     /* a valid but unsupported configuration */
} GvErrorCode;

G_END_DECLS
