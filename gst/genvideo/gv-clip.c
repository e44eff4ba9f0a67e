#include "genvideo/gv-clip.h"

struct _GvClip {
  gint ref;
  guint64 id;
  guint n_frames;
  guint width;
  guint height;
  GvClipFrame *frames;

  GMutex lock;          /* guards prompts and slots */
  gchar *prompts[GV_CLIP_N_PROMPTS];
  gpointer slots[GV_CLIP_N_SLOTS];
  GDestroyNotify slot_destroy[GV_CLIP_N_SLOTS];
};

/* Ids start at 1 so that 0 can mean "no clip" in messages and logs. */
static guint64 next_id = 1;
G_LOCK_DEFINE_STATIC (next_id);

GvClip *
gv_clip_new (guint n_frames, guint width, guint height)
{
  g_return_val_if_fail (n_frames > 0, NULL);

  GvClip *clip = g_new0 (GvClip, 1);
  clip->ref = 1;
  G_LOCK (next_id);
  clip->id = next_id++;
  G_UNLOCK (next_id);
  clip->n_frames = n_frames;
  clip->width = width;
  clip->height = height;
  clip->frames = g_new (GvClipFrame, n_frames);
  for (guint i = 0; i < n_frames; i++)
    clip->frames[i] = (GvClipFrame) { GV_CLIP_TIME_NONE, GV_CLIP_TIME_NONE, GV_CLIP_TIME_NONE, 0 };
  g_mutex_init (&clip->lock);
  return clip;
}

GvClip *
gv_clip_ref (GvClip *clip)
{
  g_return_val_if_fail (clip != NULL, NULL);
  g_atomic_int_inc (&clip->ref);
  return clip;
}

void
gv_clip_unref (GvClip *clip)
{
  g_return_if_fail (clip != NULL);
  if (!g_atomic_int_dec_and_test (&clip->ref))
    return;

  for (gint s = 0; s < GV_CLIP_N_SLOTS; s++) {
    if (clip->slots[s] && clip->slot_destroy[s])
      clip->slot_destroy[s] (clip->slots[s]);
  }
  for (gint p = 0; p < GV_CLIP_N_PROMPTS; p++)
    g_free (clip->prompts[p]);
  g_mutex_clear (&clip->lock);
  g_free (clip->frames);
  g_free (clip);
}

guint64
gv_clip_get_id (const GvClip *clip)
{
  return clip->id;
}

guint
gv_clip_get_n_frames (const GvClip *clip)
{
  return clip->n_frames;
}

guint
gv_clip_get_width (const GvClip *clip)
{
  return clip->width;
}

guint
gv_clip_get_height (const GvClip *clip)
{
  return clip->height;
}

const GvClipFrame *
gv_clip_get_frame (const GvClip *clip, guint index)
{
  g_return_val_if_fail (index < clip->n_frames, NULL);
  return &clip->frames[index];
}

void
gv_clip_set_frame (GvClip *clip, guint index, const GvClipFrame *frame)
{
  g_return_if_fail (index < clip->n_frames);
  clip->frames[index] = *frame;
}

gchar *
gv_clip_dup_prompt (GvClip *clip, GvClipPrompt which)
{
  g_return_val_if_fail (which < GV_CLIP_N_PROMPTS, NULL);
  g_mutex_lock (&clip->lock);
  gchar *prompt = g_strdup (clip->prompts[which]);
  g_mutex_unlock (&clip->lock);
  return prompt;
}

void
gv_clip_set_prompt (GvClip *clip, GvClipPrompt which, const gchar *prompt)
{
  g_return_if_fail (which < GV_CLIP_N_PROMPTS);
  gchar *copy = g_strdup (prompt);
  g_mutex_lock (&clip->lock);
  gchar *old = clip->prompts[which];
  clip->prompts[which] = copy;
  g_mutex_unlock (&clip->lock);
  g_free (old);
}

void
gv_clip_set_slot (GvClip *clip, GvClipSlot slot, gpointer data, GDestroyNotify destroy)
{
  g_return_if_fail (slot < GV_CLIP_N_SLOTS);
  g_mutex_lock (&clip->lock);
  gpointer old = clip->slots[slot];
  GDestroyNotify old_destroy = clip->slot_destroy[slot];
  clip->slots[slot] = data;
  clip->slot_destroy[slot] = destroy;
  g_mutex_unlock (&clip->lock);
  /* outside the lock: a destroy notify may unref something that takes other locks */
  if (old && old_destroy)
    old_destroy (old);
}

gpointer
gv_clip_get_slot (GvClip *clip, GvClipSlot slot)
{
  g_return_val_if_fail (slot < GV_CLIP_N_SLOTS, NULL);
  g_mutex_lock (&clip->lock);
  gpointer data = clip->slots[slot];
  g_mutex_unlock (&clip->lock);
  return data;
}
