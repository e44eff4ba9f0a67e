/* Training examples drawn from the synthetic world (tools/world): example @index of a stream is
 * a pure function of (seed, stream, index), so the data sampler's position is one integer and
 * a resumed run sees the examples an unstopped one would. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  gint width, height;
  guint8 *frame;          /* RGB: a frame of a world clip */
  gchar *caption;         /* its caption */
  guint8 *mask;           /* GRAY8: the object's coverage of each pixel of the frame */
  /* the frame's object alone, centred on the neutral grey that the edit's target image is
   * composited on (genvideo/gv-target.h), as gv-target composites target.png; RGB */
  guint8 *object;
  gchar *object_caption;  /* "a {colour} {object} on a grey background" */
  guint64 noise_seed;     /* for whatever random numbers the stage draws for this example */
} GvTrainExample;

/* Example @index (< 2^24) of stream @stream (< 256, one per stage) of @seed: frames of
 * @width x @height.
 * FALSE only when compositing the object fails (an error names it). */
gboolean gv_train_example_init (GvTrainExample *ex, guint64 seed, guint stream, guint64 index,
    gint width, gint height, GError **error);
void gv_train_example_clear (GvTrainExample *ex);

/* A uniform integer in [0, @bound) for draw @what of example @index (counter-based). */
guint32 gv_train_draw (guint64 seed, guint stream, guint64 index, guint what, guint32 bound);

G_END_DECLS
