/* gv-bench-clip-train: one contrastive training step of the CLIP text and vision encoders
 * (gv-clip-train.h: both forwards, the loss head, both backwards, clipping, AdamW) at a few
 * sizes, random weights and inputs, for choosing the demo model's sizes. Not a test.
 *
 *   gv-bench-clip-train [--runs N] [--batch B] [--tokens L] [SIZE...]
 *
 * A SIZE is hidden:layers:image:patch (default: 32:2:32:8 64:2:64:8 128:4:64:8); the text
 * encoder has the same hidden size and layers, 2 heads (64 per head from 128 up), MLP 4x,
 * a 600-token vocabulary and L (default 13: the longest world caption) positions. */
#include <stdio.h>
#include <stdlib.h>

#include "models/gv-clip-train.h"
#include "models/gv-random.h"
#include "base/gv-cpu-time.h"

static gdouble
now_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

static void
bench (GvDevice *dev, gint hidden, gint layers, gint image, gint patch, gint batch,
    gint tokens, gint runs)
{
  GError *error = NULL;
  gint heads = hidden >= 128 ? hidden / 64 : 2;
  GvClipTextConfig tc = {
    .vocab_size = 600, .hidden_size = hidden, .intermediate_size = 4 * hidden,
    .num_hidden_layers = layers, .num_attention_heads = heads,
    .max_position_embeddings = tokens, .hidden_act = GV_HIDDEN_ACT_GELU,
    .layer_norm_eps = 1e-5f, .eos_token_id = 599, .projection_dim = hidden,
  };
  GvClipVisionConfig vc = {
    .hidden_size = hidden, .intermediate_size = 4 * hidden, .num_hidden_layers = layers,
    .num_attention_heads = heads, .image_size = image, .patch_size = patch,
    .num_channels = 3, .projection_dim = hidden, .hidden_act = GV_HIDDEN_ACT_GELU,
    .layer_norm_eps = 1e-5f,
  };
  GvTextEncoder *text = gv_text_encoder_new_from_loader (dev, gv_loader_new_random (dev, 1),
      &tc, &error);
  GvImageEncoder *vision = text ? gv_image_encoder_new_from_loader (dev,
      gv_loader_new_random (dev, 2), &vc, &error) : NULL;
  GvAdamW opt = { 1e-3, 0.9, 0.98, 1e-6, 0.1 };
  GvClipTrainer *tr = vision ? gv_clip_trainer_new (text, vision, GV_CLIP_TRAIN_BOTH, &opt, 3,
      &error) : NULL;
  if (tr == NULL)
    g_error ("gv-bench-clip-train: %s", error->message);

  gsize npx = (gsize) batch * 3 * image * image;
  gfloat *px = g_new (gfloat, npx);
  gv_random_normal (px, npx, 4);
  GvTensor *pixels = gv_tensor_new_from_data (dev, 4, (const gint64[]) { batch, 3, image,
      image }, px, &error);
  g_free (px);
  if (pixels == NULL)
    g_error ("gv-bench-clip-train: %s", error->message);
  gint32 *ids = g_new (gint32, batch * tokens);
  for (gint i = 0; i < batch * tokens; i++)
    ids[i] = i % tokens == tokens - 1 ? 599 : (i * 7919) % 598;

  gint64 n_params = 0;
  GvOptimizer *o = gv_clip_trainer_get_optimizer (tr);
  for (gint i = 0; i < gv_optimizer_get_n_params (o); i++)
    n_params += gv_optimizer_get_param (o, i)->numel;
  /* the first run compiles the kernels: the best of the others */
  gdouble best = G_MAXDOUBLE, best_cpu = G_MAXDOUBLE;
  GvCmd *cmd = gv_cmd_new (dev);
  for (gint r = 0; r < runs + 1; r++) {
    gdouble t0 = now_ms (), c0 = gv_cpu_seconds () * 1e3;
    gfloat loss;
    if (!gv_clip_trainer_step (tr, cmd, pixels, ids, tokens, 1.0f, &loss, &error))
      g_error ("gv-bench-clip-train: %s", error->message);
    if (r > 0) {
      best = MIN (best, now_ms () - t0);
      best_cpu = MIN (best_cpu, gv_cpu_seconds () * 1e3 - c0);
    }
  }
  g_print ("hidden %3d layers %d image %3d patch %2d batch %3d tokens %2d: %7.1f ms/step, "
      "CPU %7.1f ms (%.2f M parameters)\n", hidden, layers, image, patch, batch, tokens, best,
      best_cpu, n_params / 1e6);
  gv_cmd_free (cmd);
  g_free (ids);
  gv_tensor_unref (pixels);
  gv_clip_trainer_free (tr);
  gv_image_encoder_free (vision);
  gv_text_encoder_free (text);
}

int
main (int argc, char **argv)
{
  gint runs = 3, batch = 32, tokens = 13;
  gchar **sizes = NULL;
  GOptionEntry entries[] = {
    { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "timed steps per size (best counts)", "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "images and captions per step", "B" },
    { "tokens", 0, 0, G_OPTION_ARG_INT, &tokens, "caption length in tokens", "L" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &sizes, NULL, "SIZE..." },
    { NULL },
  };
  GError *error = NULL;
  GOptionContext *ctx = g_option_context_new ("- CLIP contrastive training step times");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || runs < 1 || batch < 2 ||
      tokens < 2)
    g_error ("gv-bench-clip-train: %s", error ? error->message : "bad --runs/--batch/--tokens");
  g_option_context_free (ctx);
  GvDevice *dev = gv_device_get_shared (0, &error);
  if (dev == NULL)
    g_error ("gv-bench-clip-train: %s", error->message);
  static const gchar *const defaults[] = { "32:2:32:8", "64:2:64:8", "128:4:64:8", NULL };
  const gchar *const *list = sizes ? (const gchar *const *) sizes : defaults;
  for (guint i = 0; list[i]; i++) {
    gint h, l, im, p;
    if (sscanf (list[i], "%d:%d:%d:%d", &h, &l, &im, &p) != 4 || h < 2 || l < 1 || p < 1 ||
        im % p != 0)
      g_error ("gv-bench-clip-train: bad size '%s' (hidden:layers:image:patch)", list[i]);
    bench (dev, h, l, im, p, batch, tokens, runs);
  }
  g_strfreev (sizes);
  gv_device_unref (dev);
  return 0;
}
