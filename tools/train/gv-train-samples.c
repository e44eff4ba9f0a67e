#include "gv-train-samples.h"
#include "gv-contact-sheet.h"
#include "gv-png.h"
#include "gv-train-data.h"
#include "genvideo/gv-denoise.h"
#include "genvideo/gv-frames.h"
#include "models/gv-layers.h"
#include "models/gv-random.h"

#define COLUMNS 6

/* latents [1, C, h, w] -> RGB bytes of @size x @size */
static guint8 *
decode (GvModel *model, GvCmd *cmd, GvTensor *z, gint size, GError **error)
{
  GvTensor *img = gv_decode_latents (model, cmd, z);
  g_autofree gfloat *v = g_new (gfloat, img->numel);
  gv_tensor_record_download (cmd, img, v);
  gboolean ok = gv_cmd_finish (cmd, error);
  gv_tensor_unref (img);
  if (!ok)
    return NULL;
  guint8 *rgb = g_new (guint8, (gsize) size * size * 3);
  gv_image_to_picture (v, size, size, rgb, size * 3, GV_PIXELS_RGB);
  return rgb;
}

/* DDIM from seeded noise under @cond with guidance */
static guint8 *
sample (GvModel *model, GvCmd *cmd, const GvCondition *cond, const gint64 *shape, guint64 seed,
    gint steps, gfloat guidance, gint size, GError **error)
{
  g_autoptr (GvScheduler) s = gv_model_new_scheduler (model, error);
  if (s == NULL)
    return NULL;
  GvDenoiser d = { .unet = gv_model_get_unet (model), .guidance_scale = guidance };
  gv_condition_init_uncond (&d.uncond, model, cmd);
  gint *timesteps = gv_scheduler_timesteps (s, steps);
  GvTensor *z = gv_random_normal_tensor (cmd, 4, shape, seed);
  for (gint i = 0; i < steps; i++) {
    GvTensor *out = NULL, *next = gv_tensor_like (cmd, z);
    gv_denoise (&d, cmd, timesteps[i], 1, &z, &cond, &out, NULL, NULL);
    gv_scheduler_step (s, cmd, steps, timesteps[i], out, z, next, NULL);
    gv_tensor_unref (out);
    gv_tensor_unref (z);
    z = next;
  }
  g_free (timesteps);
  guint8 *rgb = decode (model, cmd, z, size, error);
  gv_tensor_unref (z);
  gv_condition_clear (&d.uncond);
  return rgb;
}

gboolean
gv_train_samples_write (GvModel *model, guint64 seed, gint size, gint n, gint steps,
    gfloat guidance, const gchar *path, GError **error)
{
  GvContactSheet *sheet = gv_contact_sheet_new (COLUMNS, n, size, size, 4);
  GvCmd *cmd = gv_cmd_new (gv_model_get_device (model));
  gboolean ok = TRUE;
  for (gint row = 0; row < n && ok; row++) {
    GvTrainExample ex;
    if (!(ok = gv_train_example_init (&ex, seed, GV_TRAIN_STREAM_SAMPLES, (guint64) row, size,
                size, error)))
      break;
    GvPicture pic = { ex.frame, size * 3 };
    g_autofree gfloat *image = gv_pictures_to_images (&pic, 1, size, size, GV_PIXELS_RGB);
    GvTensor *z0 = gv_encode_images (model, cmd, image, 1, size, size);
    g_autofree guint8 *recon = decode (model, cmd, z0, size, error);
    ok = recon != NULL;

    GvCondition both = {
      gv_model_encode_prompt (model, cmd, ex.caption),
      gv_image_class_labels (model, cmd, ex.object, size, size, size * 3, ex.noise_seed), NULL
    };
    GvCondition text = { gv_tensor_ref (both.text), NULL, NULL };
    text.labels = GV_TENSOR (cmd, 1, both.labels->shape[1]);
    gv_tensor_record_fill (cmd, text.labels, 0.0f);
    GvCondition img = { gv_model_encode_prompt (model, cmd, ""), gv_tensor_ref (both.labels),
      NULL };
    const GvCondition *conds[3] = { &both, &text, &img };
    gv_contact_sheet_put (sheet, 0, row, ex.frame, size, size, 3);
    gv_contact_sheet_put (sheet, 1, row, ex.object, size, size, 3);
    if (ok)
      gv_contact_sheet_put (sheet, 2, row, recon, size, size, 3);
    for (gint c = 0; c < 3 && ok; c++) {
      g_autofree guint8 *rgb = sample (model, cmd, conds[c], z0->shape,
          ex.noise_seed ^ 0x5eed, steps, guidance, size, error);
      ok = rgb != NULL;
      if (ok)
        gv_contact_sheet_put (sheet, 3 + c, row, rgb, size, size, 3);
    }
    if (ok)
      g_print ("samples row %d: %s\n", row, ex.caption);
    gv_condition_clear (&both);
    gv_condition_clear (&text);
    gv_condition_clear (&img);
    gv_tensor_unref (z0);
    gv_train_example_clear (&ex);
  }
  gv_cmd_free (cmd);
  ok = ok && gv_png_write (path, sheet->rgb, sheet->width, sheet->height, 3, error);
  gv_contact_sheet_free (sheet);
  return ok;
}
