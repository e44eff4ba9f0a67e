#include <string.h>

#include "gv-train-unet.h"
#include "gv-train-data.h"
#include "genvideo/gv-frames.h"
#include "models/gv-diffusion-example.h"
#include "models/gv-random.h"
#include "models/gv-unet-train.h"

#define MAX_GRAD_NORM 1.0f
enum { DRAW_T, DRAW_OBJECT, DRAW_DROP_TEXT, DRAW_DROP_IMAGE, DRAW_LEVEL, DRAW_DROP_BOTH };

typedef struct {
  GvModel *model;
  GvUNetTrainer *tr;
  GvScheduler *sched;
  const GvTrainRecipe *r;
  GvCmd *cmd;
} UNetStage;

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

/* the loss weights of the batch: each example's map on every latent channel */
static GvTensor *
loss_weights (GvCmd *cmd, const GvTrainExample *ex, const GvTensor *z0, gint size,
    gdouble object_weight)
{
  gint64 n = z0->shape[0], ch = z0->shape[1], lh = z0->shape[2], lw = z0->shape[3];
  gfloat *w = g_new (gfloat, z0->numel);
  for (gint64 b = 0; b < n; b++) {
    gfloat *plane = w + b * ch * lh * lw;
    gv_train_unet_loss_weights (ex[b].mask, size, (gint) lh, (gint) lw, object_weight, plane);
    for (gint64 c = 1; c < ch; c++)
      memcpy (plane + c * lh * lw, plane, lh * lw * sizeof (gfloat));
  }
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
  gint n = r->stage[GV_STAGE_UNET].batch, size = r->image_size;
  GvImageNoiser *noiser = gv_model_get_image_noiser (model);
  gint levels = gv_scheduler_get_train_timesteps (gv_image_noiser_get_schedule (noiser));
  GvPredictionType pred = gv_model_get_config (model)->scheduler.prediction_type;
  GvTrainExample *ex = g_new0 (GvTrainExample, n);
  GvPicture *pics = g_new (GvPicture, n);
  gfloat *timesteps = g_new (gfloat, n);
  gboolean ok = TRUE;

  for (gint b = 0; b < n && ok; b++) {
    ok = gv_train_example_init (&ex[b], r->seed, GV_TRAIN_STREAM_UNET, sampler + b, size, size,
        error);
    pics[b] = (GvPicture) { ex[b].frame, size * 3 };
  }
  *sampler_next = sampler + n;
  if (ok) {
    g_autofree gfloat *images = gv_pictures_to_images (pics, n, size, size, GV_PIXELS_RGB);
    GvTensor *z0 = gv_encode_images (model, cmd, images, n, size, size);
    GvTensor *noisy = gv_tensor_alloc (cmd, z0->ndim, z0->shape);
    GvTensor *target = gv_tensor_alloc (cmd, z0->ndim, z0->shape);
    GvTensor *text = NULL, *labels = NULL;
    gint64 one = z0->numel / n;
    for (gint b = 0; b < n; b++) {
      guint64 idx = sampler + b;
      gint t = (gint) gv_train_draw (r->seed, GV_TRAIN_STREAM_UNET, idx, DRAW_T,
          (guint32) gv_scheduler_get_train_timesteps (s->sched));
      timesteps[b] = (gfloat) t;
      const gint64 *sh = z0->shape;
      GvTensor *zb = GV_VIEW (z0, b * one, 1, sh[1], sh[2], sh[3]);
      GvTensor *nb = GV_VIEW (noisy, b * one, 1, sh[1], sh[2], sh[3]);
      GvTensor *tb = GV_VIEW (target, b * one, 1, sh[1], sh[2], sh[3]);
      GvTensor *noise = gv_random_normal_tensor (cmd, 4, zb->shape, ex[b].noise_seed);
      gv_diffusion_example_record (s->sched, pred, cmd, t, zb, noise, nb, tb);

      gboolean drop_text, drop_image;
      gv_train_unet_drops (r, idx, &drop_text, &drop_image);
      GvTensor *e = gv_model_encode_prompt (model, cmd, drop_text ? "" : ex[b].caption);
      gboolean object = chance (r, idx, DRAW_OBJECT, r->object_image_share);
      GvTensor *img = gv_model_encode_image (model, cmd, object ? ex[b].object : ex[b].frame,
          size, size, size * 3);
      gint level = (gint) gv_train_draw (r->seed, GV_TRAIN_STREAM_UNET, idx, DRAW_LEVEL,
          (guint32) levels);
      GvTensor *lab = gv_diffusion_class_labels (noiser, cmd, img,
          drop_image, level, ex[b].noise_seed ^ 1);
      if (text == NULL) {
        text = GV_TENSOR (cmd, n, e->shape[1], e->shape[2]);
        labels = GV_TENSOR (cmd, n, lab->shape[1]);
      }
      GvTensor *eb = GV_VIEW (text, b * e->numel, 1, e->shape[1], e->shape[2]);
      GvTensor *lb = GV_VIEW (labels, b * lab->numel, 1, lab->shape[1]);
      gv_tensor_record_copy (cmd, eb, e);
      gv_tensor_record_copy (cmd, lb, lab);
      gv_tensor_unref (eb);
      gv_tensor_unref (lb);
      gv_tensor_unref (e);
      gv_tensor_unref (img);
      gv_tensor_unref (lab);
      gv_tensor_unref (noise);
      gv_tensor_unref (zb);
      gv_tensor_unref (nb);
      gv_tensor_unref (tb);
    }
    GvTensor *weights = r->unet_object_weight != 1.0 ?
        loss_weights (cmd, ex, z0, size, r->unet_object_weight) : NULL;
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
  g_free (pics);
  g_free (timesteps);
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
  GvAdamWParams adamw = GV_ADAMW_PARAMS_DEFAULT;
  adamw.lr = r->stage[GV_STAGE_UNET].lr;
  UNetStage s = { model, NULL, NULL, r, gv_cmd_new (dev) };
  /* no recompute: the small UNet's kept activations are a few MiB, and the step is ~30%
   * cheaper (docs/performance.md, gv-bench-train) */
  s.tr = gv_unet_trainer_new (gv_model_get_unet (model), NULL, GV_TRAIN_ALL, &adamw, FALSE,
      error);
  s.sched = s.tr ? gv_model_new_scheduler (model, error) : NULL;
  gboolean ok = s.sched != NULL;
  if (ok) {
    GvTrainOutput out = { "unet/diffusion_pytorch_model.safetensors", NULL };
    ok = gv_train_run_network (run, GV_STAGE_UNET, gv_unet_trainer_get_optimizer (s.tr),
        unet_step, &s, &out, 1, error);
  }
  g_clear_pointer (&s.sched, gv_scheduler_free);
  g_clear_pointer (&s.tr, gv_unet_trainer_free);
  gv_cmd_free (s.cmd);
  return ok;
}
