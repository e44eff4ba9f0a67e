/* The contrastive trainer (gv-clip-train.h): the host loss head against finite differences,
 * learning on world images (the loss falls, held-out image -> text retrieval rises well above
 * chance), a frozen side that stays as it was, cancellation and bad input. */
#include <math.h>
#include <string.h>

#include "gv-test-files.h"
#include "gv-test-util.h"
#include "gv-world-caption.h"
#include "gv-world-render.h"
#include "models/gv-clip-loss.h"
#include "models/gv-clip-train.h"
#include "models/gv-image-preprocess.h"
#include "models/gv-tokenizer-build.h"

#define BATCH 16
#define SIZE 32

/* --- the loss head --- */

static gdouble
loss_at (const gfloat *img, const gfloat *txt, gint b, gint p, gdouble scale)
{
  GvClipLossResult r;
  gv_clip_loss (img, txt, b, p, scale, NULL, NULL, NULL, &r);
  return r.loss;
}

static void
test_loss_gradients (void)
{
  const gint b = 5, p = 7;
  gfloat *img = gv_test_random (b * p, 1, -1, 1), *txt = gv_test_random (b * p, 2, -1, 1);
  gfloat dimg[5 * 7], dtxt[5 * 7];
  for (gint c = 0; c < 2; c++) {
    /* below the clamp the scale learns; above it, it does not */
    gdouble scale = c == 0 ? 1.3 : 4.8;
    GvClipLossResult r;
    gv_clip_loss (img, txt, b, p, scale, NULL, dimg, dtxt, &r);
    g_assert_cmpfloat (r.loss, >, 0);
    const gdouble h = 1e-3;
    gdouble fd = (loss_at (img, txt, b, p, scale + h) - loss_at (img, txt, b, p, scale - h)) /
        (2 * h);
    g_assert_cmpfloat (fabs (fd - r.dlogit_scale), <=, 1e-6 + 1e-4 * fabs (fd));
    if (c == 1)
      g_assert_cmpfloat (r.dlogit_scale, ==, 0);
    gint wrong_fails = 0;
    for (gint i = 0; i < b * p; i++) {
      for (gint side = 0; side < 2; side++) {
        gfloat *x = side ? txt : img, *d = side ? dtxt : dimg, saved = x[i];
        x[i] = saved + h;
        gdouble up = loss_at (img, txt, b, p, scale);
        x[i] = saved - h;
        gdouble down = loss_at (img, txt, b, p, scale);
        x[i] = saved;
        gdouble g = (up - down) / (2 * h);
        /* double differences of a float input: ~1e-7 noise */
        g_assert_cmpfloat (fabs (g - d[i]), <=, 1e-6 + 1e-3 * fabs (g));
        wrong_fails += fabs (g - 1.05 * d[i]) > 1e-6 + 1e-3 * fabs (g);
      }
    }
    g_assert_cmpint (wrong_fails, >=, 2 * b * p * 9 / 10);
  }
  /* identical pairs far apart from the rest: a low loss and every retrieval right */
  gfloat eye[4 * 4] = { 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1 };
  GvClipLossResult r;
  gv_clip_loss (eye, eye, 4, 4, GV_CLIP_MAX_LOGIT_SCALE, NULL, NULL, NULL, &r);
  g_assert_cmpint (r.correct, ==, 4);
  g_assert_cmpfloat (r.loss, <, 1e-10);
  g_free (img);
  g_free (txt);
}

/* --- the trainer on world images --- */

typedef struct {
  GvTokenizer *tok;
  GvTextEncoder *text;
  GvImageEncoder *vision;
} Nets;

static void
nets_new (Nets *n, gint hidden, gint layers)
{
  g_auto (GStrv) words = gv_world_caption_words ();
  g_autofree gchar *dir = gv_test_scratch_dir ();
  GError *error = NULL;
  g_assert_true (gv_tokenizer_build (dir, (const gchar *const *) words, 16, &error));
  n->tok = gv_tokenizer_new (dir, &error);
  g_assert_no_error (error);
  gint bos, eos, pad;
  gv_tokenizer_get_special_ids (n->tok, &bos, &eos, &pad);

  GvClipTextConfig tc = {
    .vocab_size = eos + 1, .hidden_size = hidden, .intermediate_size = 2 * hidden,
    .num_hidden_layers = layers, .num_attention_heads = 2, .max_position_embeddings = 16,
    .hidden_act = GV_HIDDEN_ACT_GELU, .layer_norm_eps = 1e-5f, .eos_token_id = eos,
    .projection_dim = hidden,
  };
  GvClipVisionConfig vc = {
    .hidden_size = hidden, .intermediate_size = 2 * hidden, .num_hidden_layers = layers,
    .num_attention_heads = 2, .image_size = SIZE, .patch_size = 8, .num_channels = 3,
    .projection_dim = hidden, .hidden_act = GV_HIDDEN_ACT_GELU, .layer_norm_eps = 1e-5f,
  };
  n->text = gv_text_encoder_new_from_loader (gv_test_device (),
      gv_loader_new_random (gv_test_device (), 21), &tc, &error);
  g_assert_no_error (error);
  n->vision = gv_image_encoder_new_from_loader (gv_test_device (),
      gv_loader_new_random (gv_test_device (), 22), &vc, &error);
  g_assert_no_error (error);
}

static void
nets_free (Nets *n)
{
  gv_text_encoder_free (n->text);
  gv_image_encoder_free (n->vision);
  gv_tokenizer_free (n->tok);
}

/* a batch of first frames of world clips @first.. of @seed, preprocessed as CLIP's image
 * processor does, and their captions' ids */
static GvTensor *
world_batch (GvClipTrainer *tr, GvTokenizer *tok, guint64 seed, guint first, gint32 **ids,
    gint *length)
{
  GvPreprocessorConfig pp = {
    .do_resize = TRUE, .shortest_edge = SIZE, .do_center_crop = TRUE, .crop_height = SIZE,
    .crop_width = SIZE, .do_rescale = TRUE, .rescale_factor = 1 / 255.0, .do_normalize = TRUE,
    .image_mean = { 0.48145466f, 0.4578275f, 0.40821073f },
    .image_std = { 0.26862954f, 0.26130258f, 0.27577711f }, .resample = 3,
    .do_convert_rgb = TRUE,
  };
  gfloat *px = g_new (gfloat, BATCH * 3 * SIZE * SIZE);
  gchar *captions[BATCH + 1] = { NULL };
  for (gint i = 0; i < BATCH; i++) {
    GvWorldClip *clip = gv_world_clip_new (seed, first + i, 64, 64, 1);
    GvWorldRender *r = gv_world_render (clip);
    gfloat *one = gv_clip_preprocess (&pp, r->source, 64, 64, 64 * 3);
    memcpy (px + (gsize) i * 3 * SIZE * SIZE, one, 3 * SIZE * SIZE * sizeof (gfloat));
    g_free (one);
    captions[i] = g_strdup (r->source_prompt);
    gv_world_render_free (r);
    gv_world_clip_free (clip);
  }
  *ids = gv_clip_trainer_encode (tr, tok, (const gchar *const *) captions, BATCH, length);
  g_strfreev ((gchar **) g_memdup2 (captions, sizeof captions));
  GvTensor *t = GV_TEST_TENSOR (px, BATCH, 3, SIZE, SIZE);
  g_free (px);
  return t;
}

static GvClipTrainer *
trainer_new (Nets *n, GvClipTrainable which, gdouble lr)
{
  GvAdamW opt = { lr, 0.9, 0.98, 1e-6, 0.1 };
  GError *error = NULL;
  GvClipTrainer *tr = gv_clip_trainer_new (n->text, n->vision, which, &opt, 3, &error);
  g_assert_no_error (error);
  g_assert_true (gv_clip_trainer_init_weights (tr, 4, &error));
  g_assert_no_error (error);
  return tr;
}

static void
evaluate (GvClipTrainer *tr, GvTokenizer *tok, gfloat *loss, gfloat *accuracy)
{
  /* held out: another seed than the training batches */
  gint32 *ids;
  gint length;
  GvTensor *px = world_batch (tr, tok, 99, 0, &ids, &length);
  GError *error = NULL;
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  g_assert_true (gv_clip_trainer_evaluate (tr, cmd, px, ids, length, loss, accuracy, &error));
  g_assert_no_error (error);
  gv_cmd_free (cmd);
  gv_tensor_unref (px);
  g_free (ids);
}

static gfloat
train_step (GvClipTrainer *tr, GvTokenizer *tok, guint first)
{
  gint32 *ids;
  gint length;
  GvTensor *px = world_batch (tr, tok, 5, first, &ids, &length);
  GError *error = NULL;
  gfloat loss = -1;
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  g_assert_true (gv_clip_trainer_step (tr, cmd, px, ids, length, 1.0f, &loss, &error));
  g_assert_no_error (error);
  gv_cmd_free (cmd);
  gv_tensor_unref (px);
  g_free (ids);
  return loss;
}

#define STEPS 120

static void
test_learns (void)
{
  Nets n;
  nets_new (&n, 32, 2);
  GvClipTrainer *tr = trainer_new (&n, GV_CLIP_TRAIN_BOTH, 2e-3);
  gfloat loss0, acc0, loss1, acc1;
  evaluate (tr, n.tok, &loss0, &acc0);
  gdouble first = 0, last = 0;
  for (gint s = 0; s < STEPS; s++) {
    gfloat l = train_step (tr, n.tok, (guint) s * BATCH);
    if (s < 10)
      first += l / 10;
    if (s >= STEPS - 10)
      last += l / 10;
    if (g_test_verbose () && s % 20 == 0)
      g_printerr ("step %d: loss %.4f, grad norm %.3f\n", s, l,
          gv_clip_trainer_get_grad_norm (tr));
  }
  evaluate (tr, n.tok, &loss1, &acc1);
  g_test_message ("training loss %.4f -> %.4f; held-out loss %.4f -> %.4f, image->text "
      "top-1 %.3f -> %.3f (chance %.3f)", first, last, loss0, loss1, acc0, acc1, 1.0 / BATCH);
  if (g_test_verbose ())
    g_printerr ("training loss %.4f -> %.4f; held-out loss %.4f -> %.4f, top-1 %.3f -> %.3f\n",
        first, last, loss0, loss1, acc0, acc1);
  g_assert_cmpint (gv_optimizer_get_step_count (gv_clip_trainer_get_optimizer (tr)), ==,
      STEPS);
  /* measured (120 steps): 2.84 -> 0.73 training, 3.17 -> 0.37 held out, top-1 0.06 -> 0.88 */
  g_assert_cmpfloat (last, <, 0.5 * first);
  g_assert_cmpfloat (loss1, <, 0.5 * loss0);
  g_assert_cmpfloat (acc1, >=, 8.0 / BATCH);
  gv_clip_trainer_free (tr);
  nets_free (&n);
}

/* a frozen side keeps its weights (and gets no optimizer state); the other side moves */
static void
test_frozen_side (void)
{
  Nets n;
  nets_new (&n, 16, 1);
  GvClipTrainer *tr = trainer_new (&n, GV_CLIP_TRAIN_TEXT, 1e-2);
  GvOptimizer *o = gv_clip_trainer_get_optimizer (tr);
  g_assert_null (gv_optimizer_lookup (o, "visual_projection.weight"));
  GvTensor *tp = gv_optimizer_lookup (o, "text_projection.weight");
  g_assert_true (tp == gv_clip_trainer_get_text_projection (tr));
  g_assert_nonnull (gv_optimizer_lookup (o, "logit_scale"));
  g_assert_nonnull (gv_optimizer_lookup (o, "text_model.encoder.layers.0.mlp.fc1.weight"));
  /* the initialisation touched the trained side only */
  GvTensor *ln = gv_optimizer_lookup (o, "text_model.final_layer_norm.weight");
  GvTensor *bias = gv_optimizer_lookup (o, "text_model.encoder.layers.0.mlp.fc1.bias");
  GvTensor *tok = gv_optimizer_lookup (o, "text_model.embeddings.token_embedding.weight");
  gfloat *lnv = gv_test_download (ln), *bv = gv_test_download (bias);
  gfloat *tv = gv_test_download (tok);
  for (gint64 k = 0; k < ln->numel; k++)
    g_assert_cmpfloat (lnv[k], ==, 1);
  for (gint64 k = 0; k < bias->numel; k++)
    g_assert_cmpfloat (bv[k], ==, 0);
  gdouble ss = 0;
  for (gint64 k = 0; k < tok->numel; k++)
    ss += (gdouble) tv[k] * tv[k];
  g_assert_cmpfloat (fabs (sqrt (ss / tok->numel) - 0.02), <, 0.002);
  g_free (lnv);
  g_free (bv);
  g_free (tv);
  /* the vision weights through the inference forward */
  gint32 *ids;
  gint length;
  GvTensor *px = world_batch (tr, n.tok, 5, 0, &ids, &length);
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  GvTensor *e0 = gv_image_encoder_forward (n.vision, cmd, px, NULL, NULL, NULL);
  gv_test_finish (cmd);
  gfloat *before = gv_test_download (e0), *tp0 = gv_test_download (tp);
  train_step (tr, n.tok, 0);
  GvTensor *e1 = gv_image_encoder_forward (n.vision, cmd, px, NULL, NULL, NULL);
  gv_test_finish (cmd);
  gfloat *after = gv_test_download (e1), *tp1 = gv_test_download (tp);
  g_assert_true (memcmp (before, after, gv_tensor_nbytes (e0)) == 0);
  g_assert_false (memcmp (tp0, tp1, gv_tensor_nbytes (tp)) == 0);
  g_free (before);
  g_free (after);
  g_free (tp0);
  g_free (tp1);
  gv_tensor_unref (e0);
  gv_tensor_unref (e1);
  gv_clip_trainer_free (tr);

  /* the vision side alone: the text side's names are not registered */
  tr = trainer_new (&n, GV_CLIP_TRAIN_VISION, 1e-2);
  o = gv_clip_trainer_get_optimizer (tr);
  g_assert_null (gv_optimizer_lookup (o, "text_projection.weight"));
  g_assert_nonnull (gv_optimizer_lookup (o, "vision_model.embeddings.class_embedding"));
  train_step (tr, n.tok, 0);
  g_assert_null (gv_optimizer_lookup (o, "text_model.final_layer_norm.weight"));
  gv_clip_trainer_free (tr);
  gv_cmd_free (cmd);
  gv_tensor_unref (px);
  g_free (ids);
  nets_free (&n);
}

/* a cancelled step fails with GV_ERROR_CANCELLED and changes nothing; bad batches are errors */
static void
test_cancel_and_bad_input (void)
{
  Nets n;
  nets_new (&n, 16, 1);
  GvClipTrainer *tr = trainer_new (&n, GV_CLIP_TRAIN_BOTH, 1e-2);
  GvOptimizer *o = gv_clip_trainer_get_optimizer (tr);
  GvTensor *p = gv_optimizer_lookup (o, "vision_model.encoder.layers.0.mlp.fc2.weight");
  gfloat *before = gv_test_download (p);
  gint32 *ids;
  gint length;
  GvTensor *px = world_batch (tr, n.tok, 5, 0, &ids, &length);
  GError *error = NULL;
  gint flag = 1;
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  gv_cmd_set_cancel_flag (cmd, &flag);
  gfloat loss = -1;
  g_assert_false (gv_clip_trainer_step (tr, cmd, px, ids, length, 1.0f, &loss, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpfloat (loss, ==, -1);
  g_assert_cmpint (gv_optimizer_get_step_count (o), ==, 0);
  gfloat *after = gv_test_download (p);
  g_assert_true (memcmp (before, after, gv_tensor_nbytes (p)) == 0);
  flag = 0;
  g_assert_true (gv_clip_trainer_step (tr, cmd, px, ids, length, 1.0f, &loss, &error));
  g_assert_no_error (error);
  g_assert_cmpint (gv_optimizer_get_step_count (o), ==, 1);

  /* a token id outside the vocabulary, too many tokens, a batch of one, wrong image size */
  gint32 bad_id = ids[1];
  ids[1] = 100000;
  g_assert_false (gv_clip_trainer_step (tr, cmd, px, ids, length, 1.0f, NULL, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
  g_clear_error (&error);
  ids[1] = bad_id;
  gint32 *long_ids = g_new0 (gint32, BATCH * 40);
  g_assert_false (gv_clip_trainer_step (tr, cmd, px, long_ids, 40, 1.0f, NULL, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
  g_clear_error (&error);
  g_free (long_ids);
  GvTensor *one = GV_VIEW (px, 0, 1, 3, SIZE, SIZE);
  g_assert_false (gv_clip_trainer_step (tr, cmd, one, ids, length, 1.0f, NULL, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
  g_clear_error (&error);
  gv_tensor_unref (one);
  GvTensor *small = GV_VIEW (px, 0, 4, 3, SIZE / 2, SIZE);
  g_assert_false (gv_clip_trainer_step (tr, cmd, small, ids, length, 1.0f, NULL, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
  g_clear_error (&error);
  gv_tensor_unref (small);
  g_assert_cmpint (gv_optimizer_get_step_count (o), ==, 1);
  gv_cmd_free (cmd);
  g_free (before);
  g_free (after);
  gv_tensor_unref (px);
  g_free (ids);
  gv_clip_trainer_free (tr);
  nets_free (&n);
}

/* two steps at learning rate 0 from the same weights, the second recomputing the layers:
 * the same loss and gradients, bit for bit */
static void
test_deterministic (void)
{
  Nets n;
  nets_new (&n, 16, 1);
  GvClipTrainer *tr = trainer_new (&n, GV_CLIP_TRAIN_BOTH, 0);
  GvOptimizer *o = gv_clip_trainer_get_optimizer (tr);
  gint np = gv_optimizer_get_n_params (o);
  gfloat l1 = train_step (tr, n.tok, 0);
  gfloat **g1 = g_new (gfloat *, np);
  for (gint i = 0; i < np; i++)
    g1[i] = gv_test_download (gv_optimizer_get_grad (o, i));
  gv_clip_trainer_set_recompute (tr, TRUE);
  gfloat l2 = train_step (tr, n.tok, 0);
  g_assert_true (memcmp (&l1, &l2, sizeof l1) == 0);
  gint nonzero = 0;
  for (gint i = 0; i < np; i++) {
    GvTensor *gt = gv_optimizer_get_grad (o, i);
    gfloat *g2 = gv_test_download (gt);
    g_assert_true (memcmp (g1[i], g2, gv_tensor_nbytes (gt)) == 0);
    for (gint64 k = 0; k < gt->numel; k++)
      if (g2[k] != 0) {
        nonzero++;
        break;
      }
    g_free (g2);
    g_free (g1[i]);
  }
  /* every trained tensor gets a gradient (token rows aside, each tensor has some) */
  g_assert_cmpint (nonzero, ==, np);
  g_free (g1);
  gv_clip_trainer_free (tr);
  nets_free (&n);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/clip-train/loss-gradients", test_loss_gradients);
  g_test_add_func ("/clip-train/frozen-side", test_frozen_side);
  g_test_add_func ("/clip-train/cancel-and-bad-input", test_cancel_and_bad_input);
  g_test_add_func ("/clip-train/deterministic", test_deterministic);
  g_test_add_func ("/clip-train/learns", test_learns);
  return g_test_run ();
}
