/* A clip folder (docs/benchmark.md): a clip, its masks, target image, target prompt and ideal
 * edit as PNG files and a clip.json, read and written whole. The generator writes them; the
 * benchmark reads them, from the generator or from anyone who brings clips in this format.
 *
 *   clip.json            source_prompt, target_prompt, fps, width, height, frames, extras
 *   frames/0000.png ...  RGB: the clip
 *   masks/0000.png ...   GRAY8: the source object (255 inside)
 *   target.png           RGBA: the target object (alpha = object), any size
 *   edit/0000.png ...    RGB: the ideal edit
 *   edit-masks/0000.png  GRAY8: 255 where the ideal edit may differ from the clip
 *
 * Needs gst_init() (gv-png). */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define GV_CLIP_FOLDER_ERROR (gv_clip_folder_error_quark ())
GQuark gv_clip_folder_error_quark (void);

typedef enum {
  GV_CLIP_FOLDER_ERROR_MISSING,   /* a file of the format is not there */
  GV_CLIP_FOLDER_ERROR_INVALID,   /* clip.json or an image does not fit the format */
  GV_CLIP_FOLDER_ERROR_IO,        /* an image could not be decoded, or a file not written */
} GvClipFolderError;

typedef struct {
  gchar *source_prompt;
  gchar *target_prompt;
  gdouble fps;
  gint width, height, frames;
  /* planes of height x width pixels, frame after frame */
  guint8 *source;         /* RGB */
  guint8 *masks;          /* GRAY8 */
  guint8 *edit;           /* RGB */
  guint8 *edit_masks;     /* GRAY8 */
  gint target_width, target_height;
  guint8 *target;         /* RGBA */
  JsonObject *extra;      /* the other members of clip.json, in file order (never NULL) */
} GvClipFolder;

/* An empty clip of that shape: images allocated (zero), prompts NULL, no extras. */
GvClipFolder *gv_clip_folder_new (gint width, gint height, gint frames, gint target_width,
    gint target_height);
void gv_clip_folder_free (GvClipFolder *clip);

/* Reads @dir; errors name the file and what is wrong with it. */
GvClipFolder *gv_clip_folder_read (const gchar *dir, GError **error);
/* Writes @clip into @dir (made if needed; files of the format already there are replaced).
 * The same clip gives byte-identical files. */
gboolean gv_clip_folder_write (const GvClipFolder *clip, const gchar *dir, GError **error);

G_END_DECLS
