/* gv-bench-train: one Tune-A-Video training step of the inflated UNet (forward, backward,
 * clipping, AdamW; gv-unet-train.h), with per-block recompute and without, against one forward
 * pass of the same model in the same run, and the peak device memory of each, on the shipped
 * tiny checkpoint, the mid-size configuration (gv-bench-edit's) and the real SD-2.1-unCLIP size with random weights.
 * Not a test: figures for docs/performance.md. GENVIDEO_PROFILE=1 adds the per-kernel time of
 * each phase's last run.
 *
 *   gv-bench-train [--frames F] [--latent S] [--runs N] [--which tiny,mid,real]
 *       [--phases forward,keep,recompute]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gv-bench-random.h"
#include "models/gv-unet-train.h"
#include "base/gv-cpu-time.h"

static gdouble
now_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

/* with GENVIDEO_PROFILE=1: the per-kernel table of the last run of a phase */
static void
profile_start (GvDevice *dev, gint r, gint runs)
{
  if (r == runs)
    gv_device_reset_profile (dev);
}

static void
profile_print (GvDevice *dev, const gchar *model, const gchar *phase)
{
  gchar *report = gv_device_profile_report (dev);
  if (report != NULL)
    g_print ("--- %s, %s ---\n%s", model, phase, report);
  g_free (report);
}

/* One phase's figures: the best time of the runs after the first (all of them with --runs 0),
 * the peak device memory and the memory resident before it. */
typedef struct {
  gdouble ms, cpu;
  guint64 peak, resident;
  gfloat loss;
} Phase;

static void
time_forward (GvDevice *dev, const gchar *name, GvUNet *unet, GvTensor *sample,
    const GvUNetInputs *in, gint runs, Phase *ph)
{
  GError *error = NULL;
  guint64 blocks, block_peak;
  ph->ms = ph->cpu = G_MAXDOUBLE;
  gv_device_get_memory_stats (dev, &ph->resident, NULL, NULL, NULL);
  for (gint r = 0; r <= runs; r++) {
    GvCmd *cmd = gv_cmd_new (dev);
    gv_device_reset_peak_memory (dev);
    profile_start (dev, r, runs);
    gdouble t0 = now_ms (), c0 = gv_cpu_seconds () * 1e3;
    GvTensor *out = gv_unet_forward (unet, cmd, sample, in);
    gv_tensor_unref (out);
    if (!gv_cmd_finish (cmd, &error))
      g_error ("gv-bench-train: %s", error->message);
    if (r > 0 || runs == 0) {
      ph->ms = MIN (ph->ms, now_ms () - t0);
      ph->cpu = MIN (ph->cpu, gv_cpu_seconds () * 1e3 - c0);
    }
    gv_device_get_memory_stats (dev, NULL, &ph->peak, &blocks, &block_peak);
    gv_cmd_free (cmd);
  }
  profile_print (dev, name, "forward");
}

static void
time_step (GvDevice *dev, const gchar *name, GvUNet *unet, GvUNetTemporal *temporal,
    GvTensor *sample, const GvUNetInputs *in, GvTensor *target, gboolean recompute, gint runs,
    Phase *ph)
{
  GError *error = NULL;
  GvAdamWParams opt = GV_ADAMW_PARAMS_DEFAULT;
  GvUNetTrainer *tr = gv_unet_trainer_new (unet, temporal, GV_TRAIN_TAV, &opt, recompute,
      &error);
  if (tr == NULL)
    g_error ("gv-bench-train: %s", error->message);
  /* what stays between steps: weights, temporal layers, inputs, the trainer's state */
  gv_device_get_memory_stats (dev, &ph->resident, NULL, NULL, NULL);
  ph->ms = ph->cpu = G_MAXDOUBLE;
  for (gint r = 0; r <= runs; r++) {
    GvCmd *cmd = gv_cmd_new (dev);
    profile_start (dev, r, runs);
    gdouble t0 = now_ms (), c0 = gv_cpu_seconds () * 1e3;
    if (!gv_unet_trainer_step (tr, cmd, sample, in->frames, in->timesteps,
            in->encoder_hidden_states, in->class_labels, target, 1.0f, &ph->loss, NULL, &error))
      g_error ("gv-bench-train: %s", error->message);
    if (r > 0 || runs == 0) {
      ph->ms = MIN (ph->ms, now_ms () - t0);
      ph->cpu = MIN (ph->cpu, gv_cpu_seconds () * 1e3 - c0);
    }
    gv_cmd_free (cmd);
  }
  ph->peak = gv_unet_trainer_get_peak_memory (tr);
  profile_print (dev, name, recompute ? "step with recompute" : "step without recompute");
  gv_unet_trainer_free (tr);
}

/* which phases run (--phases): all three by default */
static gboolean do_forward = TRUE, do_keep = TRUE, do_recompute = TRUE;

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
  Phase fwd = { 0 }, rec = { 0 }, keep = { 0 };

  /* each phase on its own line as it ends (the real size takes long on a CPU), the summary
   * (ratios against the forward) after them */
  if (do_forward) {
    time_forward (dev, name, unet, sample, &in, runs, &fwd);
    g_print ("# %s forward: %.0f ms (CPU %.0f ms), peak %.1f MiB\n", name, fwd.ms, fwd.cpu,
        fwd.peak / 1048576.0);
  }
  if (do_keep) {
    time_step (dev, name, unet, temporal, sample, &in, target, FALSE, runs, &keep);
    g_print ("# %s step without recompute: %.0f ms (CPU %.0f ms), peak %.1f MiB, resident "
        "%.1f MiB\n", name, keep.ms, keep.cpu, keep.peak / 1048576.0,
        keep.resident / 1048576.0);
  }
  if (do_recompute) {
    time_step (dev, name, unet, temporal, sample, &in, target, TRUE, runs, &rec);
    g_print ("# %s step with recompute: %.0f ms (CPU %.0f ms), peak %.1f MiB, resident %.1f "
        "MiB\n", name, rec.ms, rec.cpu, rec.peak / 1048576.0, rec.resident / 1048576.0);
  }
  if (do_forward && (do_keep || do_recompute)) {
    g_print ("# %s CPU-time ratios: step %.2fx, without recompute %.2fx\n", name,
        rec.cpu / fwd.cpu, keep.cpu / fwd.cpu);
    g_print ("%-5s %2d x %3d x %-3d %9.0f %9.0f %6.2fx %9.0f %6.2fx %9.1f %9.1f %9.1f %9.1f "
        "%8.4f\n", name, frames, latent, latent, fwd.ms, rec.ms, rec.ms / fwd.ms, keep.ms,
        keep.ms / fwd.ms, fwd.peak / 1048576.0, rec.peak / 1048576.0, keep.peak / 1048576.0,
        MAX (rec.resident, keep.resident) / 1048576.0, do_recompute ? rec.loss : keep.loss);
  }
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
  const gchar *which = "tiny,mid,real", *phases = "forward,keep,recompute";
  GOptionEntry entries[] = {
    { "frames", 0, 0, G_OPTION_ARG_INT, &frames, "Frames of the clip (default 2)", "F" },
    { "latent", 0, 0, G_OPTION_ARG_INT, &latent, "Latent size (default 64)", "S" },
    { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Timed runs after the first (default 1; 0: "
          "only the first, kernel compilation included)", "N" },
    { "which", 0, 0, G_OPTION_ARG_STRING, &which, "Models: tiny,mid,real", "LIST" },
    { "phases", 0, 0, G_OPTION_ARG_STRING, &phases, "Phases: forward,keep (step without "
          "recompute),recompute (default: all; the ratios need the forward)", "LIST" },
    { NULL }
  };
  GError *error = NULL;
  setvbuf (stdout, NULL, _IOLBF, 0);
  GOptionContext *ctx = g_option_context_new ("- a UNet training step against a forward");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || runs < 0 || frames < 1) {
    g_printerr ("gv-bench-train: %s\n", error ? error->message : "bad --runs or --frames");
    return 2;
  }
  g_option_context_free (ctx);
  do_forward = strstr (phases, "forward") != NULL;
  do_keep = strstr (phases, "keep") != NULL;
  do_recompute = strstr (phases, "recompute") != NULL;
  GvDevice *dev = gv_device_get_shared (-1, &error);
  if (dev == NULL) {
    g_printerr ("gv-bench-train: %s\n", error->message);
    return 1;
  }
  /* step: with per-block recompute; keep: without (every block's inside kept); peaks and
   * resident (weights, inputs, trainer state) in MiB */
  g_print ("%-5s %-14s %9s %9s %7s %9s %7s %9s %9s %9s %9s %8s\n", "model", "F x h x w",
      "fwd ms", "step ms", "ratio", "keep ms", "ratio", "fwd peak", "step peak", "keep peak",
      "resident", "loss");
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
