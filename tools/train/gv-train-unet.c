#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "gv-train-unet.h"
#include "gv-train-cache.h"
#include "gv-train-data.h"
#include "genvideo/gv-frames.h"
#include "models/gv-diffusion-example.h"
#include "models/gv-random.h"
#include "models/gv-unet-train.h"

#define MAX_GRAD_NORM 1.0f
enum {
  DRAW_T, DRAW_OBJECT, DRAW_DROP_TEXT, DRAW_DROP_IMAGE, DRAW_LEVEL, DRAW_DROP_BOTH,
  DRAW_CROP_X, DRAW_CROP_Y
};

typedef struct {
  GvModel *model;
  GvUNetTrainer *tr;
  GvScheduler *sched;
  const GvTrainRecipe *r;
  GvCmd *cmd;
  /* with unet_examples: each example's latents, caption embedding, and frame and object image
   * embeddings, kept from its first pass */
  GvTrainCache *latents, *texts, *frame_embeds, *object_embeds;
  GvTensor *empty_prompt;   /* the text condition when it is dropped */
  gchar *cache_path;        /* where the caches are kept for a resumed run */
  gint cache_written;       /* their filled slots when last written */
} UNetStage;

#define CACHE_FILE "unet-cache.safetensors"
#define N_CACHES 4

/* the caches and their names in the cache file */
static const gchar *const cache_names[N_CACHES] = {
  "latents", "texts", "frame_embeds", "object_embeds",
};

static void
stage_caches (UNetStage *s, GvTrainCache *out[N_CACHES])
{
  out[0] = s->latents;
  out[1] = s->texts;
  out[2] = s->frame_embeds;
  out[3] = s->object_embeds;
}

static gint
cache_filled (UNetStage *s)
{
  GvTrainCache *c[N_CACHES];
  stage_caches (s, c);
  gint n = 0;
  for (gint i = 0; i < N_CACHES; i++)
    n += gv_train_cache_get_n_filled (c[i]);
  return n;
}

/* at each checkpoint, the caches when they gained slots: a resumed run would otherwise encode
 * its whole example set again (0.2 s an example, AMD EPYC, lavapipe). Their values depend on
 * the example alone, not on the UNet's progress, so any file of the same run is valid. */
static gboolean
write_caches (gpointer data, GError **error)
{
  UNetStage *s = data;
  gint filled = cache_filled (s);
  if (filled == s->cache_written)
    return TRUE;
  if (!gv_cmd_finish (s->cmd, error))
    return FALSE;
  GvTrainCache *c[N_CACHES];
  stage_caches (s, c);
  g_autoptr (GvStWriter) w = gv_st_writer_new ();
  for (gint i = 0; i < N_CACHES; i++)
    if (!gv_train_cache_write (c[i], w, cache_names[i], error))
      return FALSE;
  if (!gv_st_writer_write (w, s->cache_path, error))
    return FALSE;
  s->cache_written = filled;
  return TRUE;
}

/* a resumed stage's caches from its file; a stage that starts afresh drops any file */
static gboolean
read_caches (UNetStage *s, GvTrainRun *run, GError **error)
{
  if (gv_train_run_get_checkpoint_step (run, GV_STAGE_UNET) == 0 ||
      !g_file_test (s->cache_path, G_FILE_TEST_EXISTS)) {
    g_unlink (s->cache_path);
    return TRUE;
  }
  g_autoptr (GvSafetensors) st = gv_safetensors_open (s->cache_path, error);
  if (st == NULL)
    return FALSE;
  GvTrainCache *c[N_CACHES];
  stage_caches (s, c);
  for (gint i = 0; i < N_CACHES; i++)
    if (!gv_train_cache_read (c[i], s->cmd, st, cache_names[i], error))
      return FALSE;
  s->cache_written = cache_filled (s);
  return TRUE;
}

/* The world example of sampler position @pos: with a set of unet_examples examples, example
 * pos mod n */
static guint64
example_index (const GvTrainRecipe *r, guint64 pos)
{
  return r->unet_examples > 0 ? pos % (guint64) r->unet_examples : pos;
}

/* its noise seed: the example's own, salted by the pass (a new noise each pass) */
static guint64
noise_seed (const GvTrainRecipe *r, const GvTrainExample *ex, guint64 pos)
{
  guint64 pass = r->unet_examples > 0 ? pos / (guint64) r->unet_examples : 0;
  return ex->noise_seed ^ (pass * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));
}

/* The latents of the batch: without a cache, the frames encoded; with one, the missing
 * examples encoded into it, then all of them gathered from it. */
static GvTensor *
batch_latents (UNetStage *s, const GvTrainExample *ex, const gint *slot, gint n, gint size)
{
  GvPicture *pics = g_new (GvPicture, n);
  gint *which = g_new (gint, n);
  gint missing = 0;
  for (gint b = 0; b < n; b++)
    if (s->latents == NULL || !gv_train_cache_has (s->latents, slot[b])) {
      pics[missing] = (GvPicture) { ex[b].frame, size * 3 };
      which[missing++] = b;
    }
  GvTensor *fresh = NULL;
  if (missing > 0) {
    g_autofree gfloat *images = gv_pictures_to_images (pics, missing, size, size,
        GV_PIXELS_RGB);
    fresh = gv_encode_images (s->model, s->cmd, images, missing, size, size);
  }
  g_free (pics);
  if (s->latents != NULL) {
    for (gint m = 0; m < missing; m++) {
      const gint64 *sh = fresh->shape;
      GvTensor *zm = GV_VIEW (fresh, m * (fresh->numel / missing), 1, sh[1], sh[2], sh[3]);
      gv_train_cache_store (s->latents, s->cmd, slot[which[m]], zm);
      gv_tensor_unref (zm);
    }
    g_clear_pointer (&fresh, gv_tensor_unref);
    fresh = gv_train_cache_gather (s->latents, s->cmd, slot, n);
  }
  g_free (which);
  return fresh;
}

/* @slot's value of @cache, computed by @compute (and kept) on its first use; without a cache,
 * computed every time */
typedef GvTensor *(*ComputeFunc) (UNetStage *s, const GvTrainExample *ex);

static void
cached (UNetStage *s, GvTrainCache *cache, gint slot, ComputeFunc compute,
    const GvTrainExample *ex, GvTensor *dst)
{
  if (cache == NULL || !gv_train_cache_has (cache, slot)) {
    GvTensor *v = compute (s, ex);
    if (cache != NULL)
      gv_train_cache_store (cache, s->cmd, slot, v);
    gv_tensor_record_copy (s->cmd, dst, v);
    gv_tensor_unref (v);
  } else {
    gv_train_cache_load (cache, s->cmd, slot, dst);
  }
}

static GvTensor *
caption_embedding (UNetStage *s, const GvTrainExample *ex)
{
  return gv_model_encode_prompt (s->model, s->cmd, ex->caption);
}

static GvTensor *
frame_embedding (UNetStage *s, const GvTrainExample *ex)
{
  return gv_model_encode_image (s->model, s->cmd, ex->frame, ex->width, ex->height,
      ex->width * 3);
}

static GvTensor *
object_embedding (UNetStage *s, const GvTrainExample *ex)
{
  return gv_model_encode_image (s->model, s->cmd, ex->object, ex->width, ex->height,
      ex->width * 3);
}

static gboolean
chance (const GvTrainRecipe *r, guint64 index, guint what, gdouble p)
{
  return gv_train_draw (r->seed, GV_TRAIN_STREAM_UNET, index, what, 1000000) < p * 1e6;
}

void
gv_train_unet_drops (const GvTrainRecipe *r, guint64 index, gboolean *drop_text,
    gboolean *drop_image)
{
  gboolean both = chance (r, index, DRAW_DROP_BOTH, r->uncond_dropout);
  *drop_text = both || chance (r, index, DRAW_DROP_TEXT, r->text_dropout);
  *drop_image = both || chance (r, index, DRAW_DROP_IMAGE, r->image_dropout);
}

gint
gv_train_unet_image_level (const GvTrainRecipe *r, guint64 index, gint levels)
{
  gint top = MIN (r->unet_image_noise_max, levels - 1);
  return (gint) gv_train_draw (r->seed, GV_TRAIN_STREAM_UNET, index, DRAW_LEVEL,
      (guint32) top + 1);
}

/* one axis of the crop's corner: @centre (latent pixels) at least a quarter of the crop from
 * its edges, the crop inside [0, @latent) */
static gint
crop_start (const GvTrainRecipe *r, guint64 pos, guint what, gdouble centre, gint latent,
    gint crop)
{
  gint lo = (gint) ceil (centre - crop * 0.75), hi = (gint) floor (centre - crop * 0.25);
  lo = CLAMP (lo, 0, latent - crop);
  hi = CLAMP (hi, lo, latent - crop);
  return lo + (gint) gv_train_draw (r->seed, GV_TRAIN_STREAM_UNET, pos, what,
      (guint32) (hi - lo + 1));
}

void
gv_train_unet_crop_origin (const GvTrainRecipe *r, guint64 pos, const guint8 *mask,
    gint size, gint latent, gint *x0, gint *y0)
{
  gdouble sum = 0, sx = 0, sy = 0;
  for (gint y = 0; y < size; y++)
    for (gint x = 0; x < size; x++) {
      sum += mask[y * size + x];
      sx += mask[y * size + x] * (x + 0.5);
      sy += mask[y * size + x] * (y + 0.5);
    }
  gdouble scale = (gdouble) latent / size;
  gdouble cx = sum > 0 ? sx / sum * scale : latent / 2.0;
  gdouble cy = sum > 0 ? sy / sum * scale : latent / 2.0;
  gint crop = MIN (r->unet_crop, latent);
  *x0 = crop_start (r, pos, DRAW_CROP_X, cx, latent, crop);
  *y0 = crop_start (r, pos, DRAW_CROP_Y, cy, latent, crop);
}

GvTensor *
gv_train_unet_crop_latents (GvCmd *cmd, GvTensor *z0, const gint *ox, const gint *oy, gint crop)
{
  gint64 n = z0->shape[0], ch = z0->shape[1], l = z0->shape[3], m = (gint64) crop * crop;
  gint32 *idx = g_new (gint32, n * m);
  for (gint64 b = 0; b < n; b++)
    for (gint y = 0; y < crop; y++)
      for (gint x = 0; x < crop; x++)
        idx[b * m + y * crop + x] = (gint32) ((oy[b] + y) * l + ox[b] + x);
  GvTensor *index = gv_tensor_alloc_typed (cmd, GV_DTYPE_I32, 2, (const gint64[]) { n, m });
  gv_tensor_record_upload (cmd, index, idx);
  g_free (idx);
  GvTensor *src = GV_VIEW (z0, 0, n, ch, l * l);
  GvTensor *out = GV_TENSOR (cmd, n, ch, crop, crop);
  GvTensor *dst = GV_VIEW (out, 0, n, ch, m);
  gv_op_gather (cmd, dst, src, index);
  gv_tensor_unref (dst);
  gv_tensor_unref (src);
  gv_tensor_unref (index);
  return out;
}

void
gv_train_unet_loss_weights (const guint8 *mask, gint size, gint lh, gint lw,
    gdouble object_weight, gfloat *out)
{
  gint fy = size / lh, fx = size / lw;
  gdouble sum = 0;
  for (gint y = 0; y < lh; y++)
    for (gint x = 0; x < lw; x++) {
      gdouble cover = 0;
      for (gint dy = 0; dy < fy; dy++)
        for (gint dx = 0; dx < fx; dx++)
          cover += mask[(y * fy + dy) * size + x * fx + dx];
      cover /= 255.0 * fy * fx;
      out[y * lw + x] = (gfloat) (1.0 + (object_weight - 1.0) * cover);
      sum += out[y * lw + x];
    }
  for (gint i = 0; i < lh * lw; i++)
    out[i] = (gfloat) (out[i] * lh * lw / sum);
}

gdouble
gv_train_unet_snr_weight (GvPredictionType pred, gdouble alpha_cumprod, gdouble gamma)
{
  if (gamma <= 0)
    return 1.0;
  gdouble snr = alpha_cumprod / MAX (1.0 - alpha_cumprod, 1e-12);
  gdouble x0 = MIN (snr, gamma);
  switch (pred) {
    case GV_PREDICT_EPSILON:
      return snr > 0 ? x0 / snr : 1.0;
    case GV_PREDICT_V:
      return x0 / (snr + 1.0);
    case GV_PREDICT_SAMPLE:
    default:
      return x0;
  }
}

/* the loss weights of the batch: each example's map on every latent channel; with @ox, @oy
 * the crops of @latent x @latent maps there, again scaled to a mean of 1; then times the
 * example's min-SNR weight @snr_weight[b] */
static GvTensor *
loss_weights (GvCmd *cmd, const GvTrainExample *ex, const GvTensor *z0, gint size,
    gint latent, const gint *ox, const gint *oy, gdouble object_weight,
    const gdouble *snr_weight)
{
  gint64 n = z0->shape[0], ch = z0->shape[1], lh = z0->shape[2], lw = z0->shape[3];
  gfloat *w = g_new (gfloat, z0->numel);
  gfloat *full = g_new (gfloat, (gsize) latent * latent);
  for (gint64 b = 0; b < n; b++) {
    gfloat *plane = w + b * ch * lh * lw;
    gv_train_unet_loss_weights (ex[b].mask, size, latent, latent, object_weight, full);
    gdouble sum = 0;
    for (gint64 y = 0; y < lh; y++)
      for (gint64 x = 0; x < lw; x++) {
        plane[y * lw + x] = ox ? full[(oy[b] + y) * latent + ox[b] + x] : full[y * lw + x];
        sum += plane[y * lw + x];
      }
    for (gint64 i = 0; ox && i < lh * lw; i++)
      plane[i] = (gfloat) (plane[i] * lh * lw / sum);
    for (gint64 i = 0; i < lh * lw; i++)
      plane[i] = (gfloat) (plane[i] * snr_weight[b]);
    for (gint64 c = 1; c < ch; c++)
      memcpy (plane + c * lh * lw, plane, lh * lw * sizeof (gfloat));
  }
  g_free (full);
  GvTensor *t = gv_tensor_alloc (cmd, z0->ndim, z0->shape);
  gv_tensor_record_upload (cmd, t, w);
  g_free (w);
  return t;
}

static gboolean
unet_step (gpointer data, gint step, guint64 sampler, guint64 *sampler_next, gfloat *loss,
    GError **error)
{
  UNetStage *s = data;
  const GvTrainRecipe *r = s->r;
  GvModel *model = s->model;
  GvCmd *cmd = s->cmd;
  const GvStageRecipe *st = &r->stage[GV_STAGE_UNET];
  /* the crop phase (unet_crop), then the last unet_whole_steps on whole latents */
  gboolean crop = r->unet_crop > 0 && step < st->steps - r->unet_whole_steps;
  gint n = r->unet_crop > 0 && !crop ? r->unet_whole_batch : st->batch, size = r->image_size;
  GvImageNoiser *noiser = gv_model_get_image_noiser (model);
  gint levels = gv_scheduler_get_train_timesteps (gv_image_noiser_get_schedule (noiser));
  GvPredictionType pred = gv_model_get_config (model)->scheduler.prediction_type;
  gint64 embed_dim = gv_model_get_config (model)->image_encoder.projection_dim;
  GvTrainExample *ex = g_new0 (GvTrainExample, n);
  gint *slot = g_new (gint, n), *ox = g_new (gint, n), *oy = g_new (gint, n);
  gfloat *timesteps = g_new (gfloat, n);
  gdouble *snr_weight = g_new (gdouble, n);
  gboolean ok = TRUE;

  for (gint b = 0; b < n && ok; b++) {
    guint64 index = example_index (r, sampler + b);
    slot[b] = (gint) index;
    ok = gv_train_example_init (&ex[b], r->seed, GV_TRAIN_STREAM_UNET, index, size, size,
        error);
  }
  *sampler_next = sampler + n;
  if (ok) {
    GvTensor *z0 = batch_latents (s, ex, slot, n, size);
    gint latent = (gint) z0->shape[3];
    if (crop && r->unet_crop < latent) {
      for (gint b = 0; b < n; b++)
        gv_train_unet_crop_origin (r, sampler + b, ex[b].mask, size, latent, &ox[b], &oy[b]);
      GvTensor *whole = z0;
      z0 = gv_train_unet_crop_latents (cmd, whole, ox, oy, r->unet_crop);
      gv_tensor_unref (whole);
    } else {
      crop = FALSE;
    }
    GvTensor *noisy = gv_tensor_alloc (cmd, z0->ndim, z0->shape);
    GvTensor *target = gv_tensor_alloc (cmd, z0->ndim, z0->shape);
    const GvTensor *empty = s->empty_prompt;
    GvTensor *text = GV_TENSOR (cmd, n, empty->shape[1], empty->shape[2]);
    GvTensor *labels = NULL;
    gint64 one = z0->numel / n;
    for (gint b = 0; b < n; b++) {
      guint64 pos = sampler + b, seed = noise_seed (r, &ex[b], pos);
      gint t = (gint) gv_train_draw (r->seed, GV_TRAIN_STREAM_UNET, pos, DRAW_T,
          (guint32) gv_scheduler_get_train_timesteps (s->sched));
      timesteps[b] = (gfloat) t;
      snr_weight[b] = gv_train_unet_snr_weight (pred,
          gv_scheduler_get_alphas_cumprod (s->sched)[t], r->unet_snr_gamma);
      const gint64 *sh = z0->shape;
      GvTensor *zb = GV_VIEW (z0, b * one, 1, sh[1], sh[2], sh[3]);
      GvTensor *nb = GV_VIEW (noisy, b * one, 1, sh[1], sh[2], sh[3]);
      GvTensor *tb = GV_VIEW (target, b * one, 1, sh[1], sh[2], sh[3]);
      GvTensor *noise = gv_random_normal_tensor (cmd, 4, zb->shape, seed);
      gv_diffusion_example_record (s->sched, pred, cmd, t, zb, noise, nb, tb);

      gboolean drop_text, drop_image;
      gv_train_unet_drops (r, pos, &drop_text, &drop_image);
      gboolean object = chance (r, pos, DRAW_OBJECT, r->object_image_share);
      GvTensor *eb = GV_VIEW (text, b * empty->numel, 1, empty->shape[1], empty->shape[2]);
      if (drop_text)
        gv_tensor_record_copy (cmd, eb, s->empty_prompt);
      else
        cached (s, s->texts, slot[b], caption_embedding, &ex[b], eb);
      GvTensor *img = GV_TENSOR (cmd, 1, embed_dim);
      if (object)
        cached (s, s->object_embeds, slot[b], object_embedding, &ex[b], img);
      else
        cached (s, s->frame_embeds, slot[b], frame_embedding, &ex[b], img);
      gint level = gv_train_unet_image_level (r, pos, levels);
      GvTensor *lab = gv_diffusion_class_labels (noiser, cmd, img, drop_image, level,
          seed ^ 1);
      if (labels == NULL)
        labels = GV_TENSOR (cmd, n, lab->shape[1]);
      GvTensor *lb = GV_VIEW (labels, b * lab->numel, 1, lab->shape[1]);
      gv_tensor_record_copy (cmd, lb, lab);
      gv_tensor_unref (eb);
      gv_tensor_unref (lb);
      gv_tensor_unref (lab);
      gv_tensor_unref (img);
      gv_tensor_unref (noise);
      gv_tensor_unref (zb);
      gv_tensor_unref (nb);
      gv_tensor_unref (tb);
    }
    GvTensor *weights = r->unet_object_weight != 1.0 || r->unet_snr_gamma > 0 ?
        loss_weights (cmd, ex, z0, size, latent, crop ? ox : NULL, crop ? oy : NULL,
        r->unet_object_weight, snr_weight) : NULL;
    gv_unet_trainer_set_loss_weight (s->tr, weights);
    ok = gv_unet_trainer_step (s->tr, cmd, noisy, 1, timesteps, text, labels, target,
        MAX_GRAD_NORM, loss, NULL, error);
    gv_unet_trainer_set_loss_weight (s->tr, NULL);
    g_clear_pointer (&weights, gv_tensor_unref);
    gv_tensor_unref (z0);
    gv_tensor_unref (noisy);
    gv_tensor_unref (target);
    gv_tensor_unref (text);
    gv_tensor_unref (labels);
  }
  for (gint b = 0; b < n; b++)
    gv_train_example_clear (&ex[b]);
  g_free (ex);
  g_free (slot);
  g_free (ox);
  g_free (oy);
  g_free (timesteps);
  g_free (snr_weight);
  return ok;
}

gboolean
gv_train_unet (GvTrainRun *run, GvDevice *dev, GError **error)
{
  const gchar *folder = gv_train_run_get_model_folder (run);
  g_autoptr (GvModel) model = gv_model_load (dev, folder, error);
  if (model == NULL)
    return FALSE;
  const GvTrainRecipe *r = gv_train_run_get_recipe (run);
  /* a crop passes the UNet's downsamplers only when each halves it exactly */
  gint halvings = gv_model_get_config (model)->unet.n_blocks - 1;
  if (r->unet_crop % (1 << halvings) != 0) {
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "[train] unet_crop %d is not a multiple "
        "of %d: the UNet halves its latents %d times", r->unet_crop, 1 << halvings, halvings);
    return FALSE;
  }
  GvAdamWParams adamw = GV_ADAMW_PARAMS_DEFAULT;
  adamw.lr = r->stage[GV_STAGE_UNET].lr;
  UNetStage s = { model, NULL, NULL, r, gv_cmd_new (dev) };
  s.empty_prompt = gv_model_encode_prompt (model, s.cmd, "");
  if (r->unet_examples > 0) {
    s.latents = gv_train_cache_new (r->unet_examples);
    s.texts = gv_train_cache_new (r->unet_examples);
    s.frame_embeds = gv_train_cache_new (r->unet_examples);
    s.object_embeds = gv_train_cache_new (r->unet_examples);
    s.cache_path = g_build_filename (gv_train_run_get_work (run), CACHE_FILE, NULL);
  }
  /* no recompute: the small UNet's kept activations are a few MiB, and the step is ~30%
   * cheaper (docs/performance.md, gv-bench-train) */
  s.tr = gv_unet_trainer_new (gv_model_get_unet (model), NULL, GV_TRAIN_ALL, &adamw, FALSE,
      error);
  s.sched = s.tr ? gv_model_new_scheduler (model, error) : NULL;
  gboolean ok = s.sched != NULL && (r->unet_ema == 0 ||
      gv_optimizer_set_ema (gv_unet_trainer_get_optimizer (s.tr), r->unet_ema, error));
  if (ok && s.cache_path != NULL) {
    ok = read_caches (&s, run, error);
    gv_train_run_set_checkpoint_func (run, write_caches, &s);
  }
  if (ok) {
    GvTrainOutput out = { "unet/diffusion_pytorch_model.safetensors", NULL };
    ok = gv_train_run_network (run, GV_STAGE_UNET, gv_unet_trainer_get_optimizer (s.tr),
        unet_step, &s, &out, 1, error);
  }
  gv_train_run_set_checkpoint_func (run, NULL, NULL);
  /* the stage is over: nothing will resume it */
  if (ok && s.cache_path != NULL)
    g_unlink (s.cache_path);
  g_free (s.cache_path);
  g_clear_pointer (&s.sched, gv_scheduler_free);
  g_clear_pointer (&s.tr, gv_unet_trainer_free);
  gv_cmd_free (s.cmd);
  g_clear_pointer (&s.latents, gv_train_cache_free);
  g_clear_pointer (&s.texts, gv_train_cache_free);
  g_clear_pointer (&s.frame_embeds, gv_train_cache_free);
  g_clear_pointer (&s.object_embeds, gv_train_cache_free);
  gv_tensor_unref (s.empty_prompt);
  return ok;
}
