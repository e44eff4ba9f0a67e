#include "genvideo/gv-clip-private.h"

/* Ids start at 1 so that 0 can mean "no clip" in messages and logs. */
static guint64 next_id = 1;
G_LOCK_DEFINE_STATIC (next_id);

/* How often a thread waiting for a clip looks at its cancel flag: the flag is a plain int
 * that nothing signals. */
#define CANCEL_POLL (50 * G_TIME_SPAN_MILLISECOND)

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
  g_mutex_init (&clip->lock);
  g_cond_init (&clip->released);
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
gv_clip_clear_results (GvClip *clip)
{
  gv_condition_clear (&clip->uncond);
  gv_condition_clear (&clip->source);
  gv_condition_clear (&clip->target);
  gv_inversion_clear (&clip->inversion);
  g_clear_pointer (&clip->z0, gv_tensor_unref);
  g_clear_pointer (&clip->mask_tensor, gv_tensor_unref);
  g_clear_pointer (&clip->result, gv_tensor_unref);
  g_clear_pointer (&clip->masks, g_free);
  g_clear_pointer (&clip->differences, g_free);
  g_clear_pointer (&clip->temporal, gv_unet_temporal_free);
  clip->has_source = clip->has_target = FALSE;
}

void
gv_clip_unref (GvClip *clip)
{
  g_return_if_fail (clip != NULL);
  if (!g_atomic_int_dec_and_test (&clip->ref))
    return;

  gv_clip_clear_results (clip);
  g_clear_pointer (&clip->model, gv_model_unref);
  for (gint p = 0; p < GV_CLIP_N_PROMPTS; p++)
    g_free (clip->prompts[p]);
  g_mutex_clear (&clip->lock);
  g_cond_clear (&clip->released);
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

gboolean
gv_clip_lock (GvClip *clip, const gint *cancel, GError **error)
{
  GThread *self = g_thread_self ();

  g_mutex_lock (&clip->lock);
  if (clip->holder == self) {
    g_mutex_unlock (&clip->lock);
    g_critical ("clip %" G_GUINT64_FORMAT " is locked twice by one thread", clip->id);
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "clip %" G_GUINT64_FORMAT " is locked "
        "twice by one thread", clip->id);
    return FALSE;
  }
  while (clip->holder != NULL) {
    if (cancel != NULL && g_atomic_int_get (cancel)) {
      g_mutex_unlock (&clip->lock);
      g_set_error (error, GV_ERROR, GV_ERROR_CANCELLED,
          "cancelled while waiting for clip %" G_GUINT64_FORMAT, clip->id);
      return FALSE;
    }
    if (cancel != NULL)
      g_cond_wait_until (&clip->released, &clip->lock, g_get_monotonic_time () + CANCEL_POLL);
    else
      g_cond_wait (&clip->released, &clip->lock);
  }
  clip->holder = self;
  g_mutex_unlock (&clip->lock);
  return TRUE;
}

void
gv_clip_unlock (GvClip *clip)
{
  g_mutex_lock (&clip->lock);
  g_warn_if_fail (clip->holder == g_thread_self ());
  clip->holder = NULL;
  g_cond_signal (&clip->released);
  g_mutex_unlock (&clip->lock);
}

gboolean
gv_clip_is_held (GvClip *clip)
{
  g_mutex_lock (&clip->lock);
  gboolean held = clip->holder == g_thread_self ();
  g_mutex_unlock (&clip->lock);
  return held;
}
