/* Pins what the InvEdit masks are made of: the step average of mean over channels
 * |eps_src - eps_trg|, where eps is each guided branch's output converted to noise by the
 * scheduler (the paper's rule), not the raw v-prediction difference. An independent loop over
 * the same denoiser computes both on the host; the implementation must match the first and
 * not the second. */
#include <math.h>
#include <string.h>

#include "genvideo/gv-invedit.h"
#include "gv-test-model.h"
#include "gv-test-util.h"

#define FRAMES 2
#define SIZE 64
#define STEPS 3
#define GUIDANCE 3.0f

typedef struct {
  GvModel *model;
  GvScheduler *sched;
  GvDenoiser den;
  GvCondition src, trg;
} Setup;

static void
setup_init (Setup *s, GvCmd *cmd)
{
  GError *error = NULL;

  s->model = gv_model_load (gv_test_device (), g_getenv ("GENVIDEO_DEFAULT_MODEL_DIR"), &error);
  g_assert_no_error (error);
  s->sched = gv_model_new_scheduler (s->model, &error);
  g_assert_no_error (error);
  s->den = (GvDenoiser) { .unet = gv_model_get_unet (s->model), .guidance_scale = 1.0f };
  gv_condition_init_uncond (&s->den.uncond, s->model, cmd);
  s->src = (GvCondition) { gv_model_encode_prompt (s->model, cmd, "a white ball"),
    gv_test_random_labels (s->model, cmd, SIZE, 1), NULL };
  s->trg = (GvCondition) { gv_model_encode_prompt (s->model, cmd, "a red disc"),
    gv_test_random_labels (s->model, cmd, SIZE, 2), NULL };
}

static void
setup_clear (Setup *s)
{
  gv_condition_clear (&s->src);
  gv_condition_clear (&s->trg);
  gv_condition_clear (&s->den.uncond);
  gv_scheduler_free (s->sched);
  gv_model_unref (s->model);
}

/* The oracle: both branches stepped from Z_T, the per-frame channel-mean differences of
 * eps (@as_noise) or of the raw outputs, averaged over the steps, on the host. */
static gdouble *
host_differences (Setup *s, GvCmd *cmd, GvTensor *zt, gboolean as_noise)
{
  gint64 f = zt->shape[0], ch = zt->shape[1], hw = zt->shape[2] * zt->shape[3];
  gint *timesteps = gv_scheduler_timesteps (s->sched, STEPS);
  const gfloat *ac = gv_scheduler_get_alphas_cumprod (s->sched);
  GvDenoiser guided = s->den;
  const GvCondition *conds[2] = { &s->src, &s->trg };
  GvTensor *z[2] = { gv_tensor_ref (zt), gv_tensor_ref (zt) };
  gdouble *acc = g_new0 (gdouble, f * hw);

  guided.guidance_scale = GUIDANCE;
  for (gint i = 0; i < STEPS; i++) {
    GvTensor *out[2];
    gfloat *o[2], *zh[2];
    gdouble sa = sqrt (ac[timesteps[i]]), sb = sqrt (1.0 - ac[timesteps[i]]);
    gv_denoise (&guided, cmd, timesteps[i], 2, z, conds, out, NULL, NULL);
    gv_test_finish (cmd);
    for (gint b = 0; b < 2; b++) {
      o[b] = gv_test_download (out[b]);
      zh[b] = gv_test_download (z[b]);
    }
    for (gint64 n = 0; n < f; n++)
      for (gint64 p = 0; p < hw; p++) {
        gdouble sum = 0;
        for (gint64 c = 0; c < ch; c++) {
          gsize j = (n * ch + c) * hw + p;
          /* v-prediction: eps = sqrt (a_t) v + sqrt (1 - a_t) z_t, on each branch's own z_t */
          gdouble e0 = as_noise ? sa * o[0][j] + sb * zh[0][j] : o[0][j];
          gdouble e1 = as_noise ? sa * o[1][j] + sb * zh[1][j] : o[1][j];
          sum += fabs (e0 - e1);
        }
        acc[n * hw + p] += sum / ch / STEPS;
      }
    for (gint b = 0; b < 2; b++) {
      GvTensor *next = gv_tensor_like (cmd, z[b]);
      gv_scheduler_step (s->sched, cmd, STEPS, timesteps[i], out[b], z[b], next, NULL);
      gv_tensor_unref (out[b]);
      gv_tensor_unref (z[b]);
      z[b] = next;
      g_free (o[b]);
      g_free (zh[b]);
    }
  }
  gv_test_finish (cmd);
  gv_tensor_unref (z[0]);
  gv_tensor_unref (z[1]);
  g_free (timesteps);
  return acc;
}

static gdouble
rel_diff (const gfloat *ours, const gdouble *ref, gsize n)
{
  gdouble num = 0, den = 0;
  for (gsize i = 0; i < n; i++) {
    num += (ours[i] - ref[i]) * (ours[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return sqrt (num / den);
}

static void
test_masks_from_noise (void)
{
  GError *error = NULL;
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  Setup s;
  setup_init (&s, cmd);
  g_assert_cmpint (gv_model_get_config (s.model)->scheduler.prediction_type, ==, GV_PREDICT_V);

  gint64 lh = SIZE / 4, lw = SIZE / 4;
  gfloat *z0h = gv_test_random (FRAMES * 4 * lh * lw, 3, -1, 1);
  GvTensor *z0 = GV_TEST_TENSOR (z0h, FRAMES, 4, lh, lw);
  GvInversion inv;
  g_assert_true (gv_invert (&s.den, s.sched, cmd, z0, &s.src, STEPS, &inv, NULL, NULL, &error));
  g_assert_no_error (error);

  GvMaskParams p = { STEPS, GUIDANCE, 0.5f, 3.0f, 0 };
  gfloat *diff = gv_invedit_differences (&s.den, s.sched, cmd, &inv, &s.src, &s.trg, &p, NULL,
      NULL, &error);
  g_assert_no_error (error);
  gsize n = FRAMES * lh * lw;
  GvTensor *zt = gv_inversion_noisiest (&inv);
  gdouble *want = host_differences (&s, cmd, zt, TRUE);
  gdouble *raw = host_differences (&s, cmd, zt, FALSE);

  gdouble to_eps = rel_diff (diff, want, n), to_v = rel_diff (diff, raw, n);
  g_test_message ("relative distance to the eps rule %.2g, to the v rule %.2g", to_eps, to_v);
  g_assert_cmpfloat (to_eps, <, 1e-4);
  /* the two rules are far apart on this model: the test tells them apart */
  g_assert_cmpfloat (to_v, >, 1e-2);

  /* the ablation's option: differences of the raw output (v) instead */
  p.from_model_output = TRUE;
  gfloat *diff_v = gv_invedit_differences (&s.den, s.sched, cmd, &inv, &s.src, &s.trg, &p, NULL,
      NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (rel_diff (diff_v, raw, n), <, 1e-4);
  g_assert_cmpfloat (rel_diff (diff_v, want, n), >, 1e-2);
  g_free (diff_v);

  g_free (want);
  g_free (raw);
  g_free (diff);
  g_free (z0h);
  gv_tensor_unref (z0);
  gv_inversion_clear (&inv);
  gv_cmd_free (cmd);
  setup_clear (&s);
}

/* The DiffEdit rule on known differences: clamp at ratio * mean, normalise, threshold above
 * (not below), then dilate. */
static void
test_rule_on_known_differences (void)
{
  /* one frame 4x4, mean 0.67: clamped at 2.0, normalised, 6 -> 1.0, 1.2 -> 0.6, 0.3 -> 0.15 */
  gfloat d[16] = { 0.1f, 0.1f, 0.1f, 0.1f,  0.1f, 6.0f, 2.0f, 0.1f,
                   0.1f, 1.2f, 0.1f, 0.1f,  0.1f, 0.1f, 0.1f, 0.3f };
  gdouble mean = 0;
  for (gint i = 0; i < 16; i++)
    mean += d[i] / 16;
  gfloat e[16];
  memcpy (e, d, sizeof (d));
  g_assert_true (gv_masks_from_differences (e, 1, 4, 4, 3.0f, 0.5f, 0, NULL));
  for (gint i = 0; i < 16; i++) {
    gdouble v = MIN (d[i], 3 * mean) / (3 * mean);
    g_assert_cmpfloat (e[i], ==, v > 0.5 ? 1.0f : 0.0f);
  }
  g_assert_cmpfloat (e[5], ==, 1.0f);
  g_assert_cmpfloat (e[9], ==, 1.0f);
  g_assert_cmpfloat (e[15], ==, 0.0f);
  g_assert_cmpfloat (e[0], ==, 0.0f);

  /* dilation 1 grows a single pixel into its 3x3 square, clipped at the border */
  gfloat one[16] = { 0 };
  one[0] = 10.0f;
  g_assert_true (gv_masks_from_differences (one, 1, 4, 4, 3.0f, 0.5f, 1, NULL));
  for (gint y = 0; y < 4; y++)
    for (gint x = 0; x < 4; x++)
      g_assert_cmpfloat (one[y * 4 + x], ==, (y <= 1 && x <= 1) ? 1.0f : 0.0f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/masks/from-noise", test_masks_from_noise);
  g_test_add_func ("/masks/rule-on-known-differences", test_rule_on_known_differences);
  return g_test_run ();
}
