/* Masks given to invedit instead of InvEdit's, as GRAY8 pictures of the frames' size (white:
 * edited): files named by a pattern (mask-location), or a matte stream on the "mask" request
 * pad, one picture per frame in the order the frames come. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Pictures @first .. @first + @n - 1 of @pattern (gst_gen_video_image_sequence_path), GRAY8
 * planes of @width x @height one after the other (g_free() them); NULL with @error
 * (GST_RESOURCE_ERROR_SETTINGS: the pattern or a picture's size; _NOT_FOUND: a file;
 * GST_STREAM_ERROR_DECODE: not a picture) whose message says which frame and file. */
guint8 *gst_gen_video_masks_from_files (const gchar *pattern, guint64 first, guint n, gint width,
    gint height, GError **error);

/* The queue of a mask pad. The pad's chain keeps the pictures that come (in any raw video
 * format) and blocks while MASK_PAD_AHEAD of them wait and no clip asks for more; flushes,
 * deactivation and EOS wake whoever waits. */
typedef struct _GstGenVideoMaskPad GstGenVideoMaskPad;

/* Makes @pad (a sink pad, not yet active) a mask pad; the queue lives as long as the pad. */
void gst_gen_video_mask_pad_setup (GstPad *pad);
/* Forgets what came and the EOS (at READY->PAUSED). */
void gst_gen_video_mask_pad_reset (GstPad *pad);
/* Waits for the next @n pictures, or the pad's EOS, or *@cancel, and takes them as
 * gst_gen_video_masks_from_files() gives them; NULL without @error when cancelled or flushing,
 * with GST_STREAM_ERROR_FAILED when the stream ended first, GST_RESOURCE_ERROR_SETTINGS when a
 * picture is not @width x @height. */
guint8 *gst_gen_video_mask_pad_take (GstPad *pad, guint n, gint width, gint height,
    const gint *cancel, GError **error);

G_END_DECLS
