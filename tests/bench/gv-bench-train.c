/* gv-bench-train: one Tune-A-Video training step of the inflated UNet (forward, backward with
 * per-block recompute, clipping, AdamW; gv-unet-train.h) against one forward pass of the same
 * model in the same run, and the peak device memory of each, on the shipped tiny checkpoint, the
 * mid-size configuration (gv-bench-edit's) and the real SD-2.1-unCLIP size with random weights.
 * Not a test: figures for docs/performance.md.
 *
 *   gv-bench-train [--frames F] [--latent S] [--runs N] [--which tiny,mid,real]
 */
#include <stdlib.h>
#include <string.h>

#include "gv-bench-random.h"
#include "models/gv-unet-train.h"

static gdouble
now_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

static void
bench (GvDevice *dev, const gchar *name, GvUNet *unet, gint frames, gint latent, gint runs)
{
  GError *error = NULL;
  const GvUNetConfig *c = gv_unet_get_config (unet);
  GvUNetTemporal *temporal = gv_unet_temporal_new (unet, NULL, NULL, 2, &error);
  if (temporal == NULL)
    g_error ("gv-bench-train: %s", error->message);
  GvTensor *sample = gv_bench_random_tensor (dev, 4, (const gint64[]) { frames, c->in_channels, latent,
      latent }, 3);
  GvTensor *target = gv_bench_random_tensor (dev, 4, (const gint64[]) { frames, c->out_channels, latent,
      latent }, 4);
  GvTensor *ehs = gv_bench_random_tensor (dev, 3, (const gint64[]) { 1, 77, c->cross_attention_dim }, 5);
  GvTensor *labels = c->class_embed_type == GV_CLASS_EMBED_NONE ? NULL :
      gv_bench_random_tensor (dev, 2, (const gint64[]) { 1, c->projection_class_embeddings_input_dim },
      6);
  gfloat t = 500;
  GvUNetInputs in = { .frames = frames, .temporal = temporal, .timesteps = &t,
    .encoder_hidden_states = ehs, .class_labels = labels };
  gdouble fwd = G_MAXDOUBLE, stp = G_MAXDOUBLE;
  guint64 bytes, fwd_peak = 0, blocks, block_peak;

  /* the first run of each compiles its kernels: the best of the others (at least one) */
  for (gint r = 0; r < runs + 1; r++) {
    GvCmd *cmd = gv_cmd_new (dev);
    gv_device_reset_peak_memory (dev);
    gdouble t0 = now_ms ();
    GvTensor *out = gv_unet_forward (unet, cmd, sample, &in);
    gv_tensor_unref (out);
    if (!gv_cmd_finish (cmd, &error))
      g_error ("gv-bench-train: %s", error->message);
    if (r > 0)
      fwd = MIN (fwd, now_ms () - t0);
    gv_device_get_memory_stats (dev, &bytes, &fwd_peak, &blocks, &block_peak);
    gv_cmd_free (cmd);
  }
  GvAdamWParams opt = GV_ADAMW_PARAMS_DEFAULT;
  GvUNetTrainer *tr = gv_unet_trainer_new (unet, temporal, GV_TRAIN_TAV, &opt, TRUE, &error);
  if (tr == NULL)
    g_error ("gv-bench-train: %s", error->message);
  /* what stays between steps: weights, temporal layers, inputs, the trainer's state */
  guint64 resident;
  gv_device_get_memory_stats (dev, &resident, NULL, NULL, NULL);
  gfloat loss = 0;
  for (gint r = 0; r < runs + 1; r++) {
    GvCmd *cmd = gv_cmd_new (dev);
    gdouble t0 = now_ms ();
    if (!gv_unet_trainer_step (tr, cmd, sample, frames, &t, ehs, labels, target, 1.0f, &loss,
            NULL, &error))
      g_error ("gv-bench-train: %s", error->message);
    if (r > 0)
      stp = MIN (stp, now_ms () - t0);
    gv_cmd_free (cmd);
  }
  g_print ("%-6s %2d x %3d x %-3d %10.0f %10.0f %6.2fx %12.1f %12.1f %12.1f %8.4f\n", name,
      frames, latent, latent, fwd, stp, stp / fwd, fwd_peak / 1048576.0,
      gv_unet_trainer_get_peak_memory (tr) / 1048576.0, resident / 1048576.0, loss);
  gv_unet_trainer_free (tr);
  gv_tensor_unref (sample);
  gv_tensor_unref (target);
  gv_tensor_unref (ehs);
  g_clear_pointer (&labels, gv_tensor_unref);
  gv_unet_temporal_free (temporal);
}

static void
mid_config (GvUNetConfig *c)
{
  static const gint channels[] = { 128, 256, 384, 384 }, heads[] = { 2, 4, 6, 6 };
  gv_unet_config_sd21_unclip (c);
  for (gint i = 0; i < 4; i++) {
    c->block_out_channels[i] = channels[i];
    c->heads[i] = heads[i];
  }
  c->time_embedding_dim = 4 * channels[0];
}

int
main (int argc, char **argv)
{
  gint frames = 2, latent = 64, runs = 1;
  const gchar *which = "tiny,mid,real";
  GOptionEntry entries[] = {
    { "frames", 0, 0, G_OPTION_ARG_INT, &frames, "Frames of the clip (default 2)", "F" },
    { "latent", 0, 0, G_OPTION_ARG_INT, &latent, "Latent size (default 64)", "S" },
    { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Timed runs after the first (default 1)", "N" },
    { "which", 0, 0, G_OPTION_ARG_STRING, &which, "Models: tiny,mid,real", "LIST" },
    { NULL }
  };
  GError *error = NULL;
  GOptionContext *ctx = g_option_context_new ("- a UNet training step against a forward");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || runs < 1 || frames < 1) {
    g_printerr ("gv-bench-train: %s\n", error ? error->message : "bad --runs or --frames");
    return 2;
  }
  g_option_context_free (ctx);
  GvDevice *dev = gv_device_get_shared (-1, &error);
  if (dev == NULL) {
    g_printerr ("gv-bench-train: %s\n", error->message);
    return 1;
  }
  g_print ("%-6s %-14s %10s %10s %7s %12s %12s %12s %8s\n", "model", "F x h x w", "fwd ms",
      "step ms", "ratio", "fwd peak MiB", "step peak MiB", "resident MiB", "loss");
  if (strstr (which, "tiny") != NULL) {
    gchar *folder = g_build_filename (GV_BENCH_TINY_MODEL, "unet", NULL);
    GvCheckpointConfig *cfg = gv_checkpoint_config_load (GV_BENCH_TINY_MODEL, &error);
    GvUNet *unet = cfg ? gv_unet_load (dev, folder, &cfg->unet, &error) : NULL;
    if (unet == NULL)
      g_error ("gv-bench-train: %s", error->message);
    bench (dev, "tiny", unet, frames, latent, runs);
    gv_unet_free (unet);
    gv_checkpoint_config_free (cfg);
    g_free (folder);
  }
  for (gint k = 0; k < 2; k++) {
    if (strstr (which, k == 0 ? "mid" : "real") == NULL)
      continue;
    GvUNetConfig cfg;
    if (k == 0)
      mid_config (&cfg);
    else
      gv_unet_config_sd21_unclip (&cfg);
    GvUNet *unet = gv_unet_new_from_loader (dev, gv_loader_new_random (dev, 1), &cfg, &error);
    if (unet == NULL)
      g_error ("gv-bench-train: %s", error->message);
    bench (dev, k == 0 ? "mid" : "real", unet, frames, latent, runs);
    gv_unet_free (unet);
  }
  gv_device_unref (dev);
  return 0;
}
