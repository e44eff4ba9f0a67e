#include <string.h>

#include "gv-train-data.h"
#include "gv-world-caption.h"
#include "gv-world-render.h"
#include "genvideo/gv-target.h"
#include "models/gv-random.h"

/* an example is the first frame of a one-frame clip (the clip's object, colours and
 * background do not depend on its length; its first place is anywhere in the frame), so that
 * nothing else is drawn */
#define CLIP_FRAMES 1
enum { DRAW_SEED = 1 };

static guint64
stream_index (guint stream, guint64 index, guint what)
{
  /* stream in the top byte, 16 draws per example: no two (stream, index, what) collide */
  return ((guint64) stream << 56) ^ (index << 4) ^ what;
}

guint32
gv_train_draw (guint64 seed, guint stream, guint64 index, guint what, guint32 bound)
{
  return gv_random_below (seed, stream_index (stream, index, 8 + what), bound);
}

gboolean
gv_train_example_init (GvTrainExample *ex, guint64 seed, guint stream, guint64 index,
    gint width, gint height, GError **error)
{
  memset (ex, 0, sizeof *ex);
  /* the world's clip index: streams draw disjoint clips of the same world (2^24 each) */
  guint clip_index = (guint) stream * (1u << 24) + (guint) (index & 0xffffff);
  GvWorldClip *clip = gv_world_clip_new (seed, clip_index, width, height, CLIP_FRAMES);
  GvWorldRender *r = gv_world_render (clip);
  gsize plane = (gsize) width * height * 3;

  ex->width = width;
  ex->height = height;
  ex->frame = g_memdup2 (r->source, plane);
  ex->mask = g_memdup2 (r->masks, plane / 3);
  ex->caption = g_strdup (r->source_prompt);
  ex->noise_seed = seed ^ (stream_index (stream, index, DRAW_SEED) * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15));

  guint8 *rgba = g_new (guint8, (gsize) width * height * 4);
  gv_world_render_target (&clip->source, width, height, rgba);
  ex->object = gv_target_foreground (rgba, width, height, width * 4, NULL, 0, NULL, error);
  g_free (rgba);
  GvWorldBackground grey = { GV_WORLD_FLAT, { GV_WORLD_GREY, GV_WORLD_GREY }, 0 };
  ex->object_caption = gv_world_caption (&clip->source, &grey, clip->disc_is_ball);
  gv_world_render_free (r);
  gv_world_clip_free (clip);
  if (ex->object == NULL) {
    gv_train_example_clear (ex);
    return FALSE;
  }
  return TRUE;
}

void
gv_train_example_clear (GvTrainExample *ex)
{
  g_clear_pointer (&ex->frame, g_free);
  g_clear_pointer (&ex->mask, g_free);
  g_clear_pointer (&ex->caption, g_free);
  g_clear_pointer (&ex->object, g_free);
  g_clear_pointer (&ex->object_caption, g_free);
}
