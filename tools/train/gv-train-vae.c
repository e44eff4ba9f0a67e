#include "gv-train-vae.h"
#include "gv-train-data.h"
#include "genvideo/gv-frames.h"
#include "models/gv-model.h"
#include "models/gv-vae-train.h"

#define MAX_GRAD_NORM 1.0f

enum { DRAW_CROP_X, DRAW_CROP_Y };

typedef struct {
  GvVaeTrainer *tr;
  const GvTrainRecipe *r;
  GvCmd *cmd;
} VaeStage;

static gboolean
vae_step (gpointer data, gint step, guint64 sampler, guint64 *sampler_next, gfloat *loss,
    GError **error)
{
  VaeStage *s = data;
  const GvTrainRecipe *r = s->r;
  gboolean whole = step >= r->stage[GV_STAGE_VAE].steps - r->vae_whole_steps;
  gint n = whole ? r->vae_whole_batch : r->stage[GV_STAGE_VAE].batch, size = r->image_size;
  gint crop = whole ? size : r->vae_crop;
  GvTrainExample *ex = g_new0 (GvTrainExample, n);
  GvPicture *pics = g_new (GvPicture, n);
  gboolean ok = TRUE;
  for (gint b = 0; b < n && ok; b++) {
    ok = gv_train_example_init (&ex[b], s->r->seed, GV_TRAIN_STREAM_VAE, sampler + b, size,
        size, error);
    if (!ok)
      break;
    /* a crop: the networks are convolutional, and a quarter of the pixels is a quarter of
     * the time (a whole frame's crop is the frame) */
    gint x = (gint) gv_train_draw (s->r->seed, GV_TRAIN_STREAM_VAE, sampler + b, DRAW_CROP_X,
        (guint32) (size - crop + 1));
    gint y = (gint) gv_train_draw (s->r->seed, GV_TRAIN_STREAM_VAE, sampler + b, DRAW_CROP_Y,
        (guint32) (size - crop + 1));
    pics[b] = (GvPicture) { ex[b].frame + ((gsize) y * size + x) * 3, size * 3 };
  }
  *sampler_next = sampler + n;
  if (ok) {
    g_autofree gfloat *host = gv_pictures_to_images (pics, n, crop, crop, GV_PIXELS_RGB);
    GvTensor *images = GV_TENSOR (s->cmd, n, 3, crop, crop);
    gv_tensor_record_upload (s->cmd, images, host);
    ok = gv_vae_trainer_step (s->tr, s->cmd, images, MAX_GRAD_NORM, loss, NULL, error);
    gv_tensor_unref (images);
  }
  for (gint b = 0; b < n; b++)
    gv_train_example_clear (&ex[b]);
  g_free (ex);
  g_free (pics);
  return ok;
}

gboolean
gv_train_vae (GvTrainRun *run, GvDevice *dev, GError **error)
{
  const gchar *folder = gv_train_run_get_model_folder (run);
  g_autoptr (GvModel) model = gv_model_load (dev, folder, error);
  if (model == NULL)
    return FALSE;
  const GvTrainRecipe *r = gv_train_run_get_recipe (run);
  GvAdamW adamw = { r->stage[GV_STAGE_VAE].lr, 0.9, 0.999, 1e-8, 1e-2 };
  VaeStage s = { gv_vae_trainer_new (gv_model_get_vae (model), &adamw, error), r,
    gv_cmd_new (dev) };
  gboolean ok = s.tr != NULL;
  if (ok) {
    gv_vae_trainer_set_seed (s.tr, r->seed);
    GvTrainOutput out = { "vae/diffusion_pytorch_model.safetensors", NULL };
    ok = gv_train_run_network (run, GV_STAGE_VAE, gv_vae_trainer_get_optimizer (s.tr),
        vae_step, &s, &out, 1, error);
  }
  g_clear_pointer (&s.tr, gv_vae_trainer_free);
  gv_cmd_free (s.cmd);
  return ok;
}
