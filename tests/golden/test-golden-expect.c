/* gv-golden fails when what the manifest expects is missing: an empty folder, a missing case
 * file, a tensor missing from a file or from the manifest, a case the manifest does not know,
 * a tap the implementation stops emitting; the case marked as not implemented exits 77.
 * Each broken setup has an intact control that passes, so that the failure is the break's.
 * Arguments: GV_GOLDEN MANIFEST CHECKPOINT_DIR CASES_DIR. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const gchar *golden, *manifest, *checkpoint, *cases;

/* gv-golden [OPTION...] with --manifest @with, on @folder, then @extra; its exit status and
 * output (g_free it) */
static gint
run_golden (const gchar *with, const gchar *folder, const gchar *const *extra, gchar **output)
{
  GError *error = NULL;
  gint status = 0;
  GPtrArray *argv = g_ptr_array_new ();
  const gchar *head[] = { golden, "--manifest", with };
  for (guint i = 0; i < G_N_ELEMENTS (head); i++)
    g_ptr_array_add (argv, (gpointer) head[i]);
  /* options first, then the two folders, then the case names */
  guint n = 0;
  for (; extra[n] != NULL && extra[n][0] == '-'; n++)
    g_ptr_array_add (argv, (gpointer) extra[n]);
  g_ptr_array_add (argv, (gpointer) checkpoint);
  g_ptr_array_add (argv, (gpointer) folder);
  for (; extra[n] != NULL; n++)
    g_ptr_array_add (argv, (gpointer) extra[n]);
  g_ptr_array_add (argv, NULL);

  gboolean ran = g_spawn_sync (NULL, (gchar **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
      output, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (ran);
  g_ptr_array_unref (argv);
  g_test_message ("%s", *output);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

/* the number of lines of @text that hold @a and @b and end in FAIL */
static guint
count_failures (const gchar *text, const gchar *a, const gchar *b)
{
  guint n = 0;
  gchar **lines = g_strsplit (text, "\n", -1);
  for (gchar **l = lines; *l; l++)
    n += g_str_has_suffix (*l, "FAIL") && strstr (*l, a) && (b == NULL || strstr (*l, b));
  g_strfreev (lines);
  return n;
}

/* a folder of links to every file of the golden cases but @left_out; @alias (if not NULL)
 * links the case vae_decode once more under that name */
static gchar *
link_cases (const gchar *left_out, const gchar *alias)
{
  gchar *dir = g_dir_make_tmp ("golden-expect-XXXXXX", NULL);
  GDir *d = g_dir_open (cases, 0, NULL);
  const gchar *f;
  g_assert_nonnull (d);
  while ((f = g_dir_read_name (d)) != NULL) {
    if (g_strcmp0 (f, left_out) == 0)
      continue;
    gchar *target = g_build_filename (cases, f, NULL), *link = g_build_filename (dir, f, NULL);
    g_assert_cmpint (symlink (target, link), ==, 0);
    if (alias != NULL && g_str_has_prefix (f, "vae_decode.")) {
      gchar *other = g_strconcat (dir, "/", alias, f + strlen ("vae_decode"), NULL);
      g_assert_cmpint (symlink (target, other), ==, 0);
      g_free (other);
    }
    g_free (target);
    g_free (link);
  }
  g_dir_close (d);
  return dir;
}

static void
remove_folder (gchar *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const gchar *f;
  while ((f = g_dir_read_name (d)) != NULL) {
    gchar *path = g_build_filename (dir, f, NULL);
    g_assert_cmpint (g_unlink (path), ==, 0);
    g_free (path);
  }
  g_dir_close (d);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
  g_free (dir);
}

/* the manifest with, in the block of @case_name, the line @old replaced by @new (@old NULL:
 * @new added after the case line; @new NULL: @old removed), written to a file in @dir */
static gchar *
edit_manifest (const gchar *dir, const gchar *case_name, const gchar *old, const gchar *new)
{
  gchar *text = NULL;
  g_assert_true (g_file_get_contents (manifest, &text, NULL, NULL));
  gchar **lines = g_strsplit (text, "\n", -1);
  gchar *case_line = g_strconcat ("case ", case_name, NULL);
  GString *out = g_string_new (NULL);
  gboolean inside = FALSE, edited = FALSE;
  for (gchar **l = lines; *l; l++) {
    gchar *stripped = g_strstrip (g_strdup (*l));
    if (g_str_has_prefix (stripped, "case "))
      inside = strcmp (stripped, case_line) == 0;
    gboolean hit = !edited && inside && old != NULL && strcmp (stripped, old) == 0;
    if (!hit)
      g_string_append_printf (out, "%s\n", *l);
    if ((hit && new != NULL) || (!edited && inside && old == NULL)) {
      g_string_append_printf (out, "  %s\n", new);
      edited = TRUE;
    }
    edited |= hit;
    g_free (stripped);
  }
  g_assert_true (edited);
  gchar *path = g_build_filename (dir, "manifest.txt", NULL);
  g_assert_true (g_file_set_contents (path, out->str, -1, NULL));
  g_string_free (out, TRUE);
  g_free (case_line);
  g_strfreev (lines);
  g_free (text);
  return path;
}

static guint
manifest_cases (void)
{
  gchar *text = NULL;
  guint n = 0;
  g_assert_true (g_file_get_contents (manifest, &text, NULL, NULL));
  gchar **lines = g_strsplit (text, "\n", -1);
  for (gchar **l = lines; *l; l++)
    n += g_str_has_prefix (g_strstrip (*l), "case ");
  g_strfreev (lines);
  g_free (text);
  return n;
}

/* gv-golden exits with @status, and @lines of its output end in FAIL and hold @a and @b */
static void
expect (gint status, guint lines, const gchar *a, const gchar *b, const gchar *with,
    const gchar *folder, const gchar *const *extra)
{
  gchar *out = NULL;
  g_assert_cmpint (run_golden (with, folder, extra, &out), ==, status);
  g_assert_cmpuint (count_failures (out, a, b), ==, lines);
  g_free (out);
}

static const gchar *const check_all[] = { "--check", NULL };

static void
test_empty_folder (void)
{
  gchar *empty = g_dir_make_tmp ("golden-expect-XXXXXX", NULL);
  const gchar *const all[] = { NULL };
  guint n = manifest_cases ();

  /* a full run: both files of every case of the manifest missing */
  expect (1, n, ".safetensors", "missing", manifest, empty, all);
  expect (1, n, ".json", "missing", manifest, empty, all);
  expect (1, 2 * n, "missing", NULL, manifest, empty, check_all);
  /* and a folder that is not there */
  gchar *gone = g_build_filename (empty, "gone", NULL);
  expect (1, 1, "cases folder", NULL, manifest, gone, check_all);
  g_free (gone);
  remove_folder (empty);
}

static void
test_missing_file (void)
{
  const gchar *const one[] = { "--check", "vae_decode", NULL };
  gchar *intact = link_cases (NULL, NULL);
  expect (0, 0, "", NULL, manifest, intact, check_all);
  remove_folder (intact);

  gchar *broken = link_cases ("vae_decode.json", NULL);
  expect (1, 1, "vae_decode.json", "missing", manifest, broken, check_all);
  expect (1, 1, "vae_decode.json", "missing", manifest, broken, one);
  remove_folder (broken);
  broken = link_cases ("unet_t501.safetensors", NULL);
  expect (1, 1, "unet_t501.safetensors", "missing", manifest, broken, check_all);
  remove_folder (broken);
}

/* a case in the folder that the manifest does not list */
static void
test_unknown_case (void)
{
  gchar *extra = link_cases (NULL, "vae_decode_copy");
  expect (1, 1, "vae_decode_copy", "not in the manifest", manifest, extra, check_all);
  remove_folder (extra);
}

static void
test_missing_tensor (void)
{
  gchar *dir = g_dir_make_tmp ("golden-expect-XXXXXX", NULL);
  const gchar *const one[] = { "--check", "vae_decode", NULL };

  /* listed in the manifest, not in the file */
  gchar *edited = edit_manifest (dir, "vae_decode", NULL, "compare inter.not_in_the_file");
  expect (1, 1, "inter.not_in_the_file", "missing from the case file", edited, cases, one);
  g_free (edited);
  /* in the file, not listed */
  edited = edit_manifest (dir, "vae_decode", "input   latents", NULL);
  expect (1, 1, "latents", "not in the manifest", edited, cases, one);
  g_free (edited);
  remove_folder (dir);
}

/* a tap the implementation stops emitting, and an output listed as an input */
static void
test_lost_tap (void)
{
  gchar *dir = g_dir_make_tmp ("golden-expect-XXXXXX", NULL);
  const gchar *const run[] = { "image_encoder_pixel_values", NULL };
  const gchar *const lost[] = { "--drop-tap=inter.hidden_states.1",
    "image_encoder_pixel_values", NULL };

  expect (0, 0, "", NULL, manifest, cases, run);
  expect (1, 1, "inter.hidden_states.1", "not compared", manifest, cases, lost);
  expect (1, 1, "image_encoder_pixel_values", NULL, manifest, cases, lost);

  gchar *edited = edit_manifest (dir, "image_encoder_pixel_values",
      "compare inter.hidden_states.2", "input inter.hidden_states.2");
  expect (1, 1, "inter.hidden_states.2", "as an input", edited, cases, run);
  g_free (edited);
  remove_folder (dir);
}

/* a case the manifest marks as not implemented: SKIP, exit status 77, files still checked
 * (every case runs now: a manifest edited to mark one) */
static void
test_not_implemented (void)
{
  gchar *out = NULL;
  gchar *dir = g_dir_make_tmp ("golden-expect-XXXXXX", NULL);
  gchar *edited = edit_manifest (dir, "tav_train_step", NULL, "skip not implemented (test)");
  const gchar *const skip[] = { "tav_train_step", NULL };
  g_assert_cmpint (run_golden (edited, cases, skip, &out), ==, 77);
  g_assert_nonnull (strstr (out, "SKIP"));
  g_free (out);

  gchar *broken = link_cases ("tav_train_step.json", NULL);
  expect (1, 1, "tav_train_step.json", "missing", edited, broken, skip);
  remove_folder (broken);
  g_free (edited);
  remove_folder (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (argc != 5) {
    g_printerr ("usage: %s GV_GOLDEN MANIFEST CHECKPOINT_DIR CASES_DIR\n", argv[0]);
    return 1;
  }
  golden = argv[1];
  manifest = argv[2];
  checkpoint = argv[3];
  cases = argv[4];
  g_test_add_func ("/golden-expect/empty-folder", test_empty_folder);
  g_test_add_func ("/golden-expect/missing-file", test_missing_file);
  g_test_add_func ("/golden-expect/unknown-case", test_unknown_case);
  g_test_add_func ("/golden-expect/missing-tensor", test_missing_tensor);
  g_test_add_func ("/golden-expect/lost-tap", test_lost_tap);
  g_test_add_func ("/golden-expect/not-implemented", test_not_implemented);
  return g_test_run ();
}
