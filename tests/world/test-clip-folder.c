/* Clip folders on disk: PNG round trips through GStreamer, a world clip written and read back
 * identical, byte-identical files from one seed, gv-make-clips, and clear errors for folders
 * that do not fit the format. */
#include <string.h>

#include <glib/gstdio.h>
#include <gst/gst.h>

#include "gv-png.h"
#include "gv-world-folder.h"

static gchar *tmp_dir;

static gchar *
tmp_path (const gchar *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static GvClipFolder *
world_folder (guint64 seed, guint index)
{
  GvWorldClip *world = gv_world_clip_new (seed, index, 37, 29, 5);
  GvClipFolder *clip = gv_world_clip_folder (world, 8);
  gv_world_clip_free (world);
  return clip;
}

static gchar *
write_folder (const gchar *name, guint64 seed, guint index)
{
  gchar *dir = tmp_path (name);
  GvClipFolder *clip = world_folder (seed, index);
  GError *error = NULL;
  if (!gv_clip_folder_write (clip, dir, &error))
    g_error ("%s", error->message);
  gv_clip_folder_free (clip);
  return dir;
}

/* odd sizes, so rows are padded inside GStreamer and packed here */
static void
test_png (void)
{
  const gint w = 13, h = 7;
  for (gint channels = 1; channels <= 4; channels++) {
    if (channels == 2)
      continue;
    guint8 *pixels = g_new (guint8, w * h * channels);
    for (gint i = 0; i < w * h * channels; i++)
      pixels[i] = (i * 37 + channels * 11) % 251;
    gchar *path = tmp_path ("odd.png");
    GError *error = NULL;
    gint rw = 0, rh = 0;
    g_assert_true (gv_png_write (path, pixels, w, h, channels, &error));
    g_assert_no_error (error);
    guint8 *back = gv_png_read (path, channels, &rw, &rh, &error);
    g_assert_no_error (error);
    g_assert_cmpint (rw, ==, w);
    g_assert_cmpint (rh, ==, h);
    g_assert_cmpmem (back, w * h * channels, pixels, w * h * channels);
    g_free (back);
    g_free (path);
    g_free (pixels);
  }
}

static void
test_round_trip (void)
{
  GvClipFolder *clip = world_folder (3, 0);
  gchar *dir = tmp_path ("round-trip");
  GError *error = NULL;
  g_assert_true (gv_clip_folder_write (clip, dir, &error));
  GvClipFolder *back = gv_clip_folder_read (dir, &error);
  g_assert_no_error (error);

  gsize n = (gsize) clip->width * clip->height * clip->frames;
  g_assert_cmpstr (back->source_prompt, ==, clip->source_prompt);
  g_assert_cmpstr (back->target_prompt, ==, clip->target_prompt);
  g_assert_cmpfloat (back->fps, ==, clip->fps);
  g_assert_cmpint (back->width, ==, 37);
  g_assert_cmpint (back->height, ==, 29);
  g_assert_cmpint (back->frames, ==, 5);
  g_assert_cmpmem (back->source, n * 3, clip->source, n * 3);
  g_assert_cmpmem (back->masks, n, clip->masks, n);
  g_assert_cmpmem (back->edit, n * 3, clip->edit, n * 3);
  g_assert_cmpmem (back->edit_masks, n, clip->edit_masks, n);
  g_assert_cmpint (back->target_width, ==, clip->target_width);
  g_assert_cmpint (back->target_height, ==, clip->target_height);
  g_assert_cmpmem (back->target, (gsize) clip->target_width * clip->target_height * 4,
      clip->target, (gsize) clip->target_width * clip->target_height * 4);

  /* the extras, to the last bit of the trajectory */
  JsonNode *a = json_node_init_object (json_node_alloc (), clip->extra);
  JsonNode *b = json_node_init_object (json_node_alloc (), back->extra);
  g_assert_true (json_node_equal (a, b));
  json_node_unref (a);
  json_node_unref (b);
  GvWorldClip *world = gv_world_clip_new (3, 0, 37, 29, 5);
  GvWorldPlace *path = gv_world_folder_path (back, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (path, sizeof (GvWorldPlace) * 5, world->path, sizeof (GvWorldPlace) * 5);
  g_free (path);
  gv_world_clip_free (world);

  gv_clip_folder_free (back);
  gv_clip_folder_free (clip);
  g_free (dir);
}

static gchar *
read_bytes (const gchar *dir, const gchar *name, gsize *len)
{
  gchar *path = g_build_filename (dir, name, NULL), *bytes = NULL;
  if (!g_file_get_contents (path, &bytes, len, NULL))
    g_error ("%s is missing", path);
  g_free (path);
  return bytes;
}

static gboolean
same_file (const gchar *dir_a, const gchar *dir_b, const gchar *name)
{
  gsize la, lb;
  gchar *a = read_bytes (dir_a, name, &la), *b = read_bytes (dir_b, name, &lb);
  gboolean same = la == lb && memcmp (a, b, la) == 0;
  g_free (a);
  g_free (b);
  return same;
}

static void
test_same_seed_same_bytes (void)
{
  gchar *a = write_folder ("seed-a", 11, 2), *b = write_folder ("seed-b", 11, 2);
  gchar *c = write_folder ("seed-c", 12, 2);
  const gchar *subs[] = { "frames", "masks", "edit", "edit-masks" };
  g_assert_true (same_file (a, b, "clip.json"));
  g_assert_true (same_file (a, b, "target.png"));
  for (guint s = 0; s < G_N_ELEMENTS (subs); s++)
    for (gint f = 0; f < 5; f++) {
      gchar *name = g_strdup_printf ("%s/%04d.png", subs[s], f);
      g_assert_true (same_file (a, b, name));
      g_free (name);
    }
  g_assert_false (same_file (a, c, "clip.json"));
  g_assert_false (same_file (a, c, "frames/0000.png"));
  g_free (a);
  g_free (b);
  g_free (c);
}

/* Writes a fresh folder, lets @damage break it, and checks the error names @what. */
static void
assert_read_fails (const gchar *name, void (*damage) (const gchar *dir), gint code,
    const gchar *what)
{
  gchar *dir = write_folder (name, 5, 1);
  GError *error = NULL;
  damage (dir);
  GvClipFolder *clip = gv_clip_folder_read (dir, &error);
  g_assert_null (clip);
  g_assert_error (error, GV_CLIP_FOLDER_ERROR, code);
  if (strstr (error->message, what) == NULL)
    g_error ("%s: the error \"%s\" does not name %s", name, error->message, what);
  g_test_message ("%s: %s", name, error->message);
  g_error_free (error);
  g_free (dir);
}

static void
remove_file (const gchar *dir, const gchar *name)
{
  gchar *path = g_build_filename (dir, name, NULL);
  g_assert_cmpint (g_remove (path), ==, 0);
  g_free (path);
}

static void
put_file (const gchar *dir, const gchar *name, const gchar *text)
{
  gchar *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  g_free (path);
}

/* replaces @key's value in clip.json by @value (JSON text); NULL removes the member */
static void
edit_json (const gchar *dir, const gchar *key, const gchar *value)
{
  gchar *path = g_build_filename (dir, "clip.json", NULL);
  JsonParser *parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, path, NULL));
  JsonObject *obj = json_node_get_object (json_parser_get_root (parser));
  if (value)
    json_object_set_member (obj, key, json_from_string (value, NULL));
  else
    json_object_remove_member (obj, key);
  JsonGenerator *gen = json_generator_new ();
  json_generator_set_root (gen, json_parser_get_root (parser));
  g_assert_true (json_generator_to_file (gen, path, NULL));
  g_object_unref (gen);
  g_object_unref (parser);
  g_free (path);
}

static void no_mask (const gchar *d) { remove_file (d, "masks/0002.png"); }
static void no_target (const gchar *d) { remove_file (d, "target.png"); }
static void no_json (const gchar *d) { remove_file (d, "clip.json"); }
static void bad_json (const gchar *d) { put_file (d, "clip.json", "{ \"frames\": 5,"); }
static void list_json (const gchar *d) { put_file (d, "clip.json", "[1, 2]"); }
static void frames_text (const gchar *d) { edit_json (d, "frames", "\"eight\""); }
static void frames_zero (const gchar *d) { edit_json (d, "frames", "0"); }
static void no_target_prompt (const gchar *d) { edit_json (d, "target_prompt", NULL); }
static void fps_negative (const gchar *d) { edit_json (d, "fps", "-8"); }
static void more_frames (const gchar *d) { edit_json (d, "frames", "6"); }
static void wider (const gchar *d) { edit_json (d, "width", "38"); }
static void not_png (const gchar *d) { put_file (d, "edit/0001.png", "GIF89a, not a PNG"); }

static void
test_bad_folders (void)
{
  assert_read_fails ("no-mask", no_mask, GV_CLIP_FOLDER_ERROR_MISSING, "masks/0002.png");
  assert_read_fails ("no-target", no_target, GV_CLIP_FOLDER_ERROR_MISSING, "target.png");
  assert_read_fails ("no-json", no_json, GV_CLIP_FOLDER_ERROR_MISSING, "clip.json");
  assert_read_fails ("bad-json", bad_json, GV_CLIP_FOLDER_ERROR_INVALID, "not valid JSON");
  assert_read_fails ("list-json", list_json, GV_CLIP_FOLDER_ERROR_INVALID, "JSON object");
  assert_read_fails ("frames-text", frames_text, GV_CLIP_FOLDER_ERROR_INVALID, "\"frames\"");
  assert_read_fails ("frames-zero", frames_zero, GV_CLIP_FOLDER_ERROR_INVALID, "\"frames\"");
  assert_read_fails ("no-target-prompt", no_target_prompt, GV_CLIP_FOLDER_ERROR_INVALID,
      "\"target_prompt\" is missing");
  assert_read_fails ("fps-negative", fps_negative, GV_CLIP_FOLDER_ERROR_INVALID, "\"fps\"");
  assert_read_fails ("more-frames", more_frames, GV_CLIP_FOLDER_ERROR_MISSING,
      "frames/0005.png");
  assert_read_fails ("wider", wider, GV_CLIP_FOLDER_ERROR_INVALID, "is 37x29; clip.json says 38x29");
  assert_read_fails ("not-png", not_png, GV_CLIP_FOLDER_ERROR_IO, "edit/0001.png");

  /* a folder that is not there at all */
  GError *error = NULL;
  gchar *dir = tmp_path ("not-there");
  g_assert_null (gv_clip_folder_read (dir, &error));
  g_assert_error (error, GV_CLIP_FOLDER_ERROR, GV_CLIP_FOLDER_ERROR_MISSING);
  g_clear_error (&error);
  g_free (dir);

  /* a folder without the world's trajectory reads, but has no path */
  dir = write_folder ("no-trajectory", 5, 1);
  edit_json (dir, "trajectory", "[{\"x\": 1, \"y\": 2}]");
  GvClipFolder *clip = gv_clip_folder_read (dir, &error);
  g_assert_no_error (error);
  g_assert_null (gv_world_folder_path (clip, &error));
  g_assert_error (error, GV_CLIP_FOLDER_ERROR, GV_CLIP_FOLDER_ERROR_INVALID);
  g_clear_error (&error);
  gv_clip_folder_free (clip);
  g_free (dir);
}

/* the tool writes clip i of the seed, the same as the library makes it */
static void
test_make_clips (void)
{
  gchar *out = tmp_path ("made");
  gchar *sheet = tmp_path ("sheet.png");
  const gchar *argv[] = { GV_MAKE_CLIPS, "--count", "2", "--seed", "5", "--out", out,
    "--frames", "5", "--size", "37x29", "--sheet", sheet, NULL };
  gint status;
  GError *error = NULL;
  g_assert_true (g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
          NULL, NULL, NULL, &status, &error));
  g_assert_true (g_spawn_check_wait_status (status, &error));

  gchar *made = g_build_filename (out, "clip-0001", NULL);
  gchar *ours = write_folder ("ours", 5, 1);
  g_assert_true (same_file (made, ours, "clip.json"));
  g_assert_true (same_file (made, ours, "frames/0004.png"));
  gint w, h;
  guint8 *pixels = gv_png_read (sheet, 3, &w, &h, &error);
  g_assert_no_error (error);
  g_assert_cmpint (w, ==, 9 * 37 + 10 * 4);
  g_assert_cmpint (h, ==, 2 * 29 + 3 * 4);
  g_free (pixels);

  /* bad arguments: a message and a failure status */
  const gchar *bad[] = { GV_MAKE_CLIPS, "--count", "2", "--out", out, "--size", "7x7", NULL };
  gchar *err_text = NULL;
  g_assert_true (g_spawn_sync (NULL, (gchar **) bad, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
          NULL, NULL, &err_text, &status, NULL));
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (err_text, "--size"));
  g_free (err_text);
  g_free (ours);
  g_free (made);
  g_free (sheet);
  g_free (out);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("gv-world-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);
  g_test_add_func ("/clip-folder/png", test_png);
  g_test_add_func ("/clip-folder/round-trip", test_round_trip);
  g_test_add_func ("/clip-folder/same-seed-same-bytes", test_same_seed_same_bytes);
  g_test_add_func ("/clip-folder/bad-folders", test_bad_folders);
  g_test_add_func ("/clip-folder/make-clips", test_make_clips);
  gint status = g_test_run ();
  /* leaves nothing behind */
  gchar *argv_rm[] = { "rm", "-rf", tmp_dir, NULL };
  g_spawn_sync (NULL, argv_rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
  g_free (tmp_dir);
  gst_deinit ();
  return status;
}
