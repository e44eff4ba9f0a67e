/* Still images for the elements (the target object and its mask): decoded with GStreamer's own
 * elements (decodebin, so PNG, JPEG and whatever else is installed), converted to one format. */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

/* Decodes the first frame of @path as @format (RGBA or GRAY8). A picture decoded without
 * alpha is opaque (alpha 255). A PNG of 16 bits per sample goes to gdkpixbufdec, not pngdec
 * (GStreamer 1.22's pngdec shifts the samples of those). Returns the pixels (rows of
 * @stride bytes; g_free() them) and the size, or NULL with @error (G_FILE_ERROR_NOENT when
 * the file is missing, GST_STREAM_ERROR_DECODE when it is not an image we can decode). */
guint8 *gst_gen_video_load_image (const gchar *path, GstVideoFormat format, gint *width,
    gint *height, gint *stride, GError **error);

/* The same for an image buffer with caps (a target pad's buffer). */
guint8 *gst_gen_video_convert_image (GstBuffer *buffer, GstCaps *caps, GstVideoFormat format,
    gint *width, gint *height, gint *stride, GError **error);

/* The file of frame @index in an image sequence named like multifilesrc's "location": @pattern
 * holds exactly one frame number, %d, %u or %i with an optional 0 flag and width ("%04d"), and
 * %% for a percent sign. NULL with a GST_RESOURCE_ERROR_SETTINGS @error for any other
 * pattern. */
gchar *gst_gen_video_image_sequence_path (const gchar *pattern, guint64 index, GError **error);

G_END_DECLS
