/* pipeline_* cases: StableUnCLIPImg2ImgPipeline end to end */
#include <string.h>

#include "gv-golden.h"
#include "models/gv-unclip-pipeline.h"

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
  gfloat *latents = image ? gv_case_read_f32 (g->c, "latents", &error) : NULL;
  gfloat *noise = latents ? gv_case_read_f32 (g->c, "image_embeds_noise", &error) : NULL;
  if (noise == NULL) {
    golden_fail (g, "case tensors", error);
    g_clear_error (&error);
    g_free (image);
    g_free (latents);
    return;
  }

  GvUnclipParams p = {
    .prompt = gv_case_get_string (g->c, "prompt"),
    .negative_prompt = gv_case_get_string (g->c, "negative_prompt"),
    .image = image,
    .image_width = (gint) shape[2],
    .image_height = (gint) shape[1],
    .image_stride = (gint) shape[2] * 3,
    .noise_level = (gint) noise_level,
    .image_embeds_noise = noise,
    .steps = (gint) steps,
    .guidance_scale = (gfloat) gs,
    .height = (gint) height,
    .width = (gint) width,
    .latents = latents,
    .tap = golden_tap,
    .tap_data = g,
  };
  gfloat *out = gv_unclip_generate (m, &p, &error);
  if (out == NULL) {
    golden_fail (g, "pipeline", error);
    g_clear_error (&error);
  } else {
    golden_compare (g, "out_images", NULL, out, (gsize) height * width * 3);
    golden_compare_taps (g);
  }
  g_free (out);
  g_free (image);
  g_free (latents);
  g_free (noise);
}

gboolean
golden_run_pipeline (Golden *g, const gchar *kind)
{
  if (strcmp (kind, "pipeline") != 0)
    return FALSE;
  run_pipeline (g);
  return TRUE;
}
