/* gv-world-target: a target object image of the synthetic world, drawn as the world draws the
 * target of its clips (gv_world_render_target: the object centred, alpha = coverage), so that
 * it matches what a model trained on the world has seen. An RGBA PNG.
 *
 *   gv-world-target --object "red square" [--size W|WxH] --out FILE.png
 *
 * tests/data/target-red-square.png, the main job's target, is `--object "red square"` at 128. */
#include <stdlib.h>

#include <gst/gst.h>

#include "gv-png.h"
#include "gv-world-render.h"

/* "COLOUR SHAPE" in the captions' words ("ball" is a disc) */
static gboolean
parse_object (const gchar *text, GvWorldObject *object)
{
  gchar **words = g_strsplit (text, " ", -1);
  gboolean ok = g_strv_length (words) == 2;
  gint colour = ok ? gv_world_colour_from_name (words[0]) : -1;
  gint shape = ok ? gv_world_shape_from_name (words[1]) : -1;
  g_strfreev (words);
  if (colour < 0 || colour >= GV_WORLD_N_OBJECT_COLOURS || shape < 0)
    return FALSE;
  *object = (GvWorldObject) { shape, colour };
  return TRUE;
}

int
main (int argc, char **argv)
{
  gchar *object_text = NULL, *size = NULL, *out = NULL;
  GOptionEntry entries[] = {
    { "object", 0, 0, G_OPTION_ARG_STRING, &object_text, "The object, \"COLOUR SHAPE\"",
      "TEXT" },
    { "size", 0, 0, G_OPTION_ARG_STRING, &size, "Image size, W or WxH (128)", "W" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "PNG file to write", "FILE.png" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- a target object image of the synthetic world");
  GError *error = NULL;
  GvWorldObject object;
  gint width = 128, height = 128;
  int status = EXIT_FAILURE;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("gv-world-target: %s\n", error->message);
    goto out;
  }
  if (size != NULL) {
    gchar *end;
    width = height = g_ascii_strtoll (size, &end, 10);
    if (*end == 'x')
      height = g_ascii_strtoll (end + 1, &end, 10);
    if (*end != '\0')
      width = 0;
  }
  if (out == NULL || object_text == NULL || !parse_object (object_text, &object) ||
      width < 16 || height < 16 || width > 4096 || height > 4096) {
    g_printerr ("gv-world-target: needs --out FILE.png, --object \"COLOUR SHAPE\" (an object "
        "colour and shape of the world: \"red square\", \"blue ball\") and --size W or WxH "
        "from 16 to 4096\n");
    goto out;
  }
  guint8 *rgba = g_malloc ((gsize) width * height * 4);
  gv_world_render_target (&object, width, height, rgba);
  if (gv_png_write (out, rgba, width, height, 4, &error))
    status = EXIT_SUCCESS;
  else
    g_printerr ("gv-world-target: %s\n", error->message);
  g_free (rgba);

out:
  g_clear_error (&error);
  g_option_context_free (ctx);
  g_free (object_text);
  g_free (size);
  g_free (out);
  return status;
}
