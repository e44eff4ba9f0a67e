#include "gv-bench-quality-sweep.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "genvideo/gv-background.h"
#include "genvideo/gv-invedit.h"
#include "gv-bench-quality-results.h"
#include "gv-quality-metrics.h"

/* 0.5 and 0 are the elements' defaults (DiffEdit's rule, no dilation) */
const gdouble bq_sweep_thresholds[BQ_SWEEP_THRESHOLDS] = { 0.2, 0.3, 0.4, 0.5, 0.6, 0.7,
  0.8 };
const gint bq_sweep_dilations[BQ_SWEEP_DILATIONS] = { 0, 1, 2 };

void
bq_upsample_masks (const gfloat *masks, gint n, gint lw, gint lh, gint width, gint height,
    guint8 *out)
{
  gfloat *w = gv_background_weights (masks, n, lw, lh, width, height, 0);
  for (gsize i = 0; i < (gsize) n * width * height; i++)
    out[i] = w[i] > 0.5f ? 255 : 0;
  g_free (w);
}

gboolean
bq_sweep_clip (GvClip *clip, gfloat clamp_ratio, const guint8 *edit_masks, gint width,
    gint height, BqSweep *out, GError **error)
{
  gint n = (gint) gv_clip_get_n_frames (clip);
  gint lw = gv_edit_get_latent_width (clip), lh = gv_edit_get_latent_height (clip);
  gsize lsize = (gsize) n * lw * lh, size = (gsize) n * width * height;
  const gfloat *diff = gv_edit_get_differences (clip);
  g_return_val_if_fail (diff != NULL, FALSE);
  gfloat *cut = g_new (gfloat, lsize);
  guint8 *masks = g_new (guint8, size);
  gboolean ok = TRUE;
  for (gint t = 0; t < BQ_SWEEP_THRESHOLDS && ok; t++) {
    for (gint d = 0; d < BQ_SWEEP_DILATIONS && ok; d++) {
      memcpy (cut, diff, lsize * sizeof (gfloat));
      ok = gv_masks_from_differences (cut, n, lh, lw, clamp_ratio, (gfloat) bq_sweep_thresholds[t],
          bq_sweep_dilations[d], error);
      if (!ok)
        break;
      bq_upsample_masks (cut, n, lw, lh, width, height, masks);
      out->iou[t][d] = gv_quality_iou (masks, edit_masks, size);
    }
  }
  out->have = ok;
  g_free (masks);
  g_free (cut);
  return ok;
}

static void
add_table (JsonBuilder *jb, gdouble iou[BQ_SWEEP_THRESHOLDS][BQ_SWEEP_DILATIONS])
{
  json_builder_begin_array (jb);
  for (gint t = 0; t < BQ_SWEEP_THRESHOLDS; t++) {
    json_builder_begin_array (jb);
    for (gint d = 0; d < BQ_SWEEP_DILATIONS; d++)
      json_builder_add_double_value (jb, iou[t][d]);
    json_builder_end_array (jb);
  }
  json_builder_end_array (jb);
}

static void
print_table (gdouble mean[BQ_SWEEP_THRESHOLDS][BQ_SWEEP_DILATIONS], guint clips)
{
  g_printerr ("mask IoU, mean over %u clips (rows: threshold; columns: dilation", clips);
  for (gint d = 0; d < BQ_SWEEP_DILATIONS; d++)
    g_printerr (" %d", bq_sweep_dilations[d]);
  g_printerr (")\n");
  for (gint t = 0; t < BQ_SWEEP_THRESHOLDS; t++) {
    g_printerr ("  %.1f", bq_sweep_thresholds[t]);
    for (gint d = 0; d < BQ_SWEEP_DILATIONS; d++)
      g_printerr ("  %.3f", mean[t][d]);
    g_printerr ("\n");
  }
}

gboolean
bq_sweep_write (const gchar *path, const BqSweep *sweeps, guint n, gboolean print,
    GError **error)
{
  gdouble mean[BQ_SWEEP_THRESHOLDS][BQ_SWEEP_DILATIONS] = { { 0 } };
  guint have = 0;
  JsonBuilder *jb = json_builder_new ();
  json_builder_begin_object (jb);
  json_builder_set_member_name (jb, "thresholds");
  json_builder_begin_array (jb);
  for (gint t = 0; t < BQ_SWEEP_THRESHOLDS; t++)
    json_builder_add_double_value (jb, bq_sweep_thresholds[t]);
  json_builder_end_array (jb);
  json_builder_set_member_name (jb, "dilations");
  json_builder_begin_array (jb);
  for (gint d = 0; d < BQ_SWEEP_DILATIONS; d++)
    json_builder_add_int_value (jb, bq_sweep_dilations[d]);
  json_builder_end_array (jb);
  json_builder_set_member_name (jb, "clips");
  json_builder_begin_array (jb);
  for (guint i = 0; i < n; i++) {
    const BqSweep *s = &sweeps[i];
    if (!s->have)
      continue;
    have++;
    json_builder_begin_object (jb);
    json_builder_set_member_name (jb, "name");
    json_builder_add_string_value (jb, s->name);
    json_builder_set_member_name (jb, "mask_iou");
    add_table (jb, (gdouble (*)[BQ_SWEEP_DILATIONS]) s->iou);
    json_builder_end_object (jb);
    for (gint t = 0; t < BQ_SWEEP_THRESHOLDS; t++)
      for (gint d = 0; d < BQ_SWEEP_DILATIONS; d++)
        mean[t][d] += s->iou[t][d];
  }
  json_builder_end_array (jb);
  for (gint t = 0; t < BQ_SWEEP_THRESHOLDS; t++)
    for (gint d = 0; d < BQ_SWEEP_DILATIONS; d++)
      mean[t][d] = have ? mean[t][d] / have : 0;
  json_builder_set_member_name (jb, "mean");
  add_table (jb, mean);
  json_builder_end_object (jb);

  if (print)
    print_table (mean, have);

  return bq_json_write (path, jb, error);
}
