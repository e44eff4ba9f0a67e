/* Latent correction with fewer steps than the inversion: it starts from the inversion's level
 * at its own first timestep (not from Z_T, which lies at another noise level) and takes the
 * trajectory's levels at its timesteps, so it gives what it gives on an inversion that visited
 * only those timesteps. */
#include <string.h>

#include "genvideo/gv-latent-correct.h"
#include "gv-test-util.h"

#define F 2
#define INVERSION_STEPS 4
#define STEPS 2

static void
test_fewer_steps_follow_the_trajectory (void)
{
  GError *error = NULL;
  GvModel *model = gv_model_get_shared (gv_test_device (),
      g_getenv ("GENVIDEO_DEFAULT_MODEL_DIR"), &error);
  g_assert_no_error (error);
  GvScheduler *s = gv_model_new_scheduler (model, &error);
  g_assert_no_error (error);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  GvUNet *unet = gv_model_get_unet (model);
  GvDenoiser d = { .unet = unet, .guidance_scale = 1.0f };
  gv_condition_init_uncond (&d.uncond, model, cmd);
  gint64 ch = gv_unet_get_config (unet)->in_channels;
  gfloat *data = gv_test_random (F * ch * 5 * 3, 21, -1.0f, 1.0f);
  GvTensor *z0 = GV_TEST_TENSOR (data, F, ch, 5, 3);
  g_free (data);

  GvInversion full;
  g_assert_true (gv_invert (&d, s, cmd, z0, &d.uncond, INVERSION_STEPS, &full, NULL, NULL,
          &error));
  g_assert_no_error (error);

  /* the same trajectory, at our timesteps only */
  gint *ours = gv_scheduler_timesteps (s, STEPS);
  GvInversion part = { STEPS, g_new (gint, STEPS), g_new0 (GvTensor *, STEPS + 1) };
  part.levels[0] = gv_tensor_ref (z0);
  for (gint i = 0; i < STEPS; i++) {
    part.timesteps[i] = ours[STEPS - 1 - i];
    gint k = 0;
    while (k < INVERSION_STEPS && full.timesteps[k] != part.timesteps[i])
      k++;
    /* the schedules nest (leading spacing): every one of ours was visited */
    g_assert_cmpint (k, <, INVERSION_STEPS);
    part.levels[i + 1] = gv_tensor_ref (full.levels[k + 1]);
  }
  g_assert_cmpint (full.timesteps[INVERSION_STEPS - 1], >, ours[0]);
  g_free (ours);

  GvTensor *mask = GV_TENSOR (cmd, F, 1, 5, 3);
  gv_tensor_record_fill (cmd, mask, 1.0f);
  GvCorrectParams p = { .steps = STEPS, .guidance_scale = 1.0f, .weight_prev = 0.25f,
    .weight_current = 0.5f, .weight_next = 0.25f };
  GvTensor *a = gv_latent_correct (&d, s, cmd, &full, &d.uncond, mask, &p, NULL, NULL, NULL,
      NULL, &error);
  g_assert_no_error (error);
  GvTensor *b = gv_latent_correct (&d, s, cmd, &part, &d.uncond, mask, &p, NULL, NULL, NULL,
      NULL, &error);
  g_assert_no_error (error);
  g_assert_true (gv_cmd_finish (cmd, &error));
  gfloat *ha = gv_test_download (a), *hb = gv_test_download (b);
  g_assert_cmpmem (ha, a->numel * sizeof (gfloat), hb, b->numel * sizeof (gfloat));

  g_free (ha);
  g_free (hb);
  gv_tensor_unref (a);
  gv_tensor_unref (b);
  gv_tensor_unref (mask);
  gv_inversion_clear (&part);
  gv_inversion_clear (&full);
  gv_tensor_unref (z0);
  gv_condition_clear (&d.uncond);
  gv_cmd_free (cmd);
  gv_scheduler_free (s);
  gv_model_unref (model);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/correct/fewer-steps-follow-the-trajectory",
      test_fewer_steps_follow_the_trajectory);
  return g_test_run ();
}
