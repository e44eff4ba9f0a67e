/* gv-bench-quality's long-run support (docs/benchmark.md, "gv-bench-quality") on the tiny
 * random checkpoint at the smallest settings: the JSON holds each clip's ablations and
 * seconds and says whether the run is complete; --resume takes the clips the file holds and
 * runs only the others, and refuses a file of other settings naming the setting; a run that
 * dies after its first clip leaves a valid file that --resume completes. --mask-sweep covers the
 * clips run and agrees with the default's mask IoU. */
#include <string.h>

#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include "gv-clip-folder.h"
#include "gv-png.h"
#include "gv-test-files.h"
#include "gv-world-folder.h"

#define SIZE 32
#define FRAMES 2
/* gv-contact-sheet's gap between tiles */
#define SHEET_GAP 4

static const gchar *const variants[] = {
  "no_latent_correction", "no_background_preservation", "latent_only_background",
  "no_mask_gating", "no_fine_tuning", "masks_from_v", "per_frame_baseline",
};
static const gchar *const metrics[] = {
  "mask_iou", "background_psnr", "edit_psnr", "edit_ssim", "colour_error", "temporal_error",
  "correspondence_error", "correspondence_error_still",
};

/* Runs the benchmark on the tiny model with few steps, then @args (NULL-terminated); its
 * standard error into @err. TRUE when it exits with 0. */
static gboolean
bench (gchar **err, const gchar *first, ...)
{
  GPtrArray *argv = g_ptr_array_new ();
  const gchar *common[] = { GV_BENCH_QUALITY, "--model", GV_TINY_MODEL, "--tune-steps", "1" };
  for (guint i = 0; i < G_N_ELEMENTS (common); i++)
    g_ptr_array_add (argv, (gpointer) common[i]);
  va_list ap;
  va_start (ap, first);
  for (const gchar *a = first; a; a = va_arg (ap, const gchar *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  gint status;
  GError *error = NULL;
  g_assert_true (g_spawn_sync (NULL, (gchar **) argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL,
          NULL, NULL, NULL, err, &status, &error));
  g_assert_no_error (error);
  g_ptr_array_unref (argv);
  return g_spawn_check_wait_status (status, NULL);
}

/* The progress lines of @err ("clip-0003 (4/24): 312 s; ETA 1h40m") are one per entry of
 * @starts (NULL-terminated) and begin with it: the clips that ran. Frees @err. */
static void
assert_progress (gchar *err, const gchar *const *starts)
{
  gchar **lines = g_strsplit (err, "\n", -1);
  guint k = 0;
  for (gchar **l = lines; *l; l++) {
    if (!g_str_has_prefix (*l, "clip-") || !strstr (*l, "): ") || !strstr (*l, " s; "))
      continue;
    g_assert_nonnull (starts[k]);
    g_assert_true (g_str_has_prefix (*l, starts[k]));
    k++;
  }
  g_assert_null (starts[k]);
  g_strfreev (lines);
  g_free (err);
}

static JsonNode *
read_json (const gchar *path)
{
  GError *error = NULL;
  JsonParser *parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  JsonNode *root = json_node_copy (json_parser_get_root (parser));
  g_object_unref (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return root;
}

static void
assert_scores (JsonObject *o)
{
  for (guint m = 0; m < G_N_ELEMENTS (metrics); m++)
    g_assert_true (json_object_has_member (o, metrics[m]));
}

/* @root's clips: @n, named clip-0000 .. in order, each with its figures,
 * seconds > 0 and, when @ablations, every variant's figures */
static JsonArray *
assert_clips (JsonNode *root, guint n, gboolean ablations)
{
  JsonObject *o = json_node_get_object (root);
  JsonArray *clips = json_object_get_array_member (o, "clips");
  g_assert_cmpuint (json_array_get_length (clips), ==, n);
  for (guint i = 0; i < n; i++) {
    JsonObject *c = json_array_get_object_element (clips, i);
    g_autofree gchar *name = g_strdup_printf ("clip-%04u", i);
    g_assert_cmpstr (json_object_get_string_member (c, "name"), ==, name);
    assert_scores (c);
    g_assert_cmpfloat (json_object_get_double_member (c, "seconds"), >, 0);
    g_assert_true (json_object_has_member (c, "ablations") == ablations);
    for (guint v = 0; ablations && v < G_N_ELEMENTS (variants); v++)
      assert_scores (json_object_get_object_member (json_object_get_object_member (c,
                  "ablations"), variants[v]));
  }
  assert_scores (json_object_get_object_member (o, "mean"));
  g_assert_true (json_object_has_member (o, "ablations") == ablations);
  return clips;
}

static gboolean
complete (JsonNode *root)
{
  return json_object_get_boolean_member (json_node_get_object (root), "complete");
}

/* @node without the keys that files written before latentcorrect's weights and fields and
 * the masks' image conditions were recorded lack, at every depth */
static void
strip_later_keys (JsonNode *node)
{
  if (!JSON_NODE_HOLDS_OBJECT (node) && !JSON_NODE_HOLDS_ARRAY (node))
    return;
  if (JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *a = json_node_get_array (node);
    for (guint i = 0; i < json_array_get_length (a); i++)
      strip_later_keys (json_array_get_element (a, i));
    return;
  }
  JsonObject *o = json_node_get_object (node);
  GList *members = json_object_get_members (o);
  for (GList *l = members; l; l = l->next) {
    const gchar *key = l->data;
    if (g_str_has_prefix (key, "correspondence_") || g_str_has_prefix (key, "correction_weight_")
        || g_str_equal (key, "mask_labels"))
      json_object_remove_member (o, key);
    else
      strip_later_keys (json_object_get_member (o, key));
  }
  g_list_free (members);
}

static void
write_json (const gchar *path, JsonNode *root)
{
  GError *error = NULL;
  JsonGenerator *gen = json_generator_new ();
  json_generator_set_root (gen, root);
  g_assert_true (json_generator_to_file (gen, path, &error));
  g_assert_no_error (error);
  g_object_unref (gen);
}

/* the clips' entries @first .. @last of @a and @b are equal (scores and seconds untouched) */
static void
assert_same_clips (JsonArray *a, JsonArray *b, guint first, guint last)
{
  for (guint i = first; i <= last; i++)
    g_assert_true (json_node_equal (json_array_get_element (a, i),
            json_array_get_element (b, i)));
}

/* The --mask-sweep file @path holds the one clip run, @clip of the JSON: at the default
 * (threshold 0.5, dilation 0) its mask IoU, elsewhere figures in [0, 1] that the thresholds
 * change; the mean is that clip's. */
static void
assert_sweep (const gchar *path, JsonObject *clip)
{
  JsonNode *root = read_json (path);
  JsonObject *o = json_node_get_object (root);
  JsonArray *thresholds = json_object_get_array_member (o, "thresholds");
  JsonArray *dilations = json_object_get_array_member (o, "dilations");
  JsonArray *clips = json_object_get_array_member (o, "clips");
  g_assert_cmpuint (json_array_get_length (clips), ==, 1);
  JsonObject *c = json_array_get_object_element (clips, 0);
  g_assert_cmpstr (json_object_get_string_member (c, "name"), ==,
      json_object_get_string_member (clip, "name"));
  JsonArray *rows = json_object_get_array_member (c, "mask_iou");
  JsonArray *mean = json_object_get_array_member (o, "mean");
  guint nt = json_array_get_length (thresholds), nd = json_array_get_length (dilations);
  g_assert_cmpuint (json_array_get_length (rows), ==, nt);
  gboolean varies = FALSE, found_default = FALSE;
  gdouble first = json_array_get_double_element (json_array_get_array_element (rows, 0), 0);
  for (guint t = 0; t < nt; t++) {
    JsonArray *row = json_array_get_array_element (rows, t);
    g_assert_cmpuint (json_array_get_length (row), ==, nd);
    for (guint d = 0; d < nd; d++) {
      gdouble v = json_array_get_double_element (row, d);
      g_assert_cmpfloat (v, >=, 0);
      g_assert_cmpfloat (v, <=, 1);
      g_assert_cmpfloat (v, ==, json_array_get_double_element (
              json_array_get_array_element (mean, t), d));
      varies |= v != first;
      if (json_array_get_double_element (thresholds, t) == 0.5 &&
          json_array_get_int_element (dilations, d) == 0) {
        found_default = TRUE;
        g_assert_cmpfloat_with_epsilon (v, json_object_get_double_member (clip, "mask_iou"),
            1e-12);
      }
    }
  }
  g_assert_true (found_default);
  g_assert_true (varies);
  json_node_unref (root);
}

static void
test_resume (void)
{
  g_autofree gchar *dir = gv_test_scratch_dir ();
  g_autofree gchar *json = g_build_filename (dir, "quality.json", NULL);
  g_autofree gchar *sheet = g_build_filename (dir, "sheet.png", NULL);
  g_autofree gchar *sweep = g_build_filename (dir, "sweep.json", NULL);
  gchar *err = NULL;
#define SETTINGS "--steps", "2", "--size", G_STRINGIFY (SIZE), "--frames", G_STRINGIFY (FRAMES)

  /* a whole run of two clips with the ablations */
  g_assert_true (bench (&err, SETTINGS, "--count", "2", "--ablations", "--json", json, NULL));
  g_assert_nonnull (strstr (err, " s; ETA "));
  assert_progress (err, (const gchar *[]) { "clip-0000 (1/2): ", "clip-0001 (2/2): ", NULL });
  JsonNode *first = read_json (json);
  g_assert_true (complete (first));
  JsonArray *first_clips = assert_clips (first, 2, TRUE);
  JsonObject *fo = json_node_get_object (first);
  g_assert_cmpint (json_object_get_int_member (fo, "frames"), ==, FRAMES);
  g_assert_cmpint (json_object_get_int_member (fo, "size"), ==, SIZE);
  /* the fields of latent correction are measured where it ran, and only there */
  for (guint i = 0; i < 2; i++) {
    JsonObject *c = json_array_get_object_element (first_clips, i);
    JsonObject *ab = json_object_get_object_member (c, "ablations");
    g_assert_cmpfloat (json_object_get_double_member (c, "correspondence_error"), >=, 0);
    g_assert_cmpfloat (json_object_get_double_member (c, "correspondence_error_still"), >, 0);
    g_assert_true (json_object_get_null_member (json_object_get_object_member (ab,
                "no_latent_correction"), "correspondence_error"));
    g_assert_true (json_object_get_null_member (json_object_get_object_member (ab,
                "per_frame_baseline"), "correspondence_error"));
  }
  g_assert_cmpfloat (json_object_get_double_member (fo, "correction_weight_current"), ==, 0.5);

  /* one clip more: only clip-0002 runs, the first two come from the file */
  g_assert_true (bench (&err, SETTINGS, "--count", "3", "--ablations", "--json", json,
          "--resume", "--sheet", sheet, "--mask-sweep", sweep, NULL));
  g_assert_nonnull (strstr (err, "s; done\n"));
  assert_progress (err, (const gchar *[]) { "clip-0002 (3/3): ", NULL });
  JsonNode *second = read_json (json);
  g_assert_true (complete (second));
  JsonArray *second_clips = assert_clips (second, 3, TRUE);
  assert_same_clips (first_clips, second_clips, 0, 1);
  /* the means are over all three clips */
  gdouble sum = 0;
  for (guint i = 0; i < 3; i++)
    sum += json_object_get_double_member (json_array_get_object_element (second_clips, i),
        "mask_iou");
  JsonObject *so = json_node_get_object (second);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (
          json_object_get_object_member (so, "mean"), "mask_iou"), sum / 3, 1e-12);
  g_assert_cmpfloat (json_object_get_double_member (so, "wall_seconds"), >,
      json_object_get_double_member (fo, "wall_seconds"));
  /* the contact sheet holds the one clip run, not those of the file */
  GError *error = NULL;
  gint w, h;
  g_free (gv_png_read (sheet, 3, &w, &h, &error));
  g_assert_no_error (error);
  g_assert_cmpint (h, ==, SIZE + 2 * SHEET_GAP);
  assert_sweep (sweep, json_array_get_object_element (second_clips, 2));

  /* other settings: refused, naming the setting, the file left alone */
  gchar *before, *after;
  g_assert_true (g_file_get_contents (json, &before, NULL, NULL));
  g_assert_false (bench (&err, "--steps", "3", "--size", G_STRINGIFY (SIZE), "--frames",
          G_STRINGIFY (FRAMES), "--count", "3", "--ablations", "--json", json, "--resume",
          NULL));
  g_assert_nonnull (strstr (err, "setting steps differs (file: 2, this run: 3)"));
  g_free (err);
  g_assert_false (bench (&err, SETTINGS, "--count", "3", "--json", json, "--resume", NULL));
  g_assert_nonnull (strstr (err, "setting ablations differs (file: on, this run: off)"));
  g_free (err);
  g_assert_false (bench (&err, SETTINGS, "--count", "3", "--ablations", "--guidance", "3",
          "--json", json, "--resume", NULL));
  g_assert_nonnull (strstr (err, "setting guidance_scale differs (file: 7.5, this run: 3)"));
  g_free (err);
  g_assert_false (bench (&err, SETTINGS, "--count", "3", "--ablations", "--sampling-guidance",
          "4", "--json", json, "--resume", NULL));
  g_assert_nonnull (strstr (err,
          "setting sampling_guidance_scale differs (file: 7.5, this run: 4)"));
  g_free (err);
  /* latentcorrect's settings: the file's correction steps are the default's 5 cut to 2 steps */
  g_assert_false (bench (&err, SETTINGS, "--count", "3", "--ablations", "--correction-steps",
          "1", "--json", json, "--resume", NULL));
  g_assert_nonnull (strstr (err, "setting correction_steps differs (file: 2, this run: 1)"));
  g_free (err);
  g_assert_false (bench (&err, SETTINGS, "--count", "3", "--ablations", "--search-radius", "2",
          "--json", json, "--resume", NULL));
  g_assert_nonnull (strstr (err, "setting search_radius differs (file: 0, this run: 2)"));
  g_free (err);
  g_assert_false (bench (&err, SETTINGS, "--count", "3", "--ablations", "--correction-weights",
          "1,1,0", "--json", json, "--resume", NULL));
  g_assert_nonnull (strstr (err,
          "setting correction_weight_prev differs (file: 0.25, this run: 0.5)"));
  g_free (err);
  g_assert_false (bench (&err, SETTINGS, "--count", "3", "--ablations", "--known-fields",
          "--json", json, "--resume", NULL));
  g_assert_nonnull (strstr (err, "setting known_fields differs (file: off, this run: on)"));
  g_free (err);
  g_assert_false (bench (&err, SETTINGS, "--count", "3", "--ablations", "--mask-labels", "none",
          "--json", json, "--resume", NULL));
  g_assert_nonnull (strstr (err,
          "setting mask_labels differs (file: \"paper\", this run: \"none\")"));
  g_free (err);
  g_assert_false (bench (&err, SETTINGS, "--count", "3", "--ablations", "--correction-space",
          "latents", "--json", json, "--resume", NULL));
  g_assert_nonnull (strstr (err,
          "setting correction_space differs (file: \"predictions\", this run: \"latents\")"));
  g_free (err);
  g_assert_false (bench (&err, SETTINGS, "--count", "3", "--ablations", "--given-masks",
          "edit", "--json", json, "--resume", NULL));
  g_assert_nonnull (strstr (err,
          "setting given_masks differs (file: none, this run: \"edit\")"));
  g_free (err);
  g_assert_true (g_file_get_contents (json, &after, NULL, NULL));
  g_assert_cmpstr (before, ==, after);
  g_free (before);
  g_free (after);

  /* a file written before the weights, the fields and the mask labels were recorded resumes
   * at the defaults, its clips' fields unknown (null) */
  JsonNode *old = read_json (json);
  strip_later_keys (old);
  write_json (json, old);
  json_node_unref (old);
  g_assert_true (bench (&err, SETTINGS, "--count", "3", "--ablations", "--json", json,
          "--resume", NULL));
  assert_progress (err, (const gchar *[]) { NULL });
  JsonNode *third = read_json (json);
  JsonArray *third_clips = assert_clips (third, 3, TRUE);
  g_assert_true (json_object_get_null_member (json_array_get_object_element (third_clips, 0),
          "correspondence_error"));
  json_node_unref (third);
  json_node_unref (first);
  json_node_unref (second);
}

/* clip @i of seed 0 into @dir/clip-000i; its target image without foreground when @broken
 * (the benchmark fails on it only when it comes to edit it) */
static void
write_clip (const gchar *dir, gint i, gboolean broken)
{
  GError *error = NULL;
  GvWorldClip *wc = gv_world_clip_new (0, i, SIZE, SIZE, FRAMES);
  GvClipFolder *f = gv_world_clip_folder (wc, 8.0);
  if (broken)
    for (gint p = 0; p < f->target_width * f->target_height; p++)
      f->target[4 * p + 3] = 0;
  g_autofree gchar *name = g_strdup_printf ("clip-%04d", i);
  g_autofree gchar *sub = g_build_filename (dir, name, NULL);
  g_assert_true (gv_clip_folder_write (f, sub, &error));
  g_assert_no_error (error);
  gv_clip_folder_free (f);
  gv_world_clip_free (wc);
}

/* A run that dies after its first clip (its second clip cannot be edited) leaves a valid file
 * with that clip, not complete; once the clip is mended, --resume runs only it. */
static void
test_interrupted (void)
{
  g_autofree gchar *dir = gv_test_scratch_dir ();
  g_autofree gchar *clips = g_build_filename (dir, "clips", NULL);
  g_autofree gchar *json = g_build_filename (dir, "quality.json", NULL);
  gchar *err = NULL;
  write_clip (clips, 0, FALSE);
  write_clip (clips, 1, TRUE);

  g_assert_false (bench (&err, "--steps", "2", "--clips", clips, "--json", json, NULL));
  g_assert_nonnull (strstr (err, "clip-0001: the target image has no foreground"));
  g_free (err);
  JsonNode *first = read_json (json);
  g_assert_false (complete (first));
  JsonArray *first_clips = assert_clips (first, 1, FALSE);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (first), "clips_dir"),
      ==, clips);

  write_clip (clips, 1, FALSE);
  g_assert_true (bench (&err, "--steps", "2", "--clips", clips, "--json", json, "--resume",
          NULL));
  assert_progress (err, (const gchar *[]) { "clip-0001 (2/2): ", NULL });
  JsonNode *second = read_json (json);
  g_assert_true (complete (second));
  assert_same_clips (first_clips, assert_clips (second, 2, FALSE), 0, 0);
  json_node_unref (first);
  json_node_unref (second);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/bench-quality/resume", test_resume);
  g_test_add_func ("/bench-quality/interrupted", test_interrupted);
  return g_test_run ();
}
