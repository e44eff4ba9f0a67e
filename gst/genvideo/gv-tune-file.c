#include "genvideo/gv-tune-file.h"
#include "models/gv-safetensors.h"

static void
checksum_string (GChecksum *sum, const gchar *s)
{
  /* with its terminating zero, so that consecutive strings cannot run together */
  g_checksum_update (sum, (const guchar *) (s ? s : ""), (gssize) strlen (s ? s : "") + 1);
}

gchar *
gv_tune_file_fingerprint (const gchar *model_folder, const GvPicture *frames, gint n_frames,
    gint width, gint height, GvPixelFormat format, const gchar *prompt, const GvTuneParams *p,
    guint64 seed)
{
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA256);
  gchar *settings = g_strdup_printf ("recipe %d steps %d lr %.17g seed %" G_GUINT64_FORMAT
      " frames %d size %dx%d", GV_TUNE_RECIPE_VERSION, p->steps, p->learning_rate, seed,
      n_frames, width, height);
  checksum_string (sum, settings);
  g_free (settings);

  /* the model: where it is and what its UNet is */
  gchar *folder = g_canonicalize_filename (model_folder, NULL);
  checksum_string (sum, folder);
  gchar *config_path = g_build_filename (folder, "unet", "config.json", NULL);
  gchar *config = NULL;
  g_file_get_contents (config_path, &config, NULL, NULL);
  checksum_string (sum, config);
  g_free (config);
  g_free (config_path);
  g_free (folder);

  checksum_string (sum, prompt);
  /* the clip, as the model sees it (RGB) */
  guint8 *rgb = g_new (guint8, (gsize) width * height * 3);
  for (gint f = 0; f < n_frames; f++) {
    gv_picture_to_rgb (&frames[f], format, width, height, rgb);
    g_checksum_update (sum, rgb, (gssize) width * height * 3);
  }
  g_free (rgb);

  gchar *hex = g_strdup (g_checksum_get_string (sum));
  g_checksum_free (sum);
  return hex;
}

gboolean
gv_tune_file_check (const gchar *path, const gchar *fingerprint, GError **error)
{
  GError *err = NULL;
  GvSafetensors *st = gv_safetensors_open (path, &err);
  if (st == NULL) {
    g_set_error (error, GV_ERROR, err->domain == GV_ERROR ? err->code : GV_ERROR_CORRUPT,
        "tuned layers file %s cannot be read: %s", path, err->message);
    g_error_free (err);
    return FALSE;
  }
  const gchar *found = gv_safetensors_get_metadata (st, GV_TUNE_FILE_FINGERPRINT_KEY);
  gboolean ok = g_strcmp0 (found, fingerprint) == 0;
  if (!ok)
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "tuned layers file %s belongs to another "
        "model, clip or tuning settings (its fingerprint %s, expected %s); it is left as it is: "
        "remove it or choose another tuned-location", path, found ? found : "(none)",
        fingerprint);
  gv_safetensors_close (st);
  return ok;
}
