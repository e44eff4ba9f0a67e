/* gv-check-layout: says whether a checkpoint folder has the layout that diffusers'
 * StableUnCLIPImg2ImgPipeline loads, by comparing it with a folder diffusers wrote itself
 * (gv_layout_check(): files, config keys and types, weight dtypes, tensors the loaders use).
 * Exit status 0: it matches; 1: it does not (every problem printed); 2: no check was possible. */
#include <locale.h>

#include "models/gv-layout-check.h"

static gchar *reference_dir;

static GOptionEntry entries[] = {
  { "reference", 'r', 0, G_OPTION_ARG_FILENAME, &reference_dir,
    "A checkpoint written by diffusers' save_pretrained() (default: the golden one, "
    GV_CHECK_LAYOUT_REFERENCE ")", "DIR" },
  { NULL }
};

int
main (int argc, char **argv)
{
  GError *error = NULL;
  setlocale (LC_ALL, "");
  g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL_DIR - check a checkpoint's "
      "diffusers layout");
  g_option_context_set_summary (ctx, "Compares MODEL_DIR with a checkpoint that diffusers "
      "wrote: the same files, the same config keys with values of the same JSON types, F32 or "
      "F16 weights, and every tensor found and used by the networks' loaders. Prints OK, or "
      "each problem. It runs no Python: it does not prove that diffusers computes the same.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("gv-check-layout: %s\n", error->message);
    g_error_free (error);
    return 2;
  }
  if (argc != 2) {
    g_printerr ("gv-check-layout: one MODEL_DIR expected (--help)\n");
    return 2;
  }
  const gchar *reference = reference_dir ? reference_dir : GV_CHECK_LAYOUT_REFERENCE;

  GvDevice *dev = gv_device_get_shared (0, &error);
  if (dev == NULL) {
    g_printerr ("gv-check-layout: %s\n", error->message);
    g_error_free (error);
    return 2;
  }
  gboolean ok = gv_layout_check (dev, argv[1], reference, &error);
  gv_device_unref (dev);
  if (ok) {
    g_print ("OK: %s matches the layout of %s\n", argv[1], reference);
    return 0;
  }
  gboolean mismatch = g_error_matches (error, GV_ERROR, GV_ERROR_CORRUPT);
  if (mismatch)
    g_print ("%s\n", error->message);
  else
    g_printerr ("gv-check-layout: %s\n", error->message);
  g_error_free (error);
  return mismatch ? 1 : 2;
}
