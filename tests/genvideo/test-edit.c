/* The whole edit on the shipped tiny checkpoint, without GStreamer: background preservation is
 * exact in latent space (also with masks given from elsewhere), masks from pictures take every
 * cell a pixel of the object touches, identical conditions give empty masks and the VAE
 * reconstruction, and the same seed gives the same output; no device memory is left behind;
 * two branches that share one clip take turns. */
#include <math.h>
#include <string.h>

#include "genvideo/gv-edit.h"
#include "genvideo/gv-target.h"
#include "gv-test-util.h"

#define FRAMES 4
#define SIZE 64
#define STEPS 4

typedef struct {
  guint8 *pixels;            /* FRAMES RGB pictures */
  GvPicture frames[FRAMES];
} Clip;

/* a square moving over a gradient */
static void
make_clip (Clip *c)
{
  c->pixels = g_new (guint8, (gsize) FRAMES * SIZE * SIZE * 3);
  for (gint f = 0; f < FRAMES; f++) {
    guint8 *p = c->pixels + (gsize) f * SIZE * SIZE * 3;
    for (gint y = 0; y < SIZE; y++)
      for (gint x = 0; x < SIZE; x++) {
        gboolean in = x >= 12 + 6 * f && x < 36 + 6 * f && y >= 20 && y < 44;
        p[(y * SIZE + x) * 3 + 0] = in ? 220 : (guint8) (x * 3);
        p[(y * SIZE + x) * 3 + 1] = in ? 30 : (guint8) (y * 3);
        p[(y * SIZE + x) * 3 + 2] = in ? 40 : 90;
      }
    c->frames[f] = (GvPicture) { p, SIZE * 3 };
  }
}

static GvEditEnv
env (guint64 seed)
{
  return (GvEditEnv) { .seed = seed };
}

/* the shipped tiny checkpoint, through the cache the elements use too */
static GvModel *
tiny_model (void)
{
  GError *error = NULL;
  GvModel *model = gv_model_get_shared (gv_test_device (),
      g_getenv ("GENVIDEO_DEFAULT_MODEL_DIR"), &error);
  g_assert_no_error (error);
  return model;
}

/* a new clip of the test's shape, held by the calling thread */
static GvClip *
new_clip (void)
{
  GvClip *clip = gv_clip_new (FRAMES, SIZE, SIZE);
  g_assert_true (gv_clip_lock (clip, NULL, NULL));
  return clip;
}

static GvMaskParams mask_params = { STEPS, 3.0f, 0.5f, 3.0f, 0 };

static GvCorrectParams
correct_params (void)
{
  return (GvCorrectParams) {
    .steps = STEPS, .guidance_scale = 3.0f, .correction_steps = 2,
    .weight_prev = 0.25f, .weight_current = 0.5f, .weight_next = 0.25f,
    .preserve_background = TRUE,
  };
}

/* a disc of another colour, its alpha the foreground */
static guint8 *
target_picture (void)
{
  guint8 *rgba = g_new0 (guint8, SIZE * SIZE * 4);
  for (gint y = 0; y < SIZE; y++)
    for (gint x = 0; x < SIZE; x++) {
      gboolean in = (x - 32) * (x - 32) + (y - 32) * (y - 32) < 400;
      guint8 *p = rgba + (y * SIZE + x) * 4;
      p[0] = 20;
      p[1] = 60;
      p[2] = 230;
      p[3] = in ? 255 : 0;
    }
  return rgba;
}

/* the target object of run_edit (@same FALSE), as RGB on grey */
static guint8 *
target_foreground (void)
{
  GError *error = NULL;
  guint8 *rgba = target_picture ();
  guint8 *rgb = gv_target_foreground (rgba, SIZE, SIZE, SIZE * 4, NULL, 0, NULL, &error);
  g_assert_no_error (error);
  g_free (rgba);
  return rgb;
}

/* runs the three stages on @clip (held); @same: the target is the source (prompt and
 * picture) */
static gfloat *
run_edit (GvClip *clip, Clip *c, guint64 seed, gboolean same)
{
  GError *error = NULL;
  GvEditEnv e = env (seed);
  const gchar *prompt = "a red square over a gradient";
  GvModel *model = tiny_model ();

  g_assert_true (gv_edit_prepare_source (clip, model, &e, c->frames, GV_PIXELS_RGB, prompt,
          NULL, &error));
  gv_model_unref (model);
  g_assert_no_error (error);
  if (same) {
    guint pick = gv_edit_source_frame (seed, FRAMES);
    g_assert_true (gv_edit_set_target (clip, &e, prompt, c->frames[pick].data, SIZE, SIZE,
            SIZE * 3, &error));
  } else {
    guint8 *rgb = target_foreground ();
    g_assert_true (gv_edit_set_target (clip, &e, "a blue disc", rgb, SIZE, SIZE, SIZE * 3,
            &error));
    g_free (rgb);
  }
  g_assert_no_error (error);
  g_assert_true (gv_edit_invert (clip, &e, STEPS, &error));
  g_assert_true (gv_edit_compute_masks (clip, &e, &mask_params, &error));
  g_assert_no_error (error);
  GvCorrectParams p = correct_params ();
  gfloat *out = gv_edit_generate (clip, &e, &p, NULL, NULL, &error);
  g_assert_no_error (error);
  return out;
}

/* The largest |a - b| of two latents [F, C, h, w] of @clip inside its masks and outside them */
static void
largest_changes (GvClip *clip, const gfloat *a, const gfloat *b, gdouble *inside,
    gdouble *outside)
{
  gint hw = gv_edit_get_latent_height (clip) * gv_edit_get_latent_width (clip);
  gint64 ch = gv_edit_get_source_latents (clip)->shape[1];
  const gfloat *masks = gv_edit_get_masks (clip, NULL);
  *inside = *outside = 0;
  for (gint f = 0; f < FRAMES; f++)
    for (gint64 k = 0; k < ch; k++)
      for (gint i = 0; i < hw; i++) {
        gsize j = ((gsize) f * ch + k) * hw + i;
        gdouble d = fabs ((gdouble) a[j] - b[j]);
        if (masks[f * hw + i] != 0.0f)
          *inside = MAX (*inside, d);
        else
          *outside = MAX (*outside, d);
      }
}

static void
test_background_is_preserved (void)
{
  Clip c;
  make_clip (&c);
  GvClip *clip = new_clip ();
  gfloat *out = run_edit (clip, &c, 7, FALSE);
  gint h = gv_edit_get_latent_height (clip), w = gv_edit_get_latent_width (clip);
  gdouble area[FRAMES], inside = 0;
  const gfloat *masks = gv_edit_get_masks (clip, area);
  gfloat *result = gv_test_download (gv_edit_get_result_latents (clip));
  gfloat *source = gv_test_download (gv_edit_get_source_latents (clip));

  for (gint f = 0; f < FRAMES; f++)
    inside += area[f] / FRAMES;
  g_test_message ("mask area %.3f %.3f %.3f %.3f", area[0], area[1], area[2], area[3]);
  /* the random tiny model still tells the two conditions apart somewhere, not everywhere */
  g_assert_cmpfloat (inside, >, 0.0);
  g_assert_cmpfloat (inside, <, 1.0);
  /* the differences kept are what the masks were cut from */
  GError *error = NULL;
  gfloat *cut = g_memdup2 (gv_edit_get_differences (clip), sizeof (gfloat) * FRAMES * h * w);
  g_assert_true (gv_masks_from_differences (cut, FRAMES, h, w, mask_params.clamp_ratio,
          mask_params.threshold, mask_params.dilation, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (cut, sizeof (gfloat) * FRAMES * h * w, masks, sizeof (gfloat) * FRAMES * h * w);
  g_free (cut);

  gdouble changed_inside, worst;
  largest_changes (clip, result, source, &changed_inside, &worst);
  g_test_message ("largest latent change outside the mask: %g", worst);
  g_assert_cmpfloat (worst, <=, 1e-6);

  /* in pixels the decoder mixes neighbourhoods: a figure, not an assertion */
  gdouble se = 0, n = 0;
  gint factor = SIZE / w;
  for (gint f = 0; f < FRAMES; f++)
    for (gint y = 0; y < SIZE; y++)
      for (gint x = 0; x < SIZE; x++) {
        if (masks[f * h * w + (y / factor) * w + x / factor] != 0.0f)
          continue;
        for (gint k = 0; k < 3; k++) {
          gdouble src = c.frames[f].data[(y * SIZE + x) * 3 + k] / 127.5 - 1.0;
          gdouble got = out[(((gsize) f * 3 + k) * SIZE + y) * SIZE + x];
          se += (got - src) * (got - src);
          n++;
        }
      }
  /* images in [-1, 1]: peak-to-peak 2 */
  g_test_message ("background PSNR against the source frames: %.2f dB (%.0f values)",
      10 * log10 (4.0 / (se / MAX (n, 1))), n);

  g_free (result);
  g_free (source);
  g_free (out);
  g_free (c.pixels);
  gv_clip_unref (clip);
}

/* GvCorrectParams.ungated (an ablation of gv-bench-quality): the target embedding everywhere
 * changes the latents inside the masks (a second gated run gives the first's to the bit);
 * outside them background preservation still keeps the source's. */
static void
test_ungated_changes_the_inside (void)
{
  GError *error = NULL;
  Clip c;
  make_clip (&c);
  GvClip *clip = new_clip ();
  g_free (run_edit (clip, &c, 7, FALSE));
  gint64 n = gv_edit_get_result_latents (clip)->numel;
  gfloat *runs[3];
  GvEditEnv e = env (7);
  for (gint r = 0; r < 3; r++) {
    GvCorrectParams p = correct_params ();
    p.ungated = r == 2;
    g_free (gv_edit_generate (clip, &e, &p, NULL, NULL, &error));
    g_assert_no_error (error);
    runs[r] = gv_test_download (gv_edit_get_result_latents (clip));
  }
  for (gint64 j = 0; j < n; j++)
    g_assert_cmpfloat (runs[0][j], ==, runs[1][j]);
  gdouble inside, outside;
  largest_changes (clip, runs[2], runs[0], &inside, &outside);
  g_test_message ("ungated against gated: %g inside the masks, %g outside", inside, outside);
  g_assert_cmpfloat (inside, >, 1e-3);
  g_assert_cmpfloat (outside, <=, 1e-6);
  for (gint r = 0; r < 3; r++)
    g_free (runs[r]);
  g_free (c.pixels);
  gv_clip_unref (clip);
}

static void
test_identical_conditions (void)
{
  Clip c;
  make_clip (&c);
  GvClip *clip = new_clip ();
  gfloat *out = run_edit (clip, &c, 11, TRUE);
  gdouble area[FRAMES];
  const gfloat *masks = gv_edit_get_masks (clip, area);
  gint h = gv_edit_get_latent_height (clip), w = gv_edit_get_latent_width (clip);

  for (gint i = 0; i < FRAMES * h * w; i++) {
    g_assert_false (isnan (masks[i]));
    g_assert_cmpfloat (masks[i], ==, 0.0f);
  }
  /* with an empty mask every latent is the source's: the output is the VAE reconstruction */
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  GvTensor *recon = gv_decode_latents (gv_edit_get_model (clip), cmd,
      gv_edit_get_source_latents (clip));
  gv_test_finish (cmd);
  gfloat *want = gv_test_download (recon);
  gv_assert_close (out, want, (gsize) recon->numel, 1e-5);
  gv_tensor_unref (recon);
  gv_cmd_free (cmd);
  g_free (want);
  g_free (out);
  g_free (c.pixels);
  gv_clip_unref (clip);
}

/* gv_edit_set_masks: masks from elsewhere replace InvEdit's; the generation keeps the source
 * latents outside them and changes the inside; a value that is neither 0 nor 1 is refused and
 * leaves the masks alone. */
static void
test_given_masks (void)
{
  GError *error = NULL;
  Clip c;
  make_clip (&c);
  GvClip *clip = new_clip ();
  g_free (run_edit (clip, &c, 7, FALSE));
  gint h = gv_edit_get_latent_height (clip), w = gv_edit_get_latent_width (clip), hw = h * w;
  /* a box that moves one latent pixel a frame, unlike what InvEdit found */
  gfloat *given = g_new0 (gfloat, FRAMES * hw);
  for (gint f = 0; f < FRAMES; f++)
    for (gint y = 2; y < h / 2; y++)
      for (gint x = 1 + f; x < w / 2 + f; x++)
        given[f * hw + y * w + x] = 1.0f;
  g_assert_true (memcmp (given, gv_edit_get_masks (clip, NULL), FRAMES * hw * sizeof (gfloat)));
  GvEditEnv e = env (7);
  g_assert_true (gv_edit_set_masks (clip, &e, given, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (gv_edit_get_masks (clip, NULL), FRAMES * hw * sizeof (gfloat), given,
      FRAMES * hw * sizeof (gfloat));
  g_assert_null (gv_edit_get_differences (clip));

  GvCorrectParams p = correct_params ();
  g_free (gv_edit_generate (clip, &e, &p, NULL, NULL, &error));
  g_assert_no_error (error);
  gfloat *result = gv_test_download (gv_edit_get_result_latents (clip));
  gfloat *source = gv_test_download (gv_edit_get_source_latents (clip));
  gdouble inside, outside;
  largest_changes (clip, result, source, &inside, &outside);
  g_test_message ("given masks: latents changed by up to %g inside, %g outside", inside,
      outside);
  g_assert_cmpfloat (inside, >, 1e-3);
  g_assert_cmpfloat (outside, <=, 1e-6);

  given[5] = 0.5f;
  g_assert_false (gv_edit_set_masks (clip, &e, given, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  given[5] = 0.0f;
  g_assert_cmpmem (gv_edit_get_masks (clip, NULL), FRAMES * hw * sizeof (gfloat), given,
      FRAMES * hw * sizeof (gfloat));
  g_free (result);
  g_free (source);
  g_free (given);
  g_free (c.pixels);
  gv_clip_unref (clip);
}

/* Masks from pictures: a latent cell is inside where any of its pixels is above 127, at any
 * picture size; the padding of the rows is not read. Checked cell by cell against its pixels. */
static void
test_pixel_masks (void)
{
  GError *error = NULL;
  Clip c;
  make_clip (&c);
  GvClip *clip = new_clip ();
  GvEditEnv e = env (7);
  GvModel *model = tiny_model ();
  g_assert_true (gv_edit_prepare_source (clip, model, &e, c.frames, GV_PIXELS_RGB, "a square",
          NULL, &error));
  g_assert_no_error (error);
  gv_model_unref (model);
  gint h = gv_edit_get_latent_height (clip), w = gv_edit_get_latent_width (clip), hw = h * w;

  /* pictures smaller than the frames, rows padded with 255 */
  const gint pw = 40, ph = 36, stride = 48;
  GRand *rand = g_rand_new_with_seed (3);
  guint8 *pixels = g_new (guint8, (gsize) FRAMES * ph * stride);
  for (gint f = 0; f < FRAMES; f++)
    for (gint y = 0; y < ph; y++)
      for (gint x = 0; x < stride; x++) {
        gdouble dx = x - 8.0 - 5 * f, dy = y - 18.0, d = sqrt (dx * dx + dy * dy);
        guint8 v = d < 6 ? 255 : d < 8 ? (guint8) g_rand_int_range (rand, 0, 256) : 0;
        if (x == pw - 1 && y == 3 + f)
          v = (guint8) (127 + f % 2);       /* 127 is outside, 128 inside */
        pixels[((gsize) f * ph + y) * stride + x] = x < pw ? v : 255;
      }
  g_assert_true (gv_edit_set_pixel_masks (clip, &e, pixels, pw, ph, stride, &error));
  g_assert_no_error (error);
  g_assert_null (gv_edit_get_differences (clip));

  const gfloat *masks = gv_edit_get_masks (clip, NULL);
  gint inside = 0;
  for (gint f = 0; f < FRAMES; f++)
    for (gint cy = 0; cy < h; cy++)
      for (gint cx = 0; cx < w; cx++) {
        gboolean any = FALSE;
        for (gint y = 0; y < ph; y++)
          for (gint x = 0; x < pw; x++)
            any |= y * h / ph == cy && x * w / pw == cx &&
                pixels[((gsize) f * ph + y) * stride + x] > 127;
        g_assert_cmpfloat (masks[f * hw + cy * w + cx], ==, any ? 1.0f : 0.0f);
        inside += any;
      }
  /* the lone 128 of frames 1 and 3 makes a cell of its own in the last column */
  g_assert_cmpfloat (masks[0 * hw + (3 * h / ph) * w + w - 1], ==, 0.0f);
  g_assert_cmpfloat (masks[1 * hw + (4 * h / ph) * w + w - 1], ==, 1.0f);
  g_test_message ("pixel masks: %d cells of %d inside", inside, FRAMES * hw);
  g_assert_cmpint (inside, >, 4);
  g_assert_cmpint (inside, <, FRAMES * hw / 2);

  g_rand_free (rand);
  g_free (pixels);
  g_free (c.pixels);
  gv_clip_unref (clip);
}

static guint64
device_bytes (void)
{
  guint64 bytes;
  gv_device_get_memory_stats (gv_test_device (), &bytes, NULL, NULL, NULL);
  return bytes;
}

/* two whole edits: bit-identical, and all their device memory is returned with the clips */
static void
test_same_seed_same_output (void)
{
  Clip c;
  make_clip (&c);
  guint64 before = device_bytes ();
  GvClip *a = new_clip (), *b = new_clip ();
  gfloat *out_a = run_edit (a, &c, 5, FALSE), *out_b = run_edit (b, &c, 5, FALSE);
  gsize n = (gsize) FRAMES * 3 * SIZE * SIZE;
  g_assert_cmpmem (out_a, n * sizeof (gfloat), out_b, n * sizeof (gfloat));
  g_free (out_a);
  g_free (out_b);
  g_free (c.pixels);
  gv_clip_unref (a);
  gv_clip_unref (b);
  g_assert_cmpuint (device_bytes (), ==, before);
}

/* One branch after a tee: an invedit with a target of its own on the shared clip. */
typedef struct {
  GvClip *clip;
  const gchar *prompt;
  const guint8 *rgb;         /* SIZE x SIZE RGB */
  gfloat *masks;             /* out: FRAMES * h * w */
} Branch;

/* sets @b's target and computes the masks, all with @b->clip held; the masks into @b->masks */
static void
branch_masks (Branch *b)
{
  GError *error = NULL;
  GvEditEnv e = env (3);

  g_assert_true (gv_edit_set_target (b->clip, &e, b->prompt, b->rgb, SIZE, SIZE, SIZE * 3,
          &error));
  g_assert_no_error (error);
  g_assert_true (gv_edit_compute_masks (b->clip, &e, &mask_params, &error));
  g_assert_no_error (error);
  gsize n = (gsize) FRAMES * gv_edit_get_latent_height (b->clip) *
      gv_edit_get_latent_width (b->clip);
  memcpy (b->masks, gv_edit_get_masks (b->clip, NULL), n * sizeof (gfloat));
}

static gpointer
branch_thread (gpointer data)
{
  Branch *b = data;
  GError *error = NULL;

  g_assert_true (gv_clip_lock (b->clip, NULL, &error));
  g_assert_no_error (error);
  branch_masks (b);
  gv_clip_unlock (b->clip);
  return NULL;
}

/* Two branches of a tee share one clip and each sets a target of its own and computes masks
 * at the same time: each gets the masks of its own target, as when they run one after the
 * other (without the clip lock, one would compute with the other's target). */
static void
test_two_branches_share_a_clip (void)
{
  Clip c;
  make_clip (&c);
  GError *error = NULL;
  GvEditEnv e = env (3);
  GvClip *clip = new_clip ();
  GvModel *model = tiny_model ();
  const gchar *source_prompt = "a red square over a gradient";

  g_assert_true (gv_edit_prepare_source (clip, model, &e, c.frames, GV_PIXELS_RGB,
          source_prompt, NULL, &error));
  gv_model_unref (model);
  g_assert_true (gv_edit_invert (clip, &e, STEPS, &error));
  g_assert_no_error (error);
  gsize n = (gsize) FRAMES * gv_edit_get_latent_height (clip) * gv_edit_get_latent_width (clip);

  /* the source itself (empty masks) and the blue disc: two targets with other masks */
  guint8 *disc = target_foreground ();
  const guint8 *source = c.frames[gv_edit_source_frame (3, FRAMES)].data;
  Branch branches[2] = {
    { clip, source_prompt, source, g_new (gfloat, n) },
    { clip, "a blue disc", disc, g_new (gfloat, n) },
  };
  gfloat *want[2];
  for (gint b = 0; b < 2; b++) {
    branch_masks (&branches[b]);
    want[b] = g_memdup2 (branches[b].masks, n * sizeof (gfloat));
    memset (branches[b].masks, 0xff, n * sizeof (gfloat));
  }
  g_assert_true (memcmp (want[0], want[1], n * sizeof (gfloat)) != 0);
  gv_clip_unlock (clip);

  GThread *threads[2];
  for (gint b = 0; b < 2; b++)
    threads[b] = g_thread_new ("branch", branch_thread, &branches[b]);
  for (gint b = 0; b < 2; b++)
    g_thread_join (threads[b]);
  for (gint b = 0; b < 2; b++) {
    g_assert_cmpmem (branches[b].masks, n * sizeof (gfloat), want[b], n * sizeof (gfloat));
    g_free (branches[b].masks);
    g_free (want[b]);
  }
  g_free (disc);
  g_free (c.pixels);
  gv_clip_unref (clip);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/edit/background-is-preserved", test_background_is_preserved);
  g_test_add_func ("/edit/identical-conditions", test_identical_conditions);
  g_test_add_func ("/edit/ungated-changes-the-inside", test_ungated_changes_the_inside);
  g_test_add_func ("/edit/given-masks", test_given_masks);
  g_test_add_func ("/edit/pixel-masks", test_pixel_masks);
  g_test_add_func ("/edit/same-seed-same-output", test_same_seed_same_output);
  g_test_add_func ("/edit/two-branches-share-a-clip", test_two_branches_share_a_clip);
  return g_test_run ();
}
