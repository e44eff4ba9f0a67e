/* gv-bench-edit: a whole GenVideo edit of a synthetic 8-frame clip through the gv-edit stages
 * the elements run (prepare: VAE encode and source conditions; target conditions; DDIM
 * inversion; InvEdit masks from the source and target branches; sampling with latent
 * correction; VAE decode), with the elements' default parameters except the step count.
 * Two configurations:
 *   tiny  the shipped checkpoint (models/tiny-sd21-unclip), 64x64 frames, 16x16 latents;
 *   mid   a random-weight checkpoint written at run time into a temporary folder: a UNet like
 *         SD's at [128, 256, 384, 384] channels with heads of 64, cross-attention 1024, a VAE
 *         at [64, 128, 256, 256], CLIP text (1024 wide, 4 layers) and vision (512 wide, 4
 *         layers, 224 pixels) encoders; 256x256 frames, 32x32 latents.
 * Steps: 50 on tiny (the elements' default), 5 on mid (a step of the three stages takes minutes
 * there on lavapipe; with 5 steps every sampling step corrects, as the first 5 do by default).
 * Reports time and peak device memory per stage (the first run is cold: pipelines are created
 * on the way; later runs are warm), as a table and as JSON with --json FILE. The baseline,
 * measured in the same run on the same clip: one pass of the video UNet (temporal layers
 * included) over the clip's latents; each stepped stage's time per step is also given as a
 * multiple of it (inversion needs 1 pass per step, the masks 4, sampling 2 and the
 * correction's search), which stays meaningful on a shared, noisy machine. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genvideo/gv-denoise.h"
#include "genvideo/gv-edit.h"
#include "genvideo/gv-target.h"
#include "gv-random-checkpoint.h"

#define MAX_RUNS 8

enum { ST_PREPARE, ST_TARGET, ST_INVERSION, ST_MASKS, ST_SAMPLING, ST_DECODING, N_STAGES };

static const gchar *const stage_names[N_STAGES] = {
  "prepare", "target", "inversion", "masks", "sampling", "decoding",
};
static const gchar *const stage_blurbs[N_STAGES] = {
  "VAE encode, prompt, unCLIP embedding of a frame",
  "prompt, unCLIP embedding of the target",
  "DDIM inversion, 1 clip per step",
  "source + target branches, guided: 4 clips per step",
  "guided sampling, correction, background: 2 clips",
  "VAE decode",
};

/* the mid-size configuration: keys replaced in the tiny checkpoint's configs */
static const GvConfigKey mid_keys[] = {
  { "unet/config.json", "block_out_channels", "[128, 256, 384, 384]" },
  { "unet/config.json", "attention_head_dim", "[2, 4, 6, 6]" },   /* heads of 64 channels */
  { "unet/config.json", "norm_num_groups", "32" },
  { "unet/config.json", "cross_attention_dim", "1024" },
  { "unet/config.json", "projection_class_embeddings_input_dim", "2048" },
  { "unet/config.json", "sample_size", "32" },
  { "vae/config.json", "block_out_channels", "[64, 128, 256, 256]" },
  { "vae/config.json", "down_block_types", "[\"DownEncoderBlock2D\", \"DownEncoderBlock2D\", "
    "\"DownEncoderBlock2D\", \"DownEncoderBlock2D\"]" },
  { "vae/config.json", "up_block_types", "[\"UpDecoderBlock2D\", \"UpDecoderBlock2D\", "
    "\"UpDecoderBlock2D\", \"UpDecoderBlock2D\"]" },
  { "vae/config.json", "norm_num_groups", "32" },
  { "vae/config.json", "sample_size", "256" },
  { "text_encoder/config.json", "hidden_size", "1024" },
  { "text_encoder/config.json", "intermediate_size", "4096" },
  { "text_encoder/config.json", "num_attention_heads", "16" },
  { "text_encoder/config.json", "num_hidden_layers", "4" },
  { "text_encoder/config.json", "projection_dim", "1024" },
  { "image_encoder/config.json", "hidden_size", "512" },
  { "image_encoder/config.json", "intermediate_size", "2048" },
  { "image_encoder/config.json", "num_attention_heads", "8" },
  { "image_encoder/config.json", "num_hidden_layers", "4" },
  { "image_encoder/config.json", "image_size", "224" },
  { "image_encoder/config.json", "patch_size", "14" },
  { "image_encoder/config.json", "projection_dim", "1024" },
  { "image_normalizer/config.json", "embedding_dim", "1024" },
  { "feature_extractor/preprocessor_config.json", "crop_size",
    "{\"height\": 224, \"width\": 224}" },
  { "feature_extractor/preprocessor_config.json", "size", "{\"shortest_edge\": 224}" },
};

typedef struct {
  const gchar *name;
  gchar *model;                  /* checkpoint folder */
  gchar *description;
  gint size, frames, steps, runs;
  gdouble write_ms, load_ms;     /* writing the checkpoint (mid), loading the model */
  gdouble unet_ms;               /* the baseline: one video UNet pass over the clip (median) */
  guint64 checkpoint_bytes, weights_bytes;
  gdouble ms[MAX_RUNS][N_STAGES];
  guint64 peak[N_STAGES];        /* live tensors, weights included: the most over the runs */
  guint64 block_peak;            /* VkDeviceMemory blocks: the most over the stages */
  gdouble mask_area;             /* mean share of the frames inside the masks */
  gboolean finite;
  gchar load_before[64], load_after[64];
} Config;

typedef struct {
  gint64 start;
  gint64 decoding_start;         /* when sampling ended */
  gint64 last_print;
} Progress;

static void
read_load (gchar *out, gsize size)
{
  gchar *text = NULL;
  g_strlcpy (out, "?", size);
  if (g_file_get_contents ("/proc/loadavg", &text, NULL, NULL)) {
    gchar **f = g_strsplit (text, " ", 4);
    if (g_strv_length (f) >= 3)
      g_snprintf (out, size, "%s %s %s", f[0], f[1], f[2]);
    g_strfreev (f);
  }
  g_free (text);
}

static void
on_progress (const gchar *stage, gint current, gint total, gpointer data)
{
  Progress *p = data;
  gint64 now = g_get_monotonic_time ();
  if (strcmp (stage, "decoding") == 0 && current == 0)
    p->decoding_start = now;
  /* one line every few seconds is enough to see a long run move */
  if (current == total || now - p->last_print > 5 * G_USEC_PER_SEC) {
    g_printerr ("    %s %d/%d (%.1f s)\n", stage, current, total, (now - p->start) / 1e6);
    p->last_print = now;
  }
}

/* a square moving right over a gradient, and a bar moving down (two motions) */
static guint8 *
make_clip (gint frames, gint size, GvPicture *pictures)
{
  guint8 *pixels = g_new (guint8, (gsize) frames * size * size * 3);
  gint side = size * 3 / 8, bar = size / 8;
  for (gint f = 0; f < frames; f++) {
    guint8 *p = pixels + (gsize) f * size * size * 3;
    gint x0 = size / 8 + f * size / 32, y0 = size * 5 / 16;
    gint by = f * size / 16;
    for (gint y = 0; y < size; y++)
      for (gint x = 0; x < size; x++) {
        guint8 *px = p + ((gsize) y * size + x) * 3;
        gboolean in = x >= x0 && x < x0 + side && y >= y0 && y < y0 + side;
        gboolean in_bar = y >= by && y < by + bar && x >= size * 3 / 4;
        px[0] = in ? 220 : in_bar ? 240 : (guint8) (x * 255 / size);
        px[1] = in ? 30 : in_bar ? 240 : (guint8) (y * 255 / size);
        px[2] = in ? 40 : in_bar ? 60 : 90;
      }
    pictures[f] = (GvPicture) { p, size * 3 };
  }
  return pixels;
}

/* RGBA: a blue disc, its alpha the foreground */
static guint8 *
make_target (gint size)
{
  guint8 *rgba = g_new0 (guint8, (gsize) size * size * 4);
  gint c = size / 2, r = size * 5 / 16;
  for (gint y = 0; y < size; y++)
    for (gint x = 0; x < size; x++) {
      guint8 *p = rgba + ((gsize) y * size + x) * 4;
      p[0] = 20;
      p[1] = 60;
      p[2] = 230;
      p[3] = (x - c) * (x - c) + (y - c) * (y - c) < r * r ? 255 : 0;
    }
  return rgba;
}

static void
die (const gchar *what, GError *error)
{
  g_printerr ("gv-bench-edit: %s: %s\n", what, error ? error->message : "failed");
  exit (1);
}

/* the peaks since the last reset: live tensors, and device memory blocks */
static void
take_peaks (Config *c, GvDevice *dev, gint stage)
{
  guint64 tensors, blocks;
  gv_device_get_memory_stats (dev, NULL, &tensors, NULL, &blocks);
  c->peak[stage] = MAX (c->peak[stage], tensors);
  c->block_peak = MAX (c->block_peak, blocks);
}

static gint
compare_doubles (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;
  return x < y ? -1 : x > y;
}

/* The baseline: the median time of @runs unguided passes of the video UNet (the base UNet with
 * temporal layers, as the edit builds it) over @latents ([F, C, h, w]), unconditioned. */
static gdouble
time_unet_pass (GvDevice *dev, GvModel *model, GvTensor *latents, gint runs)
{
  GError *error = NULL;
  GvUNet *unet = gv_model_get_unet (model);
  GvUNetTemporal *temporal = gv_unet_temporal_new (unet, NULL, "", 1, &error);
  if (temporal == NULL)
    die ("temporal layers", error);
  GvCmd *cmd = gv_cmd_new (dev);
  GvDenoiser d = { .unet = unet, .temporal = temporal, .guidance_scale = 1.0f };
  gv_condition_init_uncond (&d.uncond, model, cmd);
  if (!gv_cmd_finish (cmd, &error))
    die ("unconditional embedding", error);
  const GvCondition *cond = &d.uncond;
  gdouble t[MAX_RUNS + 1];
  runs = CLAMP (runs, 1, MAX_RUNS + 1);
  for (gint r = 0; r < runs; r++) {
    GvTensor *eps = NULL;
    gint64 start = g_get_monotonic_time ();
    gv_denoise (&d, cmd, 500, 1, &latents, &cond, &eps, NULL, NULL);
    if (!gv_cmd_finish (cmd, &error))
      die ("UNet pass", error);
    t[r] = (g_get_monotonic_time () - start) / 1000.0;
    gv_tensor_unref (eps);
  }
  gv_condition_clear (&d.uncond);
  gv_cmd_free (cmd);
  gv_unet_temporal_free (temporal);
  qsort (t, runs, sizeof (gdouble), compare_doubles);
  return t[runs / 2];
}

/* one whole edit on a new clip; times into @ms; the last run also times the baseline */
static void
run_edit (Config *c, GvDevice *dev, const GvPicture *pictures, const guint8 *target_rgb,
    gdouble *ms, gboolean baseline)
{
  GError *error = NULL;
  Progress prog = { 0 };
  GvEditEnv env = {
    .seed = 1,
    .progress = on_progress,
    .progress_data = &prog,
  };
  /* the elements' defaults (gstinvedit.c, gstlatentcorrect.c), steps aside */
  GvMaskParams mask = { c->steps, 7.5f, 0.5f, 3.0f, 0 };
  GvCorrectParams correct = {
    .steps = c->steps, .guidance_scale = 7.5f, .correction_steps = MIN (5, c->steps),
    .weight_prev = 0.25f, .weight_current = 0.5f, .weight_next = 0.25f,
    .search_radius = 0, .space = GV_CORRECTION_PREDICTIONS, .preserve_background = TRUE,
  };
  GvModel *model = gv_model_get_shared (dev, c->model, &error);
  if (model == NULL)
    die ("loading the model", error);
  GvClip *clip = gv_clip_new (c->frames, c->size, c->size);
  gv_clip_lock (clip, NULL, NULL);
  gint64 t[N_STAGES + 1];
  gboolean ok = TRUE;
  gfloat *out = NULL;

  for (gint s = 0; s < N_STAGES && ok; s++) {
    if (s == ST_DECODING)
      continue;                  /* timed inside gv_edit_generate */
    g_printerr ("  %s\n", stage_names[s]);
    gv_device_reset_peak_memory (dev);
    prog.start = prog.last_print = t[s] = g_get_monotonic_time ();
    switch (s) {
      case ST_PREPARE:
        ok = gv_edit_prepare_source (clip, model, &env, pictures, GV_PIXELS_RGB,
            "a red square and a yellow bar over a gradient", NULL, &error);
        break;
      case ST_TARGET:
        ok = gv_edit_set_target (clip, &env, "a blue disc", target_rgb, c->size, c->size,
            c->size * 3, &error);
        break;
      case ST_INVERSION:
        ok = gv_edit_invert (clip, &env, c->steps, &error);
        break;
      case ST_MASKS:
        ok = gv_edit_compute_masks (clip, &env, &mask, &error);
        break;
      case ST_SAMPLING:
        out = gv_edit_generate (clip, &env, &correct, NULL, NULL, &error);
        ok = out != NULL;
        break;
    }
    if (!ok)
      die (stage_names[s], error);
    gint64 end = g_get_monotonic_time ();
    /* sampling and decoding share one peak: the device counts since the last reset */
    take_peaks (c, dev, s);
    if (s == ST_SAMPLING) {
      t[ST_DECODING] = prog.decoding_start ? prog.decoding_start : end;
      t[N_STAGES] = end;
      c->peak[ST_DECODING] = c->peak[ST_SAMPLING];
    } else {
      t[s + 1] = end;
    }
  }
  for (gint s = 0; s < N_STAGES; s++)
    ms[s] = (t[s + 1] - t[s]) / 1000.0;

  gdouble area[64] = { 0 };
  gv_edit_get_masks (clip, area);
  c->mask_area = 0;
  for (gint f = 0; f < c->frames; f++)
    c->mask_area += area[f] / c->frames;
  gsize n = (gsize) c->frames * 3 * c->size * c->size;
  c->finite = TRUE;
  for (gsize i = 0; i < n; i++)
    c->finite &= isfinite (out[i]);
  g_free (out);
  if (baseline) {
    g_printerr ("  baseline: one video UNet pass over the clip\n");
    c->unet_ms = time_unet_pass (dev, gv_edit_get_model (clip),
        gv_edit_get_source_latents (clip), 3);
  }
  gv_clip_unref (clip);
  gv_model_unref (model);
}

static void
run_config (Config *c, GvDevice *dev)
{
  GError *error = NULL;
  GvPicture pictures[64];
  guint64 before;

  read_load (c->load_before, sizeof c->load_before);
  g_printerr ("%s: %s (load average %s)\n", c->name, c->description, c->load_before);
  gv_device_get_memory_stats (dev, &before, NULL, NULL, NULL);
  gint64 start = g_get_monotonic_time ();
  GvModel *model = gv_model_get_shared (dev, c->model, &error);
  if (model == NULL)
    die (c->model, error);
  c->load_ms = (g_get_monotonic_time () - start) / 1000.0;
  gv_device_get_memory_stats (dev, &c->weights_bytes, NULL, NULL, NULL);
  c->weights_bytes -= before;

  guint8 *pixels = make_clip (c->frames, c->size, pictures);
  guint8 *rgba = make_target (c->size);
  guint8 *rgb = gv_target_foreground (rgba, c->size, c->size, c->size * 4, NULL, 0, NULL,
      &error);
  if (rgb == NULL)
    die ("target", error);
  for (gint r = 0; r < c->runs; r++) {
    g_printerr (" run %d/%d\n", r + 1, c->runs);
    run_edit (c, dev, pictures, rgb, c->ms[r], r + 1 == c->runs);
  }
  read_load (c->load_after, sizeof c->load_after);
  g_free (rgb);
  g_free (rgba);
  g_free (pixels);
  /* the model goes with its last reference: the next configuration starts with its own */
  gv_model_unref (model);
  gv_device_trim (dev);
}

/* the median of the warm runs (the cold one when there is only it) */
static gdouble
warm_ms (const Config *c, gint s)
{
  if (c->runs == 1)
    return c->ms[0][s];
  gdouble v[MAX_RUNS];
  for (gint r = 1; r < c->runs; r++)
    v[r - 1] = c->ms[r][s];
  qsort (v, c->runs - 1, sizeof (gdouble), compare_doubles);
  return v[(c->runs - 1) / 2];
}

static gdouble
total_ms (const Config *c, gint run)
{
  gdouble sum = 0;
  for (gint s = 0; s < N_STAGES; s++)
    sum += run < 0 ? warm_ms (c, s) : c->ms[run][s];
  return sum;
}

static void
print_config (const Config *c, const gchar *device)
{
  const gdouble mib = 1048576.0;
  g_print ("\n%s: %s\n", c->name, c->description);
  g_print ("  %d frames %dx%d, %d steps (inversion, masks, sampling), on %s\n", c->frames,
      c->size, c->size, c->steps, device);
  g_print ("  load average %s before, %s after; weights %.1f MiB loaded in %.1f s", c->load_before,
      c->load_after, c->weights_bytes / mib, c->load_ms / 1000.0);
  if (c->write_ms > 0)
    g_print (" (checkpoint of %.1f MiB written in %.1f s)", c->checkpoint_bytes / mib,
        c->write_ms / 1000.0);
  g_print ("\n  baseline: one video UNet pass over the clip %.0f ms (median of 3, after the runs)\n",
      c->unet_ms);
  g_print ("  %-10s %10s %10s %12s %11s %10s  %s\n", "stage", "cold s", "warm s", "ms per step",
      "step/pass", "peak MiB", "what");
  for (gint s = 0; s < N_STAGES; s++) {
    gdouble w = warm_ms (c, s);
    gboolean stepped = s == ST_INVERSION || s == ST_MASKS || s == ST_SAMPLING;
    g_print ("  %-10s %10.2f %10.2f ", stage_names[s], c->ms[0][s] / 1000.0, w / 1000.0);
    if (stepped)
      g_print ("%12.0f %11.2f", w / c->steps, w / c->steps / c->unet_ms);
    else
      g_print ("%12s %11s", "", "");
    g_print (" %10.1f  %s\n", c->peak[s] / mib, stage_blurbs[s]);
  }
  guint64 peak = 0;
  for (gint s = 0; s < N_STAGES; s++)
    peak = MAX (peak, c->peak[s]);
  g_print ("  %-10s %10.2f %10.2f %12s %11s %10.1f  (device memory blocks: %.1f MiB at most)\n",
      "total", total_ms (c, 0) / 1000.0, total_ms (c, -1) / 1000.0, "", "", peak / mib,
      c->block_peak / mib);
  g_print ("  mask area %.3f of the frames; output %s\n", c->mask_area,
      c->finite ? "finite" : "NOT FINITE");
}

static void
append_json (GString *s, const Config *c, gboolean last)
{
  g_string_append_printf (s, "    {\"name\": \"%s\", \"description\": \"%s\", \"frames\": %d, "
      "\"size\": %d, \"steps\": %d, \"runs\": %d,\n", c->name, c->description, c->frames,
      c->size, c->steps, c->runs);
  g_string_append_printf (s, "     \"load_average_before\": \"%s\", \"load_average_after\": "
      "\"%s\",\n", c->load_before, c->load_after);
  g_string_append_printf (s, "     \"checkpoint_write_ms\": %.1f, \"checkpoint_bytes\": %"
      G_GUINT64_FORMAT ", \"load_ms\": %.1f, \"weights_bytes\": %" G_GUINT64_FORMAT
      ", \"block_peak_bytes\": %" G_GUINT64_FORMAT ", \"mask_area\": %.4f, \"finite\": %s,\n",
      c->write_ms, c->checkpoint_bytes, c->load_ms, c->weights_bytes, c->block_peak,
      c->mask_area, c->finite ? "true" : "false");
  g_string_append_printf (s, "     \"baseline_unet_pass_ms\": %.1f,\n", c->unet_ms);
  g_string_append (s, "     \"stages\": [\n");
  for (gint st = 0; st < N_STAGES; st++) {
    gboolean stepped = st == ST_INVERSION || st == ST_MASKS || st == ST_SAMPLING;
    g_string_append_printf (s, "       {\"name\": \"%s\", \"cold_ms\": %.1f, \"warm_ms\": %.1f, "
        "\"peak_bytes\": %" G_GUINT64_FORMAT, stage_names[st], c->ms[0][st],
        warm_ms (c, st), c->peak[st]);
    if (stepped)
      g_string_append_printf (s, ", \"step_per_unet_pass\": %.3f",
          warm_ms (c, st) / c->steps / c->unet_ms);
    g_string_append_printf (s, "}%s\n", st + 1 < N_STAGES ? "," : "");
  }
  g_string_append_printf (s, "     ],\n     \"total_cold_ms\": %.1f, \"total_warm_ms\": %.1f}%s\n",
      total_ms (c, 0), total_ms (c, -1), last ? "" : ",");
}

int
main (int argc, char **argv)
{
  const gchar *json = NULL, *which = "both", *keep = NULL;
  gint tiny_steps = 50, mid_steps = 5, tiny_runs = 2, mid_runs = 1, frames = 8, mid_size = 256;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_FILENAME, &json, "Write the figures to FILE", "FILE" },
    { "config", 0, 0, G_OPTION_ARG_STRING, &which, "tiny, mid or both (default)", "NAME" },
    { "tiny-steps", 0, 0, G_OPTION_ARG_INT, &tiny_steps, "Steps of each stage on the tiny "
      "checkpoint (default 50, the elements' default)", "N" },
    { "mid-steps", 0, 0, G_OPTION_ARG_INT, &mid_steps, "Steps of each stage on the mid-size "
      "checkpoint (default 5: every step corrects)", "N" },
    { "tiny-runs", 0, 0, G_OPTION_ARG_INT, &tiny_runs, "Edits on the tiny checkpoint (the first "
      "is cold; default 2)", "N" },
    { "mid-runs", 0, 0, G_OPTION_ARG_INT, &mid_runs, "Edits on the mid-size checkpoint "
      "(default 1)", "N" },
    { "frames", 0, 0, G_OPTION_ARG_INT, &frames, "Frames of the clip (default 8)", "N" },
    { "mid-size", 0, 0, G_OPTION_ARG_INT, &mid_size, "Frame size of the mid-size run (default "
      "256)", "S" },
    { "keep-checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &keep, "Write the mid-size checkpoint "
      "into DIR and keep it (default: a temporary folder, removed)", "DIR" },
    { NULL }
  };
  GError *error = NULL;
  GOptionContext *ctx = g_option_context_new ("- a whole GenVideo clip, stage by stage");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    die ("options", error);
  g_option_context_free (ctx);
  gboolean do_tiny = strcmp (which, "tiny") == 0 || strcmp (which, "both") == 0;
  gboolean do_mid = strcmp (which, "mid") == 0 || strcmp (which, "both") == 0;
  if ((!do_tiny && !do_mid) || frames < 1 || frames > 64 || tiny_steps < 1 || mid_steps < 1 ||
      tiny_runs < 1 || tiny_runs > MAX_RUNS || mid_runs < 1 || mid_runs > MAX_RUNS ||
      mid_size < 8 || mid_size % 8 != 0) {
    g_printerr ("gv-bench-edit: bad options (see --help)\n");
    return 2;
  }

  GvDevice *dev = gv_device_get_shared (-1, &error);
  if (dev == NULL)
    die ("device", error);
  Config configs[2];
  gint n = 0;
  memset (configs, 0, sizeof configs);

  if (do_tiny) {
    Config *c = &configs[n++];
    c->name = "tiny";
    c->model = g_strdup (GV_BENCH_TINY_MODEL);
    c->description = g_strdup ("the shipped tiny-sd21-unclip (random weights)");
    c->size = 64;
    c->frames = frames;
    c->steps = tiny_steps;
    c->runs = tiny_runs;
    run_config (c, dev);
  }
  if (do_mid) {
    Config *c = &configs[n++];
    c->name = "mid";
    c->model = keep ? g_strdup (keep) : g_dir_make_tmp ("gv-bench-edit-XXXXXX", &error);
    if (c->model == NULL)
      die ("temporary folder", error);
    c->description = g_strdup ("UNet [128, 256, 384, 384] heads of 64, cross-attention 1024; "
        "VAE [64, 128, 256, 256]; CLIP text 1024x4, vision 512x4 at 224 (random weights)");
    c->size = mid_size;
    c->frames = frames;
    c->steps = mid_steps;
    c->runs = mid_runs;
    g_printerr ("mid: writing the checkpoint into %s\n", c->model);
    gint64 start = g_get_monotonic_time ();
    if (!gv_random_checkpoint_write (GV_BENCH_TINY_MODEL, c->model, mid_keys,
            G_N_ELEMENTS (mid_keys), 2024, &c->checkpoint_bytes, &error))
      die ("writing the mid-size checkpoint", error);
    c->write_ms = (g_get_monotonic_time () - start) / 1000.0;
    run_config (c, dev);
    if (keep == NULL)
      gv_random_checkpoint_remove (c->model);
  }

  const gchar *device = gv_device_get_name (dev);
  g_print ("gv-bench-edit on %s\n", device);
  for (gint i = 0; i < n; i++)
    print_config (&configs[i], device);

  if (json != NULL) {
    GString *s = g_string_new ("{\n");
    g_autoptr (GDateTime) now = g_date_time_new_now_local ();
    g_autofree gchar *date = g_date_time_format_iso8601 (now);
    g_string_append_printf (s, "  \"device\": \"%s\",\n  \"date\": \"%s\",\n  \"configs\": [\n",
        device, date);
    for (gint i = 0; i < n; i++)
      append_json (s, &configs[i], i + 1 == n);
    g_string_append (s, "  ]\n}\n");
    if (!g_file_set_contents (json, s->str, -1, &error))
      die (json, error);
    g_string_free (s, TRUE);
  }
  for (gint i = 0; i < n; i++) {
    g_free (configs[i].model);
    g_free (configs[i].description);
  }
  gv_device_unref (dev);
  return 0;
}
