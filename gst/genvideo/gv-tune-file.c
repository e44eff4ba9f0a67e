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
        "remove it or choose another tuned-location (for a stream of several clips, one with a "
        "%%u clip-index pattern)", path, found ? found : "(none)",
        fingerprint);
  gv_safetensors_close (st);
  return ok;
}

/* Walks @location: appends it to @out (may be NULL) with the conversion written as @index;
 * returns the number of conversions, or -1 at the first character after a % that is not one. */
static gint
expand_location (const gchar *location, guint index, GString *out, const gchar **bad)
{
  gint conversions = 0;
  for (const gchar *c = location; *c; c++) {
    if (*c != '%') {
      if (out)
        g_string_append_c (out, *c);
      continue;
    }
    const gchar *start = c++;
    if (*c == '%') {
      if (out)
        g_string_append_c (out, '%');
      continue;
    }
    gboolean zero = *c == '0';
    c += zero;
    guint width = 0;
    /* two digits at most: a width is for zero-padding, not for filling a path */
    for (gint digits = 0; g_ascii_isdigit (*c) && digits < 2; digits++, c++)
      width = width * 10 + (guint) (*c - '0');
    if (*c != 'u' && *c != 'd') {
      *bad = start;
      return -1;
    }
    conversions++;
    if (out)
      g_string_append_printf (out, zero ? "%0*u" : "%*u", (gint) width, index);
  }
  return conversions;
}

gboolean
gv_tune_file_parse_location (const gchar *location, gboolean *has_index, GError **error)
{
  const gchar *bad = NULL;
  gint n = expand_location (location, 0, NULL, &bad);
  if (n < 0 || n > 1) {
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "tuned-location \"%s\": %s%s; it may hold "
        "one clip-index conversion (%%u or %%d, e.g. %%03u) and %%%% for a percent sign",
        location, n < 0 ? "not a clip-index conversion at " : "more than one conversion",
        n < 0 ? bad : "");
    return FALSE;
  }
  if (has_index)
    *has_index = n == 1;
  return TRUE;
}

gchar *
gv_tune_file_clip_location (const gchar *location, guint index)
{
  GString *out = g_string_new (NULL);
  const gchar *bad = NULL;
  gint n = expand_location (location, index, out, &bad);
  g_return_val_if_fail (n >= 0 && n <= 1, g_string_free (out, TRUE));
  return g_string_free (out, FALSE);
}
