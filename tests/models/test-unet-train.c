/* The training step of the inflated UNet (gv-unet-train.h) on a tiny hand-made configuration:
 * gradients of every kind of parameter against central finite differences of the loss,
 * determinism, cancellation. (The real-size figures: tests/bench/gv-bench-train; the
 * Tune-A-Video step against the reference: the golden case tav_train_step.) */
#include <math.h>
#include <string.h>

#include "gv-test-util.h"
#include "models/gv-unet-train.h"

#define FRAMES 2

typedef struct {
  GvUNet *unet;
  GvUNetTemporal *temporal;
  GvTensor *sample, *text, *labels, *target;
  gfloat timestep;
  gfloat *weight;               /* the loss's per-element weights, or NULL */
} Tiny;

/* test data: a GvTrainableSet, or this for GV_TRAIN_ALL with a weighted loss */
#define WEIGHTED_ALL 100

static void
tiny_config (GvUNetConfig *c)
{
  gv_unet_config_sd21_unclip (c);
  c->n_blocks = 2;
  c->block_out_channels[0] = 8;
  c->block_out_channels[1] = 16;
  c->heads[0] = c->heads[1] = 2;
  c->layers_per_block[0] = c->layers_per_block[1] = 1;
  c->down_blocks[0] = GV_BLOCK_CROSS_ATTN;
  c->down_blocks[1] = GV_BLOCK_PLAIN;
  c->up_blocks[0] = GV_BLOCK_PLAIN;
  c->up_blocks[1] = GV_BLOCK_CROSS_ATTN;
  c->norm_num_groups = 4;
  c->cross_attention_dim = 12;
  c->time_embedding_dim = 32;
  c->projection_class_embeddings_input_dim = 6;
}

static GvTensor *
random_tensor (gint ndim, const gint64 *shape, guint32 seed, gfloat range)
{
  gint64 n = 1;
  for (gint i = 0; i < ndim; i++)
    n *= shape[i];
  gfloat *data = gv_test_random (n, seed, -range, range);
  GvTensor *t = gv_test_tensor (ndim, shape, data);
  g_free (data);
  return t;
}

static void
tiny_new (Tiny *t)
{
  GError *error = NULL;
  GvUNetConfig cfg;
  tiny_config (&cfg);
  t->unet = gv_unet_new_from_loader (gv_test_device (), gv_loader_new_random (gv_test_device (),
          7), &cfg, &error);
  g_assert_no_error (error);
  t->temporal = gv_unet_temporal_new (t->unet, NULL, NULL, 3, &error);
  g_assert_no_error (error);
  t->sample = random_tensor (4, (const gint64[]) { FRAMES, 4, 6, 5 }, 11, 1.0f);
  t->target = random_tensor (4, (const gint64[]) { FRAMES, 4, 6, 5 }, 12, 1.0f);
  t->text = random_tensor (3, (const gint64[]) { 1, 5, 12 }, 13, 1.0f);
  t->labels = random_tensor (2, (const gint64[]) { 1, 6 }, 14, 1.0f);
  t->timestep = 321;
  t->weight = NULL;
}

static void
tiny_free (Tiny *t)
{
  gv_tensor_unref (t->sample);
  gv_tensor_unref (t->target);
  gv_tensor_unref (t->text);
  gv_tensor_unref (t->labels);
  g_free (t->weight);
  gv_unet_temporal_free (t->temporal);
  gv_unet_free (t->unet);
}

/* the loss in double, by the inference forward */
static gdouble
forward_loss (Tiny *t)
{
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  GvUNetInputs in = { .frames = FRAMES, .temporal = t->temporal, .timesteps = &t->timestep,
    .encoder_hidden_states = t->text, .class_labels = t->labels };
  GvTensor *out = gv_unet_forward (t->unet, cmd, t->sample, &in);
  gfloat *o = g_new (gfloat, out->numel);
  gv_tensor_record_download (cmd, out, o);
  gv_test_finish (cmd);
  gfloat *y = gv_test_download (t->target);
  gdouble sum = 0;
  for (gint64 i = 0; i < out->numel; i++)
    sum += (t->weight ? t->weight[i] : 1.0) * ((gdouble) o[i] - y[i]) * ((gdouble) o[i] - y[i]);
  sum /= out->numel;
  gv_tensor_unref (out);
  gv_cmd_free (cmd);
  g_free (o);
  g_free (y);
  return sum;
}

static GvUNetTrainer *
trainer_new (Tiny *t, GvTrainableSet which, gdouble lr)
{
  GError *error = NULL;
  GvAdamWParams opt = GV_ADAMW_PARAMS_DEFAULT;
  opt.lr = lr;
  GvUNetTrainer *tr = gv_unet_trainer_new (t->unet, t->temporal, which, &opt, TRUE, &error);
  g_assert_no_error (error);
  return tr;
}

static gfloat
step (Tiny *t, GvUNetTrainer *tr)
{
  GError *error = NULL;
  gfloat loss = 0;
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  gboolean ok = gv_unet_trainer_step (tr, cmd, t->sample, FRAMES, &t->timestep, t->text,
      t->labels, t->target, 0, &loss, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  gv_cmd_free (cmd);
  return loss;
}

/* the temporal output projections start at zero (the untuned model): give them values so
 * that the temporal attention's other gradients are not zero */
static void
randomise_temporal_out (GvUNetTrainer *tr)
{
  GvOptimizer *optim = gv_unet_trainer_get_optimizer (tr);
  for (gint i = 0; i < gv_optimizer_get_n_params (optim); i++) {
    if (strstr (gv_optimizer_get_name (optim, i), "attn_temp.to_out") == NULL)
      continue;
    GvTensor *p = gv_optimizer_get_param (optim, i);
    gfloat *v = gv_test_random (p->numel, 100 + i, -0.3f, 0.3f);
    g_assert_true (gv_tensor_upload (p, v, NULL));
    g_free (v);
  }
}

/* every parameter named here (one of each kind of layer): two elements against central
 * differences of the loss (lr 0: the step leaves the weights as they are) */
static void
test_finite_differences (gconstpointer data)
{
  gboolean weighted = GPOINTER_TO_INT (data) == WEIGHTED_ALL;
  GvTrainableSet which = weighted ? GV_TRAIN_ALL : GPOINTER_TO_INT (data);
  static const gchar *const names[] = {
    "conv_in.weight", "time_embedding.linear_1.weight", "class_embedding.linear_2.bias",
    "down_blocks.0.resnets.0.norm1.weight", "down_blocks.0.resnets.0.time_emb_proj.weight",
    "down_blocks.0.attentions.0.proj_in.weight",
    "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight",
    "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_k.weight",
    "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_q.weight",
    "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_v.weight",
    "down_blocks.0.attentions.0.transformer_blocks.0.norm3.bias",
    "down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj.weight",
    "down_blocks.0.attentions.0.transformer_blocks.0.attn_temp.to_q.weight",
    "down_blocks.0.attentions.0.transformer_blocks.0.attn_temp.to_v.weight",
    "down_blocks.0.attentions.0.transformer_blocks.0.attn_temp.to_out.0.bias",
    "down_blocks.0.downsamplers.0.conv.weight", "mid_block.resnets.1.conv2.weight",
    "mid_block.attentions.0.transformer_blocks.0.attn_temp.to_k.weight",
    "up_blocks.0.resnets.0.conv_shortcut.weight", "up_blocks.0.upsamplers.0.conv.bias",
    "up_blocks.1.attentions.1.transformer_blocks.0.attn1.to_q.weight",
    "up_blocks.1.attentions.1.proj_out.weight", "conv_norm_out.bias", "conv_out.weight",
  };
  Tiny t;
  tiny_new (&t);
  GvUNetTrainer *tr = trainer_new (&t, which, 0);
  GvOptimizer *optim = gv_unet_trainer_get_optimizer (tr);
  randomise_temporal_out (tr);
  gdouble loss0 = forward_loss (&t);
  if (weighted) {
    /* weights in [0, 3], with the reported loss still the plain MSE */
    t.weight = gv_test_random (t.target->numel, 15, 0.0f, 3.0f);
    GvTensor *wt = gv_test_tensor (t.target->ndim, t.target->shape, t.weight);
    gv_unet_trainer_set_loss_weight (tr, wt);
    gv_tensor_unref (wt);
  }
  gfloat loss = step (&t, tr);
  g_assert_cmpfloat (fabs (loss - loss0), <=, 1e-5 * loss0);

  gint checked = 0;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    gint k = -1;
    for (gint j = 0; j < gv_optimizer_get_n_params (optim); j++)
      if (g_str_equal (gv_optimizer_get_name (optim, j), names[i]))
        k = j;
    if (which == GV_TRAIN_ALL)
      g_assert_cmpint (k, >=, 0);
    if (k < 0)
      continue;
    GvTensor *p = gv_optimizer_get_param (optim, k);
    gfloat *w = gv_test_download (p), *g = gv_test_download (gv_optimizer_get_grad (optim, k));
    for (gint e = 0; e < 2; e++) {
      gint64 at = (gint64) ((e * 0.61 + 0.17) * p->numel) % p->numel;
      const gfloat h = 1e-2f;
      gfloat saved = w[at];
      w[at] = saved + h;
      g_assert_true (gv_tensor_upload (p, w, NULL));
      gdouble up = forward_loss (&t);
      w[at] = saved - h;
      g_assert_true (gv_tensor_upload (p, w, NULL));
      gdouble down = forward_loss (&t);
      w[at] = saved;
      g_assert_true (gv_tensor_upload (p, w, NULL));
      gdouble fd = (up - down) / (2.0 * h);
      if (g_test_verbose ())
        g_printerr ("%s[%" G_GINT64_FORMAT "]: analytic %.6e, differences %.6e\n", names[i], at,
            g[at], fd);
      /* fp32 losses: the differences carry ~1e-6 of rounding noise */
      g_assert_cmpfloat (fabs (fd - g[at]), <=, 1e-5 + 3e-2 * fabs (fd));
      checked++;
    }
    g_free (w);
    g_free (g);
  }
  g_assert_cmpint (checked, >=, which == GV_TRAIN_ALL ? 2 * (gint) G_N_ELEMENTS (names) : 12);
  gv_unet_trainer_free (tr);
  tiny_free (&t);
}

/* the Tune-A-Video set: attn1/attn2 query and attn_temp of every transformer block */
static void
test_tav_set (void)
{
  Tiny t;
  tiny_new (&t);
  GvUNetTrainer *tr = trainer_new (&t, GV_TRAIN_TAV, 3e-5);
  GvOptimizer *optim = gv_unet_trainer_get_optimizer (tr);
  /* 3 transformer blocks (down 0, mid, up 1 twice): 2 + 5 tensors each */
  g_assert_cmpint (gv_optimizer_get_n_params (optim), ==, 4 * 7);
  g_assert_nonnull (gv_optimizer_lookup (optim,
          "mid_block.attentions.0.transformer_blocks.0.attn_temp.to_out.0.bias"));
  g_assert_null (gv_optimizer_lookup (optim,
          "mid_block.attentions.0.transformer_blocks.0.norm_temp.weight"));
  gv_unet_trainer_free (tr);
  tiny_free (&t);
}

/* two steps from the same weights give the same bytes; the step changes the weights */
static void
test_deterministic (void)
{
  Tiny t;
  tiny_new (&t);
  GvUNetTrainer *tr = trainer_new (&t, GV_TRAIN_ALL, 0);
  GvOptimizer *optim = gv_unet_trainer_get_optimizer (tr);
  randomise_temporal_out (tr);
  gint n = gv_optimizer_get_n_params (optim);
  gfloat l1 = step (&t, tr);
  gfloat **g1 = g_new (gfloat *, n);
  for (gint i = 0; i < n; i++)
    g1[i] = gv_test_download (gv_optimizer_get_grad (optim, i));
  gfloat l2 = step (&t, tr);
  g_assert_true (memcmp (&l1, &l2, sizeof l1) == 0);
  for (gint i = 0; i < n; i++) {
    GvTensor *gt = gv_optimizer_get_grad (optim, i);
    gfloat *g2 = gv_test_download (gt);
    g_assert_true (memcmp (g1[i], g2, gv_tensor_nbytes (gt)) == 0);
    g_free (g2);
    g_free (g1[i]);
  }
  g_free (g1);
  g_assert_cmpint (gv_optimizer_get_step_count (optim), ==, 2);
  g_assert_cmpuint (gv_unet_trainer_get_peak_memory (tr), >, 0);
  gv_unet_trainer_free (tr);

  /* with a learning rate the loss on the same batch goes down */
  tr = trainer_new (&t, GV_TRAIN_ALL, 1e-3);
  gfloat first = step (&t, tr), last = first;
  for (gint i = 0; i < 4; i++)
    last = step (&t, tr);
  g_assert_cmpfloat (last, <, first);
  gv_unet_trainer_free (tr);
  tiny_free (&t);
}

/* without recompute (every block's inside kept by the forward) the step gives the same bytes
 * as with per-block recompute: loss, gradient norm and every gradient */
static void
test_keep_equals_recompute (gconstpointer data)
{
  GvTrainableSet which = GPOINTER_TO_INT (data);
  GError *error = NULL;
  Tiny t;
  tiny_new (&t);
  GvUNetTrainer *tr = trainer_new (&t, which, 0);
  GvOptimizer *optim = gv_unet_trainer_get_optimizer (tr);
  randomise_temporal_out (tr);
  gint n = gv_optimizer_get_n_params (optim);
  gfloat loss[2], norm[2];
  gfloat **grads[2] = { g_new (gfloat *, n), g_new (gfloat *, n) };
  guint64 peak[2];
  for (gint r = 0; r < 2; r++) {
    gv_unet_trainer_set_recompute (tr, r == 0);
    GvCmd *cmd = gv_cmd_new (gv_test_device ());
    g_assert_true (gv_unet_trainer_step (tr, cmd, t.sample, FRAMES, &t.timestep, t.text,
            t.labels, t.target, 1.0f, &loss[r], &norm[r], &error));
    g_assert_no_error (error);
    gv_cmd_free (cmd);
    for (gint i = 0; i < n; i++)
      grads[r][i] = gv_test_download (gv_optimizer_get_grad (optim, i));
    peak[r] = gv_unet_trainer_get_peak_memory (tr);
  }
  if (g_test_verbose ())
    g_printerr ("peak device memory: recompute %" G_GUINT64_FORMAT ", kept %" G_GUINT64_FORMAT
        "\n", peak[0], peak[1]);
  g_assert_cmpfloat (loss[0], >, 0);
  g_assert_cmpfloat (norm[0], >, 0);
  g_assert_true (memcmp (&loss[0], &loss[1], sizeof (gfloat)) == 0);
  g_assert_true (memcmp (&norm[0], &norm[1], sizeof (gfloat)) == 0);
  gint nonzero = 0;
  for (gint i = 0; i < n; i++) {
    GvTensor *gt = gv_optimizer_get_grad (optim, i);
    if (memcmp (grads[0][i], grads[1][i], gv_tensor_nbytes (gt)) != 0)
      g_error ("%s: the gradients with and without recompute differ",
          gv_optimizer_get_name (optim, i));
    gboolean any = FALSE;
    for (gint64 e = 0; e < gt->numel; e++)
      any = any || grads[0][i][e] != 0.0f;
    nonzero += any;
    g_free (grads[0][i]);
    g_free (grads[1][i]);
  }
  /* the comparison means something: (almost) every gradient has a value */
  g_assert_cmpint (nonzero, >=, n - 1);
  g_free (grads[0]);
  g_free (grads[1]);
  gv_unet_trainer_free (tr);
  tiny_free (&t);
}

/* a cancelled step fails with GV_ERROR_CANCELLED and leaves the weights alone; the trainer
 * goes on afterwards */
static void
test_cancel (void)
{
  Tiny t;
  GError *error = NULL;
  tiny_new (&t);
  GvUNetTrainer *tr = trainer_new (&t, GV_TRAIN_TAV, 1e-3);
  GvOptimizer *optim = gv_unet_trainer_get_optimizer (tr);
  GvTensor *p = gv_optimizer_get_param (optim, 0);
  gfloat *before = gv_test_download (p);
  gint flag = 1;
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  gv_cmd_set_cancel_flag (cmd, &flag);
  gfloat loss = -1;
  g_assert_false (gv_unet_trainer_step (tr, cmd, t.sample, FRAMES, &t.timestep, t.text,
          t.labels, t.target, 1.0f, &loss, NULL, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpfloat (loss, ==, -1);
  g_assert_cmpint (gv_optimizer_get_step_count (optim), ==, 0);
  gfloat *after = gv_test_download (p);
  g_assert_true (memcmp (before, after, gv_tensor_nbytes (p)) == 0);
  g_free (after);
  flag = 0;
  gv_cmd_free (cmd);
  step (&t, tr);
  g_assert_cmpint (gv_optimizer_get_step_count (optim), ==, 1);
  g_free (before);

  /* a target of another shape is an error, not a crash */
  GvTensor *bad = random_tensor (2, (const gint64[]) { 3, 3 }, 5, 1.0f);
  cmd = gv_cmd_new (gv_test_device ());
  g_assert_false (gv_unet_trainer_step (tr, cmd, t.sample, FRAMES, &t.timestep, t.text,
          t.labels, bad, 1.0f, NULL, NULL, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
  g_clear_error (&error);
  gv_cmd_free (cmd);
  gv_tensor_unref (bad);
  gv_unet_trainer_free (tr);
  tiny_free (&t);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/unet-train/finite-differences/all",
      GINT_TO_POINTER (GV_TRAIN_ALL), test_finite_differences);
  g_test_add_data_func ("/unet-train/finite-differences/weighted",
      GINT_TO_POINTER (WEIGHTED_ALL), test_finite_differences);
  g_test_add_data_func ("/unet-train/finite-differences/tav",
      GINT_TO_POINTER (GV_TRAIN_TAV), test_finite_differences);
  g_test_add_func ("/unet-train/tav-set", test_tav_set);
  g_test_add_func ("/unet-train/deterministic", test_deterministic);
  g_test_add_data_func ("/unet-train/keep-equals-recompute/all",
      GINT_TO_POINTER (GV_TRAIN_ALL), test_keep_equals_recompute);
  g_test_add_data_func ("/unet-train/keep-equals-recompute/tav",
      GINT_TO_POINTER (GV_TRAIN_TAV), test_keep_equals_recompute);
  g_test_add_func ("/unet-train/cancel", test_cancel);
  return g_test_run ();
}
