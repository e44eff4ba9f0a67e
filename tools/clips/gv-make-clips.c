/* gv-make-clips: writes clips of the synthetic world as clip folders (docs/benchmark.md).
 *
 *   gv-make-clips --count N --seed S --out DIR [--frames F] [--size W|WxH] [--fps R]
 *                 [--sheet FILE.png]
 *
 * Clip i goes to DIR/clip-%04d; it depends only on (S, i, size, frames), so a larger --count
 * adds clips and changes none. */
#include <stdlib.h>

#include <gst/gst.h>

#include "gv-contact-sheet.h"
#include "gv-png.h"
#include "gv-world-folder.h"

#define SHEET_MAX_ROWS 6

static gboolean
parse_size (const gchar *text, gint *width, gint *height)
{
  gchar *end;
  gint64 w = g_ascii_strtoll (text, &end, 10), h = w;
  if (*end == 'x')
    h = g_ascii_strtoll (end + 1, &end, 10);
  if (*end != '\0' || w < 16 || h < 16 || w > 4096 || h > 4096)
    return FALSE;
  *width = w;
  *height = h;
  return TRUE;
}

/* One row per clip: source frames first, middle and last; mask of the first; target; ideal
 * edit first, middle and last; edit mask of the first. */
static void
sheet_row (GvContactSheet *sheet, gint row, const GvClipFolder *c)
{
  gsize n = (gsize) c->width * c->height;
  gint pick[3] = { 0, c->frames / 2, c->frames - 1 };
  for (gint i = 0; i < 3; i++) {
    gv_contact_sheet_put (sheet, i, row, c->source + n * 3 * pick[i], c->width, c->height, 3);
    gv_contact_sheet_put (sheet, 5 + i, row, c->edit + n * 3 * pick[i], c->width, c->height, 3);
  }
  gv_contact_sheet_put (sheet, 3, row, c->masks, c->width, c->height, 1);
  gv_contact_sheet_put (sheet, 4, row, c->target, c->target_width, c->target_height, 4);
  gv_contact_sheet_put (sheet, 8, row, c->edit_masks, c->width, c->height, 1);
}

int
main (int argc, char **argv)
{
  gint count = 1, frames = 8, width = 128, height = 128;
  gint64 seed = 0;
  gdouble fps = 8;
  gchar *out = NULL, *size = NULL, *sheet_path = NULL;
  GOptionEntry entries[] = {
    { "count", 'n', 0, G_OPTION_ARG_INT, &count, "Number of clips (1)", "N" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Seed, >= 0 (0)", "S" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Folder for the clip folders", "DIR" },
    { "frames", 'f', 0, G_OPTION_ARG_INT, &frames, "Frames per clip (8)", "F" },
    { "size", 0, 0, G_OPTION_ARG_STRING, &size, "Frame size, W or WxH (128)", "W" },
    { "fps", 0, 0, G_OPTION_ARG_DOUBLE, &fps, "Frame rate written to clip.json (8)", "R" },
    { "sheet", 0, 0, G_OPTION_ARG_FILENAME, &sheet_path,
      "Also write a contact sheet of the first clips (source, mask, target, ideal edit, "
      "edit mask)", "FILE.png" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- clips of the synthetic world as clip folders");
  GError *error = NULL;
  int status = EXIT_FAILURE;
  GvContactSheet *sheet = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("gv-make-clips: %s\n", error->message);
    goto out;
  }
  if (out == NULL || count < 1 || frames < 1 || seed < 0 || !(fps > 0) ||
      (size != NULL && !parse_size (size, &width, &height))) {
    g_printerr ("gv-make-clips: needs --out DIR, --count >= 1, --frames >= 1, --seed >= 0, "
        "--fps > 0 and --size W or WxH from 16 to 4096\n");
    goto out;
  }
  if (sheet_path)
    sheet = gv_contact_sheet_new (9, MIN (count, SHEET_MAX_ROWS), width, height, 4);

  for (gint i = 0; i < count; i++) {
    GvWorldClip *world = gv_world_clip_new (seed, i, width, height, frames);
    GvClipFolder *clip = gv_world_clip_folder (world, fps);
    gchar *name = g_strdup_printf ("clip-%04d", i);
    gchar *dir = g_build_filename (out, name, NULL);
    gboolean ok = gv_clip_folder_write (clip, dir, &error);
    if (ok)
      g_print ("%s: %s -> %s\n", dir, clip->source_prompt, clip->target_prompt);
    if (ok && sheet && i < sheet->rows)
      sheet_row (sheet, i, clip);
    g_free (dir);
    g_free (name);
    gv_clip_folder_free (clip);
    gv_world_clip_free (world);
    if (!ok) {
      g_printerr ("gv-make-clips: %s\n", error->message);
      goto out;
    }
  }
  if (sheet && !gv_png_write (sheet_path, sheet->rgb, sheet->width, sheet->height, 3, &error)) {
    g_printerr ("gv-make-clips: %s\n", error->message);
    goto out;
  }
  status = EXIT_SUCCESS;

out:
  gv_contact_sheet_free (sheet);
  g_clear_error (&error);
  g_option_context_free (ctx);
  g_free (out);
  g_free (size);
  g_free (sheet_path);
  return status;
}
