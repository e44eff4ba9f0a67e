#include <string.h>

#include "gv-world-caption.h"

G_DEFINE_QUARK (gv-world-error-quark, gv_world_error)

gchar *
gv_world_caption (const GvWorldObject *object, const GvWorldBackground *background,
    gboolean disc_is_ball)
{
  const gchar *what = object->shape == GV_WORLD_DISC && disc_is_ball ? "ball" :
      gv_world_shape_name (object->shape);
  const gchar *first = gv_world_colour_name (background->colours[0]);
  const gchar *second = gv_world_colour_name (background->colours[1]);
  const gchar *tail[GV_WORLD_N_BACKGROUNDS] = {
    "background", "gradient", "striped background", "checkered background"
  };

  if (background->kind == GV_WORLD_FLAT)
    return g_strdup_printf ("a %s %s on a %s background",
        gv_world_colour_name (object->colour), what, first);
  return g_strdup_printf ("a %s %s on a %s and %s %s", gv_world_colour_name (object->colour),
      what, first, second, tail[background->kind]);
}

/* A reader over the words of a caption that fails once, naming the word. */
typedef struct {
  gchar **words;
  gint pos;
  const gchar *caption;
  GError **error;
  gboolean failed;
} Words;

static void
fail (Words *w, const gchar *expected)
{
  if (w->failed)
    return;
  w->failed = TRUE;
  const gchar *got = w->words[w->pos] ? w->words[w->pos] : NULL;
  g_set_error (w->error, GV_WORLD_ERROR, GV_WORLD_ERROR_CAPTION,
      "\"%s\": word %d is %s%s%s where the grammar wants %s (docs/benchmark.md)", w->caption,
      w->pos + 1, got ? "\"" : "", got ? got : "missing", got ? "\"" : "", expected);
}

static void
expect (Words *w, const gchar *word)
{
  if (w->failed)
    return;
  if (g_strcmp0 (w->words[w->pos], word) != 0) {
    gchar *quoted = g_strdup_printf ("\"%s\"", word);
    fail (w, quoted);
    g_free (quoted);
    return;
  }
  w->pos++;
}

static gint
expect_name (Words *w, gint (*from_name) (const gchar *), const gchar *what)
{
  if (w->failed)
    return 0;
  gint v = from_name (w->words[w->pos]);
  if (v < 0) {
    fail (w, what);
    return 0;
  }
  w->pos++;
  return v;
}

static gint
find_word (const gchar *const *words, const gchar *word)
{
  for (gint i = 0; word != NULL && words[i] != NULL; i++)
    if (strcmp (words[i], word) == 0)
      return i;
  return -1;
}

gboolean
gv_world_caption_parse (const gchar *caption, GvWorldObject *object,
    GvWorldBackground *background, GError **error)
{
  g_return_val_if_fail (caption != NULL, FALSE);
  Words w = { g_strsplit (caption, " ", -1), 0, caption, error, FALSE };
  GvWorldBackground bg = { 0 };
  GvWorldObject obj;

  expect (&w, "a");
  obj.colour = expect_name (&w, gv_world_colour_from_name, "a colour");
  obj.shape = expect_name (&w, gv_world_shape_from_name, "an object");
  expect (&w, "on");
  expect (&w, "a");
  bg.colours[0] = expect_name (&w, gv_world_colour_from_name, "a colour");
  if (!w.failed && g_strcmp0 (w.words[w.pos], "and") == 0) {
    w.pos++;
    bg.colours[1] = expect_name (&w, gv_world_colour_from_name, "a colour");
    const gchar *kinds[] = { "gradient", "striped", "checkered", NULL };
    gint k = w.failed ? 0 : find_word (kinds, w.words[w.pos]);
    if (k < 0)
      fail (&w, "\"gradient\", \"striped\" or \"checkered\"");
    else if (!w.failed)
      w.pos++;
    /* the kinds are listed in GvWorldBackgroundKind order after flat */
    bg.kind = GV_WORLD_GRADIENT + MAX (k, 0);
    if (bg.kind != GV_WORLD_GRADIENT)
      expect (&w, "background");
  } else {
    bg.kind = GV_WORLD_FLAT;
    bg.colours[1] = bg.colours[0];
    expect (&w, "background");
  }
  if (!w.failed && w.words[w.pos] != NULL)
    fail (&w, "the end of the caption");

  gboolean ok = !w.failed;
  g_strfreev (w.words);
  if (ok) {
    *object = obj;
    *background = bg;
  }
  return ok;
}

gchar **
gv_world_caption_words (void)
{
  static const gchar *const fixed[] = { "a", "on", "and", "background", "gradient", "striped",
    "checkered", "ball" };
  GPtrArray *w = g_ptr_array_new ();
  for (guint i = 0; i < G_N_ELEMENTS (fixed); i++)
    g_ptr_array_add (w, g_strdup (fixed[i]));
  for (gint i = 0; i < GV_WORLD_N_SHAPES; i++)
    g_ptr_array_add (w, g_strdup (gv_world_shape_name (i)));
  for (gint i = 0; i < GV_WORLD_N_COLOURS; i++)
    g_ptr_array_add (w, g_strdup (gv_world_colour_name (i)));
  g_ptr_array_add (w, NULL);
  return (gchar **) g_ptr_array_free (w, FALSE);
}
