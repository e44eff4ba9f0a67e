/* PNG files through GStreamer's own pngenc and pngdec (gstreamer1.0-plugins-good): the project
 * links no image library. Pixels are tightly packed rows of @channels bytes: 1 GRAY8, 3 RGB,
 * 4 RGBA (straight alpha). Call gst_init() first. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GV_PNG_ERROR (gv_png_error_quark ())
GQuark gv_png_error_quark (void);

typedef enum {
  GV_PNG_ERROR_MISSING,       /* no such file */
  GV_PNG_ERROR_DECODE,        /* not a PNG, or not decodable */
  GV_PNG_ERROR_ENCODE,        /* encoding or writing failed */
  GV_PNG_ERROR_NO_PLUGIN,     /* pngenc, pngdec or videoconvert is not installed */
} GvPngError;

/* Encodes and writes @path (8 bit per channel). The same pixels give the same bytes. */
gboolean gv_png_write (const gchar *path, const guint8 *pixels, gint width, gint height,
    gint channels, GError **error);
/* Reads any PNG (any colour type and depth) converted to @channels; returns the pixels
 * (g_free() them) and the size, or NULL with @error. */
guint8 *gv_png_read (const gchar *path, gint channels, gint *width, gint *height,
    GError **error);

G_END_DECLS
