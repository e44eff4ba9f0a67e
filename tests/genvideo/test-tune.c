/* Tune-A-Video's tuning (genvideo/gv-tune.h) on the shipped tiny checkpoint, without
 * GStreamer: 30 steps on a moving-ball clip lower the loss on a fixed set of (timestep, noise)
 * pairs; the tuned-layers file round trip (written, reloaded: the same edit to the byte; a
 * file of another fingerprint and a truncated file refused); the same seed tunes the same. */
#include <math.h>
#include <string.h>

#include "genvideo/gv-tune-file.h"
#include "models/gv-safetensors.h"
#include "gv-test-files.h"
#include "gv-test-util.h"

#define FRAMES 4
#define SIZE 64
#define EVAL_PAIRS 6
/* the loss after tuning is below this share of the loss before (measured: see the commit) */
#define LEARN_RATIO 0.9
#define PROMPT "a red ball moving over a gradient"

typedef struct {
  guint8 *pixels;            /* FRAMES RGB pictures */
  GvPicture frames[FRAMES];
} Clip;

/* a ball moving right over a gradient */
static void
make_clip (Clip *c)
{
  c->pixels = g_new (guint8, (gsize) FRAMES * SIZE * SIZE * 3);
  for (gint f = 0; f < FRAMES; f++) {
    guint8 *p = c->pixels + (gsize) f * SIZE * SIZE * 3;
    gint cx = 16 + 10 * f, cy = 30;
    for (gint y = 0; y < SIZE; y++)
      for (gint x = 0; x < SIZE; x++) {
        gboolean in = (x - cx) * (x - cx) + (y - cy) * (y - cy) < 120;
        p[(y * SIZE + x) * 3 + 0] = in ? 230 : (guint8) (x * 2);
        p[(y * SIZE + x) * 3 + 1] = in ? 40 : (guint8) (y * 3);
        p[(y * SIZE + x) * 3 + 2] = in ? 30 : 100;
      }
    c->frames[f] = (GvPicture) { p, SIZE * 3 };
  }
}

/* a clip held by this thread, its source prepared (layers from @tuned when not NULL) */
static GvClip *
prepared (Clip *c, const GvEditEnv *e, const gchar *tuned)
{
  GError *error = NULL;
  GvModel *model = gv_model_get_shared (gv_test_device (),
      g_getenv ("GENVIDEO_DEFAULT_MODEL_DIR"), &error);
  g_assert_no_error (error);
  GvClip *clip = gv_clip_new (FRAMES, SIZE, SIZE);
  g_assert_true (gv_clip_lock (clip, NULL, NULL));
  g_assert_true (gv_edit_prepare_source (clip, model, e, c->frames, GV_PIXELS_RGB, PROMPT,
          tuned, &error));
  g_assert_no_error (error);
  gv_model_unref (model);
  return clip;
}

static gdouble
eval_loss (GvClip *clip, const GvEditEnv *e)
{
  GError *error = NULL;
  gdouble loss = 0;
  g_assert_true (gv_edit_tune_eval_loss (clip, e, 99, EVAL_PAIRS, &loss, &error));
  g_assert_no_error (error);
  return loss;
}

typedef struct {
  gint calls;
  gfloat last;
} Steps;

static void
on_step (gint step, gint total, gfloat loss, gpointer data)
{
  Steps *s = data;
  s->calls++;
  g_assert_cmpint (step, ==, s->calls);
  g_assert_true (isfinite (loss) && loss > 0);
  s->last = loss;
}

static void
tune (GvClip *clip, Clip *c, const GvEditEnv *e, GvTuneParams *p)
{
  GError *error = NULL;
  g_assert_true (gv_edit_tune (clip, e, c->frames, GV_PIXELS_RGB, p, &error));
  g_assert_no_error (error);
}

static void
test_learns (void)
{
  Clip c;
  make_clip (&c);
  GvEditEnv e = { .seed = 5 };
  GvClip *clip = prepared (&c, &e, NULL);
  gdouble before = eval_loss (clip, &e);
  Steps s = { 0 };
  GvTuneParams p = { .steps = 30, .learning_rate = 1e-3, .recompute = TRUE,
    .on_step = on_step, .on_step_data = &s };
  tune (clip, &c, &e, &p);
  g_assert_cmpint (s.calls, ==, 30);
  gdouble after = eval_loss (clip, &e);
  g_test_message ("loss on %d fixed pairs: %.6f before, %.6f after 30 steps", EVAL_PAIRS,
      before, after);
  g_assert_cmpfloat (after, <, LEARN_RATIO * before);
  gv_clip_unlock (clip);
  gv_clip_unref (clip);
  g_free (c.pixels);
}

static void
test_cancel (void)
{
  Clip c;
  make_clip (&c);
  gint cancel = 1;
  GvEditEnv e = { .seed = 5 };
  GvClip *clip = prepared (&c, &e, NULL);
  e.cancel = &cancel;
  GError *error = NULL;
  GvTuneParams p = { .steps = 5, .learning_rate = 1e-3 };
  g_assert_false (gv_edit_tune (clip, &e, c.frames, GV_PIXELS_RGB, &p, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_CANCELLED);
  g_error_free (error);
  gv_clip_unlock (clip);
  gv_clip_unref (clip);
  g_free (c.pixels);
}

static void
test_file_round_trip (void)
{
  Clip c;
  make_clip (&c);
  GError *error = NULL;
  GvEditEnv e = { .seed = 7 };
  gchar *dir = gv_test_scratch_dir ();
  gchar *path = g_build_filename (dir, "tuned.safetensors", NULL);
  GvTuneParams p = { .steps = 3, .learning_rate = 1e-3, .recompute = TRUE,
    .save_path = path };
  gchar *fp = gv_tune_file_fingerprint (g_getenv ("GENVIDEO_DEFAULT_MODEL_DIR"), c.frames,
      FRAMES, SIZE, SIZE, GV_PIXELS_RGB, PROMPT, &p, e.seed);
  p.fingerprint = fp;

  GvClip *tuned = prepared (&c, &e, NULL);
  gdouble untuned = eval_loss (tuned, &e);
  tune (tuned, &c, &e, &p);
  gdouble loss = eval_loss (tuned, &e);
  g_assert_cmpfloat (loss, !=, untuned);
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));

  /* Tune-A-Video's names, the fingerprint in the metadata */
  GvSafetensors *st = gv_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (gv_safetensors_lookup (st,
          "down_blocks.0.attentions.0.transformer_blocks.0.attn_temp.to_q.weight"));
  g_assert_nonnull (gv_safetensors_lookup (st,
          "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight"));
  g_assert_nonnull (gv_safetensors_lookup (st,
          "down_blocks.0.attentions.0.transformer_blocks.0.norm_temp.weight"));
  g_assert_cmpstr (gv_safetensors_get_metadata (st, GV_TUNE_FILE_FINGERPRINT_KEY), ==, fp);
  gv_safetensors_close (st);
  g_assert_true (gv_tune_file_check (path, fp, &error));
  g_assert_no_error (error);

  /* reloaded: the same model to the byte */
  GvClip *loaded = prepared (&c, &e, path);
  g_assert_cmpfloat (eval_loss (loaded, &e), ==, loss);
  GvCorrectParams cp = { .steps = 2, .guidance_scale = 3.0f, .correction_steps = 1,
    .weight_prev = 0.25f, .weight_current = 0.5f, .weight_next = 0.25f };
  gfloat *a = gv_edit_generate (tuned, &e, &cp, NULL, NULL, &error);
  g_assert_no_error (error);
  gfloat *b = gv_edit_generate (loaded, &e, &cp, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (a, FRAMES * 3 * SIZE * SIZE * sizeof (gfloat), b,
      FRAMES * 3 * SIZE * SIZE * sizeof (gfloat));
  g_free (a);
  g_free (b);

  /* another seed: another fingerprint, refused */
  gchar *other = gv_tune_file_fingerprint (g_getenv ("GENVIDEO_DEFAULT_MODEL_DIR"), c.frames,
      FRAMES, SIZE, SIZE, GV_PIXELS_RGB, PROMPT, &p, e.seed + 1);
  g_assert_cmpstr (other, !=, fp);
  g_assert_false (gv_tune_file_check (path, other, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
  g_clear_error (&error);

  /* truncated: damaged */
  gchar *contents;
  gsize len;
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  gchar *cut = g_build_filename (dir, "cut.safetensors", NULL);
  g_assert_true (g_file_set_contents (cut, contents, (gssize) len / 2, NULL));
  g_assert_false (gv_tune_file_check (cut, fp, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_CORRUPT);
  g_clear_error (&error);

  g_free (contents);
  g_free (cut);
  g_free (other);
  gv_clip_unlock (loaded);
  gv_clip_unref (loaded);
  gv_clip_unlock (tuned);
  gv_clip_unref (tuned);
  g_free (fp);
  g_free (path);
  gv_test_remove_tree (dir);
  g_free (dir);
  g_free (c.pixels);
}

/* tuned-location's clip-index pattern: the conversions allowed, the file of each clip */
static void
test_location_pattern (void)
{
  static const struct {
    const gchar *location, *clip_12;  /* NULL: refused */
    gboolean has_index;
  } cases[] = {
    { "tuned.safetensors", "tuned.safetensors", FALSE },
    { "tuned-%u.safetensors", "tuned-12.safetensors", TRUE },
    { "/a/%d/t", "/a/12/t", TRUE },
    { "t-%04u", "t-0012", TRUE },
    { "t-%3u", "t- 12", TRUE },
    { "100%%-%u", "100%-12", TRUE },
    { "100%%", "100%", FALSE },
    { "t-%s", NULL, FALSE },
    { "t-%u-%u", NULL, FALSE },
    { "t-%x", NULL, FALSE },
    { "t-%123u", NULL, FALSE },
    { "t-%", NULL, FALSE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    GError *error = NULL;
    gboolean has_index = FALSE;
    gboolean ok = gv_tune_file_parse_location (cases[i].location, &has_index, &error);
    g_assert_cmpint (ok, ==, cases[i].clip_12 != NULL);
    if (!ok) {
      gv_test_assert_error (error, GV_ERROR_INVALID, cases[i].location, NULL);
      g_error_free (error);
      continue;
    }
    g_assert_no_error (error);
    g_assert_cmpint (has_index, ==, cases[i].has_index);
    gchar *file = gv_tune_file_clip_location (cases[i].location, 12);
    g_assert_cmpstr (file, ==, cases[i].clip_12);
    g_free (file);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/genvideo/tune/learns", test_learns);
  g_test_add_func ("/genvideo/tune/cancel", test_cancel);
  g_test_add_func ("/genvideo/tune/file-round-trip", test_file_round_trip);
  g_test_add_func ("/genvideo/tune/location-pattern", test_location_pattern);
  return g_test_run ();
}
