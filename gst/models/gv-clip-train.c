#include <math.h>
#include <string.h>

#include "models/gv-clip-loss.h"
#include "models/gv-clip-train.h"
#include "models/gv-random.h"

struct _GvClipTrainer {
  GvTextEncoder *text;
  GvImageEncoder *vision;
  GvClipTrainable which;
  GvDevice *dev;
  GvOptimizer *opt;
  GvLinear text_projection;   /* [projection_dim, hidden], no bias */
  GvTensor *logit_scale;      /* [1] */
  gint dim;                   /* projection_dim */
  gfloat grad_norm;
  gboolean recompute;
  GError *error;              /* while registering */
};

/* One step or evaluation in flight. */
typedef struct {
  GvClipTrainer *tr;
  const gint32 *ids;
  gint n, length;
  const GvGrads *g;           /* NULL: evaluation, no backward */
  GvTensor *image;            /* the image embeddings (borrowed during the text pass) */
  GvTensor *dimage;           /* their gradient, for the vision backward */
  gboolean *same;             /* [n * n]: captions i and j have the same ids */
  GvClipLossResult result;
  GError *error;              /* the mid-step wait failed */
} Pass;

/* a [n...] tensor holding @values, or NULL with @error */
static GvTensor *
host_tensor (GvDevice *dev, gint ndim, const gint64 *shape, const gfloat *values,
    GError **error)
{
  GvTensor *t = gv_tensor_new (dev, ndim, shape, error);
  if (t != NULL && !gv_tensor_upload (t, values, error))
    g_clear_pointer (&t, gv_tensor_unref);
  return t;
}

GvClipTrainer *
gv_clip_trainer_new (GvTextEncoder *text, GvImageEncoder *vision, GvClipTrainable which,
    const GvAdamW *opt, guint32 seed, GError **error)
{
  const GvClipTextConfig *tc = gv_text_encoder_get_config (text);
  const GvClipVisionConfig *vc = gv_image_encoder_get_config (vision);
  if (gv_text_encoder_get_device (text) != gv_image_encoder_get_device (vision)) {
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "CLIP training: the text and vision "
        "encoders are on different devices");
    return NULL;
  }
  if (tc->projection_dim > 0 && tc->projection_dim != vc->projection_dim) {
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "CLIP training: text projection_dim %d "
        "differs from the vision one, %d", tc->projection_dim, vc->projection_dim);
    return NULL;
  }
  GvClipTrainer *tr = g_new0 (GvClipTrainer, 1);
  tr->text = text;
  tr->vision = vision;
  tr->which = which;
  tr->dev = gv_text_encoder_get_device (text);
  tr->dim = vc->projection_dim;
  tr->opt = gv_optimizer_new (tr->dev, opt);

  gint h = tc->hidden_size;
  gfloat *w = g_new (gfloat, (gsize) tr->dim * h);
  GRand *rand = g_rand_new_with_seed (seed);
  for (gint i = 0; i < tr->dim * h; i++)
    w[i] = (gfloat) g_rand_double_range (rand, -1.0 / sqrt (h), 1.0 / sqrt (h));
  g_rand_free (rand);
  gfloat init_scale = (gfloat) GV_CLIP_INIT_LOGIT_SCALE;
  tr->text_projection.in = h;
  tr->text_projection.out = tr->dim;
  tr->text_projection.weight = host_tensor (tr->dev, 2, (const gint64[]) { tr->dim, h }, w,
      &tr->error);
  g_free (w);
  if (tr->error == NULL)
    tr->logit_scale = host_tensor (tr->dev, 1, (const gint64[]) { 1 }, &init_scale,
        &tr->error);

  if (tr->error == NULL) {
    if (which != GV_CLIP_TRAIN_TEXT)
      gv_image_encoder_foreach_param (vision, gv_optimizer_add_param, tr->opt);
    if (which != GV_CLIP_TRAIN_VISION) {
      gv_text_encoder_foreach_param (text, gv_optimizer_add_param, tr->opt);
      gv_optimizer_add_param ("text_projection.weight", tr->text_projection.weight, tr->opt);
    }
    gv_optimizer_add_param ("logit_scale", tr->logit_scale, tr->opt);
    gv_optimizer_take_error (tr->opt, &tr->error);
  }
  if (tr->error != NULL) {
    g_propagate_error (error, g_steal_pointer (&tr->error));
    gv_clip_trainer_free (tr);
    return NULL;
  }
  return tr;
}

void
gv_clip_trainer_free (GvClipTrainer *tr)
{
  if (tr == NULL)
    return;
  g_clear_pointer (&tr->opt, gv_optimizer_free);
  gv_linear_clear (&tr->text_projection);
  g_clear_pointer (&tr->logit_scale, gv_tensor_unref);
  g_clear_error (&tr->error);
  g_free (tr);
}

gboolean
gv_clip_trainer_init_weights (GvClipTrainer *tr, guint64 seed, GError **error)
{
  for (gint i = 0; i < gv_optimizer_get_n_params (tr->opt); i++) {
    const gchar *name = gv_optimizer_get_name (tr->opt, i);
    GvTensor *t = gv_optimizer_get_param (tr->opt, i);
    /* layer_norm1/2, final_layer_norm, pre_layrnorm, post_layernorm */
    gboolean norm = strstr (name, "norm") != NULL && g_str_has_suffix (name, ".weight");
    gdouble std = strstr (name, "token_embedding") ? 0.02 :
        strstr (name, "position_embedding") ? 0.01 :
        strstr (name, "class_embedding") ? 1.0 / sqrt (t->shape[0]) : 0;
    if (!norm && std == 0 && !g_str_has_suffix (name, ".bias"))
      continue;
    gfloat *v = g_new (gfloat, t->numel);
    if (std > 0) {
      gv_random_normal (v, t->numel, seed + i);
      for (gint64 k = 0; k < t->numel; k++)
        v[k] *= std;
    } else {
      for (gint64 k = 0; k < t->numel; k++)
        v[k] = norm ? 1.0f : 0.0f;
    }
    gboolean ok = gv_tensor_upload (t, v, error);
    g_free (v);
    if (!ok)
      return FALSE;
  }
  return TRUE;
}

/* The loss head on the image embeddings and the pooled text states: text_projection on the
 * device, then one wait and the loss on the host (gv-clip-loss.h). In training it uploads
 * the gradients: p->dimage, the logit scale's, and returns dpooled (transfer full). */
static GvTensor *
head (Pass *p, GvCmd *cmd, GvTensor *image, GvTensor *pooled)
{
  GvClipTrainer *tr = p->tr;
  gsize n = (gsize) p->n * tr->dim;
  GvTensor *text = gv_linear_apply (&tr->text_projection, cmd, pooled, GV_ACT_NONE, NULL);
  gfloat *img = g_new (gfloat, n), *txt = g_new (gfloat, n), scale = 0;
  gv_tensor_record_download (cmd, image, img);
  gv_tensor_record_download (cmd, text, txt);
  gv_tensor_record_download (cmd, tr->logit_scale, &scale);
  GvTensor *dpooled = NULL;
  if (!gv_cmd_finish (cmd, &p->error)) {
    /* keep the command failed, so that nothing more runs and the step reports it */
    gv_cmd_fail (cmd, g_error_copy (p->error));
  } else if (p->g == NULL) {
    gv_clip_loss (img, txt, p->n, tr->dim, scale, p->same, NULL, NULL, &p->result);
  } else {
    gfloat *dimg = g_new (gfloat, n), *dtxt = g_new (gfloat, n);
    gv_clip_loss (img, txt, p->n, tr->dim, scale, p->same, dimg, dtxt, &p->result);
    p->dimage = gv_tensor_like (cmd, image);
    gv_tensor_record_upload (cmd, p->dimage, dimg);
    GvTensor *dscale = gv_grads_lookup (p->g, tr->logit_scale);
    gfloat ds = (gfloat) p->result.dlogit_scale;
    if (dscale != NULL)
      gv_tensor_record_upload (cmd, dscale, &ds);
    if (gv_grads_lookup (p->g, tr->text_projection.weight) != NULL) {
      GvTensor *dtext = gv_tensor_like (cmd, text);
      gv_tensor_record_upload (cmd, dtext, dtxt);
      dpooled = gv_tensor_like (cmd, pooled);
      gv_linear_backward (&tr->text_projection, cmd, p->g, NULL, dpooled, dtext, pooled,
          FALSE);
      gv_tensor_unref (dtext);
    }
    g_free (dimg);
    g_free (dtxt);
  }
  g_free (img);
  g_free (txt);
  gv_tensor_unref (text);
  /* the text backward needs a gradient even when the wait failed (nothing runs then) */
  return dpooled != NULL || p->g == NULL ? dpooled : gv_tensor_like (cmd, pooled);
}

static GvTensor *
text_loss_grad (GvCmd *cmd, GvTensor *pooled, gpointer data)
{
  Pass *p = data;
  return head (p, cmd, p->image, pooled);
}

/* the text side and the head on @image; returns the image embeddings' gradient in training */
static GvTensor *
image_loss_grad (GvCmd *cmd, GvTensor *image, gpointer data)
{
  Pass *p = data;
  GvClipTrainer *tr = p->tr;
  p->image = image;
  if (p->g != NULL && tr->which != GV_CLIP_TRAIN_VISION) {
    gv_text_encoder_forward_backward (tr->text, cmd, p->ids, p->n, p->length, tr->recompute,
        p->g, text_loss_grad, p);
  } else {
    GvTensor *pooled = NULL;
    gv_tensor_unref (gv_text_encoder_forward (tr->text, cmd, p->ids, p->n, p->length, &pooled,
            NULL, NULL));
    GvTensor *dpooled = head (p, cmd, image, pooled);
    g_clear_pointer (&dpooled, gv_tensor_unref);
    gv_tensor_unref (pooled);
  }
  p->image = NULL;
  GvTensor *d = g_steal_pointer (&p->dimage);
  return d != NULL ? d : gv_tensor_like (cmd, image);
}

/* forward (and backward when @g is set) of a batch; FALSE when the wait inside failed */
static gboolean
run_pass (GvClipTrainer *tr, GvCmd *cmd, GvTensor *pixel_values, const gint32 *ids,
    gint length, const GvGrads *g, GvClipLossResult *result, GError **error)
{
  if (pixel_values == NULL || pixel_values->ndim != 4 || pixel_values->shape[0] < 2 ||
      ids == NULL || length < 1) {
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "CLIP training: a batch needs at least 2 "
        "images [B, 3, S, S] and their captions' token ids [B, L]");
    return FALSE;
  }
  gint n = (gint) pixel_values->shape[0];
  Pass p = { tr, ids, n, length, g };
  p.same = g_new (gboolean, n * n);
  for (gint i = 0; i < n; i++)
    for (gint j = 0; j < n; j++)
      p.same[i * n + j] = memcmp (ids + (gsize) i * length, ids + (gsize) j * length,
          length * sizeof (gint32)) == 0;
  if (g != NULL && tr->which != GV_CLIP_TRAIN_TEXT) {
    gv_image_encoder_forward_backward (tr->vision, cmd, pixel_values, tr->recompute, g,
        image_loss_grad, &p);
  } else {
    GvTensor *image = gv_image_encoder_forward (tr->vision, cmd, pixel_values, NULL, NULL,
        NULL);
    GvTensor *d = image_loss_grad (cmd, image, &p);
    gv_tensor_unref (d);
    gv_tensor_unref (image);
  }
  g_free (p.same);
  *result = p.result;
  if (p.error != NULL) {
    gv_cmd_finish (cmd, NULL);   /* clears the copy the command kept */
    g_propagate_error (error, p.error);
    return FALSE;
  }
  return TRUE;
}

gboolean
gv_clip_trainer_step (GvClipTrainer *tr, GvCmd *cmd, GvTensor *pixel_values,
    const gint32 *ids, gint length, gfloat max_grad_norm, gfloat *loss_out, GError **error)
{
  GvGrads g = gv_optimizer_get_grads (tr->opt);
  GvClipLossResult r = { 0 };
  gv_optimizer_zero_grads (tr->opt, cmd);
  if (!run_pass (tr, cmd, pixel_values, ids, length, &g, &r, error)) {
    gv_cmd_finish (cmd, NULL);
    return FALSE;
  }
  if (!gv_optimizer_step (tr->opt, cmd, max_grad_norm, &tr->grad_norm, error))
    return FALSE;
  if (loss_out != NULL)
    *loss_out = (gfloat) r.loss;
  return TRUE;
}

gboolean
gv_clip_trainer_evaluate (GvClipTrainer *tr, GvCmd *cmd, GvTensor *pixel_values,
    const gint32 *ids, gint length, gfloat *loss_out, gfloat *accuracy_out, GError **error)
{
  GvClipLossResult r = { 0 };
  if (!run_pass (tr, cmd, pixel_values, ids, length, NULL, &r, error) ||
      !gv_cmd_finish (cmd, error))
    return FALSE;
  if (loss_out != NULL)
    *loss_out = (gfloat) r.loss;
  if (accuracy_out != NULL)
    *accuracy_out = (gfloat) r.correct / pixel_values->shape[0];
  return TRUE;
}

gint32 *
gv_clip_trainer_encode (GvClipTrainer *tr, GvTokenizer *tok, const gchar *const *captions,
    gint n, gint *length)
{
  gint max = gv_tokenizer_get_max_length (tok), used = 1;
  gint32 *full = g_new (gint32, (gsize) n * max);
  for (gint i = 0; i < n; i++) {
    gv_tokenizer_encode (tok, captions[i], full + (gsize) i * max, NULL);
    used = MAX (used, gv_text_encoder_get_pooled_position (tr->text, full + (gsize) i * max,
            max) + 1);
  }
  gint32 *ids = g_new (gint32, (gsize) n * used);
  for (gint i = 0; i < n; i++)
    memcpy (ids + (gsize) i * used, full + (gsize) i * max, used * sizeof (gint32));
  g_free (full);
  *length = used;
  return ids;
}

GvOptimizer *
gv_clip_trainer_get_optimizer (GvClipTrainer *tr)
{
  return tr->opt;
}

GvTensor *
gv_clip_trainer_get_text_projection (GvClipTrainer *tr)
{
  return tr->text_projection.weight;
}

GvTensor *
gv_clip_trainer_get_logit_scale (GvClipTrainer *tr)
{
  return tr->logit_scale;
}

void
gv_clip_trainer_set_recompute (GvClipTrainer *tr, gboolean recompute)
{
  tr->recompute = recompute;
}

gfloat
gv_clip_trainer_get_grad_norm (GvClipTrainer *tr)
{
  return tr->grad_norm;
}
