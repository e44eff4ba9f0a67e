/* The clip state object: ids, shape, prompts, and the lock that makes the branches sharing a
 * clip take turns. No compute, no GStreamer. */
#include <stdlib.h>

#include "genvideo/gv-clip.h"
#include "base/gv-error.h"

static void
test_ids_and_shape (void)
{
  GvClip *a = gv_clip_new (4, 64, 32);
  GvClip *b = gv_clip_new (1, 8, 8);

  g_assert_cmpuint (gv_clip_get_id (a), >, 0);
  g_assert_cmpuint (gv_clip_get_id (b), >, gv_clip_get_id (a));
  g_assert_cmpuint (gv_clip_get_n_frames (a), ==, 4);
  g_assert_cmpuint (gv_clip_get_width (a), ==, 64);
  g_assert_cmpuint (gv_clip_get_height (a), ==, 32);
  g_assert_cmpuint (gv_clip_get_n_frames (b), ==, 1);
  gv_clip_unref (a);
  gv_clip_unref (b);
}

static void
test_prompts (void)
{
  GvClip *clip = gv_clip_new (1, 8, 8);

  g_assert_null (gv_clip_dup_prompt (clip, GV_CLIP_PROMPT_SOURCE));
  gv_clip_set_prompt (clip, GV_CLIP_PROMPT_SOURCE, "a silver car");
  gv_clip_set_prompt (clip, GV_CLIP_PROMPT_TARGET, "a red cadillac");
  gv_clip_set_prompt (clip, GV_CLIP_PROMPT_TARGET, "a blue cadillac");

  gchar *source = gv_clip_dup_prompt (clip, GV_CLIP_PROMPT_SOURCE);
  gchar *target = gv_clip_dup_prompt (clip, GV_CLIP_PROMPT_TARGET);
  g_assert_cmpstr (source, ==, "a silver car");
  g_assert_cmpstr (target, ==, "a blue cadillac");
  g_free (source);
  g_free (target);
  gv_clip_unref (clip);
}

/* What the threads of test_lock_is_exclusive share: a counter updated in two steps with a
 * yield between them, so that two threads inside at once lose updates. */
typedef struct {
  GvClip *clip;
  gint inside;          /* atomic: threads between lock and unlock */
  gint overlaps;        /* atomic */
  guint counter;        /* only under the clip lock */
} Shared;

#define ROUNDS 2000

static gpointer
lock_and_count (gpointer data)
{
  Shared *sh = data;

  for (guint i = 0; i < ROUNDS; i++) {
    g_assert_true (gv_clip_lock (sh->clip, NULL, NULL));
    g_assert_true (gv_clip_is_held (sh->clip));
    if (g_atomic_int_add (&sh->inside, 1) != 0)
      g_atomic_int_inc (&sh->overlaps);
    guint seen = sh->counter;
    g_thread_yield ();
    sh->counter = seen + 1;
    g_atomic_int_add (&sh->inside, -1);
    gv_clip_unlock (sh->clip);
    g_assert_false (gv_clip_is_held (sh->clip));
  }
  return NULL;
}

/* Four threads lock one clip in turn: never two at once, no update lost. */
static void
test_lock_is_exclusive (void)
{
  Shared sh = { gv_clip_new (2, 8, 8), 0, 0, 0 };
  GThread *threads[4];

  for (guint t = 0; t < 4; t++)
    threads[t] = g_thread_new ("branch", lock_and_count, &sh);
  for (guint t = 0; t < 4; t++)
    g_thread_join (threads[t]);
  g_assert_cmpint (sh.overlaps, ==, 0);
  g_assert_cmpuint (sh.counter, ==, 4 * ROUNDS);
  gv_clip_unref (sh.clip);
}

typedef struct {
  GvClip *clip;
  gint cancel;          /* atomic */
  gint waiting;         /* atomic: the thread is about to wait */
  GError *error;
  gboolean locked;
} Waiter;

static gpointer
wait_for_clip (gpointer data)
{
  Waiter *w = data;

  g_atomic_int_set (&w->waiting, 1);
  w->locked = gv_clip_lock (w->clip, &w->cancel, &w->error);
  if (w->locked)
    gv_clip_unlock (w->clip);
  return NULL;
}

/* A thread waiting for a clip that another holds gives up when its cancel flag is raised; a
 * later one gets the clip once it is given back. */
static void
test_lock_wait_is_cancellable (void)
{
  GvClip *clip = gv_clip_new (1, 8, 8);
  Waiter w = { clip, 0, 0, NULL, FALSE };

  g_assert_true (gv_clip_lock (clip, NULL, NULL));
  GThread *thread = g_thread_new ("waiter", wait_for_clip, &w);
  while (!g_atomic_int_get (&w.waiting))
    g_thread_yield ();
  g_atomic_int_set (&w.cancel, 1);
  g_thread_join (thread);
  g_assert_false (w.locked);
  g_assert_error (w.error, GV_ERROR, GV_ERROR_CANCELLED);
  g_clear_error (&w.error);
  g_assert_true (gv_clip_is_held (clip));

  Waiter later = { clip, 0, 0, NULL, FALSE };
  thread = g_thread_new ("waiter", wait_for_clip, &later);
  while (!g_atomic_int_get (&later.waiting))
    g_thread_yield ();
  gv_clip_unlock (clip);
  g_thread_join (thread);
  g_assert_true (later.locked);
  g_assert_no_error (later.error);
  gv_clip_unref (clip);
}

static gpointer
make_clips (gpointer data)
{
  guint64 *ids = data;

  for (guint i = 0; i < 1000; i++) {
    GvClip *clip = gv_clip_new (1, 8, 8);
    ids[i] = gv_clip_get_id (clip);
    gv_clip_unref (clip);
  }
  return NULL;
}

static gint
compare_ids (gconstpointer a, gconstpointer b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
  return x < y ? -1 : x > y;
}

/* Ids stay unique when clips are made in several threads at once. */
static void
test_ids_unique_across_threads (void)
{
  guint64 *ids = g_new (guint64, 4000);
  GThread *threads[4];

  for (guint t = 0; t < 4; t++)
    threads[t] = g_thread_new ("clips", make_clips, ids + t * 1000);
  for (guint t = 0; t < 4; t++)
    g_thread_join (threads[t]);
  qsort (ids, 4000, sizeof (guint64), compare_ids);
  for (guint i = 1; i < 4000; i++)
    g_assert_cmpuint (ids[i], !=, ids[i - 1]);
  g_free (ids);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/clip/ids-and-shape", test_ids_and_shape);
  g_test_add_func ("/clip/prompts", test_prompts);
  g_test_add_func ("/clip/lock-is-exclusive", test_lock_is_exclusive);
  g_test_add_func ("/clip/lock-wait-is-cancellable", test_lock_wait_is_cancellable);
  g_test_add_func ("/clip/ids-unique-across-threads", test_ids_unique_across_threads);
  return g_test_run ();
}
