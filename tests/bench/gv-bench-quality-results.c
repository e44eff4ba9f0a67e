#include <math.h>

#include <json-glib/json-glib.h>

#include "gv-bench-quality-results.h"

G_DEFINE_QUARK (bq-results-error-quark, bq_results_error)

const gchar *const bq_metric_keys[N_METRICS] = {
  "mask_iou", "background_psnr", "edit_psnr", "edit_ssim", "colour_error", "temporal_error",
  "correspondence_error", "correspondence_error_still",
};

const gchar *const bq_variant_keys[N_VARIANTS] = {
  "default", "no_latent_correction", "no_background_preservation", "latent_only_background",
  "no_mask_gating", "no_fine_tuning", "masks_from_v", "per_frame_baseline",
};

static const gchar *const weight_keys[3] = {
  "correction_weight_prev", "correction_weight_current", "correction_weight_next",
};
static const gdouble weight_defaults[3] = {
  BQ_WEIGHT_PREV_DEFAULT, BQ_WEIGHT_CURRENT_DEFAULT, BQ_WEIGHT_NEXT_DEFAULT,
};

static const gchar *const variant_notes[N_VARIANTS] = {
  [V_NO_TUNING] = "the same edit without genvideotune's Tune-A-Video tuning (with "
      "--tune-steps 0 it is the default run itself)",
  [V_MASKS_FROM_V] = "InvEdit masks from differences of the model's own output (v for "
      "SD-2.1-unCLIP) instead of eps",
  [V_PER_FRAME] = "every frame edited alone as a clip of one frame (DiffEdit on images): no "
      "temporal context, no tuning, no latent correction; same masks rule, sampling and "
      "background",
};

gboolean
bq_variant_runs (const BqSettings *s, gint variant)
{
  return variant == V_DEFAULT || s->ablations;
}

Scores
bq_mean (const BqClipResult *results, guint n, gint variant)
{
  Scores out;
  for (gint m = 0; m < N_METRICS; m++) {
    gdouble sum = 0;
    guint count = 0;
    for (guint i = 0; i < n; i++) {
      gdouble v = results[i].scores[variant].m[m];
      if (results[i].have && !isnan (v)) {
        sum += v;
        count++;
      }
    }
    out.m[m] = count ? sum / count : NAN;
  }
  return out;
}

/* ---- writing ---- */

static void
add_scores (JsonBuilder *jb, const Scores *s)
{
  for (gint m = 0; m < N_METRICS; m++) {
    json_builder_set_member_name (jb, bq_metric_keys[m]);
    if (isnan (s->m[m]))
      json_builder_add_null_value (jb);
    else
      json_builder_add_double_value (jb, s->m[m]);
  }
}

static void
add_int (JsonBuilder *jb, const gchar *key, gint64 value)
{
  json_builder_set_member_name (jb, key);
  json_builder_add_int_value (jb, value);
}

static void
add_clip (JsonBuilder *jb, const BqSettings *s, const BqClipResult *r)
{
  json_builder_begin_object (jb);
  json_builder_set_member_name (jb, "name");
  json_builder_add_string_value (jb, r->name);
  add_scores (jb, &r->scores[V_DEFAULT]);
  json_builder_set_member_name (jb, "seconds");
  json_builder_add_double_value (jb, r->seconds);
  if (s->ablations) {
    json_builder_set_member_name (jb, "ablations");
    json_builder_begin_object (jb);
    for (gint v = V_DEFAULT + 1; v < N_VARIANTS; v++) {
      json_builder_set_member_name (jb, bq_variant_keys[v]);
      json_builder_begin_object (jb);
      add_scores (jb, &r->scores[v]);
      json_builder_end_object (jb);
    }
    json_builder_end_object (jb);
  }
  json_builder_end_object (jb);
}

static void
add_means (JsonBuilder *jb, const BqSettings *s, const BqClipResult *results, guint n)
{
  Scores mean = bq_mean (results, n, V_DEFAULT);
  json_builder_set_member_name (jb, "mean");
  json_builder_begin_object (jb);
  add_scores (jb, &mean);
  json_builder_end_object (jb);
  if (!s->ablations)
    return;
  json_builder_set_member_name (jb, "ablations");
  json_builder_begin_object (jb);
  for (gint v = V_DEFAULT + 1; v < N_VARIANTS; v++) {
    mean = bq_mean (results, n, v);
    json_builder_set_member_name (jb, bq_variant_keys[v]);
    json_builder_begin_object (jb);
    add_scores (jb, &mean);
    if (variant_notes[v]) {
      json_builder_set_member_name (jb, "note");
      json_builder_add_string_value (jb, variant_notes[v]);
    }
    json_builder_end_object (jb);
  }
  json_builder_end_object (jb);
}

gboolean
bq_results_write (const gchar *path, const BqSettings *s, const BqClipResult *results,
    guint n, gdouble wall_seconds, gboolean complete, GError **error)
{
  JsonBuilder *jb = json_builder_new ();
  json_builder_begin_object (jb);
  json_builder_set_member_name (jb, "device");
  json_builder_add_string_value (jb, s->device);
  json_builder_set_member_name (jb, "model");
  json_builder_add_string_value (jb, s->model);
  if (s->clips_dir) {
    json_builder_set_member_name (jb, "clips_dir");
    json_builder_add_string_value (jb, s->clips_dir);
  } else {
    add_int (jb, "seed", s->seed);
    add_int (jb, "frames", s->frames);
    add_int (jb, "size", s->size);
  }
  add_int (jb, "steps", s->steps);
  add_int (jb, "tune_steps", s->tune_steps);
  json_builder_set_member_name (jb, "guidance_scale");
  json_builder_add_double_value (jb, s->guidance);
  json_builder_set_member_name (jb, "sampling_guidance_scale");
  json_builder_add_double_value (jb, s->sampling_guidance);
  add_int (jb, "correction_steps", s->correction_steps);
  add_int (jb, "search_radius", s->search_radius);
  for (gint i = 0; i < 3; i++) {
    json_builder_set_member_name (jb, weight_keys[i]);
    json_builder_add_double_value (jb, s->weights[i]);
  }
  json_builder_set_member_name (jb, "mask_labels");
  json_builder_add_string_value (jb, s->mask_labels);
  json_builder_set_member_name (jb, "correction_space");
  json_builder_add_string_value (jb, s->correction_space);
  if (g_strcmp0 (s->given_masks, "none") != 0) {
    json_builder_set_member_name (jb, "given_masks");
    json_builder_add_string_value (jb, s->given_masks);
  }
  if (s->known_fields) {
    json_builder_set_member_name (jb, "known_fields");
    json_builder_add_boolean_value (jb, TRUE);
  }
  json_builder_set_member_name (jb, "complete");
  json_builder_add_boolean_value (jb, complete);
  json_builder_set_member_name (jb, "wall_seconds");
  json_builder_add_double_value (jb, wall_seconds);
  json_builder_set_member_name (jb, "clips");
  json_builder_begin_array (jb);
  for (guint i = 0; i < n; i++)
    if (results[i].have)
      add_clip (jb, s, &results[i]);
  json_builder_end_array (jb);
  add_means (jb, s, results, n);
  json_builder_end_object (jb);
  return bq_json_write (path, jb, error);
}

gboolean
bq_json_write (const gchar *path, JsonBuilder *jb, GError **error)
{
  JsonGenerator *gen = json_generator_new ();
  JsonNode *root = json_builder_get_root (jb);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  gsize len;
  gchar *text = json_generator_to_data (gen, &len);
  /* a temporary file renamed over @path: a kill leaves the old file or the new one */
  gboolean ok = g_file_set_contents (path, text, (gssize) len, error);
  g_free (text);
  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (jb);
  return ok;
}

/* ---- reading back ---- */

static gboolean
mismatch (GError **error, const gchar *path, const gchar *key, const gchar *file_value,
    const gchar *run_value)
{
  g_set_error (error, BQ_RESULTS_ERROR, BQ_RESULTS_ERROR_MISMATCH,
      "%s: setting %s differs (file: %s, this run: %s)", path, key,
      file_value, run_value);
  return FALSE;
}

/* @key of @o as text for the messages, "none" when missing */
static gchar *
member_text (JsonObject *o, const gchar *key)
{
  JsonNode *node = json_object_get_member (o, key);
  return node ? json_to_string (node, FALSE) : g_strdup ("none");
}

static gboolean
check_string (JsonObject *o, const gchar *path, const gchar *key, const gchar *want,
    GError **error)
{
  JsonNode *node = json_object_get_member (o, key);
  if (node && JSON_NODE_HOLDS_VALUE (node) &&
      json_node_get_value_type (node) == G_TYPE_STRING &&
      g_strcmp0 (json_node_get_string (node), want) == 0)
    return TRUE;
  g_autofree gchar *have = member_text (o, key);
  g_autofree gchar *run = g_strdup_printf ("\"%s\"", want);
  return mismatch (error, path, key, have, run);
}

static gboolean
check_int (JsonObject *o, const gchar *path, const gchar *key, gint64 want, GError **error)
{
  JsonNode *node = json_object_get_member (o, key);
  if (node && JSON_NODE_HOLDS_VALUE (node) &&
      json_node_get_value_type (node) == G_TYPE_INT64 && json_node_get_int (node) == want)
    return TRUE;
  g_autofree gchar *have = member_text (o, key);
  g_autofree gchar *run = g_strdup_printf ("%" G_GINT64_FORMAT, want);
  return mismatch (error, path, key, have, run);
}

/* a file without @key was written before the setting existed, at @absent */
static gboolean
check_int_since (JsonObject *o, const gchar *path, const gchar *key, gint64 want, gint64 absent,
    GError **error)
{
  if (json_object_get_member (o, key) == NULL && want == absent)
    return TRUE;
  return check_int (o, path, key, want, error);
}

/* a file without @key was written before the setting existed, at @absent */
static gboolean
check_double (JsonObject *o, const gchar *path, const gchar *key, gdouble want, gdouble absent,
    GError **error)
{
  JsonNode *node = json_object_get_member (o, key);
  if (node == NULL && want == absent)
    return TRUE;
  if (node && JSON_NODE_HOLDS_VALUE (node) &&
      (json_node_get_value_type (node) == G_TYPE_DOUBLE ||
          json_node_get_value_type (node) == G_TYPE_INT64) &&
      json_node_get_double (node) == want)
    return TRUE;
  g_autofree gchar *have = member_text (o, key);
  g_autofree gchar *run = g_strdup_printf ("%g", want);
  return mismatch (error, path, key, have, run);
}

static gboolean
check_settings (JsonObject *o, const gchar *path, const BqSettings *s, GError **error)
{
  if (!check_string (o, path, "model", s->model, error))
    return FALSE;
  if (s->clips_dir) {
    if (!check_string (o, path, "clips_dir", s->clips_dir, error))
      return FALSE;
  } else if (!check_int (o, path, "seed", s->seed, error) ||
      !check_int (o, path, "frames", s->frames, error) ||
      !check_int (o, path, "size", s->size, error)) {
    return FALSE;
  }
  if (!check_int (o, path, "steps", s->steps, error) ||
      !check_int (o, path, "tune_steps", s->tune_steps, error) ||
      !check_double (o, path, "guidance_scale", s->guidance, 7.5, error) ||
      !check_double (o, path, "sampling_guidance_scale", s->sampling_guidance, s->guidance, error) ||
      !check_int_since (o, path, "correction_steps", s->correction_steps,
          MIN (BQ_CORRECTION_STEPS_DEFAULT, s->steps), error) ||
      !check_int_since (o, path, "search_radius", s->search_radius, 0, error))
    return FALSE;
  for (gint i = 0; i < 3; i++)
    if (!check_double (o, path, weight_keys[i], s->weights[i], weight_defaults[i], error))
      return FALSE;
  /* files written before the setting existed ran the paper's */
  if ((json_object_has_member (o, "mask_labels") || g_strcmp0 (s->mask_labels, "paper") != 0) &&
      !check_string (o, path, "mask_labels", s->mask_labels, error))
    return FALSE;
  /* files written before the setting existed blended the latents (the paper's) */
  if ((json_object_has_member (o, "correction_space") ||
          g_strcmp0 (s->correction_space, "latents") != 0) &&
      !check_string (o, path, "correction_space", s->correction_space, error))
    return FALSE;
  /* InvEdit's masks: the key only where ground truth replaced them */
  if ((json_object_has_member (o, "given_masks") || g_strcmp0 (s->given_masks, "none") != 0) &&
      !check_string (o, path, "given_masks", s->given_masks, error))
    return FALSE;
  gboolean file_known = json_object_has_member (o, "known_fields");
  if (file_known != s->known_fields)
    return mismatch (error, path, "known_fields", file_known ? "on" : "off",
        s->known_fields ? "on" : "off");
  gboolean file_ablations = json_object_has_member (o, "ablations");
  if (file_ablations != s->ablations)
    return mismatch (error, path, "ablations", file_ablations ? "on" : "off",
        s->ablations ? "on" : "off");
  return TRUE;
}

static gboolean
invalid (GError **error, const gchar *path, const gchar *what, const gchar *clip)
{
  g_set_error (error, BQ_RESULTS_ERROR, BQ_RESULTS_ERROR_INVALID,
      "%s: %s%s%s", path, clip ? clip : "", clip ? ": " : "", what);
  return FALSE;
}

/* a number, or null (NAN) */
static gboolean
read_number (JsonObject *o, const gchar *key, gdouble *out)
{
  JsonNode *node = json_object_get_member (o, key);
  if (node && JSON_NODE_HOLDS_NULL (node)) {
    *out = NAN;
    return TRUE;
  }
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      (json_node_get_value_type (node) != G_TYPE_DOUBLE &&
          json_node_get_value_type (node) != G_TYPE_INT64))
    return FALSE;
  *out = json_node_get_double (node);
  return TRUE;
}

static gboolean
read_scores (JsonObject *o, Scores *s)
{
  for (gint m = 0; m < N_METRICS; m++) {
    if (m >= BQ_FIRST_LATER_METRIC && !json_object_has_member (o, bq_metric_keys[m]))
      s->m[m] = NAN;
    else if (!read_number (o, bq_metric_keys[m], &s->m[m]))
      return FALSE;
  }
  return TRUE;
}

static JsonObject *
object_member (JsonObject *o, const gchar *key)
{
  JsonNode *node = json_object_get_member (o, key);
  return node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* one entry of the file's clips into @r */
static gboolean
read_clip (JsonObject *c, const gchar *path, const BqSettings *s, BqClipResult *r,
    GError **error)
{
  if (r->have)
    return invalid (error, path, "listed twice", r->name);
  if (!read_scores (c, &r->scores[V_DEFAULT]) || !read_number (c, "seconds", &r->seconds))
    return invalid (error, path, "a figure or seconds is missing or not a number", r->name);
  JsonObject *ablations = s->ablations ? object_member (c, "ablations") : NULL;
  for (gint v = V_DEFAULT + 1; ablations && v < N_VARIANTS; v++) {
    JsonObject *vo = object_member (ablations, bq_variant_keys[v]);
    if (vo == NULL || !read_scores (vo, &r->scores[v]))
      return invalid (error, path, "an ablation's figures are missing", r->name);
  }
  if (s->ablations && ablations == NULL)
    return invalid (error, path, "no ablations", r->name);
  r->have = r->resumed = TRUE;
  return TRUE;
}

gboolean
bq_results_resume (const gchar *path, const BqSettings *s, BqClipResult *results,
    guint n, gdouble *wall_seconds, GError **error)
{
  JsonParser *parser = json_parser_new ();
  gboolean ok = FALSE;
  if (!json_parser_load_from_file (parser, path, error))
    goto out;
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    invalid (error, path, "not a JSON object", NULL);
    goto out;
  }
  JsonObject *o = json_node_get_object (root);
  JsonNode *clips = json_object_get_member (o, "clips");
  if (clips == NULL || !JSON_NODE_HOLDS_ARRAY (clips) ||
      !read_number (o, "wall_seconds", wall_seconds)) {
    invalid (error, path, "no clips or no wall_seconds", NULL);
    goto out;
  }
  if (!check_settings (o, path, s, error))
    goto out;
  JsonArray *a = json_node_get_array (clips);
  for (guint k = 0; k < json_array_get_length (a); k++) {
    JsonNode *cn = json_array_get_element (a, k);
    JsonObject *c = JSON_NODE_HOLDS_OBJECT (cn) ? json_node_get_object (cn) : NULL;
    JsonNode *name = c ? json_object_get_member (c, "name") : NULL;
    if (name == NULL || json_node_get_value_type (name) != G_TYPE_STRING) {
      invalid (error, path, "a clip without a name", NULL);
      goto out;
    }
    const gchar *nm = json_node_get_string (name);
    guint i = 0;
    while (i < n && g_strcmp0 (results[i].name, nm) != 0)
      i++;
    if (i == n)
      g_printerr ("%s: %s is not a clip of this run: left out\n", path, nm);
    else if (!read_clip (c, path, s, &results[i], error))
      goto out;
  }
  ok = TRUE;
out:
  g_object_unref (parser);
  return ok;
}
