/* The VAE's training gradients (gv-vae.h backward, gv-vae-loss.h, gv-vae-train.h) against
 * central finite differences on a tiny random configuration: every kind of layer of the
 * encoder and decoder, the latents' gradient, and each loss term. A gradient off by 25%
 * must fail the same comparison. */
#include <math.h>
#include <string.h>

#include "gv-test-util.h"
#include "models/gv-random.h"
#include "models/gv-vae-train.h"

#define N 2
#define H 8
#define W 6
#define SEED 5

/* fp32 forwards: the functionals carry ~1e-6 of rounding noise, ~5e-5 in differences of step
 * 1e-2 (measured: up to 3e-5 where the gradient is ~0) */
static gboolean
close_enough (gdouble fd, gdouble g)
{
  return fabs (fd - g) <= 1e-4 + 2e-2 * fabs (fd);
}

/* comparisons where the gradient stands out of the noise (and 1.25 g would fail) */
static gint n_significant;

/* the comparison, and that 1.25 g would not pass it (when the gradient is not tiny) */
static void
check (const gchar *what, gint64 at, gdouble fd, gdouble g)
{
  if (g_test_verbose ())
    g_printerr ("%s[%" G_GINT64_FORMAT "]: analytic %.6e, differences %.6e\n", what, at, g, fd);
  g_assert_true (close_enough (fd, g));
  if (fabs (fd) > 2e-3) {
    g_assert_false (close_enough (fd, 1.25 * g));
    n_significant++;
  }
}

static GvVae *
tiny_vae (void)
{
  GError *error = NULL;
  GvVaeConfig c;
  gv_vae_config_sd (&c);
  c.n_blocks = 2;
  c.block_out_channels[0] = 8;
  c.block_out_channels[1] = 12;
  c.layers_per_block = 1;
  c.norm_num_groups = 4;
  c.latent_channels = 3;
  c.mid_block_add_attention = TRUE;
  GvVae *vae = gv_vae_new_from_loader (gv_test_device (), gv_loader_new_random (gv_test_device (),
          3), &c, &error);
  g_assert_no_error (error);
  return vae;
}

static GvTensor *
random_tensor (gint ndim, const gint64 *shape, guint32 seed)
{
  gint64 n = 1;
  for (gint i = 0; i < ndim; i++)
    n *= shape[i];
  gfloat *data = gv_test_random (n, seed, -1.0f, 1.0f);
  GvTensor *t = gv_test_tensor (ndim, shape, data);
  g_free (data);
  return t;
}

/* the trainer's loss at step 0 by the inference path: encode, sample with the step's eps,
 * decode */
static gdouble
forward_loss (GvVae *vae, GvTensor *images, const GvVaeLossWeights *w)
{
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  GvTensor *mean, *logvar;
  gv_vae_encode (vae, cmd, images, &mean, &logvar);
  gsize n = mean->numel;
  gfloat *m = g_new (gfloat, n), *lv = g_new (gfloat, n), *eps = g_new (gfloat, n);
  gfloat *z = g_new (gfloat, n), *dm = g_new0 (gfloat, n), *dlv = g_new0 (gfloat, n);
  gv_tensor_record_download (cmd, mean, m);
  gv_tensor_record_download (cmd, logvar, lv);
  gv_test_finish (cmd);
  gv_random_normal (eps, n, gv_vae_trainer_eps_seed (SEED, 0));
  gv_vae_sample (m, lv, eps, n, z);
  GvTensor *zt = gv_test_tensor (mean->ndim, mean->shape, z);
  GvTensor *out = gv_vae_decode (vae, cmd, zt);
  gfloat *o = g_new (gfloat, out->numel);
  gv_tensor_record_download (cmd, out, o);
  gv_test_finish (cmd);
  gfloat *x = gv_test_download (images);
  gdouble loss = gv_vae_recon_loss (w, o, x, out->shape[0], out->shape[1], out->shape[2],
      out->shape[3], NULL) + gv_vae_kl_loss (w, m, lv, n, images->numel, dm, dlv);
  gv_tensor_unref (out);
  gv_tensor_unref (zt);
  gv_tensor_unref (mean);
  gv_tensor_unref (logvar);
  gv_cmd_free (cmd);
  g_free (m);
  g_free (lv);
  g_free (eps);
  g_free (z);
  g_free (dm);
  g_free (dlv);
  g_free (o);
  g_free (x);
  return loss;
}

/* the trainer's step: the loss and the gradients of the layers around the latents (the
 * sample, the KL term) against differences of the loss (lr 0: the weights stay); MSE and a
 * large KL weight, both smooth (the L1 terms: test_loss_terms) */
static void
test_step (void)
{
  static const gchar *const names[] = {
    "encoder.conv_out.weight", "quant_conv.weight", "quant_conv.bias", "post_quant_conv.bias",
    "decoder.conv_in.weight", "decoder.conv_out.weight",
  };
  GError *error = NULL;
  GvVae *vae = tiny_vae ();
  GvTensor *images = random_tensor (4, (const gint64[]) { N, 3, H, W }, 21);
  GvVaeLossWeights w = { 0.0f, 1.0f, 0.0f, 0.5f };
  GvAdamW opt = { 0.0, 0.9, 0.999, 1e-8, 0.0 };
  GvVaeTrainer *tr = gv_vae_trainer_new (vae, &opt, &error);
  g_assert_no_error (error);
  gv_vae_trainer_set_loss_weights (tr, &w);
  gv_vae_trainer_set_seed (tr, SEED);
  GvOptimizer *o = gv_vae_trainer_get_optimizer (tr);

  gdouble loss0 = forward_loss (vae, images, &w);
  gfloat loss = 0, recon = 0;
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  g_assert_true (gv_vae_trainer_step (tr, cmd, images, 0, &loss, &recon, &error));
  g_assert_no_error (error);
  gv_cmd_free (cmd);
  g_assert_cmpfloat (fabs (loss - loss0), <=, 1e-5 * loss0);
  g_assert_cmpfloat (recon, <, loss);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    GvTensor *p = gv_optimizer_lookup (o, names[i]);
    g_assert_nonnull (p);
    gfloat *v = gv_test_download (p), *g = gv_test_download (gv_optimizer_grad_of (o, p));
    for (gint e = 0; e < 2; e++) {
      gint64 at = (gint64) ((e * 0.61 + 0.17) * p->numel) % p->numel;
      const gfloat h = 1e-2f;
      gfloat saved = v[at];
      v[at] = saved + h;
      g_assert_true (gv_tensor_upload (p, v, NULL));
      gdouble up = forward_loss (vae, images, &w);
      v[at] = saved - h;
      g_assert_true (gv_tensor_upload (p, v, NULL));
      gdouble down = forward_loss (vae, images, &w);
      v[at] = saved;
      g_assert_true (gv_tensor_upload (p, v, NULL));
      check (names[i], at, (up - down) / (2.0 * h), g[at]);
    }
    g_free (v);
    g_free (g);
  }
  gv_vae_trainer_free (tr);
  gv_tensor_unref (images);
  gv_vae_free (vae);
}

/* Linear functionals of the network's outputs, loss = sum (out r), so that every gradient is
 * of the order of the outputs (the trainer's mean losses make the encoder's tiny). */
typedef struct {
  GvTensor *r_mean, *r_logvar, *r_image;
} Linear;

static GvTensor *
linear_image_grad (GvCmd *cmd, GvTensor *image, gpointer data)
{
  Linear *l = data;
  g_assert_cmpint (image->numel, ==, l->r_image->numel);
  return gv_tensor_ref (l->r_image);
}

static void
linear_latent_grad (GvCmd *cmd, GvTensor *mean, GvTensor *logvar, GvTensor *dmean,
    GvTensor *dlogvar, gpointer data)
{
  Linear *l = data;
  gv_tensor_record_copy (cmd, dmean, l->r_mean);
  gv_tensor_record_copy (cmd, dlogvar, l->r_logvar);
}

static gdouble
dot (GvCmd *cmd, GvTensor *t, GvTensor *r)
{
  gfloat *o = g_new (gfloat, t->numel);
  gv_tensor_record_download (cmd, t, o);
  gv_test_finish (cmd);
  gfloat *rv = gv_test_download (r);
  gdouble sum = 0;
  for (gint64 i = 0; i < t->numel; i++)
    sum += (gdouble) o[i] * rv[i];
  g_free (o);
  g_free (rv);
  return sum;
}

/* the functional by the inference path: of the decoder on @x, or of the encoder */
static gdouble
functional (GvVae *vae, GvTensor *x, Linear *l, gboolean decoder)
{
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  gdouble f;
  if (decoder) {
    GvTensor *out = gv_vae_decode (vae, cmd, x);
    f = dot (cmd, out, l->r_image);
    gv_tensor_unref (out);
  } else {
    GvTensor *mean, *logvar;
    gv_vae_encode (vae, cmd, x, &mean, &logvar);
    f = dot (cmd, mean, l->r_mean) + dot (cmd, logvar, l->r_logvar);
    gv_tensor_unref (mean);
    gv_tensor_unref (logvar);
  }
  gv_cmd_free (cmd);
  return f;
}

/* central differences of the functional at two elements of @p (or five of an input) */
static void
check_tensor (GvVae *vae, GvTensor *x, Linear *l, gboolean decoder, const gchar *what,
    GvTensor *p, GvTensor *grad, gint count)
{
  gfloat *v = gv_test_download (p), *g = gv_test_download (grad);
  for (gint e = 0; e < count; e++) {
    gint64 at = (gint64) ((e * 0.61 + 0.17) * p->numel) % p->numel;
    const gfloat h = 1e-2f;
    gfloat saved = v[at];
    v[at] = saved + h;
    g_assert_true (gv_tensor_upload (p, v, NULL));
    gdouble up = functional (vae, x, l, decoder);
    v[at] = saved - h;
    g_assert_true (gv_tensor_upload (p, v, NULL));
    gdouble down = functional (vae, x, l, decoder);
    v[at] = saved;
    g_assert_true (gv_tensor_upload (p, v, NULL));
    check (what, at, (up - down) / (2.0 * h), g[at]);
  }
  g_free (v);
  g_free (g);
}

static GvTensor *
grad_of (GvTensor *param, gpointer data)
{
  return gv_optimizer_grad_of (data, param);
}

/* registers every parameter; the attention's query and key weights get a larger range, so
 * that the scores are far from uniform and their gradients stand out of the noise */
static void
add_param (const gchar *name, GvTensor *t, gpointer data)
{
  g_assert_true (gv_optimizer_add (data, name, t, NULL));
  if (g_str_has_suffix (name, "to_q.weight") || g_str_has_suffix (name, "to_k.weight")) {
    gfloat *v = gv_test_random (t->numel, t->numel + strlen (name), -1.0f, 1.0f);
    g_assert_true (gv_tensor_upload (t, v, NULL));
    g_free (v);
  }
}

/* every kind of layer of the encoder, then of the decoder (and the latents' gradient) */
static void
test_networks (void)
{
  static const gchar *const encoder[] = {
    "encoder.conv_in.weight", "encoder.down_blocks.0.resnets.0.norm1.weight",
    "encoder.down_blocks.0.resnets.0.conv1.bias",
    "encoder.down_blocks.0.downsamplers.0.conv.weight",
    "encoder.down_blocks.0.downsamplers.0.conv.bias",
    "encoder.down_blocks.1.resnets.0.conv_shortcut.weight",
    "encoder.mid_block.attentions.0.group_norm.weight",
    "encoder.mid_block.attentions.0.to_q.weight", "encoder.mid_block.attentions.0.to_k.weight",
    "encoder.mid_block.attentions.0.to_v.bias", "encoder.mid_block.attentions.0.to_out.0.weight",
    "encoder.mid_block.resnets.1.conv2.weight", "encoder.conv_norm_out.bias",
    "encoder.conv_out.weight", "quant_conv.weight", "quant_conv.bias",
  }, *decoder[] = {
    "post_quant_conv.weight", "decoder.conv_in.bias", "decoder.mid_block.resnets.0.norm2.bias",
    "decoder.mid_block.attentions.0.to_q.bias", "decoder.mid_block.attentions.0.to_k.weight",
    "decoder.up_blocks.0.upsamplers.0.conv.weight",
    "decoder.up_blocks.1.resnets.0.conv_shortcut.weight",
    "decoder.up_blocks.1.resnets.1.conv1.weight", "decoder.conv_norm_out.weight",
    "decoder.conv_out.weight",
  };
  GvVae *vae = tiny_vae ();
  GvAdamW opt = { 0.0, 0.9, 0.999, 1e-8, 0.0 };
  n_significant = 0;
  GvOptimizer *o = gv_optimizer_new (gv_test_device (), &opt);
  gv_vae_foreach_param (vae, add_param, o);
  GvGrads g = { grad_of, o };
  const gint64 lat[] = { N, 3, H / 2, W / 2 }, img[] = { N, 3, H, W };
  Linear l = { random_tensor (4, lat, 31), random_tensor (4, lat, 32),
    random_tensor (4, img, 33) };
  GvTensor *images = random_tensor (4, img, 34), *z = random_tensor (4, lat, 35);
  GvTensor *dz = random_tensor (4, lat, 36);

  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  gv_optimizer_zero_grads (o, cmd);
  gv_vae_encode_backward (vae, cmd, images, &g, linear_latent_grad, &l);
  gv_vae_decode_backward (vae, cmd, z, &g, linear_image_grad, &l, dz);
  gv_test_finish (cmd);
  gv_cmd_free (cmd);
  for (guint i = 0; i < G_N_ELEMENTS (encoder); i++) {
    GvTensor *p = gv_optimizer_lookup (o, encoder[i]);
    check_tensor (vae, images, &l, FALSE, encoder[i], p, gv_optimizer_grad_of (o, p), 2);
  }
  for (guint i = 0; i < G_N_ELEMENTS (decoder); i++) {
    GvTensor *p = gv_optimizer_lookup (o, decoder[i]);
    check_tensor (vae, z, &l, TRUE, decoder[i], p, gv_optimizer_grad_of (o, p), 2);
  }
  check_tensor (vae, z, &l, TRUE, "dlatents", z, dz, 5);
  /* most of the 57 comparisons are far out of the noise */
  g_assert_cmpint (n_significant, >=, 40);

  gv_tensor_unref (images);
  gv_tensor_unref (z);
  gv_tensor_unref (dz);
  gv_tensor_unref (l.r_mean);
  gv_tensor_unref (l.r_logvar);
  gv_tensor_unref (l.r_image);
  gv_optimizer_free (o);
  gv_vae_free (vae);
}

/* each term of the loss alone, on the host, in double differences; the prediction keeps
 * clear of the L1 kinks (|pred - target| and its neighbour differences > the step) */
static void
test_loss_terms (void)
{
  const gint n = 2, c = 3, h = 5, w = 7, count = n * c * h * w;
  const GvVaeLossWeights terms[] = { { 1, 0, 0, 0 }, { 0, 1, 0, 0 }, { 0, 0, 1, 0 } };
  gfloat *target = gv_test_random (count, 41, -1.0f, 1.0f);
  gfloat *pred = g_new (gfloat, count), *grad = g_new (gfloat, count);
  /* pred = target + a smooth ramp of steps 0.05 .. 0.1 wide: differences stay away from 0 */
  for (gint i = 0; i < count; i++)
    pred[i] = target[i] + 0.3f + 0.1f * (i % w) + 0.17f * ((i / w) % h);
  for (guint k = 0; k < G_N_ELEMENTS (terms); k++) {
    gv_vae_recon_loss (&terms[k], pred, target, n, c, h, w, grad);
    for (gint e = 0; e < 6; e++) {
      gint at = (e * 37 + 5) % count;
      const gfloat step = 1e-3f;
      gfloat saved = pred[at];
      pred[at] = saved + step;
      gdouble up = gv_vae_recon_loss (&terms[k], pred, target, n, c, h, w, NULL);
      pred[at] = saved - step;
      gdouble down = gv_vae_recon_loss (&terms[k], pred, target, n, c, h, w, NULL);
      pred[at] = saved;
      check (k == 0 ? "l1" : k == 1 ? "mse" : "edge", at, (up - down) / (2.0 * step),
          grad[at]);
    }
  }

  /* KL and the sample: L = kl + sum (z r) */
  const gsize m = 11;
  const GvVaeLossWeights kl = { 0, 0, 0, 0.7f };
  gfloat *mean = gv_test_random (m, 42, -1.0f, 1.0f), *lv = gv_test_random (m, 43, -2.0f, 1.0f);
  gfloat *eps = gv_test_random (m, 44, -1.5f, 1.5f), *r = gv_test_random (m, 45, -1.0f, 1.0f);
  gfloat *dm = g_new0 (gfloat, m), *dlv = g_new0 (gfloat, m), *z = g_new (gfloat, m);
  gfloat *dm0 = g_new0 (gfloat, m), *dlv0 = g_new0 (gfloat, m);
  gv_vae_kl_loss (&kl, mean, lv, m, 30, dm, dlv);
  gv_vae_sample_backward (lv, eps, r, m, dm, dlv);
  for (gsize i = 0; i < m; i++) {
    for (gint which = 0; which < 2; which++) {
      gfloat *x = which ? lv : mean, saved = x[i];
      gdouble f[2];
      for (gint s = 0; s < 2; s++) {
        x[i] = saved + (s ? -1e-3f : 1e-3f);
        f[s] = gv_vae_kl_loss (&kl, mean, lv, m, 30, dm0, dlv0);
        gv_vae_sample (mean, lv, eps, m, z);
        for (gsize j = 0; j < m; j++)
          f[s] += (gdouble) z[j] * r[j];
      }
      x[i] = saved;
      check (which ? "dlogvar" : "dmean", i, (f[0] - f[1]) / 2e-3, which ? dlv[i] : dm[i]);
    }
  }
  /* the clamp: no log-variance gradient where it is active */
  lv[0] = 25.0f;
  memset (dlv, 0, m * sizeof (gfloat));
  gv_vae_sample_backward (lv, eps, r, m, dm, dlv);
  g_assert_cmpfloat (dlv[0], ==, 0.0f);
  g_assert_cmpfloat (dlv[1], !=, 0.0f);

  g_free (target);
  g_free (pred);
  g_free (grad);
  g_free (mean);
  g_free (lv);
  g_free (eps);
  g_free (r);
  g_free (dm);
  g_free (dlv);
  g_free (z);
  g_free (dm0);
  g_free (dlv0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vae-back/loss-terms", test_loss_terms);
  g_test_add_func ("/vae-back/networks", test_networks);
  g_test_add_func ("/vae-back/step", test_step);
  return g_test_run ();
}
