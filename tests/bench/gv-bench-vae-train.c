/* gv-bench-vae-train: trains a VAE from scratch on world images for a while and prints the
 * step time and the held-out reconstruction PSNR (decode of the mean) as it goes (not a test;
 * figures in docs/performance.md).
 *   gv-bench-vae-train [--channels 32,64,64] [--layers 1] [--groups 32] [--latent 4]
 *     [--batch 4] [--size 128] [--seconds 300] [--lr 2e-3] [--l1 0] [--mse 1] [--edge 0]
 *     [--kl 1e-6] [--eval-every 50] [--steps N (instead of --seconds)] */
#include <stdlib.h>

#include "gv-test-util.h"
#include "gv-world-images.h"
#include "models/gv-vae-train.h"
#include "base/gv-cpu-time.h"

#define EVAL_IMAGES 8

/* the held-out PSNR, and in *@edge the mean error of the neighbour differences (sharpness) */
static gdouble
eval_psnr (GvVae *vae, GvTensor *images, const gfloat *host, gdouble *edge)
{
  gfloat *o = gv_world_images_reconstruct (vae, images);
  gdouble psnr = gv_world_images_psnr (o, host, images->numel);
  const GvVaeLossWeights w = { 0, 0, 1, 0 };
  *edge = gv_vae_recon_loss (&w, o, host, images->shape[0], images->shape[1],
      images->shape[2], images->shape[3], NULL);
  g_free (o);
  return psnr;
}

int
main (int argc, char **argv)
{
  gchar *channels = NULL;
  gint layers = 1, groups = 32, latent = 4, batch = 4, size = 128, seconds = 300, every = 50;
  gint steps = 0;
  gdouble lr = 2e-3, l1 = 0, mse = 1, edge = 0, kl = 1e-6;
  GOptionEntry entries[] = {
    { "channels", 0, 0, G_OPTION_ARG_STRING, &channels, "block_out_channels", "A,B,C" },
    { "layers", 0, 0, G_OPTION_ARG_INT, &layers, "layers_per_block", "N" },
    { "groups", 0, 0, G_OPTION_ARG_INT, &groups, "norm_num_groups", "N" },
    { "latent", 0, 0, G_OPTION_ARG_INT, &latent, "latent channels", "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "images per step", "N" },
    { "size", 0, 0, G_OPTION_ARG_INT, &size, "image size", "N" },
    { "seconds", 0, 0, G_OPTION_ARG_INT, &seconds, "training time", "S" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "learning rate", "X" },
    { "l1", 0, 0, G_OPTION_ARG_DOUBLE, &l1, "L1 weight", "X" },
    { "mse", 0, 0, G_OPTION_ARG_DOUBLE, &mse, "MSE weight", "X" },
    { "edge", 0, 0, G_OPTION_ARG_DOUBLE, &edge, "edge weight", "X" },
    { "kl", 0, 0, G_OPTION_ARG_DOUBLE, &kl, "KL weight", "X" },
    { "eval-every", 0, 0, G_OPTION_ARG_INT, &every, "steps between evaluations", "N" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, "training steps (instead of a time)", "N" },
    { NULL }
  };
  GError *error = NULL;
  GOptionContext *ctx = g_option_context_new ("- train a VAE on world images");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("%s\n", error->message);
    return 2;
  }
  g_option_context_free (ctx);

  GvVaeConfig cfg;
  gv_vae_config_sd (&cfg);
  gchar **ch = g_strsplit (channels ? channels : "32,64,64", ",", -1);
  cfg.n_blocks = g_strv_length (ch);
  for (gint i = 0; i < cfg.n_blocks; i++)
    cfg.block_out_channels[i] = atoi (ch[i]);
  g_strfreev (ch);
  cfg.layers_per_block = layers;
  cfg.norm_num_groups = groups;
  cfg.latent_channels = latent;
  GvDevice *dev = gv_test_device ();
  GvVae *vae = gv_vae_new_from_loader (dev, gv_loader_new_random (dev, 1), &cfg, &error);
  if (vae == NULL || !gv_vae_init_norms (vae, &error)) {
    g_printerr ("%s\n", error->message);
    return 1;
  }
  GvAdamW opt = { lr, 0.9, 0.999, 1e-8, 1e-2 };
  GvVaeTrainer *tr = gv_vae_trainer_new (vae, &opt, &error);
  GvVaeLossWeights w = { l1, mse, edge, kl };
  gv_vae_trainer_set_loss_weights (tr, &w);
  gint64 n_params = 0;
  GvOptimizer *o = gv_vae_trainer_get_optimizer (tr);
  for (gint i = 0; i < gv_optimizer_get_n_params (o); i++)
    n_params += gv_optimizer_get_param (o, i)->numel;
  g_print ("VAE factor %d, %" G_GINT64_FORMAT " parameters (%.2f MB fp16), batch %d of %dx%d\n",
      gv_vae_get_factor (vae), n_params, n_params * 2 / 1e6, batch, size, size);

  const gint64 shape[] = { batch, 3, size, size }, eval_shape[] = { EVAL_IMAGES, 3, size, size };
  gfloat *eval_host = gv_world_images (999, 0, EVAL_IMAGES, size);
  GvTensor *eval = gv_test_tensor (4, eval_shape, eval_host);
  gint64 start = g_get_monotonic_time ();
  gdouble train_s = 0, train_cpu = 0;
  for (gint step = 0; steps > 0 ? step < steps : (g_get_monotonic_time () - start) / 1e6 <
      seconds; step++) {
    gfloat *host = gv_world_images (1, step * batch, batch, size);
    GvTensor *images = gv_test_tensor (4, shape, host);
    g_free (host);
    gfloat loss = 0, recon = 0;
    gint64 t0 = g_get_monotonic_time ();
    gdouble c0 = gv_cpu_seconds ();
    GvCmd *cmd = gv_cmd_new (dev);
    if (!gv_vae_trainer_step (tr, cmd, images, 1.0f, &loss, &recon, &error)) {
      g_printerr ("%s\n", error->message);
      return 1;
    }
    gv_cmd_free (cmd);
    train_s += (g_get_monotonic_time () - t0) / 1e6;
    train_cpu += gv_cpu_seconds () - c0;
    gv_tensor_unref (images);
    if ((step + 1) % every == 0) {
      gdouble edge_err, psnr = eval_psnr (vae, eval, eval_host, &edge_err);
      g_print ("step %d  %.1f s  %.2f s/step (%.2f CPU s)  loss %.4f (recon %.4f)  held-out "
          "PSNR %.2f dB, edge error %.4f\n", step + 1, (g_get_monotonic_time () - start) / 1e6,
          train_s / (step + 1), train_cpu / (step + 1), loss, recon, psnr, edge_err);
    }
  }
  GvCmd *cmd = gv_cmd_new (dev);
  g_print ("latent std %.4f (scaling_factor %.4f)\n", gv_vae_latent_std (vae, cmd, eval, NULL),
      1.0 / gv_vae_latent_std (vae, cmd, eval, NULL));
  gv_cmd_free (cmd);
  gv_tensor_unref (eval);
  g_free (eval_host);
  gv_vae_trainer_free (tr);
  gv_vae_free (vae);
  return 0;
}
