#include <math.h>
#include <string.h>

#include "gv-world.h"

static const gchar *const shape_names[GV_WORLD_N_SHAPES] = {
  "disc", "square", "triangle", "ring"
};

static const gchar *const colour_names[GV_WORLD_N_COLOURS] = {
  "red", "green", "blue", "yellow", "white", "orange", "purple", "cyan", "black", "grey"
};

/* saturated but not clipped, so that neighbours (red and orange, blue and purple) stay apart
 * by more than GV_WORLD_MIN_CONTRAST */
static const guint8 colour_rgb[GV_WORLD_N_COLOURS][3] = {
  { 220, 40, 40 },      /* red */
  { 40, 180, 60 },      /* green */
  { 40, 80, 220 },      /* blue */
  { 240, 220, 50 },     /* yellow */
  { 245, 245, 245 },    /* white */
  { 250, 140, 30 },     /* orange */
  { 150, 50, 180 },     /* purple */
  { 50, 200, 210 },     /* cyan */
  { 10, 10, 10 },       /* black */
  { 128, 128, 128 },    /* grey */
};

static const gchar *const background_names[GV_WORLD_N_BACKGROUNDS] = {
  "flat", "gradient", "stripes", "checker"
};

static gint
find_name (const gchar *const *names, gint n, const gchar *name)
{
  for (gint i = 0; name != NULL && i < n; i++)
    if (strcmp (names[i], name) == 0)
      return i;
  return -1;
}

const gchar *
gv_world_shape_name (GvWorldShape shape)
{
  g_return_val_if_fail (shape < GV_WORLD_N_SHAPES, NULL);
  return shape_names[shape];
}

const gchar *
gv_world_colour_name (GvWorldColour colour)
{
  g_return_val_if_fail (colour < GV_WORLD_N_COLOURS, NULL);
  return colour_names[colour];
}

const gchar *
gv_world_background_name (GvWorldBackgroundKind kind)
{
  g_return_val_if_fail (kind < GV_WORLD_N_BACKGROUNDS, NULL);
  return background_names[kind];
}

gint
gv_world_shape_from_name (const gchar *name)
{
  if (g_strcmp0 (name, "ball") == 0)
    return GV_WORLD_DISC;
  return find_name (shape_names, GV_WORLD_N_SHAPES, name);
}

gint
gv_world_colour_from_name (const gchar *name)
{
  return find_name (colour_names, GV_WORLD_N_COLOURS, name);
}

gint
gv_world_background_from_name (const gchar *name)
{
  return find_name (background_names, GV_WORLD_N_BACKGROUNDS, name);
}

const guint8 *
gv_world_colour_rgb (GvWorldColour colour)
{
  g_return_val_if_fail (colour < GV_WORLD_N_COLOURS, NULL);
  return colour_rgb[colour];
}

gdouble
gv_world_colour_distance (GvWorldColour a, GvWorldColour b)
{
  gdouble sum = 0;
  for (gint c = 0; c < 3; c++) {
    gdouble d = (gdouble) colour_rgb[a][c] - colour_rgb[b][c];
    sum += d * d;
  }
  return sqrt (sum);
}

gboolean
gv_world_colour_fits (GvWorldColour colour, const GvWorldBackground *background)
{
  gint n = background->kind == GV_WORLD_FLAT ? 1 : 2;
  for (gint i = 0; i < n; i++)
    if (gv_world_colour_distance (colour, background->colours[i]) < GV_WORLD_MIN_CONTRAST)
      return FALSE;
  return TRUE;
}

static GvWorldBackground
draw_background (GRand *rand)
{
  GvWorldBackground bg = { 0 };
  bg.kind = g_rand_int_range (rand, 0, GV_WORLD_N_BACKGROUNDS);
  bg.colours[0] = g_rand_int_range (rand, 0, GV_WORLD_N_COLOURS);
  bg.colours[1] = bg.colours[0];
  if (bg.kind == GV_WORLD_FLAT)
    return bg;
  /* two colours that can be told apart */
  do
    bg.colours[1] = g_rand_int_range (rand, 0, GV_WORLD_N_COLOURS);
  while (gv_world_colour_distance (bg.colours[0], bg.colours[1]) < GV_WORLD_MIN_CONTRAST);
  if (bg.kind == GV_WORLD_STRIPES)
    bg.divisions = g_rand_int_range (rand, 4, 11);
  else if (bg.kind == GV_WORLD_CHECKER)
    bg.divisions = g_rand_int_range (rand, 3, 9);
  return bg;
}

static GvWorldColour
draw_object_colour (GRand *rand, const GvWorldBackground *bg, gint not_this)
{
  GvWorldColour c;
  /* every background leaves at least three colours that fit (tests/world checks it) */
  do
    c = g_rand_int_range (rand, 0, GV_WORLD_N_OBJECT_COLOURS);
  while ((gint) c == not_this || !gv_world_colour_fits (c, bg));
  return c;
}

/* Moves the centre one step and bounces it off the borders the object of @size may reach. */
static gdouble
bounce (gdouble pos, gdouble *velocity, gdouble size, gint extent)
{
  gdouble lo = size / 2, hi = extent - size / 2;
  pos += *velocity;
  if (pos < lo) {
    pos = 2 * lo - pos;
    *velocity = -*velocity;
  } else if (pos > hi) {
    pos = 2 * hi - pos;
    *velocity = -*velocity;
  }
  return pos;
}

/* A straight bouncing path; FALSE when it breaks a rule of the world (a bounce that leaves the
 * frame or steps less than GV_WORLD_MIN_STEP or more than GV_WORLD_MAX_STEP): draw again. */
static gboolean
draw_path (GRand *rand, GvWorldClip *clip)
{
  gdouble side = MIN (clip->width, clip->height);
  gdouble first = g_rand_double_range (rand, GV_WORLD_MIN_SIZE, GV_WORLD_MAX_SIZE) * side;
  gdouble growth = 1.0;
  if (g_rand_boolean (rand))
    growth = g_rand_double_range (rand, 1 - GV_WORLD_MAX_GROWTH, 1 + GV_WORLD_MAX_GROWTH);
  gdouble last = first * growth;
  if (last < GV_WORLD_MIN_SIZE * side || last > GV_WORLD_MAX_SIZE * side)
    return FALSE;
  gdouble speed = g_rand_double_range (rand, GV_WORLD_MIN_STEP, GV_WORLD_MAX_STEP);
  gdouble angle = g_rand_double_range (rand, 0, 2 * G_PI);
  gdouble vx = speed * cos (angle), vy = speed * sin (angle);
  gdouble x = g_rand_double_range (rand, first / 2, clip->width - first / 2);
  gdouble y = g_rand_double_range (rand, first / 2, clip->height - first / 2);

  for (gint f = 0; f < clip->frames; f++) {
    gdouble size = clip->frames > 1 ? first + (last - first) * f / (clip->frames - 1) : first;
    if (f > 0) {
      gdouble nx = bounce (x, &vx, size, clip->width);
      gdouble ny = bounce (y, &vy, size, clip->height);
      gdouble step = hypot (nx - x, ny - y);
      if (step < GV_WORLD_MIN_STEP || step > GV_WORLD_MAX_STEP)
        return FALSE;
      x = nx;
      y = ny;
    }
    if (x < size / 2 || x > clip->width - size / 2 ||
        y < size / 2 || y > clip->height - size / 2)
      return FALSE;
    clip->path[f] = (GvWorldPlace) { x, y, size };
  }
  return TRUE;
}

GvWorldClip *
gv_world_clip_new (guint64 seed, guint index, gint width, gint height, gint frames)
{
  g_return_val_if_fail (width >= 16 && height >= 16 && frames >= 1, NULL);

  /* GRand (Mersenne Twister) is specified by GLib, so the same seed gives the same clip on
   * every platform */
  guint32 key[4] = { (guint32) seed, (guint32) (seed >> 32), index, 0x77726c64 };
  GRand *rand = g_rand_new_with_seed_array (key, G_N_ELEMENTS (key));
  GvWorldClip *clip = g_new0 (GvWorldClip, 1);
  clip->seed = seed;
  clip->index = index;
  clip->width = width;
  clip->height = height;
  clip->frames = frames;
  clip->path = g_new0 (GvWorldPlace, frames);

  clip->background = draw_background (rand);
  clip->source.shape = g_rand_int_range (rand, 0, GV_WORLD_N_SHAPES);
  clip->source.colour = draw_object_colour (rand, &clip->background, -1);
  clip->disc_is_ball = g_rand_boolean (rand);

  /* the target changes the shape, the colour, or both */
  gint change = g_rand_int_range (rand, 0, 3);
  clip->target = clip->source;
  if (change != 1)
    clip->target.shape = (clip->source.shape + g_rand_int_range (rand, 1, GV_WORLD_N_SHAPES)) %
        GV_WORLD_N_SHAPES;
  if (change != 0)
    clip->target.colour = draw_object_colour (rand, &clip->background, clip->source.colour);

  while (!draw_path (rand, clip))
    ;
  g_rand_free (rand);
  return clip;
}

void
gv_world_clip_free (GvWorldClip *clip)
{
  if (clip == NULL)
    return;
  g_free (clip->path);
  g_free (clip);
}
