/* Cancelling an edit at every stage (encoding, inversion, masks, sampling, decoding), from the
 * progress callback at step k: the stage returns a GV_ERROR_CANCELLED error and unwinds without
 * a critical (the tests run with G_DEBUG=fatal-criticals) nor device memory left behind, and
 * the same clip then runs to the end. */
#include <stdlib.h>
#include <string.h>

#include "genvideo/gv-edit.h"
#include "gv-test-util.h"

#define FRAMES 2
#define SIZE 32
#define STEPS 3

typedef struct {
  const gchar *stage;  /* cancel when this stage reports step k */
  gint k;
  gint cancel;         /* the flag the edit watches */
  gchar *seen;         /* the stage that was running when the flag was set */
} Canceller;

static void
on_progress (const gchar *stage, gint current, gint total, gpointer data)
{
  Canceller *c = data;
  if (!g_atomic_int_get (&c->cancel) && strcmp (stage, c->stage) == 0 && current == c->k) {
    g_atomic_int_set (&c->cancel, 1);
    c->seen = g_strdup (stage);
  }
}

static const GvMaskParams mask_params = { STEPS, 3.0f, 0.5f, 3.0f, 0 };

/* Runs every stage on @clip (held) until one fails; the error of that one, or NULL. */
static GError *
run_stages (GvClip *clip, GvModel *model, const GvPicture *frames, Canceller *c)
{
  GError *error = NULL;
  GvEditEnv env = { .seed = 3, .cancel = &c->cancel, .progress = on_progress,
    .progress_data = c };
  GvCorrectParams p = {
    .steps = STEPS, .guidance_scale = 3.0f, .correction_steps = 1,
    .weight_prev = 0.25f, .weight_current = 0.5f, .weight_next = 0.25f,
    .preserve_background = TRUE,
  };

  if (!gv_edit_prepare_source (clip, model, &env, frames, GV_PIXELS_RGB, "a clip", NULL,
          &error))
    return error;
  if (!gv_edit_set_target (clip, &env, "another clip", frames[1].data, SIZE, SIZE, SIZE * 3,
          &error))
    return error;
  if (!gv_edit_invert (clip, &env, STEPS, &error))
    return error;
  if (!gv_edit_compute_masks (clip, &env, &mask_params, &error))
    return error;
  gfloat *out = gv_edit_generate (clip, &env, &p, NULL, NULL, &error);
  g_free (out);
  return error;
}

static void
test_cancel_at (gconstpointer data)
{
  const gchar *const *spec = data;
  const gchar *stage = spec[0];
  gint k = atoi (spec[1]);
  GError *error = NULL;
  GvModel *model = gv_model_get_shared (gv_test_device (),
      g_getenv ("GENVIDEO_DEFAULT_MODEL_DIR"), &error);
  g_assert_no_error (error);
  gsize n = (gsize) FRAMES * SIZE * SIZE * 3;
  gfloat *noise = gv_test_random (n, 11, 0.0f, 255.0f);
  guint8 *pixels = g_new (guint8, n);
  for (gsize i = 0; i < n; i++)
    pixels[i] = (guint8) noise[i];
  g_free (noise);
  GvPicture frames[FRAMES];
  for (gint f = 0; f < FRAMES; f++)
    frames[f] = (GvPicture) { pixels + (gsize) f * SIZE * SIZE * 3, SIZE * 3 };
  guint64 before;
  gv_device_get_memory_stats (gv_test_device (), &before, NULL, NULL, NULL);

  /* twice: a cancelled step must unwind the same way each time */
  for (gint round = 0; round < 2; round++) {
    GvClip *clip = gv_clip_new (FRAMES, SIZE, SIZE);
    g_assert_true (gv_clip_lock (clip, NULL, NULL));
    Canceller c = { stage, k, 0, NULL };
    error = run_stages (clip, model, frames, &c);
    g_assert_cmpstr (c.seen, ==, stage);
    g_assert_error (error, GV_ERROR, GV_ERROR_CANCELLED);
    g_clear_error (&error);
    g_free (c.seen);

    /* the clip is usable after a cancel */
    Canceller none = { "none", 0, 0, NULL };
    error = run_stages (clip, model, frames, &none);
    g_assert_no_error (error);
    gv_clip_unlock (clip);
    gv_clip_unref (clip);
  }
  guint64 after;
  gv_device_get_memory_stats (gv_test_device (), &after, NULL, NULL, NULL);
  g_assert_cmpuint (after, ==, before);
  g_free (pixels);
  gv_model_unref (model);
}

int
main (int argc, char **argv)
{
  /* stage, step k at which the progress callback cancels */
  static const gchar *const cases[][2] = {
    { "encoding", "0" },
    { "inversion", "1" }, { "inversion", "2" },
    { "masks", "1" }, { "masks", "2" },
    { "sampling", "1" }, { "sampling", "2" },
    { "decoding", "0" },
  };

  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    gchar *path = g_strdup_printf ("/cancel/%s/step-%s", cases[i][0], cases[i][1]);
    g_test_add_data_func (path, cases[i], test_cancel_at);
    g_free (path);
  }
  return g_test_run ();
}
