#include "gv-train-card.h"
#include "models/gv-safetensors.h"

/* the parameters in the safetensors files of @folder/@component */
static gint64
count_params (const gchar *folder, const gchar *component)
{
  g_autofree gchar *dir = g_build_filename (folder, component, NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const gchar *name;
  gint64 n = 0;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
    if (!g_str_has_suffix (name, ".safetensors"))
      continue;
    g_autofree gchar *path = g_build_filename (dir, name, NULL);
    g_autoptr (GvSafetensors) st = gv_safetensors_open (path, NULL);
    for (guint i = 0; st != NULL && i < gv_safetensors_get_n_tensors (st); i++)
      n += gv_safetensors_get_nth (st, i)->numel;
  }
  return n;
}

static gboolean
copy_file (const gchar *src, const gchar *folder, const gchar *name, GError **error)
{
  g_autofree gchar *data = NULL;
  gsize len;
  g_autofree gchar *dst = g_build_filename (folder, name, NULL);
  return g_file_get_contents (src, &data, &len, error) &&
      g_file_set_contents (dst, data, (gssize) len, error);
}

gboolean
gv_train_card_write (const GvTrainCard *card, const gchar *folder, GError **error)
{
  GString *s = g_string_new (NULL);
  g_autofree gchar *recipe = gv_train_recipe_to_data (card->recipe);

  g_string_append (s, "# genvideo-shapes: a small SD-2.1-unCLIP trained from scratch on the "
      "synthetic world\n\n"
      "Written by `gv-train-model` (tools/train); every number below is from the run that "
      "made this folder.\n\n"
      "## Data\n\n"
      "Frames of the synthetic world of `docs/benchmark.md` (`tools/world`): one object (disc "
      "or ball, square, triangle, ring; eight colours) over a flat, gradient, striped or "
      "checkered background, with its caption from the world's grammar, and the object alone "
      "on neutral grey (as the edit's target image is composited) with the caption \"a "
      "{colour} {object} on a grey background\". Every example is drawn from the seed; no "
      "file is read.\n\n");
  if (card->from_dir != NULL)
    g_string_append_printf (s, "## Start\n\nContinued from the checkpoint `%s` (`--from`): its "
        "tokenizer, CLIP encoders, normaliser and VAE as they are (their stages below did not "
        "run here, and the recipe's network sizes did not apply), its UNet trained on with this "
        "recipe's UNet stage. The rows below are this run's; the card of that checkpoint has "
        "the rest of the history.\n\n", card->from_dir);
  g_string_append (s, "## Stages\n\n| stage | steps | batch | peak lr | final loss (mean of "
      "last 10%) | wall time | CPU time |\n|---|---:|---:|---:|---:|---:|---:|\n");
  for (gint st = GV_STAGE_CLIP; st < GV_N_STAGES; st++) {
    gint *steps;
    gfloat *losses;
    gint n = gv_train_run_get_losses (card->run, st, &steps, &losses);
    const GvStageRecipe *r = &card->recipe->stage[st];
    gdouble tail = 0;
    gint k = MAX (1, n / 10);
    for (gint i = n - k; i < n && n > 0; i++)
      tail += losses[i] / k;
    gdouble wall, cpu;
    gv_train_run_get_times (card->run, st, &wall, &cpu);
    g_autofree gchar *final = n ? g_strdup_printf ("%.4g", tail) : g_strdup ("(no steps)");
    g_string_append_printf (s, "| %s | %d | %d | %g | %s | %.0f s | %.0f s |\n",
        gv_train_stage_name (st), r->steps, r->batch, r->lr, final, wall, cpu);
    g_free (steps);
    g_free (losses);
  }
  if (card->vae_check != NULL) {
    const GvVaeCheck *v = card->vae_check;
    g_string_append_printf (s, "\n**The VAE on whole frames**, the way the edit codes them "
        "(encode, scaling factor, decode; 8-bit RGB): PSNR %.2f dB over whole frames, %.2f dB "
        "over the interior, %.2f dB over the %d-pixel band along the borders, on %d held-out "
        "frames of %dx%d (frame 0 of world clips that no stage trains on); over their flat "
        "areas (pixels whose %dx%d neighbourhood is one colour) the colours are off by %.1f "
        "on average (RGB distance, 0..441).\n", v->psnr, v->interior_psnr, v->border_psnr,
        GV_VAE_CHECK_BORDER, v->frames, v->size, v->size, 2 * GV_VAE_CHECK_FLAT_RADIUS + 1,
        2 * GV_VAE_CHECK_FLAT_RADIUS + 1, v->flat_colour_error);
  }
  g_string_append_printf (s, "\n![Loss curves](curves.png)\n\n*Loss per step (light) and its "
      "running mean (dark), log scale, one panel per stage.*\n\n");
  if (card->samples != NULL)
    g_string_append (s, "![Samples](samples.png)\n\n*Per row: a world frame, its object "
        "alone, the VAE's reconstruction of the frame; samples (DDIM, guidance 3) "
        "conditioned on caption + object image, caption only, object image only.*\n\n");
  g_string_append_printf (s, "## Command\n\n```\n%s\n```\n\n(%.0f s in the session that "
      "finished it)\n\n## Recipe\n\n```ini\n%s```\n\n",
      card->command ? card->command : "(not recorded)", card->session_seconds, recipe);
  static const gchar *components[] = { "unet", "vae", "text_encoder", "image_encoder" };
  g_string_append (s, "## Size\n\n| network | parameters |\n|---|---:|\n");
  for (guint i = 0; i < G_N_ELEMENTS (components); i++)
    g_string_append_printf (s, "| %s | %" G_GINT64_FORMAT " |\n", components[i],
        count_params (folder, components[i]));
  g_string_append_printf (s, "\n%.2f MB in all (weights stored as F16); the sizes of every "
      "network are in the recipe above and in each folder's config.json.\n\n"
      "## Limits\n\nIt knows only the world it was trained on: four shapes, eight colours, "
      "four kinds of background, 128x128 frames. It is meant to make the method's stages "
      "visible and measurable (gv-bench-quality), not to generate pictures of anything "
      "else.\n", card->bytes / 1e6);

  g_autofree gchar *path = g_build_filename (folder, "README.md", NULL);
  gboolean ok = g_file_set_contents (path, s->str, (gssize) s->len, error) &&
      copy_file (card->curves, folder, "curves.png", error) &&
      (card->samples == NULL || copy_file (card->samples, folder, "samples.png", error));
  g_string_free (s, TRUE);
  return ok;
}
