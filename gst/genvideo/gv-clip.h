/* The state of one clip, the one object the three stages share: a ref-counted GvClip that
 * travels downstream with the frames (the elements reference it from a buffer meta, one
 * reference per meta). It holds the clip's shape, its prompts and everything the stages
 * compute (genvideo/gv-edit.h): the model it was encoded with, the temporal layers, z0, the
 * conditions, the inversion, the masks. GLib only in this header: no GStreamer meaning (the
 * element layer keeps the frames' timestamps and flags itself).
 *
 * Ownership: gv_clip_new() returns the first reference; each holder (a meta, an element
 * between process_clip() calls, a test) owns one and drops it with gv_clip_unref(). The last
 * unref frees the results and drops the clip's reference to the model.
 *
 * Threads: the id and the shape never change. The prompts may be read and written from any
 * thread. The results belong to the thread that holds the clip (gv_clip_lock()): every
 * gv_edit_* function must be called with it held, so that two elements working on one clip
 * (the branches after a tee) take turns instead of rewriting what the other reads. The wait
 * for the clip can be cancelled; nothing that holds it waits for another clip. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _GvClip GvClip;

typedef enum {
  GV_CLIP_PROMPT_SOURCE,  /* describes the input video (genvideotune source-prompt) */
  GV_CLIP_PROMPT_TARGET,  /* describes the edit (invedit target-prompt) */
  GV_CLIP_N_PROMPTS
} GvClipPrompt;

/* A clip of @n_frames frames (at least 1) of @width x @height pixels, with a process-wide
 * unique id (from 1), holding no result yet. (transfer full) */
GvClip *gv_clip_new (guint n_frames, guint width, guint height);
/* (transfer full): a new reference to @clip */
GvClip *gv_clip_ref (GvClip *clip);
/* Drops one reference; the last frees the results (also while a thread holds the clip: the
 * holder owned a reference, so it is the one dropping it). */
void gv_clip_unref (GvClip *clip);

guint64 gv_clip_get_id (const GvClip *clip);
guint gv_clip_get_n_frames (const GvClip *clip);
guint gv_clip_get_width (const GvClip *clip);
guint gv_clip_get_height (const GvClip *clip);

/* (transfer full): a copy of the prompt (NULL when unset); g_free() it. */
gchar *gv_clip_dup_prompt (GvClip *clip, GvClipPrompt which);
/* (transfer none) @prompt: copied. */
void gv_clip_set_prompt (GvClip *clip, GvClipPrompt which, const gchar *prompt);

/* Takes the clip's results for the calling thread, waiting while another thread holds them.
 * @cancel (may be NULL) is polled while waiting: when it becomes non-zero, returns FALSE with
 * GV_ERROR_CANCELLED. Not recursive: a thread that holds the clip must not lock it again. */
gboolean gv_clip_lock (GvClip *clip, const gint *cancel, GError **error);
/* Gives the results back (called by the thread that holds them). */
void gv_clip_unlock (GvClip *clip);
/* TRUE when the calling thread holds the clip (for checks in the gv_edit_* functions). */
gboolean gv_clip_is_held (GvClip *clip);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvClip, gv_clip_unref)

G_END_DECLS
