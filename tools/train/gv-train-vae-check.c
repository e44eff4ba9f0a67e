#include <string.h>

#include "gv-train-vae-check.h"
#include "gv-quality-metrics.h"
#include "gv-train-data.h"
#include "genvideo/gv-frames.h"

#define BATCH 8   /* frames on the device at once */

/* 255 on the GV_VAE_CHECK_BORDER band of @n frames of @size x @size */
static guint8 *
border_band (gint size, gint n)
{
  gsize plane = (gsize) size * size;
  guint8 *band = g_new (guint8, plane * n);
  for (gint y = 0; y < size; y++)
    for (gint x = 0; x < size; x++) {
      gint d = MIN (MIN (x, y), MIN (size - 1 - x, size - 1 - y));
      band[y * size + x] = d < GV_VAE_CHECK_BORDER ? 255 : 0;
    }
  for (gint i = 1; i < n; i++)
    memcpy (band + i * plane, band, plane);
  return band;
}

/* 255 where the (2r+1)^2 neighbourhood (inside the frame) of an RGB pixel of @rgb has one
 * colour: the flat areas of the world's backgrounds and objects */
static guint8 *
flat_areas (const guint8 *rgb, gint size, gint n)
{
  const gint r = GV_VAE_CHECK_FLAT_RADIUS;
  gsize plane = (gsize) size * size;
  guint8 *flat = g_new (guint8, plane * n);
  for (gint i = 0; i < n; i++)
    for (gint y = 0; y < size; y++)
      for (gint x = 0; x < size; x++) {
        const guint8 *f = rgb + i * plane * 3, *c = f + (y * size + x) * 3;
        gboolean same = TRUE;
        for (gint v = MAX (0, y - r); same && v <= MIN (size - 1, y + r); v++)
          for (gint u = MAX (0, x - r); same && u <= MIN (size - 1, x + r); u++)
            same = memcmp (f + (v * size + u) * 3, c, 3) == 0;
        flat[i * plane + y * size + x] = same ? 255 : 0;
      }
  return flat;
}

/* frames [first, first + count) of the held-out set into @src and their reconstructions into
 * @rec (RGB) */
static gboolean
code_batch (GvModel *model, GvCmd *cmd, gint size, gint first, gint count, guint8 *src,
    guint8 *rec, GError **error)
{
  gsize frame = (gsize) size * size * 3;
  GvPicture pics[BATCH];
  for (gint i = 0; i < count; i++) {
    GvTrainExample ex;
    if (!gv_train_example_init (&ex, GV_VAE_CHECK_SEED, GV_TRAIN_STREAM_VAE_CHECK,
            (guint64) (first + i), size, size, error))
      return FALSE;
    memcpy (src + i * frame, ex.frame, frame);
    gv_train_example_clear (&ex);
    pics[i] = (GvPicture) { src + i * frame, size * 3 };
  }
  g_autofree gfloat *images = gv_pictures_to_images (pics, count, size, size, GV_PIXELS_RGB);
  GvTensor *z = gv_encode_images (model, cmd, images, count, size, size);
  GvTensor *out = gv_decode_latents (model, cmd, z);
  gv_tensor_record_download (cmd, out, images);
  gboolean ok = gv_cmd_finish (cmd, error);
  gv_tensor_unref (out);
  gv_tensor_unref (z);
  for (gint i = 0; ok && i < count; i++)
    gv_image_to_picture (images + i * frame, size, size, rec + i * frame, size * 3,
        GV_PIXELS_RGB);
  return ok;
}

gboolean
gv_train_vae_check (GvModel *model, gint size, gint n, GvVaeCheck *check, GError **error)
{
  gint f = gv_vae_get_factor (gv_model_get_vae (model));
  if (n < 1 || size < f || size % f != 0) {
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "VAE check: %d frames of %dx%d (the "
        "VAE's factor is %d)", n, size, size, f);
    return FALSE;
  }
  gsize pixels = (gsize) size * size * n;
  g_autofree guint8 *src = g_new (guint8, pixels * 3);
  g_autofree guint8 *rec = g_new (guint8, pixels * 3);
  GvCmd *cmd = gv_cmd_new (gv_model_get_device (model));
  gboolean ok = TRUE;
  for (gint first = 0; ok && first < n; first += BATCH)
    ok = code_batch (model, cmd, size, first, MIN (BATCH, n - first),
        src + (gsize) first * size * size * 3, rec + (gsize) first * size * size * 3, error);
  gv_cmd_free (cmd);
  if (!ok)
    return FALSE;
  g_autofree guint8 *band = border_band (size, n);
  g_autofree guint8 *flat = flat_areas (src, size, n);
  *check = (GvVaeCheck) {
    .frames = n, .size = size,
    .psnr = gv_quality_psnr (rec, src, pixels, NULL, FALSE),
    .interior_psnr = gv_quality_psnr (rec, src, pixels, band, TRUE),
    .border_psnr = gv_quality_psnr (rec, src, pixels, band, FALSE),
    .flat_colour_error = gv_quality_colour_error (rec, src, pixels, flat),
  };
  return TRUE;
}

gboolean
gv_train_vae_check_folder (const gchar *folder, gint n, GvVaeCheck *check, GError **error)
{
  g_autofree gchar *config = g_build_filename (folder, "vae", "config.json", NULL);
  if (!g_file_test (config, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, GV_ERROR, GV_ERROR_NOT_FOUND, "%s: no VAE (%s is missing)", folder,
        config);
    return FALSE;
  }
  GvDevice *dev = gv_device_get_shared (0, error);
  if (dev == NULL)
    return FALSE;
  GvModel *model = gv_model_load (dev, folder, error);
  gboolean ok = model != NULL && gv_train_vae_check (model,
      gv_model_get_config (model)->vae.sample_size, n, check, error);
  g_clear_pointer (&model, gv_model_unref);
  gv_device_unref (dev);
  return ok;
}

gchar *
gv_train_vae_check_describe (const GvVaeCheck *c)
{
  return g_strdup_printf ("whole-frame reconstruction: PSNR %.2f dB (interior %.2f, border "
      "band %.2f), flat colour error %.1f on %d held-out frames of %dx%d", c->psnr,
      c->interior_psnr, c->border_psnr, c->flat_colour_error, c->frames, c->size, c->size);
}
