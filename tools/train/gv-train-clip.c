#include <string.h>

#include "gv-train-clip.h"
#include "gv-train-data.h"
#include "models/gv-clip-train.h"
#include "models/gv-image-preprocess.h"
#include "models/gv-model.h"

#define MAX_GRAD_NORM 1.0f
enum { DRAW_OBJECT };

typedef struct {
  GvModel *model;
  GvClipTrainer *tr;
  const GvTrainRecipe *r;
  GvCmd *cmd;
} ClipStage;

static gboolean
clip_step (gpointer data, gint step, guint64 sampler, guint64 *sampler_next, gfloat *loss,
    GError **error)
{
  ClipStage *s = data;
  const GvTrainRecipe *r = s->r;
  const GvPreprocessorConfig *pre = &gv_model_get_config (s->model)->feature_extractor;
  gint n = r->stage[GV_STAGE_CLIP].batch, size = r->image_size;
  gint64 plane = 3 * (gint64) pre->crop_height * pre->crop_width;
  g_autofree gfloat *pixels = g_new (gfloat, n * plane);
  const gchar **captions = g_new0 (const gchar *, n);
  GvTrainExample *ex = g_new0 (GvTrainExample, n);
  gboolean ok = TRUE;

  for (gint b = 0; b < n && ok; b++) {
    guint64 idx = sampler + b;
    if (!(ok = gv_train_example_init (&ex[b], r->seed, GV_TRAIN_STREAM_CLIP, idx, size, size,
                error)))
      break;
    gboolean object = gv_train_draw (r->seed, GV_TRAIN_STREAM_CLIP, idx, DRAW_OBJECT,
        1000000) < r->object_image_share * 1e6;
    g_autofree gfloat *p = gv_clip_preprocess (pre, object ? ex[b].object : ex[b].frame, size,
        size, size * 3);
    memcpy (pixels + b * plane, p, plane * sizeof (gfloat));
    captions[b] = object ? ex[b].object_caption : ex[b].caption;
  }
  *sampler_next = sampler + n;
  if (ok) {
    gint length;
    g_autofree gint32 *ids = gv_clip_trainer_encode (s->tr, gv_model_get_tokenizer (s->model),
        captions, n, &length);
    GvTensor *pv = GV_TENSOR (s->cmd, n, 3, pre->crop_height, pre->crop_width);
    gv_tensor_record_upload (s->cmd, pv, pixels);
    ok = gv_clip_trainer_step (s->tr, s->cmd, pv, ids, length, MAX_GRAD_NORM, loss, error);
    gv_tensor_unref (pv);
  }
  for (gint b = 0; b < n; b++)
    gv_train_example_clear (&ex[b]);
  g_free (ex);
  g_free (captions);
  return ok;
}

gboolean
gv_train_clip (GvTrainRun *run, GvDevice *dev, GError **error)
{
  const gchar *folder = gv_train_run_get_model_folder (run);
  g_autoptr (GvModel) model = gv_model_load (dev, folder, error);
  if (model == NULL)
    return FALSE;
  const GvTrainRecipe *r = gv_train_run_get_recipe (run);
  GvAdamW adamw = { r->stage[GV_STAGE_CLIP].lr, 0.9, 0.98, 1e-6, 0.1 };   /* CLIP's betas */
  ClipStage s = { model, gv_clip_trainer_new (gv_model_get_text_encoder (model),
          gv_model_get_image_encoder (model), GV_CLIP_TRAIN_BOTH, &adamw, (guint32) r->seed,
          error), r, gv_cmd_new (dev) };
  gboolean ok = s.tr != NULL;
  if (ok) {
    static const gchar *const text_names[] = { "text_model.", NULL };
    static const gchar *const vision_names[] = { "vision_model.", "visual_projection.", NULL };
    GvTrainOutput out[] = {
      { "text_encoder/model.safetensors", text_names },
      { "image_encoder/model.safetensors", vision_names },
    };
    ok = gv_train_run_network (run, GV_STAGE_CLIP, gv_clip_trainer_get_optimizer (s.tr),
        clip_step, &s, out, G_N_ELEMENTS (out), error);
  }
  g_clear_pointer (&s.tr, gv_clip_trainer_free);
  gv_cmd_free (s.cmd);
  return ok;
}
