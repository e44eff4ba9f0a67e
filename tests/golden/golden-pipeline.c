/* pipeline_* cases: StableUnCLIPImg2ImgPipeline end to end, run through the code the elements
 * run: the sampling loop of gv_latent_correct (no correction, no background preservation) over
 * gv_denoise (guidance batching, mask gating), on a clip of one frame, then gv_decode_latents.
 * GenVideo reduces to the pipeline three ways, each compared with the reference: the plain
 * conditions; mask gating with a mask of ones (the case's labels inside, other labels outside);
 * a mask of zeros (the case's labels outside, other labels inside). */
#include <string.h>

#include "genvideo/gv-edit.h"
#include "gv-golden.h"

enum { PLAIN, MASK_ONES, MASK_ZEROS };
static const gchar *const variant_names[] = { "plain", "mask of ones", "mask of zeros" };

typedef struct {
  Golden *g;
  gint passes;
} StepTap;

/* the latents entering every pass but the first: those after the step before */
static void
tap_steps (const GvPass *pass, GvCmd *cmd, gpointer data)
{
  StepTap *st = data;
  if (st->passes > 0) {
    gchar *name = g_strdup_printf ("latents_after_step_%d", st->passes - 1);
    golden_tap (name, cmd, pass->latents[0], st->g);
    g_free (name);
  }
  st->passes++;
}

/* host [a; b] of two device tensors of @n values each (only b when @a is NULL) */
static gfloat *
rows (GvTensor *a, GvTensor *b, GvCmd *cmd, gsize n)
{
  gsize skip = a ? n : 0;
  gfloat *out = g_new (gfloat, skip + n);
  if (a)
    gv_tensor_record_download (cmd, a, out);
  gv_tensor_record_download (cmd, b, out + skip);
  return out;
}

/* one sampling run of @variant from the case's latents; compares the steps and the image */
static void
sample (Golden *g, GvModel *m, GvCmd *cmd, gint variant, GvCondition *uncond,
    GvTensor *text, GvTensor *labels, GvTensor *latents, gint steps, gfloat gs, gint64 height,
    gint64 width)
{
  GError *error = NULL;
  StepTap st = { g, 0 };
  GvDenoiser d = {
    .unet = gv_model_get_unet (m),
    .uncond = *uncond,
    .guidance_scale = gs,
    .on_pass = tap_steps,
    .pass_data = &st,
  };
  GvTensor *other = gv_tensor_like (cmd, labels);
  gv_tensor_record_fill (cmd, other, 0.5f);
  GvCondition trg = { text, labels, NULL };
  if (variant == MASK_ONES)
    trg.labels_outside = other;
  else if (variant == MASK_ZEROS)
    trg = (GvCondition) { text, other, labels };
  GvTensor *mask = GV_TENSOR (cmd, 1, 1, latents->shape[2], latents->shape[3]);
  gv_tensor_record_fill (cmd, mask, variant == MASK_ONES ? 1.0f : 0.0f);

  GvCorrectParams p = { .steps = steps, .guidance_scale = gs, .weight_current = 1.0f };
  g_print ("%-28s through gv_latent_correct and gv_denoise: %s\n", g->case_name,
      variant_names[variant]);
  GvScheduler *sched = gv_model_new_scheduler (m, &error);
  /* an inversion of one level, at the sampler's first timestep: the case's latents are Z_T */
  gint *timesteps = sched ? gv_scheduler_timesteps (sched, steps) : NULL;
  GvTensor *levels[2] = { NULL, latents };
  GvInversion inv = { 1, timesteps, levels };
  GvTensor *z = sched ? gv_latent_correct (&d, sched, cmd, &inv, &trg, mask, &p, NULL, NULL,
      NULL, NULL, &error) : NULL;
  g_free (timesteps);
  if (sched)
    gv_scheduler_free (sched);
  gv_tensor_unref (other);
  gv_tensor_unref (mask);
  if (z == NULL) {
    golden_fail (g, "sampling", error);
    g_clear_error (&error);
    return;
  }
  gchar *name = g_strdup_printf ("latents_after_step_%d", steps - 1);
  golden_tap (name, cmd, z, g);
  g_free (name);

  GvTensor *images = gv_decode_latents (m, cmd, z);
  gsize n = (gsize) height * width * 3;
  gfloat *chw = g_new (gfloat, n), *hwc = g_new (gfloat, n);
  gv_tensor_record_download (cmd, images, chw);
  if (golden_finish (g, cmd, "decoding")) {
    /* the pipeline's output: (x / 2 + 0.5) clamped to [0, 1], NHWC */
    for (gint64 c = 0; c < 3; c++)
      for (gint64 i = 0; i < height * width; i++)
        hwc[i * 3 + c] = CLAMP (chw[c * height * width + i] * 0.5f + 0.5f, 0.0f, 1.0f);
    golden_compare_taps (g);
    gchar *label = g_strdup_printf ("out_images (%s)", variant_names[variant]);
    golden_compare (g, "out_images", label, hwc, n);
    g_free (label);
  }
  g_free (chw);
  g_free (hwc);
  gv_tensor_unref (images);
  gv_tensor_unref (z);
}

static void
run_pipeline (Golden *g)
{
  GError *error = NULL;
  GvModel *m = golden_model (g);
  gint64 shape[GV_ST_MAX_DIMS];
  gint64 steps = 0, noise_level = 0, height = 0, width = 0;
  gdouble gs = 1.0;

  if (m == NULL)
    return;
  if (gv_case_get_shape (g->c, "image_uint8", shape) != 4 || shape[0] != 1 || shape[3] != 3 ||
      !gv_case_get_int (g->c, "num_inference_steps", &steps) ||
      !gv_case_get_int (g->c, "height", &height) || !gv_case_get_int (g->c, "width", &width)) {
    golden_fail (g, "case inputs (image_uint8, num_inference_steps, height, width)", NULL);
    return;
  }
  gv_case_get_int (g->c, "noise_level", &noise_level);
  gv_case_get_double (g->c, "guidance_scale", &gs);
  guint8 *image = gv_case_read_u8 (g->c, "image_uint8", &error);
  if (image == NULL) {
    golden_fail (g, "image_uint8", error);
    g_clear_error (&error);
    return;
  }
  GvTensor *latents = golden_input (g, "latents");
  GvTensor *noise = latents ? golden_input (g, "image_embeds_noise") : NULL;
  if (noise == NULL) {
    g_free (image);
    g_clear_pointer (&latents, gv_tensor_unref);
    return;
  }

  GvCmd *cmd = gv_cmd_new (g->dev);
  const gchar *negative = gv_case_get_string (g->c, "negative_prompt");
  GvTensor *text = gv_model_encode_prompt (m, cmd, gv_case_get_string (g->c, "prompt"));
  GvTensor *embeds = gv_model_encode_image (m, cmd, image, (gint) shape[2], (gint) shape[1],
      (gint) shape[2] * 3);
  GvTensor *labels = gv_image_noiser_apply (gv_model_get_image_noiser (m), cmd, embeds,
      (gint) noise_level, noise);
  GvCondition uncond = { gv_model_encode_prompt (m, cmd, negative ? negative : ""), NULL,
    NULL };
  uncond.labels = gv_tensor_like (cmd, labels);
  gv_tensor_record_fill (cmd, uncond.labels, 0.0f);

  /* the pipeline's batch: [unconditional; conditional] when guided */
  gboolean cfg = gs > 1.0;
  gfloat *ehs = rows (cfg ? uncond.text : NULL, text, cmd, text->numel);
  gfloat *cls = rows (cfg ? uncond.labels : NULL, labels, cmd, labels->numel);
  if (golden_finish (g, cmd, "conditions")) {
    golden_compare (g, "inter.encoder_hidden_states", NULL, ehs, (cfg + 1) * text->numel);
    golden_compare (g, "inter.class_labels", NULL, cls, (cfg + 1) * labels->numel);
    for (gint v = PLAIN; v <= MASK_ZEROS; v++)
      sample (g, m, cmd, v, &uncond, text, labels, latents, (gint) steps, (gfloat) gs, height,
          width);
  }
  g_free (ehs);
  g_free (cls);
  gv_condition_clear (&uncond);
  gv_tensor_unref (text);
  gv_tensor_unref (embeds);
  gv_tensor_unref (labels);
  gv_tensor_unref (latents);
  gv_tensor_unref (noise);
  gv_cmd_free (cmd);
  g_free (image);
}

gboolean
golden_run_pipeline (Golden *g, const gchar *kind)
{
  if (strcmp (kind, "pipeline") != 0)
    return FALSE;
  run_pipeline (g);
  return TRUE;
}
