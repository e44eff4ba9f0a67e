/* Pins the method choices of GenVideo's stages 2 and 3 (DESIGN.md section 1), each test naming
 * the choice it holds, on the shipped tiny checkpoint, with the denoiser's pass hook
 * (GvDenoiser.on_pass, GvEditEnv.on_pass) watching what every pass is conditioned on, and
 * independent loops over the same building blocks where the right answer is a composition of
 * pieces pinned elsewhere (gv_denoise against the golden pipeline, gv_correct_latents in
 * test-correct.c, the DiffEdit rule in test-masks.c). */
#include <math.h>
#include <string.h>

#include "genvideo/gv-edit.h"
#include "genvideo/gv-target.h"
#include "gv-test-files.h"
#include "gv-test-model.h"
#include "gv-test-util.h"

#define FRAMES 3
#define SIZE 32
#define STEPS 4
#define MASK_GUIDANCE 3.0f
#define GEN_GUIDANCE 4.0f

static gfloat *
download (GvTensor *t)
{
  return t ? gv_test_download (t) : NULL;
}

static gboolean
same (const gfloat *a, const gfloat *b, gsize n, gdouble tol)
{
  return a != NULL && b != NULL && gv_test_rel_l2 (a, b, n) <= tol;
}

/* ---- what each pass of a whole edit is conditioned on ---- */

/* One pass as the hook saw it, downloaded. */
typedef struct {
  gint stage;
  gint t, n;
  gfloat guidance;
  gfloat *mask;                 /* NULL: no gating */
  gfloat *text[2], *labels[2], *outside[2], *z[2], *out[2];
} Seen;

typedef struct {
  gint stage;                   /* set by the test before each gv_edit_* call */
  GPtrArray *seen;
  gsize text_n, labels_n, z_n, mask_n;
} Recorder;

enum { INVERT, MASKS, GENERATE };

static void
seen_free (Seen *s)
{
  g_free (s->mask);
  for (gint b = 0; b < 2; b++) {
    g_free (s->text[b]);
    g_free (s->labels[b]);
    g_free (s->outside[b]);
    g_free (s->z[b]);
    g_free (s->out[b]);
  }
  g_free (s);
}

static void
record_pass (const GvPass *pass, GvCmd *cmd, gpointer data)
{
  Recorder *r = data;
  Seen *s = g_new0 (Seen, 1);

  gv_test_finish (cmd);
  s->stage = r->stage;
  s->t = pass->t;
  s->n = pass->n_branches;
  s->guidance = pass->guidance_scale;
  s->mask = download (pass->mask);
  r->mask_n = pass->mask ? (gsize) pass->mask->numel : 0;
  for (gint b = 0; b < pass->n_branches && b < 2; b++) {
    s->text[b] = download (pass->cond[b]->text);
    s->labels[b] = download (pass->cond[b]->labels);
    s->outside[b] = download (pass->cond[b]->labels_outside);
    s->z[b] = download (pass->latents[b]);
    s->out[b] = download (pass->eps[b]);
    r->text_n = pass->cond[b]->text->numel;
    r->labels_n = pass->cond[b]->labels->numel;
    r->z_n = pass->latents[b]->numel;
  }
  g_ptr_array_add (r->seen, s);
}

/* a light disc moving right over a dark ramp, RGB */
static guint8 *
source_pixels (GvPicture *frames)
{
  guint8 *px = g_new (guint8, (gsize) FRAMES * SIZE * SIZE * 3);
  for (gint f = 0; f < FRAMES; f++) {
    guint8 *p = px + (gsize) f * SIZE * SIZE * 3;
    for (gint y = 0; y < SIZE; y++)
      for (gint x = 0; x < SIZE; x++) {
        gint dx = x - 10 - 4 * f, dy = y - 16;
        gboolean in = dx * dx + dy * dy < 49;
        p[(y * SIZE + x) * 3 + 0] = in ? 240 : (guint8) (x * 4);
        p[(y * SIZE + x) * 3 + 1] = in ? 240 : 40;
        p[(y * SIZE + x) * 3 + 2] = in ? 230 : (guint8) (y * 4);
      }
    frames[f] = (GvPicture) { p, SIZE * 3 };
  }
  return px;
}

/* a green square as the target image's foreground, on the encoder's grey */
static guint8 *
target_foreground (void)
{
  GError *error = NULL;
  guint8 *rgba = g_new0 (guint8, SIZE * SIZE * 4);
  for (gint y = 8; y < 24; y++)
    for (gint x = 8; x < 24; x++) {
      guint8 *p = rgba + (y * SIZE + x) * 4;
      p[1] = 200;
      p[3] = 255;
    }
  guint8 *rgb = gv_target_foreground (rgba, SIZE, SIZE, SIZE * 4, NULL, 0, NULL, &error);
  g_assert_no_error (error);
  g_free (rgba);
  return rgb;
}

static gfloat *
encode_prompt (GvModel *model, const gchar *prompt)
{
  GvCmd *cmd = gv_cmd_new (gv_model_get_device (model));
  GvTensor *t = gv_model_encode_prompt (model, cmd, prompt);
  gv_test_finish (cmd);
  gfloat *host = gv_test_download (t);
  gv_tensor_unref (t);
  gv_cmd_free (cmd);
  return host;
}

/* the unCLIP class labels of a picture, with noise of its own (level 0: the noise barely
 * moves them) */
static gfloat *
picture_labels (GvModel *model, const guint8 *rgb)
{
  GvCmd *cmd = gv_cmd_new (gv_model_get_device (model));
  GvTensor *t = gv_image_class_labels (model, cmd, rgb, SIZE, SIZE, SIZE * 3, 987654321);
  gv_test_finish (cmd);
  gfloat *host = gv_test_download (t);
  gv_tensor_unref (t);
  gv_cmd_free (cmd);
  return host;
}

/* a clip of the source frames ("a white ball"), its target set from @target_prompt and the
 * foreground @fg, inverted in @steps; the passes are recorded in @r, whose stage this sets */
static GvClip *
inverted_clip (GvModel *model, const GvEditEnv *env, Recorder *r, const GvPicture *frames,
    const guint8 *fg, const gchar *target_prompt, gint steps)
{
  GError *error = NULL;
  GvClip *clip = gv_clip_new (FRAMES, SIZE, SIZE);
  g_assert_true (gv_clip_lock (clip, NULL, NULL));
  g_assert_true (gv_edit_prepare_source (clip, model, env, frames, GV_PIXELS_RGB,
          "a white ball", NULL, &error));
  g_assert_no_error (error);
  g_assert_true (gv_edit_set_target (clip, env, target_prompt, fg, SIZE, SIZE, SIZE * 3,
          &error));
  r->stage = INVERT;
  g_assert_true (gv_edit_invert (clip, env, steps, &error));
  g_assert_no_error (error);
  return clip;
}

/* Pins, on the path the elements take (gv_edit_*):
 * - inversion: the source prompt and the source frame's embedding, no guidance, no gating,
 *   timesteps ascending;
 * - the InvEdit branches: one batched pass per step, branch 0 the source condition, branch 1
 *   the target prompt with the target image's embedding, classifier-free guidance in both, no
 *   mask gating;
 * - the mask: DiffEdit's rule (with the dilation asked for) on the step average of the mean
 *   over channels of |eps_0 - eps_1| of the two branches (each output as noise on its own
 *   latents), not of one branch with itself;
 * - sampling: the target prompt, the target image's embedding inside the mask and the source
 *   frame's outside it, gated by the clip's masks, guided. */
static void
test_edit_conditions (void)
{
  GError *error = NULL;
  GvPicture frames[FRAMES];
  guint8 *pixels = source_pixels (frames), *fg = target_foreground ();
  Recorder r = { 0, g_ptr_array_new_with_free_func ((GDestroyNotify) seen_free) };
  GvEditEnv env = { .seed = 21, .on_pass = record_pass, .pass_data = &r };
  GvModel *model = gv_test_tiny_model ();
  GvClip *clip = inverted_clip (model, &env, &r, frames, fg, "a green square", STEPS);
  r.stage = MASKS;
  GvMaskParams mp = { STEPS, MASK_GUIDANCE, 0.5f, 3.0f, 1 };
  g_assert_true (gv_edit_compute_masks (clip, &env, &mp, &error));
  r.stage = GENERATE;
  GvCorrectParams cp = { .steps = STEPS, .guidance_scale = GEN_GUIDANCE,
    .correction_steps = 1, .weight_prev = 0.25f, .weight_current = 0.5f,
    .weight_next = 0.25f, .preserve_background = TRUE };
  g_free (gv_edit_generate (clip, &env, &cp, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (r.seen->len, ==, 3 * STEPS);

  gfloat *text_src = encode_prompt (model, "a white ball");
  gfloat *text_trg = encode_prompt (model, "a green square");
  gfloat *labels_trg = picture_labels (model, fg);
  gfloat *labels_frame = picture_labels (model, frames[gv_edit_source_frame (21, FRAMES)].data);
  /* the test tells the two pictures' labels apart */
  g_test_message ("labels: source frame vs target %.3f",
      gv_test_rel_l2 (labels_frame, labels_trg, r.labels_n));
  g_assert_false (same (labels_frame, labels_trg, r.labels_n, 0.2));
  g_assert_false (same (text_src, text_trg, r.text_n, 0.01));

  Seen *first = r.seen->pdata[0];
  const gfloat *labels_src = first->labels[0];
  g_assert_true (same (labels_src, labels_frame, r.labels_n, 0.02));
  gint h = gv_edit_get_latent_height (clip), w = gv_edit_get_latent_width (clip);
  gsize plane = (gsize) h * w, ch = r.z_n / (FRAMES * plane);
  gdouble *diff = g_new0 (gdouble, FRAMES * plane);
  GvScheduler *sched = gv_model_new_scheduler (model, &error);
  const gfloat *ac = gv_scheduler_get_alphas_cumprod (sched);
  gint last_t = -1;

  for (guint i = 0; i < r.seen->len; i++) {
    Seen *s = r.seen->pdata[i];
    g_assert_cmpint (s->stage, ==, i / STEPS);
    if (s->stage == INVERT) {
      g_assert_cmpint (s->n, ==, 1);
      g_assert_cmpfloat (s->guidance, <=, 1.0f);
      g_assert_null (s->mask);
      g_assert_true (same (s->text[0], text_src, r.text_n, 1e-6));
      g_assert_true (same (s->labels[0], labels_src, r.labels_n, 0));
      g_assert_cmpint (s->t, >, last_t);
      last_t = s->t;
    } else if (s->stage == MASKS) {
      g_assert_cmpint (s->n, ==, 2);
      g_assert_cmpfloat (s->guidance, ==, MASK_GUIDANCE);
      g_assert_null (s->mask);
      g_assert_true (same (s->text[0], text_src, r.text_n, 1e-6));
      g_assert_true (same (s->labels[0], labels_src, r.labels_n, 0));
      g_assert_true (same (s->text[1], text_trg, r.text_n, 1e-6));
      g_assert_true (same (s->labels[1], labels_trg, r.labels_n, 0.02));
      /* eps = sqrt (a_t) v + sqrt (1 - a_t) z_t for the v-predicting model */
      gdouble sa = sqrt (ac[s->t]), sb = sqrt (1.0 - ac[s->t]);
      for (gsize n = 0; n < FRAMES; n++)
        for (gsize p = 0; p < plane; p++) {
          gdouble sum = 0;
          for (gsize c = 0; c < ch; c++) {
            gsize j = (n * ch + c) * plane + p;
            sum += fabs (sa * s->out[0][j] + sb * s->z[0][j] - sa * s->out[1][j] -
                sb * s->z[1][j]);
          }
          diff[n * plane + p] += sum / ch / STEPS;
        }
    } else {
      g_assert_cmpint (s->n, ==, 1);
      g_assert_cmpfloat (s->guidance, ==, GEN_GUIDANCE);
      g_assert_true (same (s->text[0], text_trg, r.text_n, 1e-6));
      g_assert_true (same (s->labels[0], labels_trg, r.labels_n, 0.02));
      g_assert_true (same (s->outside[0], labels_src, r.labels_n, 0));
      g_assert_nonnull (s->mask);
      g_assert_cmpmem (s->mask, r.mask_n * sizeof (gfloat), gv_edit_get_masks (clip, NULL),
          FRAMES * plane * sizeof (gfloat));
    }
  }
  g_assert_cmpint (gv_model_get_config (model)->scheduler.prediction_type, ==, GV_PREDICT_V);

  gfloat *want = g_new (gfloat, FRAMES * plane);
  for (gsize i = 0; i < FRAMES * plane; i++)
    want[i] = (gfloat) diff[i];
  g_assert_true (gv_masks_from_differences (want, FRAMES, h, w, 3.0f, 0.5f, 1, NULL));
  gdouble area[FRAMES], inside = 0;
  const gfloat *masks = gv_edit_get_masks (clip, area);
  for (gint f = 0; f < FRAMES; f++)
    inside += area[f] / FRAMES;
  g_test_message ("mask area %.3f", inside);
  g_assert_cmpfloat (inside, >, 0.0);
  g_assert_cmpfloat (inside, <, 1.0);
  g_assert_cmpmem (masks, FRAMES * plane * sizeof (gfloat), want, FRAMES * plane *
      sizeof (gfloat));

  gv_scheduler_free (sched);
  g_free (want);
  g_free (diff);
  g_free (text_src);
  g_free (text_trg);
  g_free (labels_trg);
  g_free (labels_frame);
  g_ptr_array_unref (r.seen);
  gv_clip_unref (clip);
  gv_model_unref (model);
  g_free (pixels);
  g_free (fg);
}

/* A guidance scale of 0 (the elements' default) is the model's own: generation_config.json's
 * when its folder has one, else 7.5; the masks and the sampling both run at it. */
static void
test_model_guidance (void)
{
  GError *error = NULL;
  GvPicture frames[FRAMES];
  guint8 *pixels = source_pixels (frames), *fg = target_foreground ();
  gchar *dir = gv_test_scratch_dir ();
  gv_test_copy_checkpoint (gv_test_default_model_dir (), dir);
  gchar *gen = g_build_filename (dir, GV_GENERATION_CONFIG, NULL);

  for (gint with_file = 0; with_file < 2; with_file++) {
    if (with_file)
      g_assert_true (g_file_set_contents (gen, "{ \"guidance_scale\": 2.5 }", -1, NULL));
    gfloat want = with_file ? 2.5f : GV_DEFAULT_GUIDANCE_SCALE;
    Recorder r = { 0, g_ptr_array_new_with_free_func ((GDestroyNotify) seen_free) };
    GvEditEnv env = { .seed = 21, .on_pass = record_pass, .pass_data = &r };
    GvModel *model = gv_model_load (gv_test_device (), dir, &error);
    g_assert_no_error (error);
    GvClip *clip = inverted_clip (model, &env, &r, frames, fg, "a green square", 2);
    r.stage = MASKS;
    GvMaskParams mp = { 2, 0.0f, 0.5f, 3.0f, 0 };
    g_assert_true (gv_edit_compute_masks (clip, &env, &mp, &error));
    r.stage = GENERATE;
    GvCorrectParams cp = { .steps = 2, .guidance_scale = 0.0f, .correction_steps = 1,
      .weight_prev = 0.25f, .weight_current = 0.5f, .weight_next = 0.25f };
    g_free (gv_edit_generate (clip, &env, &cp, NULL, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (r.seen->len, ==, 6);
    for (guint i = 2; i < r.seen->len; i++)
      g_assert_cmpfloat (((Seen *) r.seen->pdata[i])->guidance, ==, want);
    g_ptr_array_unref (r.seen);
    gv_clip_unref (clip);
    gv_model_unref (model);
  }
  g_free (gen);
  g_free (dir);
  g_free (pixels);
  g_free (fg);
}

/* GvMaskParams.labels, the ablation of the branches' image conditions: SOURCE gives the target
 * branch the source frame's labels, NONE gives both zero labels; the prompts stay each
 * branch's own, and with SOURCE and one prompt for both the branches are one (no differences,
 * no mask). */
static void
test_mask_labels (void)
{
  GError *error = NULL;
  GvPicture frames[FRAMES];
  guint8 *pixels = source_pixels (frames), *fg = target_foreground ();
  GvModel *model = gv_test_tiny_model ();
  gfloat *text_trg = encode_prompt (model, "a green square");
  const GvMaskLabels kinds[] = { GV_MASK_LABELS_SOURCE, GV_MASK_LABELS_NONE };
  for (guint k = 0; k < 3; k++) {
    gboolean one_prompt = k == 2;
    GvMaskLabels labels = one_prompt ? GV_MASK_LABELS_SOURCE : kinds[k];
    Recorder r = { 0, g_ptr_array_new_with_free_func ((GDestroyNotify) seen_free) };
    GvEditEnv env = { .seed = 21, .on_pass = record_pass, .pass_data = &r };
    GvClip *clip = inverted_clip (model, &env, &r, frames, fg,
        one_prompt ? "a white ball" : "a green square", 2);
    r.stage = MASKS;
    GvMaskParams mp = { 2, MASK_GUIDANCE, 0.5f, 3.0f, 0, .labels = labels };
    g_assert_true (gv_edit_compute_masks (clip, &env, &mp, &error));
    g_assert_no_error (error);
    Seen *inv = r.seen->pdata[0], *m = r.seen->pdata[2];
    g_assert_cmpint (m->stage, ==, MASKS);
    g_assert_true (same (m->text[1], one_prompt ? m->text[0] : text_trg, r.text_n, 1e-6));
    if (labels == GV_MASK_LABELS_SOURCE) {
      /* the inversion's labels are the source frame's */
      g_assert_true (same (m->labels[0], inv->labels[0], r.labels_n, 1e-6));
      g_assert_true (same (m->labels[1], inv->labels[0], r.labels_n, 1e-6));
    } else {
      for (gsize i = 0; i < r.labels_n; i++)
        g_assert_true (m->labels[0][i] == 0.0f && m->labels[1][i] == 0.0f);
    }
    const gfloat *d = gv_edit_get_differences (clip);
    gsize n = (gsize) FRAMES * gv_edit_get_latent_height (clip) *
        gv_edit_get_latent_width (clip);
    gdouble sum = 0;
    for (gsize i = 0; i < n; i++)
      sum += d[i];
    if (one_prompt)
      g_assert_cmpfloat (sum, ==, 0.0);
    else
      g_assert_cmpfloat (sum, >, 0.0);
    g_ptr_array_unref (r.seen);
    gv_clip_unref (clip);
  }
  g_free (text_trg);
  g_free (pixels);
  g_free (fg);
}

/* ---- the denoiser ---- */

typedef struct {
  GvModel *model;
  GvScheduler *sched;
  GvDenoiser den;
  GvCondition src, trg;
  GvCmd *cmd;
  gint64 h, w;
} Setup;

static void
setup_init (Setup *s)
{
  GError *error = NULL;
  s->model = gv_test_tiny_model ();
  s->cmd = gv_cmd_new (gv_test_device ());
  s->sched = gv_model_new_scheduler (s->model, &error);
  g_assert_no_error (error);
  s->den = (GvDenoiser) { .unet = gv_model_get_unet (s->model), .guidance_scale = 1.0f };
  gv_condition_init_uncond (&s->den.uncond, s->model, s->cmd);
  s->src = (GvCondition) { gv_model_encode_prompt (s->model, s->cmd, "a white ball"),
    gv_test_random_labels (s->model, s->cmd, SIZE, 1), NULL };
  s->trg = (GvCondition) { gv_model_encode_prompt (s->model, s->cmd, "a red disc"),
    gv_test_random_labels (s->model, s->cmd, SIZE, 2), gv_tensor_ref (s->src.labels) };
  gint f = gv_vae_get_factor (gv_model_get_vae (s->model));
  s->h = SIZE / f;
  s->w = SIZE / f;
}

static void
setup_clear (Setup *s)
{
  gv_condition_clear (&s->src);
  gv_condition_clear (&s->trg);
  gv_condition_clear (&s->den.uncond);
  gv_scheduler_free (s->sched);
  gv_cmd_free (s->cmd);
  gv_model_unref (s->model);
}

static GvTensor *
random_latents (Setup *s, guint32 seed)
{
  gfloat *h = gv_test_random (FRAMES * 4 * s->h * s->w, seed, -1, 1);
  GvTensor *t = GV_TEST_TENSOR (h, FRAMES, 4, s->h, s->w);
  g_free (h);
  return t;
}

static gfloat *
denoise_host (Setup *s, gfloat guidance, gint n, GvTensor **z, const GvCondition **c)
{
  GvDenoiser d = s->den;
  GvTensor *out[2];
  d.guidance_scale = guidance;
  gv_denoise (&d, s->cmd, 601, n, z, c, out, NULL, NULL);
  gv_test_finish (s->cmd);
  gsize numel = out[0]->numel;
  gfloat *host = g_new (gfloat, n * numel);
  for (gint b = 0; b < n; b++) {
    gfloat *o = gv_test_download (out[b]);
    memcpy (host + b * numel, o, numel * sizeof (gfloat));
    g_free (o);
    gv_tensor_unref (out[b]);
  }
  return host;
}

/* Pins classifier-free guidance and the batching of branches in gv_denoise: each branch's
 * output is u + g (c - u) with u its latents under the unconditional condition and c under
 * its own, whatever else shares the batch. */
static void
test_denoise_guidance_per_branch (void)
{
  Setup s;
  setup_init (&s);
  GvTensor *z[2] = { random_latents (&s, 3), random_latents (&s, 4) };
  const GvCondition *conds[2] = { &s.src, &s.trg };
  gfloat *both = denoise_host (&s, MASK_GUIDANCE, 2, z, conds);
  gsize numel = z[0]->numel;

  for (gint b = 0; b < 2; b++) {
    const GvCondition *u = &s.den.uncond;
    gfloat *uo = denoise_host (&s, 1.0f, 1, &z[b], &u);
    gfloat *co = denoise_host (&s, 1.0f, 1, &z[b], &conds[b]);
    gfloat *want = g_new (gfloat, numel);
    for (gsize i = 0; i < numel; i++)
      want[i] = uo[i] + MASK_GUIDANCE * (co[i] - uo[i]);
    gv_assert_close (both + b * numel, want, numel, 1e-4);
    /* the test tells guidance from no guidance */
    g_assert_cmpfloat (gv_test_rel_l2 (co, want, numel), >, 1e-2);
    g_free (uo);
    g_free (co);
    g_free (want);
  }
  g_free (both);
  gv_tensor_unref (z[0]);
  gv_tensor_unref (z[1]);
  setup_clear (&s);
}

/* ---- sampling with latent correction ---- */

/* a mask over the left half of every frame */
static GvTensor *
half_mask (Setup *s)
{
  gfloat *m = g_new0 (gfloat, FRAMES * s->h * s->w);
  for (gint64 i = 0; i < FRAMES * s->h * s->w; i++)
    m[i] = (i % s->w) < s->w / 2;
  GvTensor *t = GV_TEST_TENSOR (m, FRAMES, 1, s->h, s->w);
  g_free (m);
  return t;
}

/* the source inversion of random latents drawn from @seed */
static void
invert_random (Setup *s, guint32 seed, GvInversion *inv)
{
  GError *error = NULL;
  GvTensor *z0 = random_latents (s, seed);
  g_assert_true (gv_invert (&s->den, s->sched, s->cmd, z0, &s->src, STEPS, inv, NULL, NULL,
          &error));
  g_assert_no_error (error);
  gv_tensor_unref (z0);
}

static GvCorrectParams
sampling_params (gint correction_steps, gboolean preserve_background)
{
  return (GvCorrectParams) { .steps = STEPS, .guidance_scale = GEN_GUIDANCE,
    .correction_steps = correction_steps, .weight_prev = 0.25f, .weight_current = 0.5f,
    .weight_next = 0.25f, .preserve_background = preserve_background };
}

typedef struct {
  gchar *block;
  gint64 frames;
  GvTensor *features;
} Features;

static void
take_features (const gchar *name, GvCmd *cmd, GvTensor *t, gpointer data)
{
  Features *ft = data;
  if (g_strcmp0 (name, ft->block) != 0)
    return;
  /* the conditional clip: the second half of the guided batch */
  gint64 per = t->numel / t->shape[0];
  g_clear_pointer (&ft->features, gv_tensor_unref);
  ft->features = GV_VIEW (t, ft->frames * per, ft->frames, t->shape[1], t->shape[2],
      t->shape[3]);
}

/* In prediction space, from its pieces: z = sqrt (a_prev) x0' + sqrt (1 - a_prev) eps, with x0'
 * the correction of the step's predicted x0 and eps the noise the pass predicted (computed on
 * the host; @a_prev the alpha the step lands on). */
static GvTensor *
correct_prediction_by_hand (Setup *s, GvTensor *x0, GvTensor *eps, GvTensor *features,
    GvTensor *mask, const GvCorrectParams *p, gfloat a_prev)
{
  GvTensor *cx0 = gv_correct_latents (s->cmd, x0, features, mask, p, NULL);
  gv_test_finish (s->cmd);
  gfloat *c = gv_test_download (cx0), *e = gv_test_download (eps);
  for (gsize j = 0; j < cx0->numel; j++)
    c[j] = sqrtf (a_prev) * c[j] + sqrtf (1.0f - a_prev) * e[j];
  GvTensor *z = gv_tensor_like (s->cmd, x0);
  gv_tensor_record_upload (s->cmd, z, c);
  gv_test_finish (s->cmd);
  g_free (c);
  g_free (e);
  gv_tensor_unref (cx0);
  return z;
}

/* The sampling loop the method describes, from its pieces: the guided, gated pass; the DDIM
 * step; in the corrected steps (the first @k when @first, else the last @k) the correction of
 * the stepped latents (or, in prediction space, of the predicted x0) with the features of
 * @block from that same pass. */
static gfloat *
sample_by_hand (Setup *s, GvInversion *inv, GvTensor *mask, const GvCorrectParams *p,
    gboolean first, const gchar *block)
{
  GvDenoiser d = s->den;
  gint *ts = gv_scheduler_timesteps (s->sched, p->steps);
  GvTensor *z = gv_tensor_ref (gv_inversion_noisiest (inv));
  const GvCondition *trg = &s->trg;
  Features ft = { g_strdup (block), FRAMES, NULL };

  d.guidance_scale = p->guidance_scale;
  d.mask = mask;
  const gfloat *alphas = gv_scheduler_get_alphas_cumprod (s->sched);
  for (gint i = 0; i < p->steps; i++) {
    gboolean correct = first ? i < p->correction_steps : i >= p->steps - p->correction_steps;
    GvTensor *out, *next = gv_tensor_like (s->cmd, z);
    GvTensor *x0 = gv_tensor_like (s->cmd, z), *eps = gv_tensor_like (s->cmd, z);
    gv_denoise (&d, s->cmd, ts[i], 1, &z, &trg, &out, correct ? take_features : NULL, &ft);
    gv_scheduler_step (s->sched, s->cmd, p->steps, ts[i], out, z, next, x0);
    gv_scheduler_predict_noise (s->sched, s->cmd, ts[i], out, z, eps);
    gv_tensor_unref (out);
    gv_tensor_unref (z);
    z = next;
    if (correct) {
      gfloat a_prev = i + 1 < p->steps ? alphas[ts[i + 1]] :
          gv_scheduler_get_final_alpha_cumprod (s->sched);
      g_assert_nonnull (ft.features);
      next = p->space == GV_CORRECTION_PREDICTIONS ?
          correct_prediction_by_hand (s, x0, eps, ft.features, mask, p, a_prev) :
          gv_correct_latents (s->cmd, z, ft.features, mask, p, NULL);
      gv_tensor_unref (z);
      z = next;
      g_clear_pointer (&ft.features, gv_tensor_unref);
    }
    gv_tensor_unref (x0);
    gv_tensor_unref (eps);
  }
  gv_test_finish (s->cmd);
  gfloat *host = gv_test_download (z);
  gv_tensor_unref (z);
  g_free (ts);
  g_free (ft.block);
  return host;
}

static void
on_correction (const GvCorrectionReport *report, gpointer data)
{
  g_array_append_val ((GArray *) data, report->step);
}

/* What the correction tests share: a clip, half of it masked, inverted in 5 steps, and the
 * sampling parameters with 2 correction steps, no background preservation. */
typedef struct {
  Setup s;
  GvTensor *mask;
  GvInversion inv;
  GvCorrectParams p;
} CorrectionCase;

static void
correction_case_init (CorrectionCase *c)
{
  setup_init (&c->s);
  c->mask = half_mask (&c->s);
  invert_random (&c->s, 5, &c->inv);
  c->p = sampling_params (2, FALSE);
}

static void
correction_case_clear (CorrectionCase *c)
{
  gv_tensor_unref (c->mask);
  gv_inversion_clear (&c->inv);
  setup_clear (&c->s);
}

/* Pins which steps are corrected (the first correction-steps, counted from pure noise), that
 * the latents corrected after step i are blended along the fields of the features of step i's
 * own pass, of the conditional clip, and which UNet block gives them: up_blocks.(n - 2), the
 * last but one, whose output (after its upsampler) is at latent resolution. */
static void
test_correction_steps_and_features (void)
{
  GError *error = NULL;
  CorrectionCase c;
  correction_case_init (&c);
  gint n_blocks = gv_unet_get_config (c.s.den.unet)->n_blocks;
  gchar *block = g_strdup_printf ("up_blocks.%d", n_blocks - 2);
  gchar *last = g_strdup_printf ("up_blocks.%d", n_blocks - 1);
  gchar *named = gv_correction_feature_block (c.s.den.unet);
  g_assert_cmpstr (named, ==, block);

  GArray *steps = g_array_new (FALSE, FALSE, sizeof (gint));
  GvTensor *out = gv_latent_correct (&c.s.den, c.s.sched, c.s.cmd, &c.inv, &c.s.trg, c.mask,
      &c.p, NULL, NULL, on_correction, steps, &error);
  g_assert_no_error (error);
  gfloat *got = gv_test_download (out);
  gsize n = out->numel;
  g_assert_cmpuint (steps->len, ==, 2);
  g_assert_cmpint (g_array_index (steps, gint, 0), ==, 0);
  g_assert_cmpint (g_array_index (steps, gint, 1), ==, 1);

  gfloat *want = sample_by_hand (&c.s, &c.inv, c.mask, &c.p, TRUE, block);
  gfloat *late = sample_by_hand (&c.s, &c.inv, c.mask, &c.p, FALSE, block);
  gfloat *other = sample_by_hand (&c.s, &c.inv, c.mask, &c.p, TRUE, last);
  g_test_message ("relative distance to the method %.2g, to the last steps corrected %.2g, "
      "to features of %s %.2g", gv_test_rel_l2 (got, want, n), gv_test_rel_l2 (got, late, n),
      last, gv_test_rel_l2 (got, other, n));
  gv_assert_close (got, want, n, 1e-5);
  g_assert_cmpfloat (gv_test_rel_l2 (got, late, n), >, 1e-3);
  g_assert_cmpfloat (gv_test_rel_l2 (got, other, n), >, 1e-3);

  c.p.correction_steps = 0;
  gfloat *plain = sample_by_hand (&c.s, &c.inv, c.mask, &c.p, TRUE, block);
  g_assert_cmpfloat (gv_test_rel_l2 (got, plain, n), >, 1e-3);

  g_array_unref (steps);
  g_free (block);
  g_free (last);
  g_free (named);
  g_free (got);
  g_free (want);
  g_free (late);
  g_free (other);
  g_free (plain);
  gv_tensor_unref (out);
  correction_case_clear (&c);
}

/* Pins correction-space predictions: the corrected steps blend the predicted x0 along the same
 * fields and keep each frame's predicted noise, as the sampling loop by hand does; and it is
 * not the blend of the latents. */
static void
test_correction_in_prediction_space (void)
{
  GError *error = NULL;
  CorrectionCase c;
  correction_case_init (&c);
  c.p.space = GV_CORRECTION_PREDICTIONS;
  gchar *block = gv_correction_feature_block (c.s.den.unet);

  GvTensor *out = gv_latent_correct (&c.s.den, c.s.sched, c.s.cmd, &c.inv, &c.s.trg, c.mask,
      &c.p, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  gfloat *got = gv_test_download (out);
  gsize n = out->numel;
  gfloat *want = sample_by_hand (&c.s, &c.inv, c.mask, &c.p, TRUE, block);
  c.p.space = GV_CORRECTION_LATENTS;
  gfloat *latents = sample_by_hand (&c.s, &c.inv, c.mask, &c.p, TRUE, block);
  g_test_message ("relative distance to the method %.2g, to the latents' blend %.2g",
      gv_test_rel_l2 (got, want, n), gv_test_rel_l2 (got, latents, n));
  gv_assert_close (got, want, n, 1e-5);
  g_assert_cmpfloat (gv_test_rel_l2 (got, latents, n), >, 1e-3);

  g_free (block);
  g_free (got);
  g_free (want);
  g_free (latents);
  gv_tensor_unref (out);
  correction_case_clear (&c);
}

typedef struct {
  GPtrArray *latents;           /* what entered each pass, host */
} Entered;

static void
record_latents (const GvPass *pass, GvCmd *cmd, gpointer data)
{
  Entered *e = data;
  gv_test_finish (cmd);
  g_ptr_array_add (e->latents, gv_test_download (pass->latents[0]));
}

/* Pins the level of the inversion trajectory that background preservation takes, at every
 * step: after sampling step i (timestep t_i) the latents outside the mask are the source's at
 * the level of the next timestep t_(i+1), the inversion's level STEPS - 1 - i, and z0 after
 * the last step; inside the mask they are the sampler's. */
static void
test_background_level_every_step (void)
{
  GError *error = NULL;
  Setup s;
  setup_init (&s);
  GvTensor *mask = half_mask (&s);
  GvInversion inv;
  invert_random (&s, 6, &inv);
  GvCorrectParams p = sampling_params (1, TRUE);
  Entered e = { g_ptr_array_new_with_free_func (g_free) };
  GvDenoiser d = s.den;
  d.on_pass = record_latents;
  d.pass_data = &e;
  GvTensor *out = gv_latent_correct (&d, s.sched, s.cmd, &inv, &s.trg, mask, &p, NULL, NULL,
      NULL, NULL, &error);
  g_assert_no_error (error);
  g_ptr_array_add (e.latents, gv_test_download (out));
  g_assert_cmpuint (e.latents->len, ==, STEPS + 1);

  gsize plane = s.h * s.w, ch = 4;
  for (gint i = 0; i <= STEPS; i++) {
    /* entering pass i (or leaving the last): the source at level STEPS - i */
    gfloat *z = e.latents->pdata[i], *level = gv_test_download (inv.levels[STEPS - i]);
    gsize inside_changed = 0;
    for (gsize f = 0; f < FRAMES; f++)
      for (gsize c = 0; c < ch; c++)
        for (gsize q = 0; q < plane; q++) {
          gsize j = (f * ch + c) * plane + q;
          if (q % s.w < (gsize) s.w / 2)
            inside_changed += fabs (z[j] - level[j]) > 1e-3;
          else
            g_assert_cmpfloat_with_epsilon (z[j], level[j], 1e-6);
        }
    /* the test tells the levels apart: the sampler's latents inside are not the source's */
    if (i > 0)
      g_assert_cmpuint (inside_changed, >, 0);
    g_free (level);
  }
  g_ptr_array_unref (e.latents);
  gv_tensor_unref (out);
  gv_tensor_unref (mask);
  gv_inversion_clear (&inv);
  setup_clear (&s);
}

static void
assert_ungated (const GvPass *pass, GvCmd *cmd, gpointer data)
{
  g_assert_null (pass->mask);
  (*(gint *) data)++;
}

/* Pins that mask gating is the sampler's alone: inversion and the InvEdit branches condition
 * every position alike even when handed a denoiser with a mask and a target with outside
 * labels. */
static void
test_no_gating_outside_sampling (void)
{
  GError *error = NULL;
  Setup s;
  setup_init (&s);
  gint passes = 0;
  GvTensor *mask = half_mask (&s);
  s.den.mask = mask;
  s.den.on_pass = assert_ungated;
  s.den.pass_data = &passes;
  GvInversion inv;
  invert_random (&s, 7, &inv);
  GvMaskParams mp = { 2, MASK_GUIDANCE, 0.5f, 3.0f, 0 };
  g_free (gv_invedit_differences (&s.den, s.sched, s.cmd, &inv, &s.src, &s.trg, &mp, NULL,
          NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (passes, ==, STEPS + 2);
  gv_inversion_clear (&inv);
  gv_tensor_unref (mask);
  setup_clear (&s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/method/edit-conditions", test_edit_conditions);
  g_test_add_func ("/method/model-guidance", test_model_guidance);
  g_test_add_func ("/method/mask-labels", test_mask_labels);
  g_test_add_func ("/method/denoise-guidance-per-branch", test_denoise_guidance_per_branch);
  g_test_add_func ("/method/correction-in-prediction-space",
      test_correction_in_prediction_space);
  g_test_add_func ("/method/correction-steps-and-features", test_correction_steps_and_features);
  g_test_add_func ("/method/background-level-every-step", test_background_level_every_step);
  g_test_add_func ("/method/no-gating-outside-sampling", test_no_gating_outside_sampling);
  return g_test_run ();
}
