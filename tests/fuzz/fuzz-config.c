/* libFuzzer target for the JSON configs: the input is written to a file that every config
 * reader parses (the checks of gv-json.c, the depth limit, the range checks); each must give
 * a config or an error, never a crash. */
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "models/gv-config.h"
#include "models/gv-json.h"

int LLVMFuzzerTestOneInput (const guint8 *data, gsize size);

static gchar *path;

static void
remove_file (void)
{
  g_remove (path);
}

/* a config or an error, never both or neither */
#define LOAD(fn, cfg) G_STMT_START { \
    GError *error_ = NULL; \
    gboolean ok_ = fn (path, cfg, &error_); \
    g_assert (ok_ == (error_ == NULL)); \
    g_clear_error (&error_); \
  } G_STMT_END

int
LLVMFuzzerTestOneInput (const guint8 *data, gsize size)
{
  GError *error = NULL;

  if (path == NULL) {
    gint fd = g_file_open_tmp ("gv-fuzz-config-XXXXXX.json", &path, NULL);
    g_assert (fd >= 0);
    close (fd);
    atexit (remove_file);
  }
  FILE *f = fopen (path, "wb");
  g_assert (f != NULL);
  g_assert (fwrite (data, 1, size, f) == size);
  fclose (f);

  JsonObject *obj = gv_json_load_object (path, &error);
  g_assert ((obj == NULL) == (error != NULL));
  g_clear_error (&error);
  if (obj)
    json_object_unref (obj);

  GvUNetConfig unet;
  GvVaeConfig vae;
  GvClipTextConfig text;
  GvClipVisionConfig vision;
  GvSchedulerConfig sched;
  GvPreprocessorConfig pre;
  LOAD (gv_unet_config_load, &unet);
  LOAD (gv_vae_config_load, &vae);
  LOAD (gv_clip_text_config_load, &text);
  LOAD (gv_clip_vision_config_load, &vision);
  LOAD (gv_scheduler_config_load, &sched);
  gv_scheduler_config_clear (&sched);
  LOAD (gv_preprocessor_config_load, &pre);
  return 0;
}
