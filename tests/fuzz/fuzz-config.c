/* libFuzzer target for the JSON configs: the input is written to a file that every config
 * reader parses (the checks of gv-json.c, the depth limit, the range checks); each must give
 * a config or an error, never a crash. */
#include <glib/gstdio.h>
#include <stdio.h>
#include <unistd.h>

#include "models/gv-config.h"
#include "models/gv-json.h"

int LLVMFuzzerTestOneInput (const guint8 *data, gsize size);

static gchar *path;

static void
expect (gboolean ok, GError *error)
{
  g_assert (ok == (error == NULL));
  g_clear_error (&error);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, gsize size)
{
  GError *error = NULL;

  if (path == NULL) {
    gint fd = g_file_open_tmp ("gv-fuzz-config-XXXXXX.json", &path, NULL);
    g_assert (fd >= 0);
    close (fd);
  }
  FILE *f = fopen (path, "wb");
  g_assert (f != NULL);
  g_assert (fwrite (data, 1, size, f) == size);
  fclose (f);

  JsonObject *obj = gv_json_load_object (path, &error);
  expect (obj != NULL, error);
  if (obj)
    json_object_unref (obj);
  error = NULL;

  GvUNetConfig unet;
  GvVaeConfig vae;
  GvClipTextConfig text;
  GvClipVisionConfig vision;
  GvSchedulerConfig sched;
  GvPreprocessorConfig pre;
  gboolean ok = gv_unet_config_load (path, &unet, &error);
  expect (ok, error);
  error = NULL;
  ok = gv_vae_config_load (path, &vae, &error);
  expect (ok, error);
  error = NULL;
  ok = gv_clip_text_config_load (path, &text, &error);
  expect (ok, error);
  error = NULL;
  ok = gv_clip_vision_config_load (path, &vision, &error);
  expect (ok, error);
  error = NULL;
  ok = gv_scheduler_config_load (path, &sched, &error);
  expect (ok, error);
  gv_scheduler_config_clear (&sched);
  error = NULL;
  ok = gv_preprocessor_config_load (path, &pre, &error);
  expect (ok, error);
  return 0;
}
