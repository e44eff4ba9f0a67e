/* gv-golden [--manifest FILE] [--check] CHECKPOINT_DIR CASES_DIR [CASE...]: every case of the
 * manifest (or the ones named) through our implementation; one line per compared tensor; exit
 * status 1 when any fails or anything the manifest expects is missing, 77 when every case
 * asked for is marked as not implemented yet. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "gv-golden.h"
#include "gv-test-util.h"

typedef struct {
  gchar *name;                /* inter.<module> */
  gfloat *data;
  gint64 shape[GV_MAX_DIMS];
  gint frames;
} Tap;

static void
tap_free (Tap *t)
{
  g_free (t->name);
  g_free (t->data);
  g_free (t);
}

/* one line of the output; @compared: the line is a comparison, counted in the summary */
static void
report (Golden *g, const gchar *label, gboolean pass, gboolean compared, const gchar *detail)
{
  g->compared += compared;
  if (!pass)
    g->failed++;
  g_print ("%-28s %-58s %s  %s\n", g->case_name, label, detail, pass ? "PASS" : "FAIL");
}

void
golden_fail_printf (Golden *g, const gchar *what, const gchar *format, ...)
{
  va_list args;
  va_start (args, format);
  gchar *why = g_strdup_vprintf (format, args);
  va_end (args);
  report (g, what, FALSE, FALSE, why);
  g_free (why);
}

void
golden_compare (Golden *g, const gchar *ref_name, const gchar *label, const gfloat *ours,
    gsize n)
{
  golden_compare_with (g, ref_name, label, ours, n, NULL);
}

void
golden_compare_with (Golden *g, const gchar *ref_name, const gchar *label, const gfloat *ours,
    gsize n, const GvCaseTolerance *forced)
{
  GError *error = NULL;
  GvCaseTolerance tol = { "rel_l2", 1e-4 };
  gfloat *ref = gv_case_read_f32 (g->c, ref_name, &error);
  label = label ? label : ref_name;

  if (ref == NULL) {
    golden_fail (g, label, error);
    g_clear_error (&error);
    return;
  }
  g_hash_table_add (g->done, g_strdup (ref_name));
  if (forced)
    tol = *forced;
  else
    gv_case_get_tolerance (g->c, ref_name, &tol);
  if ((gsize) gv_case_get_numel (g->c, ref_name) != n) {
    gchar *d = g_strdup_printf ("size %" G_GSIZE_FORMAT " vs %" G_GINT64_FORMAT, n,
        gv_case_get_numel (g->c, ref_name));
    report (g, label, FALSE, TRUE, d);
    g_free (d);
  } else if (g_strcmp0 (tol.metric, "exact") == 0) {
    gsize diff = 0;
    for (gsize i = 0; i < n; i++)
      diff += ours[i] != ref[i];
    gchar *d = g_strdup_printf ("%" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " differ (exact)",
        diff, n);
    report (g, label, diff == 0, TRUE, d);
    g_free (d);
  } else {
    gdouble err = gv_test_rel_l2 (ours, ref, n);
    gchar *d = g_strdup_printf ("rel_l2=%.3e  tol=%.0e", err, tol.value);
    report (g, label, err <= tol.value, TRUE, d);
    g_free (d);
  }
  g_free (ref);
}

void
golden_compare_i64 (Golden *g, const gchar *ref_name, const gint64 *ours, gsize n)
{
  GError *error = NULL;
  gint64 *ref = gv_case_read_i64 (g->c, ref_name, &error);
  if (ref == NULL) {
    golden_fail (g, ref_name, error);
    g_clear_error (&error);
    return;
  }
  g_hash_table_add (g->done, g_strdup (ref_name));
  gsize diff = 0;
  gboolean same_size = (gsize) gv_case_get_numel (g->c, ref_name) == n;
  for (gsize i = 0; same_size && i < n; i++)
    diff += ours[i] != ref[i];
  gchar *d = same_size ? g_strdup_printf ("%" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
      " differ (exact)", diff, n) : g_strdup ("different size");
  report (g, ref_name, same_size && diff == 0, TRUE, d);
  g_free (d);
  g_free (ref);
}

void
golden_fail (Golden *g, const gchar *what, const GError *error)
{
  gchar *d = g_strdup_printf ("error: %s", error ? error->message : "failed");
  report (g, what, FALSE, FALSE, d);
  g_free (d);
}

void
golden_tap (const gchar *name, GvCmd *cmd, GvTensor *t, gpointer data)
{
  Golden *g = data;
  gchar *ref = g_strconcat ("inter.", name, NULL);
  if (!gv_case_has_tensor (g->c, ref) || g_strcmp0 (ref, g->drop_tap) == 0) {
    g_free (ref);
    return;
  }
  Tap *tap = g_new0 (Tap, 1);
  tap->name = ref;
  tap->data = g_new (gfloat, t->numel);
  memcpy (tap->shape, t->shape, sizeof (tap->shape));
  tap->frames = g->tap_frames;
  /* recorded in stream order: the values are those the network had at this point */
  gv_tensor_record_download (cmd, t, tap->data);
  g_ptr_array_add (g->taps, tap);
}

/* (B*F, C, H, W) -> (B, C, F, H, W) */
static gfloat *
images_to_video (const gfloat *x, const gint64 *shape, gint frames)
{
  gint64 n = shape[0], c = shape[1], hw = shape[2] * shape[3], b = n / frames;
  gfloat *out = g_new (gfloat, n * c * hw);
  for (gint64 i = 0; i < b; i++)
    for (gint64 f = 0; f < frames; f++)
      for (gint64 k = 0; k < c; k++)
        memcpy (out + ((i * c + k) * frames + f) * hw, x + ((i * frames + f) * c + k) * hw,
            hw * sizeof (gfloat));
  return out;
}

void
golden_compare_taps (Golden *g)
{
  for (guint i = 0; i < g->taps->len; i++) {
    Tap *t = g_ptr_array_index (g->taps, i);
    gint64 ref_shape[GV_ST_MAX_DIMS];
    gint ref_nd = gv_case_get_shape (g->c, t->name, ref_shape);
    gsize n = 1;
    for (gint d = 0; d < GV_MAX_DIMS; d++)
      n *= t->shape[d];
    if (t->frames > 1 && ref_nd == 5) {
      gfloat *video = images_to_video (t->data, t->shape, t->frames);
      golden_compare (g, t->name, NULL, video, n);
      g_free (video);
    } else {
      golden_compare (g, t->name, NULL, t->data, n);
    }
  }
  g_ptr_array_set_size (g->taps, 0);
}

GvTensor *
golden_input (Golden *g, const gchar *name)
{
  GError *error = NULL;
  gint64 shape[GV_ST_MAX_DIMS];
  gint nd = gv_case_get_shape (g->c, name, shape);
  gfloat *data = gv_case_read_f32 (g->c, name, &error);
  GvTensor *t = NULL;

  if (data != NULL && (nd < 1 || nd > GV_MAX_DIMS)) {
    g_set_error (&error, GV_ERROR, GV_ERROR_INVALID, "tensor %s has %d dimensions", name, nd);
    g_clear_pointer (&data, g_free);
  }
  if (data != NULL)
    t = gv_tensor_new_from_data (g->dev, nd, shape, data, &error);
  if (t == NULL)
    golden_fail (g, name, error);
  g_clear_error (&error);
  g_free (data);
  return t;
}

GvModel *
golden_model (Golden *g)
{
  GError *error = NULL;
  if (g->model == NULL) {
    g->model = gv_model_get_shared (g->dev, g->checkpoint, &error);
    if (g->model == NULL)
      golden_fail (g, "checkpoint", error);
    g_clear_error (&error);
  }
  return g->model;
}

gboolean
golden_finish (Golden *g, GvCmd *cmd, const gchar *what)
{
  GError *error = NULL;
  if (gv_cmd_finish (cmd, &error))
    return TRUE;
  golden_fail (g, what, error);
  g_error_free (error);
  return FALSE;
}

/* the kind of a case: its name up to the variant ("unet_t501" -> "unet", "tav_unet3d_cfg" ->
 * "tav_unet3d", "image_encoder_uint8" -> "image_encoder") */
static const gchar *const kinds[] = {
  "tokenizer", "text_encoder", "image_encoder", "image_noising", "unet", "tav_unet3d",
  "tav_train_step", "vae_encode", "vae_decode", "scheduler", "pipeline",
};

static const gchar *
case_kind (const gchar *name)
{
  const gchar *best = NULL;
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++) {
    gsize len = strlen (kinds[i]);
    if (strncmp (name, kinds[i], len) == 0 && (name[len] == '\0' || name[len] == '_') &&
        (best == NULL || len > strlen (best)))
      best = kinds[i];
  }
  return best;
}

static void
run_case (Golden *g)
{
  const gchar *kind = case_kind (g->case_name);

  if (kind == NULL)
    golden_fail_printf (g, "-", "unknown kind of case: no runner");
  else if (!golden_run_text (g, kind) && !golden_run_image (g, kind) &&
      !golden_run_unet (g, kind) && !golden_run_vae (g, kind) && !golden_run_pipeline (g, kind))
    golden_fail_printf (g, "-", "no runner for the kind %s", kind);
}

/* one case: what the manifest expects of its files, then the run (unless @check_only) and
 * what it compared */
static void
do_case (Golden *g, const GoldenManifest *m, const gchar *name, gboolean check_only)
{
  g->case_name = name;
  g->expect = golden_manifest_find (m, name);
  if (g->expect == NULL) {
    golden_fail_printf (g, "-", "not in the manifest: add it to golden-manifest.txt");
    return;
  }
  g->c = golden_expect_open (g);
  if (g->c == NULL)
    return;
  golden_expect_tensors (g);
  if (g->expect->skip != NULL) {
    g_print ("%-28s %-58s %s  SKIP\n", name, "-", g->expect->skip);
    g->skipped++;
  } else {
    if (!check_only) {
      g_hash_table_remove_all (g->done);
      g->tap_frames = 1;
      run_case (g);
      g_ptr_array_set_size (g->taps, 0);
      golden_expect_compared (g);
    }
    g->cases_run++;
  }
  g_clear_pointer (&g->c, gv_case_free);
}

/* the cases of the manifest, then any other case of the folder (a failure in do_case) */
static GPtrArray *
all_cases (Golden *g, const GoldenManifest *m)
{
  GError *error = NULL;
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < m->cases->len; i++)
    g_ptr_array_add (names, g_strdup (((GoldenManifestCase *) g_ptr_array_index (m->cases,
                    i))->name));
  gchar **found = gv_case_list (g->cases_dir, &error);
  if (found == NULL) {
    g->case_name = "-";
    golden_fail (g, "cases folder", error);
    g_clear_error (&error);
  }
  for (gchar **n = found; n && *n; n++)
    if (golden_manifest_find (m, *n) == NULL)
      g_ptr_array_add (names, g_strdup (*n));
  g_strfreev (found);
  return names;
}

int
main (int argc, char **argv)
{
  GError *error = NULL;
  Golden g = { 0 };
  gchar *manifest_path = NULL, *drop_tap = NULL;
  gboolean check_only = FALSE;
  GOptionEntry options[] = {
    { "manifest", 'm', 0, G_OPTION_ARG_FILENAME, &manifest_path,
      "The expected cases and tensors (default: " GV_GOLDEN_MANIFEST ")", "FILE" },
    { "check", 'c', 0, G_OPTION_ARG_NONE, &check_only,
      "Check the case files against the manifest only: no device, nothing run", NULL },
    { "drop-tap", 0, 0, G_OPTION_ARG_STRING, &drop_tap,
      "Ignore the tap inter.NAME (to test that a lost tap fails)", "inter.NAME" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("CHECKPOINT_DIR CASES_DIR [CASE...]");
  g_option_context_set_summary (ctx, "Runs golden reference cases through gst-genvideo's "
      "implementation and prints the relative\nL2 error of every output and intermediate "
      "against its tolerance. A case, file, tensor or\ntap the manifest expects and that is "
      "missing is a failure.");
  g_option_context_add_main_entries (ctx, options, NULL);
  gboolean parsed = g_option_context_parse (ctx, &argc, &argv, &error);
  if (!parsed || argc < 3) {
    gchar *help = g_option_context_get_help (ctx, TRUE, NULL);
    g_printerr ("%s%s", parsed ? "" : error->message, help);
    return 2;
  }
  g_option_context_free (ctx);
  g.checkpoint = argv[1];
  g.cases_dir = argv[2];
  g.drop_tap = drop_tap;
  GoldenManifest *manifest = golden_manifest_load (manifest_path ? manifest_path :
      GV_GOLDEN_MANIFEST, &error);
  if (manifest != NULL && !check_only) {
    g.cfg = gv_checkpoint_config_load (g.checkpoint, &error);
    g.dev = g.cfg ? gv_device_get_shared (-1, &error) : NULL;
  }
  if (manifest == NULL || (!check_only && g.dev == NULL)) {
    g_printerr ("gv-golden: %s\n", error->message);
    return 2;
  }
  if (g.dev != NULL)
    g_print ("gv-golden: %s on %s\n", g.checkpoint, gv_device_get_name (g.dev));
  g.taps = g_ptr_array_new_with_free_func ((GDestroyNotify) tap_free);
  g.done = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  GPtrArray *names = argc > 3 ? g_ptr_array_new () : all_cases (&g, manifest);
  for (gint i = 3; i < argc; i++)
    g_ptr_array_add (names, argv[i]);
  for (guint i = 0; i < names->len; i++)
    do_case (&g, manifest, g_ptr_array_index (names, i), check_only);

  g_print ("gv-golden: %u cases, %d compared, %d failed, %d not implemented yet%s\n",
      names->len, g.compared, g.failed, g.skipped, check_only ? " (files checked only)" : "");
  gint status = g.failed ? 1 : g.cases_run > 0 ? 0 : g.skipped > 0 ? 77 : 1;
  if (status == 1 && g.failed == 0)
    g_print ("gv-golden: no case ran\n");
  g_ptr_array_unref (names);
  g_hash_table_unref (g.done);
  g_ptr_array_unref (g.taps);
  g_clear_pointer (&g.model, gv_model_unref);
  g_clear_pointer (&g.cfg, gv_checkpoint_config_free);
  g_clear_pointer (&g.dev, gv_device_unref);
  golden_manifest_free (manifest);
  g_free (manifest_path);
  g_free (drop_tap);
  return status;
}
