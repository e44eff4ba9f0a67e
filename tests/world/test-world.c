/* The synthetic world without files: the scene rules (palette, paths, targets), determinism,
 * the caption grammar, and the drawing checked against a background drawn on its own and
 * against the shapes' areas and centroids. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gv-world-caption.h"
#include "gv-world-render.h"

#define N_CLIPS 96

/* the clips most tests look at: default size, an odd size, and a short wide one */
static GvWorldClip *
test_clip (gint i)
{
  static const gint sizes[3][3] = { { 128, 128, 8 }, { 97, 61, 5 }, { 48, 33, 11 } };
  const gint *s = sizes[i % 3];
  return gv_world_clip_new (1000 + i / 3, i, s[0], s[1], s[2]);
}

/* the blend of docs/benchmark.md, written again here */
static guint8
blend (guint8 bg, guint8 obj, guint8 q)
{
  return (bg * (255 - q) + obj * q + 127) / 255;
}

static gdouble
shape_area (GvWorldShape shape, gdouble size)
{
  gdouble r = size / 2;
  switch (shape) {
    case GV_WORLD_DISC:
      return G_PI * r * r;
    case GV_WORLD_SQUARE:
      return size * size;
    case GV_WORLD_TRIANGLE:
      return size * size * sqrt (3.0) / 4;
    case GV_WORLD_RING:
      return G_PI * (r * r - 0.36 * r * r);
    default:
      g_assert_not_reached ();
  }
}

/* Coverage as area and centroid match the shape at @p (the triangle's centroid is h/6 below
 * the centre of its box). */
static void
check_coverage (const guint8 *cov, gint w, gint h, GvWorldShape shape, const GvWorldPlace *p)
{
  gdouble sum = 0, sx = 0, sy = 0;
  for (gint y = 0; y < h; y++)
    for (gint x = 0; x < w; x++) {
      gdouble c = cov[y * w + x] / 255.0;
      sum += c;
      sx += c * (x + 0.5);
      sy += c * (y + 0.5);
    }
  gdouble area = shape_area (shape, p->size);
  gdouble cy = p->y + (shape == GV_WORLD_TRIANGLE ? p->size * sqrt (3.0) / 12 : 0);
  if (fabs (sum - area) > 0.02 * area + 1 || fabs (sx / sum - p->x) > 0.25 ||
      fabs (sy / sum - cy) > 0.25)
    g_error ("%s of size %.2f at (%.2f, %.2f): coverage %.2f px at (%.2f, %.2f), expected "
        "%.2f px at (%.2f, %.2f)", gv_world_shape_name (shape), p->size, p->x, p->y, sum,
        sx / sum, sy / sum, area, p->x, cy);
}

static void
test_names (void)
{
  for (gint s = 0; s < GV_WORLD_N_SHAPES; s++)
    g_assert_cmpint (gv_world_shape_from_name (gv_world_shape_name (s)), ==, s);
  for (gint c = 0; c < GV_WORLD_N_COLOURS; c++)
    g_assert_cmpint (gv_world_colour_from_name (gv_world_colour_name (c)), ==, c);
  for (gint k = 0; k < GV_WORLD_N_BACKGROUNDS; k++)
    g_assert_cmpint (gv_world_background_from_name (gv_world_background_name (k)), ==, k);
  g_assert_cmpint (gv_world_shape_from_name ("ball"), ==, GV_WORLD_DISC);
  g_assert_cmpint (gv_world_colour_from_name ("pink"), ==, -1);
  g_assert_cmpint (gv_world_shape_from_name (NULL), ==, -1);
}

/* every background the generator can draw leaves a source colour and another one for the
 * target (the generator draws until it finds them) */
static void
test_palette (void)
{
  for (gint a = 0; a < GV_WORLD_N_COLOURS; a++)
    for (gint b = 0; b < GV_WORLD_N_COLOURS; b++) {
      if (a != b && gv_world_colour_distance (a, b) < GV_WORLD_MIN_CONTRAST)
        continue;
      GvWorldBackground bg = { a == b ? GV_WORLD_FLAT : GV_WORLD_STRIPES, { a, b }, 4 };
      gint fit = 0;
      for (gint c = 0; c < GV_WORLD_N_OBJECT_COLOURS; c++)
        fit += gv_world_colour_fits (c, &bg);
      g_assert_cmpint (fit, >=, 2);
    }
}

static void
assert_renders_equal (const GvWorldRender *a, const GvWorldRender *b)
{
  gsize n = (gsize) a->width * a->height * a->frames;
  g_assert_cmpstr (a->source_prompt, ==, b->source_prompt);
  g_assert_cmpstr (a->target_prompt, ==, b->target_prompt);
  g_assert_cmpmem (a->source, n * 3, b->source, n * 3);
  g_assert_cmpmem (a->masks, n, b->masks, n);
  g_assert_cmpmem (a->edit, n * 3, b->edit, n * 3);
  g_assert_cmpmem (a->edit_masks, n, b->edit_masks, n);
  g_assert_cmpmem (a->target, n / a->frames * 4, b->target, n / a->frames * 4);
}

static void
test_same_seed (void)
{
  const guint64 seeds[] = { 0, 1, 12345, (G_GUINT64_CONSTANT (1) << 40) + 7 };
  for (guint s = 0; s < G_N_ELEMENTS (seeds); s++)
    for (guint i = 0; i < 3; i++) {
      GvWorldClip *a = gv_world_clip_new (seeds[s], i, 80, 64, 6);
      GvWorldClip *b = gv_world_clip_new (seeds[s], i, 80, 64, 6);
      g_assert_cmpmem (a->path, sizeof (GvWorldPlace) * 6, b->path, sizeof (GvWorldPlace) * 6);
      GvWorldRender *ra = gv_world_render (a), *rb = gv_world_render (b);
      assert_renders_equal (ra, rb);
      gv_world_render_free (ra);
      gv_world_render_free (rb);
      gv_world_clip_free (a);
      gv_world_clip_free (b);
    }
}

/* other seeds, and other clips of one seed, are other clips; a clip is drawn from the seed
 * alone: another size keeps its objects and background */
static void
test_other_seed (void)
{
  GHashTable *prompts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gint same_frames = 0;
  for (gint i = 0; i < 32; i++) {
    GvWorldClip *a = gv_world_clip_new (i, 0, 64, 64, 4);
    GvWorldClip *b = gv_world_clip_new (i + 1, 0, 64, 64, 4);
    GvWorldClip *c = gv_world_clip_new (i, 0, 96, 80, 4);
    GvWorldRender *ra = gv_world_render (a), *rb = gv_world_render (b);
    same_frames += memcmp (ra->source, rb->source, 64 * 64 * 3 * 4) == 0;
    g_hash_table_add (prompts, g_strdup (ra->source_prompt));
    g_assert_true (memcmp (&a->source, &c->source, sizeof a->source) == 0);
    g_assert_true (memcmp (&a->background, &c->background, sizeof a->background) == 0);
    gv_world_render_free (ra);
    gv_world_render_free (rb);
    gv_world_clip_free (a);
    gv_world_clip_free (b);
    gv_world_clip_free (c);
  }
  g_assert_cmpint (same_frames, ==, 0);
  g_assert_cmpint (g_hash_table_size (prompts), >=, 28);
  g_hash_table_unref (prompts);
}

static void
assert_caption_is (const gchar *caption, const GvWorldObject *object,
    const GvWorldBackground *background)
{
  GvWorldObject o;
  GvWorldBackground bg;
  GError *error = NULL;
  if (!gv_world_caption_parse (caption, &o, &bg, &error))
    g_error ("%s", error->message);
  g_assert_cmpint (o.shape, ==, object->shape);
  g_assert_cmpint (o.colour, ==, object->colour);
  g_assert_cmpint (bg.kind, ==, background->kind);
  g_assert_cmpint (bg.colours[0], ==, background->colours[0]);
  g_assert_cmpint (bg.colours[1], ==, background->colours[1]);
}

/* the grammar's word list: every word of many captions is in it, and each of it is used */
static void
test_caption_words (void)
{
  g_auto (GStrv) words = gv_world_caption_words ();
  GHashTable *seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < 400; i++) {
    GvWorldClip *clip = gv_world_clip_new (11, i, 64, 64, 1);
    gchar *caption = gv_world_caption (&clip->target, &clip->background, clip->disc_is_ball);
    gchar **parts = g_strsplit (caption, " ", -1);
    for (guint k = 0; parts[k]; k++) {
      g_assert_true (g_strv_contains ((const gchar *const *) words, parts[k]));
      g_hash_table_add (seen, g_strdup (parts[k]));
    }
    g_strfreev (parts);
    g_free (caption);
    gv_world_clip_free (clip);
  }
  for (guint k = 0; words[k]; k++)
    g_assert_true (g_hash_table_contains (seen, words[k]));
  g_assert_cmpuint (g_hash_table_size (seen), ==, g_strv_length (words));
  g_hash_table_unref (seen);
}

static void
test_captions (void)
{
  gint kinds[GV_WORLD_N_BACKGROUNDS] = { 0 }, balls = 0;
  for (gint i = 0; i < 300; i++) {
    GvWorldClip *clip = gv_world_clip_new (7, i, 32, 32, 1);
    gchar *source = gv_world_caption (&clip->source, &clip->background, clip->disc_is_ball);
    gchar *target = gv_world_caption (&clip->target, &clip->background, clip->disc_is_ball);
    assert_caption_is (source, &clip->source, &clip->background);
    assert_caption_is (target, &clip->target, &clip->background);
    kinds[clip->background.kind]++;
    balls += strstr (source, " ball ") != NULL;
    g_free (source);
    g_free (target);
    gv_world_clip_free (clip);
  }
  for (gint k = 0; k < GV_WORLD_N_BACKGROUNDS; k++)
    g_assert_cmpint (kinds[k], >, 30);
  g_assert_cmpint (balls, >, 0);

  const struct {
    const gchar *caption;
    const gchar *word;   /* the error names it */
  } bad[] = {
    { "", "missing" },
    { "a red disc", "word 4 is missing" },
    { "an orange ball on a black background", "\"an\"" },
    { "a pink disc on a black background", "\"pink\"" },
    { "a red cube on a black background", "\"cube\"" },
    { "a red disc on a blue and green background", "\"background\"" },
    { "a red disc on a blue and green striped", "word 10 is missing" },
    { "a red disc on a blue and green gradient background", "the end" },
    { "a red disc on a blue background.", "\"background.\"" },
    { "a  red disc on a blue background", "word 2" },
    { "A red disc on a blue background", "\"A\"" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    GvWorldObject o;
    GvWorldBackground bg;
    GError *error = NULL;
    g_assert_false (gv_world_caption_parse (bad[i].caption, &o, &bg, &error));
    g_assert_error (error, GV_WORLD_ERROR, GV_WORLD_ERROR_CAPTION);
    if (strstr (error->message, bad[i].word) == NULL)
      g_error ("caption \"%s\": the error \"%s\" does not name %s", bad[i].caption,
          error->message, bad[i].word);
    g_error_free (error);
  }
}

/* the scene rules: sizes, steps, growth, frame, colours, the target's change */
static void
test_paths (void)
{
  gint growing = 0, constant = 0, shapes[GV_WORLD_N_SHAPES] = { 0 };
  gint colours[GV_WORLD_N_COLOURS] = { 0 };
  for (gint i = 0; i < 400; i++) {
    GvWorldClip *clip = test_clip (i);
    gdouble side = MIN (clip->width, clip->height);
    const GvWorldPlace *p = clip->path;
    for (gint f = 0; f < clip->frames; f++) {
      g_assert_cmpfloat (p[f].size, >=, GV_WORLD_MIN_SIZE * side - 1e-9);
      g_assert_cmpfloat (p[f].size, <=, GV_WORLD_MAX_SIZE * side + 1e-9);
      g_assert_cmpfloat (p[f].x - p[f].size / 2, >=, 0);
      g_assert_cmpfloat (p[f].x + p[f].size / 2, <=, clip->width);
      g_assert_cmpfloat (p[f].y - p[f].size / 2, >=, 0);
      g_assert_cmpfloat (p[f].y + p[f].size / 2, <=, clip->height);
      if (f > 0) {
        gdouble step = hypot (p[f].x - p[f - 1].x, p[f].y - p[f - 1].y);
        g_assert_cmpfloat (step, >=, GV_WORLD_MIN_STEP);
        g_assert_cmpfloat (step, <=, GV_WORLD_MAX_STEP);
      }
    }
    gdouble growth = p[clip->frames - 1].size / p[0].size;
    g_assert_cmpfloat (fabs (growth - 1), <=, GV_WORLD_MAX_GROWTH + 1e-9);
    growing += growth != 1;
    constant += growth == 1;
    g_assert_true (clip->source.shape != clip->target.shape ||
        clip->source.colour != clip->target.colour);
    g_assert_cmpint (clip->source.colour, <, GV_WORLD_N_OBJECT_COLOURS);
    g_assert_cmpint (clip->target.colour, <, GV_WORLD_N_OBJECT_COLOURS);
    g_assert_true (gv_world_colour_fits (clip->source.colour, &clip->background));
    g_assert_true (gv_world_colour_fits (clip->target.colour, &clip->background));
    shapes[clip->source.shape]++;
    colours[clip->background.colours[0]]++;
    gv_world_clip_free (clip);
  }
  g_assert_cmpint (growing, >, 100);
  g_assert_cmpint (constant, >, 100);
  for (gint s = 0; s < GV_WORLD_N_SHAPES; s++)
    g_assert_cmpint (shapes[s], >, 50);
  for (gint c = 0; c < GV_WORLD_N_COLOURS; c++)
    g_assert_cmpint (colours[c], >, 10);
}

/* Masks are the object: every frame is the background drawn alone with the object's colour
 * blended by the mask, pixels that differ from the background are in the mask, and the mask
 * has the shape's area and centroid. The ideal edit is the same with the target on the same
 * path, and equals the clip wherever the edit mask is 0. */
static void
test_masks_and_edit (void)
{
  for (gint i = 0; i < N_CLIPS; i++) {
    GvWorldClip *clip = test_clip (i);
    GvWorldRender *r = gv_world_render (clip);
    gint w = clip->width, h = clip->height;
    gsize n = (gsize) w * h;
    guint8 *bg = g_new (guint8, n * 3), *target_cov = g_new (guint8, n);
    const guint8 *src_rgb = gv_world_colour_rgb (clip->source.colour);
    const guint8 *dst_rgb = gv_world_colour_rgb (clip->target.colour);

    gv_world_render_background (&clip->background, w, h, bg);
    for (gint f = 0; f < clip->frames; f++) {
      const guint8 *frame = r->source + n * 3 * f, *mask = r->masks + n * f;
      const guint8 *edit = r->edit + n * 3 * f, *edit_mask = r->edit_masks + n * f;
      check_coverage (mask, w, h, clip->source.shape, &clip->path[f]);
      gv_world_render_coverage (clip->target.shape, &clip->path[f], w, h, target_cov);
      check_coverage (target_cov, w, h, clip->target.shape, &clip->path[f]);

      for (gsize p = 0; p < n; p++) {
        gboolean differs = memcmp (frame + p * 3, bg + p * 3, 3) != 0;
        for (gint c = 0; c < 3; c++) {
          g_assert_cmpint (frame[p * 3 + c], ==, blend (bg[p * 3 + c], src_rgb[c], mask[p]));
          g_assert_cmpint (edit[p * 3 + c], ==,
              blend (bg[p * 3 + c], dst_rgb[c], target_cov[p]));
        }
        if (differs)
          g_assert_cmpint (mask[p], >, 0);
        if (mask[p] >= 128)
          g_assert_true (differs);
        g_assert_true (edit_mask[p] == 0 || edit_mask[p] == 255);
        g_assert_cmpint (edit_mask[p] == 255, ==, mask[p] > 0 || target_cov[p] > 0);
        if (edit_mask[p] == 0)
          g_assert_cmpmem (edit + p * 3, 3, frame + p * 3, 3);
      }
    }
    g_free (bg);
    g_free (target_cov);
    gv_world_render_free (r);
    gv_world_clip_free (clip);
  }
}

/* the target image: the target object centred, GV_WORLD_TARGET_FILL of the shorter side,
 * alpha = coverage, colour where there is any */
static void
test_target_image (void)
{
  for (gint i = 0; i < 24; i++) {
    GvWorldClip *clip = test_clip (i);
    GvWorldRender *r = gv_world_render (clip);
    gint w = clip->width, h = clip->height;
    gsize n = (gsize) w * h;
    guint8 *alpha = g_new (guint8, n);
    const guint8 *rgb = gv_world_colour_rgb (clip->target.colour);
    for (gsize p = 0; p < n; p++) {
      alpha[p] = r->target[p * 4 + 3];
      for (gint c = 0; c < 3; c++)
        g_assert_cmpint (r->target[p * 4 + c], ==, alpha[p] ? rgb[c] : 0);
    }
    GvWorldPlace centre = { w / 2.0, h / 2.0, GV_WORLD_TARGET_FILL * MIN (w, h) };
    check_coverage (alpha, w, h, clip->target.shape, &centre);
    g_assert_cmpint (alpha[0], ==, 0);
    g_assert_cmpint (alpha[n - 1], ==, 0);
    g_free (alpha);
    gv_world_render_free (r);
    gv_world_clip_free (clip);
  }
}

/* backgrounds as docs/benchmark.md says: gradient from the first colour at the top to the
 * second at the bottom, stripes and cells of the first colour first */
static void
test_backgrounds (void)
{
  gint w = 40, h = 30;
  guint8 *rgb = g_new (guint8, (gsize) w * h * 3);
  const guint8 *red = gv_world_colour_rgb (GV_WORLD_RED);
  const guint8 *blue = gv_world_colour_rgb (GV_WORLD_BLUE);

  GvWorldBackground gradient = { GV_WORLD_GRADIENT, { GV_WORLD_RED, GV_WORLD_BLUE }, 0 };
  gv_world_render_background (&gradient, w, h, rgb);
  for (gint c = 0; c < 3; c++) {
    g_assert_cmpint (abs (rgb[c] - red[c]), <=, (abs (blue[c] - red[c]) + h - 1) / h);
    g_assert_cmpint (abs (rgb[(h - 1) * w * 3 + c] - blue[c]), <=,
        (abs (blue[c] - red[c]) + h - 1) / h);
    g_assert_cmpint (rgb[(h / 2) * w * 3 + 3 * 7 + c], ==, rgb[(h / 2) * w * 3 + c]);
  }

  GvWorldBackground stripes = { GV_WORLD_STRIPES, { GV_WORLD_RED, GV_WORLD_BLUE }, 5 };
  gv_world_render_background (&stripes, w, h, rgb);
  for (gint y = 0; y < h; y++)
    g_assert_cmpmem (rgb + (gsize) y * w * 3, 3, (y / 6) % 2 ? blue : red, 3);

  GvWorldBackground checker = { GV_WORLD_CHECKER, { GV_WORLD_RED, GV_WORLD_BLUE }, 3 };
  gv_world_render_background (&checker, w, h, rgb);
  for (gint y = 0; y < h; y++)
    for (gint x = 0; x < w; x++)
      g_assert_cmpmem (rgb + ((gsize) y * w + x) * 3, 3, (x / 10 + y / 10) % 2 ? blue : red, 3);
  g_free (rgb);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/world/names", test_names);
  g_test_add_func ("/world/palette", test_palette);
  g_test_add_func ("/world/same-seed", test_same_seed);
  g_test_add_func ("/world/other-seed", test_other_seed);
  g_test_add_func ("/world/captions", test_captions);
  g_test_add_func ("/world/caption-words", test_caption_words);
  g_test_add_func ("/world/paths", test_paths);
  g_test_add_func ("/world/masks-and-edit", test_masks_and_edit);
  g_test_add_func ("/world/target-image", test_target_image);
  g_test_add_func ("/world/backgrounds", test_backgrounds);
  return g_test_run ();
}
