/* The clip object: ids, frames, prompts, slots and their destroy notifies. GLib only. */
#include <stdlib.h>

#include "genvideo/gv-clip.h"

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
test_frames (void)
{
  GvClip *clip = gv_clip_new (3, 8, 8);
  const GvClipFrame *f = gv_clip_get_frame (clip, 2);

  g_assert_cmpuint (f->pts, ==, GV_CLIP_TIME_NONE);
  g_assert_cmpuint (f->dts, ==, GV_CLIP_TIME_NONE);
  g_assert_cmpuint (f->duration, ==, GV_CLIP_TIME_NONE);
  g_assert_cmpuint (f->flags, ==, 0);

  gv_clip_set_frame (clip, 1, &(GvClipFrame) { 40, 39, 40, 0x2000 });
  f = gv_clip_get_frame (clip, 1);
  g_assert_cmpuint (f->pts, ==, 40);
  g_assert_cmpuint (f->dts, ==, 39);
  g_assert_cmpuint (f->duration, ==, 40);
  g_assert_cmpuint (f->flags, ==, 0x2000);
  g_assert_cmpuint (gv_clip_get_frame (clip, 0)->pts, ==, GV_CLIP_TIME_NONE);
  gv_clip_unref (clip);
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

static void
count_destroy (gpointer data)
{
  (*(gint *) data)++;
}

static void
test_slots (void)
{
  GvClip *clip = gv_clip_new (2, 8, 8);
  gint destroyed_a = 0, destroyed_b = 0, destroyed_c = 0;

  g_assert_null (gv_clip_get_slot (clip, GV_CLIP_SLOT_MODEL));
  gv_clip_set_slot (clip, GV_CLIP_SLOT_MODEL, &destroyed_a, count_destroy);
  g_assert_true (gv_clip_get_slot (clip, GV_CLIP_SLOT_MODEL) == &destroyed_a);

  /* replacing destroys the old value, once */
  gv_clip_set_slot (clip, GV_CLIP_SLOT_MODEL, &destroyed_b, count_destroy);
  g_assert_cmpint (destroyed_a, ==, 1);
  g_assert_true (gv_clip_get_slot (clip, GV_CLIP_SLOT_MODEL) == &destroyed_b);
  gv_clip_set_slot (clip, GV_CLIP_SLOT_MASKS, &destroyed_c, count_destroy);
  /* no destroy notify: nothing to call */
  gv_clip_set_slot (clip, GV_CLIP_SLOT_INVERSION, clip, NULL);

  /* the last reference destroys every slot */
  gv_clip_ref (clip);
  gv_clip_unref (clip);
  g_assert_cmpint (destroyed_b, ==, 0);
  gv_clip_unref (clip);
  g_assert_cmpint (destroyed_a, ==, 1);
  g_assert_cmpint (destroyed_b, ==, 1);
  g_assert_cmpint (destroyed_c, ==, 1);
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
  g_test_add_func ("/clip/frames", test_frames);
  g_test_add_func ("/clip/prompts", test_prompts);
  g_test_add_func ("/clip/slots", test_slots);
  g_test_add_func ("/clip/ids-unique-across-threads", test_ids_unique_across_threads);
  return g_test_run ();
}
