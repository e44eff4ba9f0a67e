/* The synthetic world: clips of one object moving over a background, with a target object and
 * the ideal edit, all drawn from a seed. This header is the scene description (what is where in
 * which frame); gv-world-render.h draws it and gv-world-caption.h names it. GLib only, so the
 * generator, the trainer and the benchmark use the same world without GStreamer or Vulkan.
 *
 * Coordinates are in pixels with the origin at the top-left corner of the frame; pixel (i, j)
 * covers [i, i+1) x [j, j+1), so its centre is (i + 0.5, j + 0.5). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  GV_WORLD_DISC,        /* also called ball in captions */
  GV_WORLD_SQUARE,
  GV_WORLD_TRIANGLE,    /* equilateral, pointing up */
  GV_WORLD_RING,
  GV_WORLD_N_SHAPES
} GvWorldShape;

/* The eight object colours first; black and grey are for backgrounds only. */
typedef enum {
  GV_WORLD_RED,
  GV_WORLD_GREEN,
  GV_WORLD_BLUE,
  GV_WORLD_YELLOW,
  GV_WORLD_WHITE,
  GV_WORLD_ORANGE,
  GV_WORLD_PURPLE,
  GV_WORLD_CYAN,
  GV_WORLD_BLACK,
  GV_WORLD_GREY,
  GV_WORLD_N_COLOURS
} GvWorldColour;

#define GV_WORLD_N_OBJECT_COLOURS GV_WORLD_BLACK

typedef enum {
  GV_WORLD_FLAT,        /* colours[0] everywhere */
  GV_WORLD_GRADIENT,    /* vertical: colours[0] at the top to colours[1] at the bottom */
  GV_WORLD_STRIPES,     /* horizontal bands, colours[0] first, @divisions bands over the height */
  GV_WORLD_CHECKER,     /* square cells, colours[0] top-left, @divisions cells across the
                         * shorter side */
  GV_WORLD_N_BACKGROUNDS
} GvWorldBackgroundKind;

typedef struct {
  GvWorldShape shape;
  GvWorldColour colour;
} GvWorldObject;

typedef struct {
  GvWorldBackgroundKind kind;
  GvWorldColour colours[2];   /* colours[1] unused for flat */
  gint divisions;             /* stripes and checker only, else 0 */
} GvWorldBackground;

/* Where the object is in one frame: the centre of its bounding box and its size, the width of
 * the bounding box (the diameter of a disc or ring, the side of a square, the base of the
 * triangle). */
typedef struct {
  gdouble x, y, size;
} GvWorldPlace;

typedef struct {
  guint64 seed;
  guint index;                /* clip @index of @seed */
  gint width, height, frames;
  GvWorldObject source, target;
  gboolean disc_is_ball;      /* which word the captions use for a disc */
  GvWorldBackground background;
  GvWorldPlace *path;         /* @frames places */
} GvWorldClip;

/* Limits of the world (the scene rules in docs/benchmark.md). */
#define GV_WORLD_MIN_SIZE 0.20    /* of the shorter side of the frame */
#define GV_WORLD_MAX_SIZE 0.45
#define GV_WORLD_MIN_STEP 1.0     /* displacement of the centre per frame, pixels */
#define GV_WORLD_MAX_STEP 6.0
#define GV_WORLD_MAX_GROWTH 0.20  /* last size / first size within 1 -+ this */
#define GV_WORLD_MIN_CONTRAST 100.0  /* RGB distance between object and background colours */
#define GV_WORLD_TARGET_FILL 0.80    /* target image: object size / shorter side */

const gchar *gv_world_shape_name (GvWorldShape shape);
const gchar *gv_world_colour_name (GvWorldColour colour);
const gchar *gv_world_background_name (GvWorldBackgroundKind kind);
/* Names back to values; -1 when unknown. "ball" is a disc. */
gint gv_world_shape_from_name (const gchar *name);
gint gv_world_colour_from_name (const gchar *name);
gint gv_world_background_from_name (const gchar *name);
/* The colour as 8-bit RGB. */
const guint8 *gv_world_colour_rgb (GvWorldColour colour);
/* Euclidean distance of two colours in 8-bit RGB. */
gdouble gv_world_colour_distance (GvWorldColour a, GvWorldColour b);
/* Whether an object of @colour stands out on @background (a different colour, at least
 * GV_WORLD_MIN_CONTRAST from each background colour). */
gboolean gv_world_colour_fits (GvWorldColour colour, const GvWorldBackground *background);

/* Clip @index of @seed: a pure function of (seed, index, width, height, frames), so a clip is
 * reproduced without the others. @width, @height >= 16, @frames >= 1. */
GvWorldClip *gv_world_clip_new (guint64 seed, guint index, gint width, gint height,
    gint frames);
void gv_world_clip_free (GvWorldClip *clip);

G_END_DECLS
