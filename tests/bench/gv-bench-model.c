/* gv-bench-model: the networks at real size, random weights, no file needed.
 *   - the full SD-2.1-unCLIP UNet, inflated (Tune-A-Video), one forward of 2 frames at 64x64
 *     latents (a 512x512 clip);
 *   - the SD VAE decoder at 512x512.
 * Prints time (cold: first run, pipelines created on the way; warm: median of the runs after)
 * and device memory (weights; peak during the forward), and writes JSON with --json FILE.
 * The baseline, measured in the same run: a 1024 x 1024 x 1024 matmul on the same device (the
 * kernel that does most of the work, at its best shape); each network is also given as a
 * multiple of it, which stays comparable on a shared, noisy machine.
 * Links the core library only: it runs wherever the Vulkan loader is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gv-bench-random.h"
#include "models/gv-config.h"
#include "nn/gv-op-matmul.h"
#include "models/gv-unet.h"
#include "models/gv-vae.h"

typedef struct {
  const gchar *name;
  gdouble cold_ms, warm_ms;
  guint64 weights_bytes, peak_bytes;
} Result;

static guint64
tensor_bytes (GvDevice *dev)
{
  guint64 b;
  gv_device_get_memory_stats (dev, &b, NULL, NULL, NULL);
  return b;
}

static gint
compare_doubles (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;
  return x < y ? -1 : x > y;
}

typedef GvTensor *(*RunFunc) (GvCmd *cmd, gpointer data);

/* runs @fn @runs times; the first is the cold one */
static void
measure (GvDevice *dev, RunFunc fn, gpointer data, gint runs, Result *r)
{
  gdouble *ms = g_new (gdouble, runs);
  guint64 base = tensor_bytes (dev);
  for (gint i = 0; i < runs; i++) {
    GError *error = NULL;
    gv_device_reset_peak_memory (dev);
    GvCmd *cmd = gv_cmd_new (dev);
    gint64 start = g_get_monotonic_time ();
    GvTensor *out = fn (cmd, data);
    gboolean ok = gv_cmd_finish (cmd, &error);
    ms[i] = (g_get_monotonic_time () - start) / 1000.0;
    gv_tensor_unref (out);
    gv_cmd_free (cmd);
    if (!ok) {
      g_printerr ("gv-bench-model: %s: %s\n", r->name, error->message);
      exit (1);
    }
    guint64 peak;
    gv_device_get_memory_stats (dev, NULL, &peak, NULL, NULL);
    r->peak_bytes = MAX (r->peak_bytes, peak - base);
    g_printerr ("  %s run %d: %.0f ms\n", r->name, i + 1, ms[i]);
  }
  r->cold_ms = ms[0];
  if (runs > 1) {
    qsort (ms + 1, runs - 1, sizeof (gdouble), compare_doubles);
    r->warm_ms = ms[1 + (runs - 1) / 2];
  } else {
    r->warm_ms = ms[0];
  }
  g_free (ms);
}

typedef struct {
  GvUNet *unet;
  GvUNetTemporal *temporal;
  GvTensor *sample, *ehs, *labels;
  gint frames;
} UNetRun;

static GvTensor *
run_unet (GvCmd *cmd, gpointer data)
{
  UNetRun *u = data;
  gfloat t = 501;
  GvUNetInputs in = {
    .frames = u->frames,
    .temporal = u->temporal,
    .timesteps = &t,
    .encoder_hidden_states = u->ehs,
    .class_labels = u->labels,
  };
  return gv_unet_forward (u->unet, cmd, u->sample, &in);
}

typedef struct {
  GvTensor *a, *b;
} MatmulRun;

static GvTensor *
run_matmul (GvCmd *cmd, gpointer data)
{
  MatmulRun *m = data;
  GError *error = NULL;
  GvTensor *out = gv_tensor_new (gv_cmd_get_device (cmd), 2, (const gint64[]) { 1024, 1024 },
      &error);
  if (out == NULL) {
    g_printerr ("gv-bench-model: %s\n", error->message);
    exit (1);
  }
  gv_op_matmul (cmd, out, m->a, m->b, NULL);
  return out;
}

typedef struct {
  GvVae *vae;
  GvTensor *latents;
} VaeRun;

static GvTensor *
run_vae (GvCmd *cmd, gpointer data)
{
  VaeRun *v = data;
  return gv_vae_decode (v->vae, cmd, v->latents);
}

static void
print_result (const Result *r, gdouble baseline_ms)
{
  g_print ("%-34s %10.0f %10.0f %12.1f %12.1f %10.0f\n", r->name, r->cold_ms, r->warm_ms,
      r->weights_bytes / 1048576.0, r->peak_bytes / 1048576.0, r->warm_ms / baseline_ms);
}

int
main (int argc, char **argv)
{
  const gchar *json = NULL;
  gint runs = 3, frames = 2, latent = 64, image = 512;
  gboolean skip_unet = FALSE, skip_vae = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_FILENAME, &json, "Write the figures to FILE", "FILE" },
    { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Runs per case (the first is cold; default 3)",
      "N" },
    { "frames", 0, 0, G_OPTION_ARG_INT, &frames, "Frames of the UNet clip (default 2)", "F" },
    { "latent", 0, 0, G_OPTION_ARG_INT, &latent, "Latent size of the UNet (default 64)", "S" },
    { "image", 0, 0, G_OPTION_ARG_INT, &image, "Image size of the VAE decoder (default 512)",
      "S" },
    { "no-unet", 0, 0, G_OPTION_ARG_NONE, &skip_unet, "Skip the UNet", NULL },
    { "no-vae", 0, 0, G_OPTION_ARG_NONE, &skip_vae, "Skip the VAE decoder", NULL },
    { NULL }
  };
  GError *error = NULL;
  GOptionContext *ctx = g_option_context_new ("- the SD-2.1-unCLIP networks at real size");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || runs < 1) {
    g_printerr ("gv-bench-model: %s\n", error ? error->message : "--runs must be >= 1");
    return 2;
  }
  g_option_context_free (ctx);

  GvDevice *dev = gv_device_get_shared (-1, &error);
  if (dev == NULL) {
    g_printerr ("gv-bench-model: %s\n", error->message);
    return 1;
  }
  Result results[2] = { { 0 } };
  gint n_results = 0;

  /* the baseline first, then again after the networks: the median of both runs' warm times */
  Result base = { .name = "matmul 1024x1024x1024" };
  MatmulRun m = {
    gv_bench_random_tensor (dev, 2, (const gint64[]) { 1024, 1024 }, 11),
    gv_bench_random_tensor (dev, 2, (const gint64[]) { 1024, 1024 }, 12),
  };
  measure (dev, run_matmul, &m, MAX (runs, 3) + 2, &base);
  gdouble base_before = base.warm_ms;

  if (!skip_unet) {
    GvUNetConfig cfg;
    gv_unet_config_sd21_unclip (&cfg);
    Result *r = &results[n_results++];
    r->name = g_strdup_printf ("unet sd21-unclip %dx%dx%d inflated", frames, latent, latent);
    guint64 before = tensor_bytes (dev);
    UNetRun u = { gv_unet_new_from_loader (dev, gv_loader_new_random (dev, 1), &cfg,
        &error), NULL, NULL, NULL, NULL, frames };
    if (u.unet != NULL)
      u.temporal = gv_unet_temporal_new (u.unet, NULL, NULL, 2, &error);
    if (u.temporal == NULL) {
      g_printerr ("gv-bench-model: %s\n", error->message);
      return 1;
    }
    r->weights_bytes = tensor_bytes (dev) - before;
    u.sample = gv_bench_random_tensor (dev, 4, (const gint64[]) { frames, cfg.in_channels, latent,
        latent }, 3);
    u.ehs = gv_bench_random_tensor (dev, 3, (const gint64[]) { 1, 77, cfg.cross_attention_dim }, 4);
    u.labels = gv_bench_random_tensor (dev, 2, (const gint64[]) { 1,
        cfg.projection_class_embeddings_input_dim }, 5);
    measure (dev, run_unet, &u, runs, r);
    gv_tensor_unref (u.sample);
    gv_tensor_unref (u.ehs);
    gv_tensor_unref (u.labels);
    gv_unet_temporal_free (u.temporal);
    gv_unet_free (u.unet);
  }

  if (!skip_vae) {
    GvVaeConfig cfg;
    gv_vae_config_sd (&cfg);
    gint f = 1 << (cfg.n_blocks - 1);
    Result *r = &results[n_results++];
    r->name = g_strdup_printf ("vae decoder %dx%d", image, image);
    guint64 before = tensor_bytes (dev);
    VaeRun v = { gv_vae_new_from_loader (dev, gv_loader_new_random (dev, 6), &cfg, &error), NULL };
    if (v.vae == NULL) {
      g_printerr ("gv-bench-model: %s\n", error->message);
      return 1;
    }
    r->weights_bytes = tensor_bytes (dev) - before;
    v.latents = gv_bench_random_tensor (dev, 4, (const gint64[]) { 1, cfg.latent_channels, image / f,
        image / f }, 7);
    measure (dev, run_vae, &v, runs, r);
    gv_tensor_unref (v.latents);
    gv_vae_free (v.vae);
  }

  measure (dev, run_matmul, &m, MAX (runs, 3) + 2, &base);
  gdouble baseline_ms = MIN (base_before, base.warm_ms);
  gv_tensor_unref (m.a);
  gv_tensor_unref (m.b);

  g_print ("gv-bench-model on %s\n", gv_device_get_name (dev));
  g_print ("baseline: matmul 1024x1024x1024 on the same device, %.1f ms (%.1f GFLOP/s; warm "
      "medians %.1f before and %.1f after the networks, the faster taken)\n", baseline_ms,
      2.0 * 1024 * 1024 * 1024 / baseline_ms / 1e6, base_before, base.warm_ms);
  g_print ("%-34s %10s %10s %12s %12s %10s\n", "case", "cold ms", "warm ms", "weights MiB",
      "peak MiB", "x matmul");
  for (gint i = 0; i < n_results; i++)
    print_result (&results[i], baseline_ms);

  if (json != NULL) {
    GString *s = g_string_new ("{\n");
    g_string_append_printf (s, "  \"device\": \"%s\",\n  \"baseline_matmul_1024_ms\": %.2f,\n"
        "  \"cases\": [\n", gv_device_get_name (dev), baseline_ms);
    for (gint i = 0; i < n_results; i++) {
      const Result *r = &results[i];
      g_string_append_printf (s, "    {\"name\": \"%s\", \"cold_ms\": %.1f, \"warm_ms\": %.1f, "
          "\"weights_bytes\": %" G_GUINT64_FORMAT ", \"peak_bytes\": %" G_GUINT64_FORMAT
          ", \"matmul_multiple\": %.1f}%s\n", r->name, r->cold_ms, r->warm_ms, r->weights_bytes,
          r->peak_bytes, r->warm_ms / baseline_ms, i + 1 < n_results ? "," : "");
    }
    g_string_append (s, "  ]\n}\n");
    if (!g_file_set_contents (json, s->str, -1, &error)) {
      g_printerr ("gv-bench-model: %s\n", error->message);
      return 1;
    }
    g_string_free (s, TRUE);
  }
  for (gint i = 0; i < n_results; i++)
    g_free ((gchar *) results[i].name);
  gv_device_unref (dev);
  return 0;
}
