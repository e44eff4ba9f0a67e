/* The state of one clip, shared by the three stages: a ref-counted object that travels
 * downstream with the frames (the elements reference it from a buffer meta). It holds the
 * clip's shape, what each frame looked like when the clip was formed, the prompts, and slots for
 * the heavy results (model, embeddings, latents, masks) that one stage computes and a later
 * one uses. GLib only, so the compute code, tests and tools can use it without GStreamer.
 *
 * Thread safety: the shape and the frame table are fixed once the clip is handed on (the
 * creator fills the table before sharing the clip); prompts and slots may be read and written
 * from any thread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _GvClip GvClip;

/* Time stamps in nanoseconds, GV_CLIP_TIME_NONE when unknown (the same value as
 * GST_CLOCK_TIME_NONE, so element code copies them as they are). */
#define GV_CLIP_TIME_NONE G_MAXUINT64

typedef struct {
  guint64 pts;
  guint64 dts;
  guint64 duration;
  guint32 flags;        /* the source buffer's flags (GstBufferFlags) */
} GvClipFrame;

typedef enum {
  GV_CLIP_PROMPT_SOURCE,  /* describes the input video (genvideotune source-prompt) */
  GV_CLIP_PROMPT_TARGET,  /* describes the edit (invedit target-prompt) */
  GV_CLIP_N_PROMPTS
} GvClipPrompt;

/* What a slot holds is the business of the stage that fills it; the names say which one. */
typedef enum {
  GV_CLIP_SLOT_MODEL,             /* model handle with the tuned weights (genvideotune) */
  GV_CLIP_SLOT_TEXT_EMBEDDINGS,   /* text embeddings of the source and target prompts */
  GV_CLIP_SLOT_IMAGE_EMBEDDINGS,  /* unCLIP image embeddings: source frames, target foreground */
  GV_CLIP_SLOT_SOURCE_LATENTS,    /* z0 of every frame (genvideotune) */
  GV_CLIP_SLOT_INVERSION,         /* Z_T and the DDIM inversion trajectory (invedit) */
  GV_CLIP_SLOT_MASKS,             /* InvEdit masks at latent resolution (invedit) */
  GV_CLIP_SLOT_EDIT,              /* the GenVideo edit state (genvideo/gv-edit.h) */
  GV_CLIP_N_SLOTS
} GvClipSlot;

/* A clip of @n_frames frames (at least 1) of @width x @height pixels, with a process-wide
 * unique id; every frame starts as { NONE, NONE, NONE, 0 }. */
GvClip *gv_clip_new (guint n_frames, guint width, guint height);
GvClip *gv_clip_ref (GvClip *clip);
/* The last unref calls the destroy notify of every slot that is set. */
void gv_clip_unref (GvClip *clip);

guint64 gv_clip_get_id (const GvClip *clip);
guint gv_clip_get_n_frames (const GvClip *clip);
guint gv_clip_get_width (const GvClip *clip);
guint gv_clip_get_height (const GvClip *clip);

/* Frame @index (< n_frames) as it entered the element that formed the clip. Set it only
 * before handing the clip to others. */
const GvClipFrame *gv_clip_get_frame (const GvClip *clip, guint index);
void gv_clip_set_frame (GvClip *clip, guint index, const GvClipFrame *frame);

/* A copy of the prompt (NULL when unset); g_free() it. */
gchar *gv_clip_dup_prompt (GvClip *clip, GvClipPrompt which);
void gv_clip_set_prompt (GvClip *clip, GvClipPrompt which, const gchar *prompt);

/* Stores @data in @slot, destroying what was there before. @destroy may be NULL. */
void gv_clip_set_slot (GvClip *clip, GvClipSlot slot, gpointer data, GDestroyNotify destroy);
/* The data of @slot or NULL; it stays valid until the slot is set again or the clip dies. */
gpointer gv_clip_get_slot (GvClip *clip, GvClipSlot slot);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvClip, gv_clip_unref)

G_END_DECLS
