#include <string.h>

#include "gv-train-recipe.h"

/* The recipe of models/genvideo-shapes. Sizes and steps from CPU seconds per step measured
 * with this tool (Xeon, 2 cores, lavapipe; models/README.md): CLIP 0.46 s (batch 32), UNet
 * 1.55 s (batch 4, 32x32 latents); the VAE's from gv-bench-vae-train (0.23 s per 4 crops of
 * 32x32 for [16, 32, 32], which learns on from 1500 steps at lr 2e-3; 1.4 s for 2 whole
 * 128x128 frames): about 2 h in all where a step's wall time is its CPU time. VAE factor 4:
 * the masks live at latent resolution. The VAE learns on crops (many colours per second: on
 * whole frames at batch 2 it was still at loss 0.3 after 650 steps, where crops reach 0.1 at
 * 400), then its last steps on whole frames, as the edit encodes them: trained on crops alone
 * (the first full run) its group norms knew only the statistics of crops, and whole frames
 * came back at 17.5 dB with shifted colours and a frame along the borders. */
static const gchar default_recipe[] =
    "[train]\n"
    "seed=1\n"
    "image_size=128\n"
    "clip_steps=2000\n"
    "clip_batch=32\n"
    "clip_lr=5e-4\n"
    "clip_warmup=100\n"
    "vae_steps=4000\n"
    "vae_batch=8\n"
    "vae_lr=2e-3\n"
    "vae_warmup=100\n"
    "vae_crop=32\n"
    "vae_whole_steps=600\n"
    "vae_whole_batch=2\n"
    "unet_steps=4000\n"
    "unet_batch=4\n"
    "unet_lr=3e-4\n"
    "unet_warmup=200\n"
    "unet_object_weight=1\n"
    "unet_examples=0\n"
    "unet_crop=0\n"
    "unet_whole_steps=0\n"
    "unet_whole_batch=4\n"
    "unet_ema=0\n"
    "unet_snr_gamma=0\n"
    "unet_image_noise_max=999\n"
    "calibration_examples=128\n"
    "text_dropout=0.1\n"
    "image_dropout=0.1\n"
    "uncond_dropout=0.1\n"
    "object_image_share=0.5\n"
    /* written to generation_config.json: this model's masks miss at SD's 7.5 (docs/benchmark.md) */
    "guidance_scale=2\n"
    "\n"
    "[unet/config.json]\n"
    "block_out_channels=[32, 64, 64, 64]\n"
    "attention_head_dim=[2, 4, 4, 4]\n"
    /* no attention at 32x32 (1024 tokens): half the step time; the text and image
     * conditions reach that level through the lower ones and the embedding */
    "down_block_types=[\"DownBlock2D\", \"CrossAttnDownBlock2D\", \"CrossAttnDownBlock2D\", "
    "\"DownBlock2D\"]\n"
    "up_block_types=[\"UpBlock2D\", \"CrossAttnUpBlock2D\", \"CrossAttnUpBlock2D\", "
    "\"UpBlock2D\"]\n"
    "norm_num_groups=16\n"
    "layers_per_block=1\n"
    "cross_attention_dim=64\n"
    "projection_class_embeddings_input_dim=128\n"
    "sample_size=32\n"
    "\n"
    "[vae/config.json]\n"
    "block_out_channels=[16, 32, 32]\n"
    "layers_per_block=1\n"
    "norm_num_groups=16\n"
    "sample_size=128\n"
    "\n"
    "[text_encoder/config.json]\n"
    "hidden_size=64\n"
    "intermediate_size=256\n"
    "num_attention_heads=4\n"
    "num_hidden_layers=2\n"
    "projection_dim=64\n"
    "\n"
    "[image_encoder/config.json]\n"
    "hidden_size=64\n"
    "intermediate_size=256\n"
    "num_attention_heads=4\n"
    "num_hidden_layers=2\n"
    "image_size=64\n"
    "patch_size=8\n"
    "projection_dim=64\n"
    "\n"
    "[feature_extractor/preprocessor_config.json]\n"
    "crop_size={\"height\": 64, \"width\": 64}\n"
    "size={\"shortest_edge\": 64}\n"
    "\n"
    "[image_normalizer/config.json]\n"
    "embedding_dim=64\n";

static const gchar *stage_names[GV_N_STAGES] = { "tokenizer", "clip", "vae", "unet" };

const gchar *
gv_train_stage_name (GvTrainStage stage)
{
  return stage_names[stage];
}

static gboolean
read_int (GKeyFile *f, const gchar *key, gint min, gint *out, GError **error)
{
  GError *e = NULL;
  gint v = g_key_file_get_integer (f, "train", key, &e);
  if (e != NULL || v < min) {
    g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
        "recipe: [train] %s: %s", key, e ? e->message : "out of range");
    g_clear_error (&e);
    return FALSE;
  }
  *out = v;
  return TRUE;
}

static gboolean
read_double (GKeyFile *f, const gchar *key, gdouble min, gdouble max, gdouble *out,
    GError **error)
{
  GError *e = NULL;
  gdouble v = g_key_file_get_double (f, "train", key, &e);
  if (e != NULL || !(v >= min && v <= max)) {
    g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
        "recipe: [train] %s: %s", key, e ? e->message : "out of range");
    g_clear_error (&e);
    return FALSE;
  }
  *out = v;
  return TRUE;
}

static void
clear_keys (GvTrainRecipe *r)
{
  for (gint i = 0; i < r->n_keys; i++) {
    g_free ((gchar *) r->keys[i].file);
    g_free ((gchar *) r->keys[i].key);
    g_free ((gchar *) r->keys[i].value);
  }
  g_clear_pointer (&r->keys, g_free);
  r->n_keys = 0;
}

/* the fields from the key file */
static gboolean
parse (GvTrainRecipe *r, GError **error)
{
  GKeyFile *f = r->file;
  gint seed;
  if (!read_int (f, "seed", 0, &seed, error) ||
      !read_int (f, "image_size", 16, &r->image_size, error) ||
      !read_int (f, "calibration_examples", 2, &r->calibration_examples, error) ||
      !read_int (f, "vae_crop", 8, &r->vae_crop, error) ||
      !read_int (f, "vae_whole_steps", 0, &r->vae_whole_steps, error) ||
      !read_int (f, "vae_whole_batch", 1, &r->vae_whole_batch, error) ||
      !read_int (f, "unet_examples", 0, &r->unet_examples, error) ||
      !read_int (f, "unet_crop", 0, &r->unet_crop, error) ||
      !read_int (f, "unet_whole_steps", 0, &r->unet_whole_steps, error) ||
      !read_int (f, "unet_whole_batch", 1, &r->unet_whole_batch, error) ||
      !read_int (f, "unet_image_noise_max", 0, &r->unet_image_noise_max, error) ||
      !read_double (f, "text_dropout", 0, 1, &r->text_dropout, error) ||
      !read_double (f, "image_dropout", 0, 1, &r->image_dropout, error) ||
      !read_double (f, "uncond_dropout", 0, 1, &r->uncond_dropout, error) ||
      !read_double (f, "object_image_share", 0, 1, &r->object_image_share, error) ||
      !read_double (f, "guidance_scale", 1, 100, &r->guidance_scale, error) ||
      !read_double (f, "unet_object_weight", 1, 1000, &r->unet_object_weight, error) ||
      !read_double (f, "unet_ema", 0, 0.99999, &r->unet_ema, error) ||
      !read_double (f, "unet_snr_gamma", 0, 1000, &r->unet_snr_gamma, error))
    return FALSE;
  r->seed = (guint64) seed;
  if (r->vae_crop > r->image_size) {
    g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
        "[train] vae_crop %d is larger than image_size %d", r->vae_crop, r->image_size);
    return FALSE;
  }
  /* the tokenizer has no steps: it is built with the initial checkpoint */
  r->stage[GV_STAGE_TOKENIZER] = (GvStageRecipe) { 0, 1, 0, 0 };
  for (gint s = GV_STAGE_CLIP; s < GV_N_STAGES; s++) {
    GvStageRecipe *st = &r->stage[s];
    g_autofree gchar *steps = g_strdup_printf ("%s_steps", stage_names[s]);
    g_autofree gchar *batch = g_strdup_printf ("%s_batch", stage_names[s]);
    g_autofree gchar *lr = g_strdup_printf ("%s_lr", stage_names[s]);
    g_autofree gchar *warmup = g_strdup_printf ("%s_warmup", stage_names[s]);
    if (!read_int (f, steps, 0, &st->steps, error) ||
        !read_int (f, batch, 1, &st->batch, error) ||
        !read_double (f, lr, 0, 1, &st->lr, error) ||
        !read_int (f, warmup, 0, &st->warmup, error))
      return FALSE;
  }
  if (r->unet_whole_steps > r->stage[GV_STAGE_UNET].steps) {
    g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
        "[train] unet_whole_steps %d is more than unet_steps %d", r->unet_whole_steps,
        r->stage[GV_STAGE_UNET].steps);
    return FALSE;
  }
  if (r->vae_whole_steps > r->stage[GV_STAGE_VAE].steps) {
    g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
        "[train] vae_whole_steps %d is more than vae_steps %d", r->vae_whole_steps,
        r->stage[GV_STAGE_VAE].steps);
    return FALSE;
  }

  clear_keys (r);
  gsize n_groups;
  g_auto (GStrv) groups = g_key_file_get_groups (f, &n_groups);
  GArray *keys = g_array_new (FALSE, FALSE, sizeof (GvConfigKey));
  for (gsize g = 0; g < n_groups; g++) {
    if (strcmp (groups[g], "train") == 0)
      continue;
    gsize n;
    g_auto (GStrv) names = g_key_file_get_keys (f, groups[g], &n, NULL);
    for (gsize k = 0; k < n; k++) {
      GvConfigKey key = { g_strdup (groups[g]), g_strdup (names[k]),
        g_key_file_get_value (f, groups[g], names[k], NULL) };
      g_array_append_val (keys, key);
    }
  }
  r->n_keys = (gint) keys->len;
  r->keys = (GvConfigKey *) g_array_free (keys, FALSE);
  return TRUE;
}

GvTrainRecipe *
gv_train_recipe_new_from_data (const gchar *text, GError **error)
{
  GvTrainRecipe *r = g_new0 (GvTrainRecipe, 1);
  r->file = g_key_file_new ();
  g_key_file_load_from_data (r->file, default_recipe, -1, G_KEY_FILE_NONE, NULL);
  if (text != NULL) {
    g_autoptr (GKeyFile) over = g_key_file_new ();
    if (!g_key_file_load_from_data (over, text, -1, G_KEY_FILE_NONE, error)) {
      g_prefix_error (error, "recipe: ");
      gv_train_recipe_free (r);
      return NULL;
    }
    gsize n_groups;
    g_auto (GStrv) groups = g_key_file_get_groups (over, &n_groups);
    for (gsize g = 0; g < n_groups; g++) {
      gsize n;
      g_auto (GStrv) names = g_key_file_get_keys (over, groups[g], &n, NULL);
      for (gsize k = 0; k < n; k++) {
        g_autofree gchar *v = g_key_file_get_value (over, groups[g], names[k], NULL);
        g_key_file_set_value (r->file, groups[g], names[k], v);
      }
    }
  }
  if (!parse (r, error)) {
    gv_train_recipe_free (r);
    return NULL;
  }
  return r;
}

GvTrainRecipe *
gv_train_recipe_load (const gchar *path, GError **error)
{
  g_autofree gchar *text = NULL;
  if (path != NULL && !g_file_get_contents (path, &text, NULL, error))
    return NULL;
  return gv_train_recipe_new_from_data (text, error);
}

void
gv_train_recipe_scale_steps (GvTrainRecipe *r, gdouble factor)
{
  for (gint s = GV_STAGE_CLIP; s < GV_N_STAGES; s++) {
    gint steps = MAX (1, (gint) (r->stage[s].steps * factor + 0.5));
    g_autofree gchar *key = g_strdup_printf ("%s_steps", stage_names[s]);
    g_key_file_set_integer (r->file, "train", key, steps);
    r->stage[s].steps = steps;
    r->stage[s].warmup = MIN (r->stage[s].warmup, steps / 4);
    if (s == GV_STAGE_VAE) {
      r->vae_whole_steps = MIN (steps, (gint) (r->vae_whole_steps * factor + 0.5));
      g_key_file_set_integer (r->file, "train", "vae_whole_steps", r->vae_whole_steps);
    }
    if (s == GV_STAGE_UNET) {
      r->unet_whole_steps = MIN (steps, (gint) (r->unet_whole_steps * factor + 0.5));
      g_key_file_set_integer (r->file, "train", "unet_whole_steps", r->unet_whole_steps);
    }
    g_autofree gchar *wkey = g_strdup_printf ("%s_warmup", stage_names[s]);
    g_key_file_set_integer (r->file, "train", wkey, r->stage[s].warmup);
  }
}

gboolean
gv_train_recipe_set (GvTrainRecipe *r, const gchar *key, const gchar *value, GError **error)
{
  if (!g_key_file_has_key (r->file, "train", key, NULL)) {
    g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
        "recipe: no key [train] %s", key);
    return FALSE;
  }
  g_key_file_set_value (r->file, "train", key, value);
  return parse (r, error);
}

gchar *
gv_train_recipe_to_data (GvTrainRecipe *r)
{
  return g_key_file_to_data (r->file, NULL, NULL);
}

void
gv_train_recipe_free (GvTrainRecipe *r)
{
  if (r == NULL)
    return;
  clear_keys (r);
  g_key_file_free (r->file);
  g_free (r);
}
