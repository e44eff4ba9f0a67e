/* The small tools of the main job: gv-world-target (and the target image bundled for the main
 * job, which must be the world's own drawing) and gv-video-sheet. */
#include <string.h>

#include <glib/gstdio.h>
#include <gst/gst.h>

#include "gv-contact-sheet.h"
#include "gv-png.h"
#include "gv-world-render.h"

static gchar *tmp_dir;

static gboolean
run (const gchar *const *argv, gchar **err_text)
{
  gint status;
  GError *error = NULL;
  g_assert_true (g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
          NULL, NULL, err_text, &status, &error));
  g_assert_no_error (error);
  return g_spawn_check_wait_status (status, NULL);
}

static void
assert_world_target (const gchar *path, GvWorldShape shape, GvWorldColour colour, gint width,
    gint height)
{
  GvWorldObject object = { shape, colour };
  guint8 *expected = g_malloc ((gsize) width * height * 4);
  GError *error = NULL;
  gint w, h;
  gv_world_render_target (&object, width, height, expected);
  guint8 *rgba = gv_png_read (path, 4, &w, &h, &error);
  g_assert_no_error (error);
  g_assert_cmpint (w, ==, width);
  g_assert_cmpint (h, ==, height);
  g_assert_cmpmem (rgba, (gsize) w * h * 4, expected, (gsize) width * height * 4);
  g_free (rgba);
  g_free (expected);
}

/* the main job's target is the world's red square, pixel for pixel */
static void
test_bundled_target (void)
{
  gchar *path = g_build_filename (GV_TEST_DATA_DIR, "target-red-square.png", NULL);
  assert_world_target (path, GV_WORLD_SQUARE, GV_WORLD_RED, 128, 128);
  g_free (path);
}

static void
test_world_target (void)
{
  gchar *out = g_build_filename (tmp_dir, "target.png", NULL);
  const gchar *argv[] = { GV_WORLD_TARGET, "--object", "cyan ball", "--size", "40x24", "--out",
    out, NULL };
  g_assert_true (run (argv, NULL));
  assert_world_target (out, GV_WORLD_DISC, GV_WORLD_CYAN, 40, 24);

  /* not an object of the world: a message and a failure status */
  const gchar *bad[] = { GV_WORLD_TARGET, "--object", "black square", "--out", out, NULL };
  gchar *err_text = NULL;
  g_assert_false (run (bad, &err_text));
  g_assert_nonnull (strstr (err_text, "--object"));
  g_free (err_text);
  g_free (out);
}

/* a picture of three panels side by side (PNG: decodebin reads it as a one-frame video) gives
 * three rows of that frame */
static void
test_video_sheet (void)
{
  const gint pw = 10, h = 6, frames = 2;
  guint8 *picture = g_malloc ((gsize) 3 * pw * h * 3);
  guint8 *panels[3];
  GError *error = NULL;
  for (gint p = 0; p < 3; p++) {
    panels[p] = g_malloc ((gsize) pw * h * 3);
    for (gint i = 0; i < pw * h * 3; i++)
      panels[p][i] = (guint8) (17 + 61 * p + 5 * i);
    for (gint y = 0; y < h; y++)
      memcpy (picture + ((gsize) y * 3 * pw + p * pw) * 3, panels[p] + (gsize) y * pw * 3,
          pw * 3);
  }
  gchar *in = g_build_filename (tmp_dir, "panels.png", NULL);
  gchar *out = g_build_filename (tmp_dir, "sheet.png", NULL);
  g_assert_true (gv_png_write (in, picture, 3 * pw, h, 3, &error));
  g_assert_no_error (error);

  const gchar *argv[] = { GV_VIDEO_SHEET, "--frames", "2", "--panels", "3", "--out", out, in,
    NULL };
  g_assert_true (run (argv, NULL));
  GvContactSheet *expected = gv_contact_sheet_new (frames, 3, pw, h, 4);
  for (gint c = 0; c < frames; c++)
    for (gint p = 0; p < 3; p++)
      gv_contact_sheet_put (expected, c, p, panels[p], pw, h, 3);
  gint w, sh;
  guint8 *sheet = gv_png_read (out, 3, &w, &sh, &error);
  g_assert_no_error (error);
  g_assert_cmpint (w, ==, expected->width);
  g_assert_cmpint (sh, ==, expected->height);
  g_assert_cmpmem (sheet, (gsize) w * sh * 3, expected->rgb,
      (gsize) expected->width * expected->height * 3);

  /* panels that do not divide the width, and a file that is no video */
  const gchar *bad_panels[] = { GV_VIDEO_SHEET, "--panels", "4", "--out", out, in, NULL };
  gchar *err_text = NULL;
  g_assert_false (run (bad_panels, &err_text));
  g_assert_nonnull (strstr (err_text, "panels"));
  g_free (err_text);
  const gchar *not_video[] = { GV_VIDEO_SHEET, "--out", out, GV_WORLD_TARGET, NULL };
  g_assert_false (run (not_video, NULL));

  g_free (sheet);
  gv_contact_sheet_free (expected);
  for (gint p = 0; p < 3; p++)
    g_free (panels[p]);
  g_free (picture);
  g_remove (in);
  g_remove (out);
  g_free (in);
  g_free (out);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("gv-world-tools-XXXXXX", NULL);
  g_test_add_func ("/world-tools/bundled-target", test_bundled_target);
  g_test_add_func ("/world-tools/world-target", test_world_target);
  g_test_add_func ("/world-tools/video-sheet", test_video_sheet);
  int status = g_test_run ();
  gchar *target = g_build_filename (tmp_dir, "target.png", NULL);
  g_remove (target);
  g_free (target);
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return status;
}
