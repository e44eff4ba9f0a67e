#include <math.h>

#include "gv-train-calibrate.h"
#include "gv-train-data.h"
#include "genvideo/gv-frames.h"
#include "models/gv-safetensors-write.h"

gboolean
gv_train_calibrate_normalizer (GvModel *model, const gchar *folder, const GvTrainRecipe *r,
    GError **error)
{
  gint n = r->calibration_examples, dim = 0;
  gdouble *sum = NULL, *sq = NULL;
  GvCmd *cmd = gv_cmd_new (gv_model_get_device (model));
  GvTensor **embeds = g_new0 (GvTensor *, n);
  gboolean ok = TRUE;

  for (gint i = 0; i < n && ok; i++) {
    GvTrainExample ex;
    if (!(ok = gv_train_example_init (&ex, r->seed, GV_TRAIN_STREAM_CALIBRATION, (guint64) i,
                r->image_size, r->image_size, error)))
      break;
    const guint8 *rgb = i % 2 ? ex.object : ex.frame;
    embeds[i] = gv_model_encode_image (model, cmd, rgb, ex.width, ex.height, ex.width * 3);
    gv_train_example_clear (&ex);
  }
  ok = ok && gv_cmd_finish (cmd, error);
  for (gint i = 0; i < n && ok; i++) {
    g_autofree gfloat *e = g_new (gfloat, embeds[i]->numel);
    if (!(ok = gv_tensor_download (embeds[i], e, error)))
      break;
    if (sum == NULL) {
      dim = (gint) embeds[i]->numel;
      sum = g_new0 (gdouble, dim);
      sq = g_new0 (gdouble, dim);
    }
    for (gint k = 0; k < dim; k++) {
      sum[k] += e[k];
      sq[k] += (gdouble) e[k] * e[k];
    }
  }
  if (ok) {
    g_autofree gfloat *mean = g_new (gfloat, dim), *std = g_new (gfloat, dim);
    for (gint k = 0; k < dim; k++) {
      gdouble m = sum[k] / n;
      mean[k] = (gfloat) m;
      /* a floor keeps a dead dimension from dividing by zero */
      std[k] = (gfloat) MAX (sqrt (MAX (sq[k] / n - m * m, 0.0)), 1e-4);
    }
    g_autoptr (GvStWriter) w = gv_st_writer_new ();
    gv_st_writer_set_metadata (w, "format", "pt");
    gv_st_writer_add (w, "mean", 2, (const gint64[]) { 1, dim }, mean);
    gv_st_writer_add (w, "std", 2, (const gint64[]) { 1, dim }, std);
    g_autofree gchar *path = g_build_filename (folder, "image_normalizer",
        "diffusion_pytorch_model.safetensors", NULL);
    ok = gv_st_writer_write (w, path, error);
  }
  for (gint i = 0; i < n; i++)
    g_clear_pointer (&embeds[i], gv_tensor_unref);
  g_free (embeds);
  g_free (sum);
  g_free (sq);
  gv_cmd_free (cmd);
  return ok;
}

gboolean
gv_train_calibrate_latents (GvModel *model, const gchar *folder, const GvTrainRecipe *r,
    gdouble *factor, GError **error)
{
  gint n = r->calibration_examples, size = r->image_size;
  gdouble sum = 0, sq = 0, count = 0;
  gboolean ok = TRUE;
  GvCmd *cmd = gv_cmd_new (gv_model_get_device (model));
  /* a few images per pass keep the encoder's activations small */
  for (gint first = 0; first < n && ok; first += 8) {
    gint m = MIN (8, n - first);
    GvPicture pics[8];
    GvTrainExample ex[8];
    for (gint i = 0; i < m && ok; i++) {
      ok = gv_train_example_init (&ex[i], r->seed, GV_TRAIN_STREAM_CALIBRATION,
          (guint64) (first + i), size, size, error);
      pics[i] = (GvPicture) { ex[i].frame, size * 3 };
      if (!ok)
        m = i;
    }
    if (ok) {
      g_autofree gfloat *images = gv_pictures_to_images (pics, m, size, size, GV_PIXELS_RGB);
      GvTensor *z = gv_encode_images (model, cmd, images, m, size, size);
      g_autofree gfloat *v = g_new (gfloat, z->numel);
      gv_tensor_record_download (cmd, z, v);
      ok = gv_cmd_finish (cmd, error);
      for (gint64 k = 0; ok && k < z->numel; k++) {
        sum += v[k];
        sq += (gdouble) v[k] * v[k];
      }
      count += (gdouble) z->numel;
      gv_tensor_unref (z);
    }
    for (gint i = 0; i < m; i++)
      gv_train_example_clear (&ex[i]);
  }
  gv_cmd_free (cmd);
  if (!ok)
    return FALSE;
  gdouble mean = sum / count, std = sqrt (MAX (sq / count - mean * mean, 1e-12));
  /* the latents above were already multiplied by the current factor */
  *factor = gv_model_get_config (model)->vae.scaling_factor / std;
  g_autofree gchar *path = g_build_filename (folder, "vae", "config.json", NULL);
  g_autofree gchar *value = g_strdup_printf ("%.8g", *factor);
  return gv_config_file_set (path, "scaling_factor", value, error);
}
