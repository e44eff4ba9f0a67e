#include "genvideo/gv-latent-correct.h"

#include <math.h>

gchar *
gv_correction_feature_block (GvUNet *unet)
{
  return g_strdup_printf ("up_blocks.%d", MAX (gv_unet_get_config (unet)->n_blocks - 2, 0));
}

/* frames [first, first + count) of a [F, ...] tensor, as [count, C, S] */
static GvTensor *
frames_view (GvTensor *t, gint64 first, gint64 count)
{
  gint64 c = t->shape[1], s = t->numel / (t->shape[0] * c);
  return GV_VIEW (t, first * c * s, count, c, s);
}

/* [F, C, S]: rows 1.. from the previous frames through @index (@towards_prev), or rows ..F-2
 * from the next frames; the row without a neighbour is a copy of @z (its weight is 0) */
static GvTensor *
neighbours (GvCmd *cmd, GvTensor *z3, GvTensor *index, gboolean towards_prev)
{
  gint64 f = z3->shape[0];
  GvTensor *out = gv_tensor_like (cmd, z3);
  gint64 c = z3->shape[1], s = z3->shape[2];
  /* the gather moves positions: [frames, C, positions, 1] */
  GvTensor *src = GV_VIEW (z3, (towards_prev ? 0 : 1) * c * s, f - 1, c, s, 1);
  GvTensor *dst = GV_VIEW (out, (towards_prev ? 1 : 0) * c * s, f - 1, c, s, 1);
  gv_op_gather (cmd, dst, src, index);
  GvTensor *edge_src = frames_view (z3, towards_prev ? 0 : f - 1, 1);
  GvTensor *edge_dst = frames_view (out, towards_prev ? 0 : f - 1, 1);
  gv_tensor_record_copy (cmd, edge_dst, edge_src);
  gv_tensor_unref (edge_src);
  gv_tensor_unref (edge_dst);
  gv_tensor_unref (src);
  gv_tensor_unref (dst);
  return out;
}

static GvTensor *
frame_weights (GvCmd *cmd, gint64 f, const GvCorrectParams *p, gint which)
{
  gfloat *w = g_new (gfloat, f);
  for (gint64 i = 0; i < f; i++) {
    gdouble wp = i > 0 ? p->weight_prev : 0, wn = i < f - 1 ? p->weight_next : 0;
    gdouble wc = p->weight_current, sum = wp + wc + wn;
    gdouble v = which < 0 ? wp : which > 0 ? wn : wc;
    w[i] = (gfloat) (sum > 0 ? v / sum : (which == 0 ? 1 : 0));
  }
  GvTensor *t = GV_TENSOR (cmd, f, 1, 1);
  gv_tensor_record_upload (cmd, t, w);
  g_free (w);
  return t;
}

static GvTensor *
given_field (GvCmd *cmd, const gint32 *field, gint64 pairs, gint64 hw)
{
  GvTensor *t = gv_tensor_alloc_typed (cmd, GV_DTYPE_I32, 2, (const gint64[]) { pairs, hw });
  gv_tensor_record_upload (cmd, t, field);
  return t;
}

void
gv_correction_matches_clear (GvCorrectionMatches *m)
{
  g_clear_pointer (&m->scores, gv_tensor_unref);
  g_clear_pointer (&m->from_prev, gv_tensor_unref);
  g_clear_pointer (&m->from_next, gv_tensor_unref);
}

GvTensor *
gv_correct_latents (GvCmd *cmd, GvTensor *z, GvTensor *features, GvTensor *mask,
    const GvCorrectParams *p, GvCorrectionMatches *matches)
{
  gint64 f = z->shape[0], hw = z->shape[2] * z->shape[3];

  if (matches)
    *matches = (GvCorrectionMatches) { NULL, NULL, NULL };
  if (f < 2)
    return gv_tensor_ref (z);

  GvTensor *index_prev = gv_tensor_alloc_typed (cmd, GV_DTYPE_I32, 2,
      (const gint64[]) { f - 1, hw });
  GvTensor *index_next = gv_tensor_alloc_typed (cmd, GV_DTYPE_I32, 2,
      (const gint64[]) { f - 1, hw });
  GvTensor *score = GV_TENSOR (cmd, 2 * (f - 1), hw);
  GvTensor *score_prev = GV_VIEW (score, 0, f - 1, hw);
  GvTensor *score_next = GV_VIEW (score, (f - 1) * hw, f - 1, hw);
  gint64 cf = features->shape[1], fh = features->shape[2], fw = features->shape[3];
  GvTensor *later = GV_VIEW (features, cf * fh * fw, f - 1, cf, fh, fw);
  GvTensor *earlier = GV_VIEW (features, 0, f - 1, cf, fh, fw);
  /* N_prev for frames 1..F-1 looks into frames 0..F-2, N_next the other way */
  gv_op_nn_search (cmd, index_prev, score_prev, later, earlier, p->search_radius);
  gv_op_nn_search (cmd, index_next, score_next, earlier, later, p->search_radius);
  gv_tensor_unref (later);
  gv_tensor_unref (earlier);
  gv_tensor_unref (score_prev);
  gv_tensor_unref (score_next);
  if (p->given_fields) {
    gv_tensor_unref (index_prev);
    gv_tensor_unref (index_next);
    index_prev = given_field (cmd, p->given_fields, f - 1, hw);
    index_next = given_field (cmd, p->given_fields + (f - 1) * hw, f - 1, hw);
  }

  GvTensor *z3 = frames_view (z, 0, f);
  GvTensor *prev = neighbours (cmd, z3, index_prev, TRUE);
  GvTensor *next = neighbours (cmd, z3, index_next, FALSE);
  GvTensor *wp = frame_weights (cmd, f, p, -1);
  GvTensor *wc = frame_weights (cmd, f, p, 0);
  GvTensor *wn = frame_weights (cmd, f, p, 1);
  GvTensor *sum = gv_tensor_like (cmd, z3), *term = gv_tensor_like (cmd, z3);
  gv_op_mul (cmd, sum, prev, wp);
  gv_op_mul (cmd, term, z3, wc);
  gv_op_add (cmd, sum, sum, term);
  gv_op_mul (cmd, term, next, wn);
  gv_op_add (cmd, sum, sum, term);

  GvTensor *out = gv_tensor_like (cmd, z);
  GvTensor *out3 = frames_view (out, 0, f);
  GvTensor *mask3 = GV_VIEW (mask, 0, f, 1, hw);
  gv_op_blend (cmd, out3, sum, z3, mask3);

  GvTensor *drop[] = { z3, prev, next, wp, wc, wn, sum, term, out3, mask3 };
  for (guint i = 0; i < G_N_ELEMENTS (drop); i++)
    gv_tensor_unref (drop[i]);
  GvCorrectionMatches m = { score, index_prev, index_next };
  if (matches)
    *matches = m;
  else
    gv_correction_matches_clear (&m);
  return out;
}

typedef struct {
  const gchar *block;
  gint64 first_row;     /* the conditional clip's first image in the guided batch */
  gint64 frames;
  GvTensor *features;
} FeatureTap;

static void
tap_features (const gchar *name, GvCmd *cmd, GvTensor *t, gpointer data)
{
  FeatureTap *ft = data;
  if (g_strcmp0 (name, ft->block) != 0)
    return;
  gint64 per = t->numel / t->shape[0];
  g_clear_pointer (&ft->features, gv_tensor_unref);
  ft->features = GV_VIEW (t, ft->first_row * per, ft->frames, t->shape[1], t->shape[2],
      t->shape[3]);
}

static gdouble
mean_of (const gfloat *v, gsize n)
{
  gdouble sum = 0;
  for (gsize i = 0; i < n; i++)
    sum += v[i];
  return n ? sum / n : 0;
}

/* a correction's matches on the host, for its GvCorrectionFunc */
typedef struct {
  gfloat *scores;
  gsize n_scores;
  gint32 *from_prev, *from_next;
} HostMatches;

static void
download_matches (GvCmd *cmd, const GvCorrectionMatches *m, HostMatches *host)
{
  host->n_scores = m->scores->numel;
  host->scores = g_new (gfloat, m->scores->numel);
  host->from_prev = g_new (gint32, m->from_prev->numel);
  host->from_next = g_new (gint32, m->from_next->numel);
  gv_tensor_record_download (cmd, m->scores, host->scores);
  gv_tensor_record_download (cmd, m->from_prev, host->from_prev);
  gv_tensor_record_download (cmd, m->from_next, host->from_next);
}

static void
report_matches (const HostMatches *host, GvTensor *z, gint step, GvCorrectionFunc func,
    gpointer data)
{
  GvCorrectionReport r = {
    .step = step, .mean_cosine = mean_of (host->scores, host->n_scores),
    .frames = (gint) z->shape[0], .height = (gint) z->shape[2], .width = (gint) z->shape[3],
    .from_prev = host->from_prev, .from_next = host->from_next,
  };
  func (&r, data);
}

static void
host_matches_clear (HostMatches *host)
{
  g_free (host->scores);
  g_free (host->from_prev);
  g_free (host->from_next);
}

static void
correct_in_place (GvCmd *cmd, GvTensor **z, GvTensor *features, GvTensor *mask,
    const GvCorrectParams *p, GvCorrectionMatches *matches)
{
  GvTensor *corrected = gv_correct_latents (cmd, *z, features, mask, p, matches);
  gv_tensor_unref (*z);
  *z = corrected;
}

/* z_{t-1} = sqrt (a_prev) x0 + sqrt (1 - a_prev) eps: the corrected x0 replaces x0 and the
 * frame's own eps stays, i.e. z += sqrt (a_prev) (corrected x0 - x0) */
static void
correct_prediction (GvCmd *cmd, GvTensor *z, GvTensor *x0, GvTensor *features, GvTensor *mask,
    const GvCorrectParams *p, gfloat a_prev, GvCorrectionMatches *matches)
{
  GvTensor *corrected = gv_correct_latents (cmd, x0, features, mask, p, matches);
  gv_op_binary (cmd, corrected, corrected, x0, GV_BINARY_ADD, 1.0f, -1.0f);
  gv_op_binary (cmd, z, z, corrected, GV_BINARY_ADD, 1.0f, sqrtf (a_prev));
  gv_tensor_unref (corrected);
}

GvTensor *
gv_latent_correct (GvDenoiser *d, GvScheduler *s, GvCmd *cmd, GvInversion *inv,
    const GvCondition *trg, GvTensor *mask, const GvCorrectParams *p, GvProgressFunc progress,
    gpointer progress_data, GvCorrectionFunc on_correction, gpointer correction_data,
    GError **error)
{
  GvDenoiser gated = *d;
  gint *timesteps = gv_scheduler_timesteps (s, p->steps);
  /* the inversion's level at our first timestep: Z_T when it ran as many steps as we do,
   * else the DDIM-consistent level (a start at another noise level would be sampled as if it
   * were at ours) */
  GvTensor *z = gv_inversion_at (inv, s, cmd, timesteps[0]);
  gint64 f = z->shape[0];
  /* the features of the conditional clip: the second of the guided batch */
  FeatureTap ft = { gv_correction_feature_block (d->unet), p->guidance_scale > 1.0f ? f : 0, f };

  gated.guidance_scale = p->guidance_scale;
  gated.mask = p->ungated ? NULL : mask;
  for (gint i = 0; i < p->steps; i++) {
    gint t = timesteps[i];
    gboolean correct = i < p->correction_steps && f > 1;
    GvTensor *eps = NULL;
    gv_denoise (&gated, cmd, t, 1, &z, &trg, &eps, correct ? tap_features : NULL, &ft);
    GvTensor *next = gv_tensor_like (cmd, z);
    gboolean on_x0 = correct && p->space == GV_CORRECTION_PREDICTIONS;
    GvTensor *x0 = on_x0 ? gv_tensor_like (cmd, z) : NULL;
    gv_scheduler_step (s, cmd, p->steps, t, eps, z, next, x0);
    gv_tensor_unref (eps);
    gv_tensor_unref (z);
    z = next;

    GvCorrectionMatches matches = { NULL, NULL, NULL };
    if (correct && ft.features != NULL) {
      GvCorrectionMatches *want = on_correction ? &matches : NULL;
      if (on_x0)
        correct_prediction (cmd, z, x0, ft.features, mask, p,
            gv_scheduler_alpha_after_step (s, p->steps, t), want);
      else
        correct_in_place (cmd, &z, ft.features, mask, p, want);
      g_clear_pointer (&ft.features, gv_tensor_unref);
    }
    g_clear_pointer (&x0, gv_tensor_unref);
    if (p->preserve_background) {
      gint prev_t = i + 1 < p->steps ? timesteps[i + 1] : -1;
      GvTensor *src = gv_inversion_at (inv, s, cmd, prev_t);
      gv_op_blend (cmd, z, z, src, mask);
      gv_tensor_unref (src);
    }
    HostMatches host = { 0 };
    if (matches.scores != NULL)
      download_matches (cmd, &matches, &host);
    gboolean ok = gv_cmd_finish (cmd, error);
    if (ok && host.scores)
      report_matches (&host, z, i, on_correction, correction_data);
    host_matches_clear (&host);
    gv_correction_matches_clear (&matches);
    if (!ok) {
      g_clear_pointer (&z, gv_tensor_unref);
      break;
    }
    if (progress)
      progress ("sampling", i + 1, p->steps, progress_data);
  }
  g_free (timesteps);
  g_free ((gchar *) ft.block);
  return z;
}
