/* Configs: the golden checkpoint parses to its values, missing keys take the reference
 * defaults, unsupported values and wrong types are errors that name file, key and value. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "gv-test-files.h"
#include "models/gv-config.h"

static void
check_golden_values (const GvCheckpointConfig *c)
{
  static const gint unet_channels[] = { 32, 48, 48, 48 };
  static const gint unet_heads[] = { 2, 3, 3, 3 };
  static const gint vae_channels[] = { 16, 32, 32 };

  g_assert_cmpstr (c->pipeline_class, ==, "StableUnCLIPImg2ImgPipeline");
  g_assert_true (c->has_unet && c->has_vae && c->has_text_encoder && c->has_tokenizer &&
      c->has_image_encoder && c->has_feature_extractor && c->has_image_normalizer &&
      c->has_image_noising_scheduler && c->has_scheduler);

  const GvUNetConfig *u = &c->unet;
  g_assert_cmpint (u->n_blocks, ==, 4);
  g_assert_cmpmem (u->block_out_channels, 4 * sizeof (gint), unet_channels, sizeof unet_channels);
  g_assert_cmpmem (u->heads, 4 * sizeof (gint), unet_heads, sizeof unet_heads);
  for (gint i = 0; i < 4; i++) {
    g_assert_cmpint (u->layers_per_block[i], ==, 2);
    g_assert_cmpint (u->transformer_layers_per_block[i], ==, 1);
    g_assert_cmpint (u->down_blocks[i], ==, i < 3 ? GV_BLOCK_CROSS_ATTN : GV_BLOCK_PLAIN);
    g_assert_cmpint (u->up_blocks[i], ==, i > 0 ? GV_BLOCK_CROSS_ATTN : GV_BLOCK_PLAIN);
  }
  g_assert_true (u->mid_block_cross_attn);
  g_assert_cmpint (u->sample_size, ==, 16);
  g_assert_cmpint (u->in_channels, ==, 4);
  g_assert_cmpint (u->out_channels, ==, 4);
  g_assert_false (u->center_input_sample);
  g_assert_true (u->flip_sin_to_cos);
  g_assert_cmpfloat (u->freq_shift, ==, 0);
  g_assert_cmpint (u->norm_num_groups, ==, 16);
  g_assert_cmpfloat (u->norm_eps, ==, 1e-5f);
  g_assert_cmpint (u->cross_attention_dim, ==, 32);
  g_assert_true (u->use_linear_projection);
  g_assert_true (u->upcast_attention);
  g_assert_false (u->only_cross_attention);
  g_assert_cmpint (u->downsample_padding, ==, 1);
  g_assert_cmpfloat (u->mid_block_scale_factor, ==, 1.0f);
  g_assert_cmpint (u->conv_in_kernel, ==, 3);
  g_assert_cmpint (u->conv_out_kernel, ==, 3);
  g_assert_cmpint (u->time_embedding_dim, ==, 128);
  g_assert_cmpint (u->class_embed_type, ==, GV_CLASS_EMBED_PROJECTION);
  g_assert_cmpint (u->projection_class_embeddings_input_dim, ==, 64);

  const GvVaeConfig *v = &c->vae;
  g_assert_cmpint (v->n_blocks, ==, 3);
  g_assert_cmpmem (v->block_out_channels, 3 * sizeof (gint), vae_channels, sizeof vae_channels);
  g_assert_cmpint (v->in_channels, ==, 3);
  g_assert_cmpint (v->out_channels, ==, 3);
  g_assert_cmpint (v->latent_channels, ==, 4);
  g_assert_cmpint (v->layers_per_block, ==, 2);
  g_assert_cmpint (v->norm_num_groups, ==, 8);
  g_assert_cmpfloat (v->scaling_factor, ==, 0.18215f);
  g_assert_true (v->mid_block_add_attention);
  g_assert_cmpint (v->sample_size, ==, 64);

  const GvClipTextConfig *t = &c->text_encoder;
  g_assert_cmpint (t->vocab_size, ==, 614);
  g_assert_cmpint (t->hidden_size, ==, 32);
  g_assert_cmpint (t->intermediate_size, ==, 128);
  g_assert_cmpint (t->num_hidden_layers, ==, 3);
  g_assert_cmpint (t->num_attention_heads, ==, 4);
  g_assert_cmpint (t->max_position_embeddings, ==, 77);
  g_assert_cmpint (t->hidden_act, ==, GV_HIDDEN_ACT_GELU);
  g_assert_cmpfloat (t->layer_norm_eps, ==, 1e-5f);
  g_assert_cmpint (t->eos_token_id, ==, 2);
  g_assert_cmpint (t->projection_dim, ==, 32);

  const GvClipVisionConfig *im = &c->image_encoder;
  g_assert_cmpint (im->hidden_size, ==, 32);
  g_assert_cmpint (im->intermediate_size, ==, 128);
  g_assert_cmpint (im->num_hidden_layers, ==, 2);
  g_assert_cmpint (im->num_attention_heads, ==, 4);
  g_assert_cmpint (im->image_size, ==, 32);
  g_assert_cmpint (im->patch_size, ==, 8);
  g_assert_cmpint (im->num_channels, ==, 3);
  g_assert_cmpint (im->projection_dim, ==, 32);
  g_assert_cmpint (im->hidden_act, ==, GV_HIDDEN_ACT_GELU);

  const GvSchedulerConfig *s = &c->scheduler;
  g_assert_cmpint (s->num_train_timesteps, ==, 1000);
  g_assert_cmpfloat (s->beta_start, ==, 0.00085f);
  g_assert_cmpfloat (s->beta_end, ==, 0.012f);
  g_assert_cmpint (s->beta_schedule, ==, GV_BETA_SCALED_LINEAR);
  g_assert_null (s->trained_betas);
  g_assert_cmpint (s->prediction_type, ==, GV_PREDICT_V);
  g_assert_cmpint (s->steps_offset, ==, 1);
  g_assert_false (s->set_alpha_to_one);
  g_assert_false (s->clip_sample);
  g_assert_cmpint (s->timestep_spacing, ==, GV_SPACING_LEADING);
  g_assert_false (s->rescale_betas_zero_snr);

  s = &c->image_noising_scheduler;
  g_assert_cmpint (s->beta_schedule, ==, GV_BETA_SQUAREDCOS_CAP_V2);
  g_assert_cmpint (s->prediction_type, ==, GV_PREDICT_EPSILON);
  g_assert_cmpint (s->steps_offset, ==, 0);
  g_assert_true (s->set_alpha_to_one);
  g_assert_true (s->clip_sample);

  g_assert_cmpint (c->image_normalizer.embedding_dim, ==, 32);

  const GvPreprocessorConfig *p = &c->feature_extractor;
  g_assert_true (p->do_resize && p->do_center_crop && p->do_rescale && p->do_normalize &&
      p->do_convert_rgb);
  g_assert_cmpint (p->shortest_edge, ==, 32);
  g_assert_cmpint (p->crop_height, ==, 32);
  g_assert_cmpint (p->crop_width, ==, 32);
  g_assert_cmpint (p->resample, ==, 3);
  g_assert_cmpfloat (p->rescale_factor, ==, 0.00392156862745098);
  g_assert_cmpfloat (p->image_mean[0], ==, 0.48145466f);
  g_assert_cmpfloat (p->image_std[2], ==, 0.27577711f);

  const GvTokenizerConfig *k = &c->tokenizer;
  g_assert_cmpint (k->model_max_length, ==, 77);
  g_assert_true (k->do_lower_case);
  g_assert_cmpstr (k->bos_token, ==, "<|startoftext|>");
  g_assert_cmpstr (k->eos_token, ==, "<|endoftext|>");
  g_assert_cmpstr (k->unk_token, ==, "<|endoftext|>");
  g_assert_cmpstr (k->pad_token, ==, "!");
}

static void
test_golden_checkpoint (void)
{
  gchar *folder = gv_test_golden_path ("checkpoint");
  GError *error = NULL;
  g_autoptr (GvCheckpointConfig) c = gv_checkpoint_config_load (folder, &error);
  g_assert_no_error (error);
  check_golden_values (c);
  g_assert_cmpstr (c->folder, ==, folder);
  g_free (folder);
}

/* the model shipped in models/ is that checkpoint */
static void
test_shipped_model (void)
{
  GError *error = NULL;
  g_autoptr (GvCheckpointConfig) c = gv_checkpoint_config_load (gv_test_default_model_dir (),
      &error);
  g_assert_no_error (error);
  check_golden_values (c);
}

static void
test_presets (void)
{
  GvUNetConfig u;
  GvVaeConfig v;
  gv_unet_config_sd21_unclip (&u);
  g_assert_cmpint (u.n_blocks, ==, 4);
  g_assert_cmpint (u.block_out_channels[3], ==, 1280);
  g_assert_cmpint (u.heads[0], ==, 5);
  g_assert_cmpint (u.heads[3], ==, 20);
  g_assert_cmpint (u.cross_attention_dim, ==, 1024);
  g_assert_cmpint (u.class_embed_type, ==, GV_CLASS_EMBED_PROJECTION);
  g_assert_cmpint (u.projection_class_embeddings_input_dim, ==, 2048);
  g_assert_cmpint (u.time_embedding_dim, ==, 1280);
  g_assert_true (u.use_linear_projection && u.upcast_attention && u.mid_block_cross_attn);
  g_assert_cmpint (u.norm_num_groups, ==, 32);
  g_assert_cmpint (u.layers_per_block[2], ==, 2);
  g_assert_cmpint (u.sample_size, ==, 96);
  g_assert_cmpint (u.down_blocks[3], ==, GV_BLOCK_PLAIN);
  g_assert_cmpint (u.up_blocks[0], ==, GV_BLOCK_PLAIN);
  gv_vae_config_sd (&v);
  g_assert_cmpint (v.n_blocks, ==, 4);
  g_assert_cmpint (v.block_out_channels[0], ==, 128);
  g_assert_cmpint (v.block_out_channels[3], ==, 512);
  g_assert_cmpint (v.layers_per_block, ==, 2);
  g_assert_cmpint (v.norm_num_groups, ==, 32);
  g_assert_cmpint (v.latent_channels, ==, 4);
  g_assert_cmpfloat (v.scaling_factor, ==, 0.18215f);
}

static gchar *
write_config (const gchar *name, const gchar *text)
{
  gchar *dir = gv_test_scratch_dir ();
  gchar *path = g_build_filename (dir, name, NULL);
  gv_test_write_file (path, text);
  g_free (dir);
  return path;
}

/* missing keys: the defaults of diffusers / transformers */
static void
test_defaults (void)
{
  GError *error = NULL;
  gchar *path = write_config ("config.json", "{}");
  GvUNetConfig u;
  g_assert_true (gv_unet_config_load (path, &u, &error));
  g_assert_no_error (error);
  g_assert_cmpint (u.n_blocks, ==, 4);
  g_assert_cmpint (u.block_out_channels[1], ==, 640);
  g_assert_cmpint (u.heads[2], ==, 8);
  g_assert_cmpint (u.cross_attention_dim, ==, 1280);
  g_assert_cmpint (u.norm_num_groups, ==, 32);
  g_assert_cmpint (u.class_embed_type, ==, GV_CLASS_EMBED_NONE);
  g_assert_false (u.use_linear_projection);
  g_assert_true (u.flip_sin_to_cos);
  g_assert_cmpint (u.time_embedding_dim, ==, 1280);
  g_assert_cmpint (u.down_blocks[0], ==, GV_BLOCK_CROSS_ATTN);
  g_assert_cmpint (u.up_blocks[0], ==, GV_BLOCK_PLAIN);

  GvVaeConfig v;
  g_assert_true (gv_vae_config_load (path, &v, &error));
  g_assert_cmpint (v.n_blocks, ==, 1);
  g_assert_cmpint (v.block_out_channels[0], ==, 64);
  g_assert_cmpint (v.layers_per_block, ==, 1);
  g_assert_cmpint (v.norm_num_groups, ==, 32);

  GvClipTextConfig t;
  g_assert_true (gv_clip_text_config_load (path, &t, &error));
  g_assert_cmpint (t.vocab_size, ==, 49408);
  g_assert_cmpint (t.hidden_act, ==, GV_HIDDEN_ACT_QUICK_GELU);
  g_assert_cmpint (t.eos_token_id, ==, 49407);

  GvClipVisionConfig im;
  g_assert_true (gv_clip_vision_config_load (path, &im, &error));
  g_assert_cmpint (im.image_size, ==, 224);
  g_assert_cmpint (im.patch_size, ==, 32);

  GvSchedulerConfig s;
  g_assert_true (gv_scheduler_config_load (path, &s, &error));
  g_assert_cmpint (s.beta_schedule, ==, GV_BETA_LINEAR);
  g_assert_cmpfloat (s.beta_start, ==, 0.0001f);
  g_assert_true (s.set_alpha_to_one);
  g_assert_cmpint (s.prediction_type, ==, GV_PREDICT_EPSILON);
  gv_scheduler_config_clear (&s);

  GvPreprocessorConfig p;
  g_assert_true (gv_preprocessor_config_load (path, &p, &error));
  g_assert_cmpint (p.shortest_edge, ==, 224);
  g_assert_cmpint (p.crop_width, ==, 224);
  g_assert_cmpint (p.resample, ==, 3);
  g_assert_no_error (error);
  g_free (path);

  /* a VAE with several blocks and no type lists gets one type per block */
  path = write_config ("vae.json", "{\"block_out_channels\": [8, 16], \"norm_num_groups\": 4}");
  g_assert_true (gv_vae_config_load (path, &v, &error));
  g_assert_no_error (error);
  g_assert_cmpint (v.n_blocks, ==, 2);
  g_free (path);
}

/* other spellings the reference accepts */
static void
test_variants (void)
{
  GError *error = NULL;
  gchar *path = write_config ("config.json", "{\"num_attention_heads\": [1, 2, 4, 4], "
      "\"attention_head_dim\": 8, \"layers_per_block\": [1, 2, 2, 3], "
      "\"cross_attention_dim\": [16, 16, 16, 16], \"time_embedding_dim\": 77, "
      "\"block_out_channels\": [32, 64, 64, 64], \"norm_num_groups\": 32, "
      "\"only_cross_attention\": [false, false, false, false], \"act_fn\": \"swish\", "
      "\"down_block_types\": [\"CrossAttnDownBlock3D\", \"CrossAttnDownBlock2D\", "
      "\"CrossAttnDownBlock2D\", \"DownBlock3D\"], \"mid_block_scale_factor\": 1.0}");
  GvUNetConfig u;
  g_assert_true (gv_unet_config_load (path, &u, &error));
  g_assert_no_error (error);
  g_assert_cmpint (u.heads[1], ==, 2);
  g_assert_cmpint (u.layers_per_block[3], ==, 3);
  g_assert_cmpint (u.cross_attention_dim, ==, 16);
  g_assert_cmpint (u.time_embedding_dim, ==, 77);
  g_assert_cmpint (u.down_blocks[0], ==, GV_BLOCK_CROSS_ATTN);
  g_assert_cmpint (u.down_blocks[3], ==, GV_BLOCK_PLAIN);
  g_free (path);

  /* a full CLIPConfig: the tower's own config is used */
  path = write_config ("clip.json", "{\"model_type\": \"clip\", \"text_config\": "
      "{\"hidden_size\": 64, \"num_attention_heads\": 2}, \"vision_config\": "
      "{\"hidden_size\": 48, \"num_attention_heads\": 3, \"image_size\": 64, \"patch_size\": 16}}");
  GvClipTextConfig t;
  g_assert_true (gv_clip_text_config_load (path, &t, &error));
  g_assert_cmpint (t.hidden_size, ==, 64);
  GvClipVisionConfig im;
  g_assert_true (gv_clip_vision_config_load (path, &im, &error));
  g_assert_cmpint (im.hidden_size, ==, 48);
  g_assert_cmpint (im.image_size, ==, 64);
  g_assert_no_error (error);
  g_free (path);

  /* legacy feature extractor: ints for sizes, one value for the mean */
  path = write_config ("pre.json", "{\"feature_extractor_type\": \"CLIPFeatureExtractor\", "
      "\"size\": 64, \"crop_size\": 48, \"image_mean\": 0.5, \"resample\": 2}");
  GvPreprocessorConfig p;
  g_assert_true (gv_preprocessor_config_load (path, &p, &error));
  g_assert_no_error (error);
  g_assert_cmpint (p.shortest_edge, ==, 64);
  g_assert_cmpint (p.crop_height, ==, 48);
  g_assert_cmpint (p.crop_width, ==, 48);
  g_assert_cmpfloat (p.image_mean[2], ==, 0.5f);
  g_assert_cmpint (p.resample, ==, 2);
  g_free (path);

  path = write_config ("sched.json", "{\"num_train_timesteps\": 3, \"trained_betas\": "
      "[0.1, 0.2, 0.3], \"timestep_spacing\": \"trailing\"}");
  GvSchedulerConfig s;
  g_assert_true (gv_scheduler_config_load (path, &s, &error));
  g_assert_no_error (error);
  g_assert_nonnull (s.trained_betas);
  g_assert_cmpfloat (s.trained_betas[2], ==, 0.3f);
  g_assert_cmpint (s.timestep_spacing, ==, GV_SPACING_TRAILING);
  gv_scheduler_config_clear (&s);
  g_free (path);
}

typedef enum { UNET, VAE, TEXT, VISION, SCHED, PRE } Kind;

typedef struct {
  Kind kind;
  const gchar *json;
  GvErrorCode code;
  const gchar *mention[3];
} Bad;

static gboolean
load_kind (Kind kind, const gchar *path, GError **error)
{
  union {
    GvUNetConfig u;
    GvVaeConfig v;
    GvClipTextConfig t;
    GvClipVisionConfig im;
    GvSchedulerConfig s;
    GvPreprocessorConfig p;
  } cfg;
  gboolean ok = FALSE;
  switch (kind) {
    case UNET:
      ok = gv_unet_config_load (path, &cfg.u, error);
      break;
    case VAE:
      ok = gv_vae_config_load (path, &cfg.v, error);
      break;
    case TEXT:
      ok = gv_clip_text_config_load (path, &cfg.t, error);
      break;
    case VISION:
      ok = gv_clip_vision_config_load (path, &cfg.im, error);
      break;
    case SCHED:
      ok = gv_scheduler_config_load (path, &cfg.s, error);
      gv_scheduler_config_clear (&cfg.s);
      break;
    case PRE:
      ok = gv_preprocessor_config_load (path, &cfg.p, error);
      break;
  }
  return ok;
}

static void
test_bad_values (void)
{
  static const Bad cases[] = {
    { UNET, "{\"act_fn\": \"gelu\"}", GV_ERROR_UNSUPPORTED, { "act_fn", "'gelu'", "silu" } },
    { UNET, "{\"resnet_time_scale_shift\": \"scale_shift\"}", GV_ERROR_UNSUPPORTED,
      { "resnet_time_scale_shift", "scale_shift", "default" } },
    { UNET, "{\"time_embedding_type\": \"fourier\"}", GV_ERROR_UNSUPPORTED,
      { "time_embedding_type", "fourier", "positional" } },
    { UNET, "{\"addition_embed_type\": \"text_time\"}", GV_ERROR_UNSUPPORTED,
      { "addition_embed_type", "text_time", "null" } },
    { UNET, "{\"class_embed_type\": \"timestep\"}", GV_ERROR_UNSUPPORTED,
      { "class_embed_type", "timestep", "projection" } },
    { UNET, "{\"num_class_embeds\": 10}", GV_ERROR_UNSUPPORTED, { "num_class_embeds", "10" } },
    { UNET, "{\"down_block_types\": [\"SimpleCrossAttnDownBlock2D\", \"DownBlock2D\", "
      "\"DownBlock2D\", \"DownBlock2D\"]}", GV_ERROR_UNSUPPORTED,
      { "down_block_types", "SimpleCrossAttnDownBlock2D", "CrossAttnDownBlock2D" } },
    { UNET, "{\"mid_block_type\": \"UNetMidBlock2DSimpleCrossAttn\"}", GV_ERROR_UNSUPPORTED,
      { "mid_block_type", "UNetMidBlock2DSimpleCrossAttn", NULL } },
    { UNET, "{\"mid_block_type\": null}", GV_ERROR_UNSUPPORTED, { "mid_block_type", NULL } },
    { UNET, "{\"dual_cross_attention\": true}", GV_ERROR_UNSUPPORTED,
      { "dual_cross_attention", NULL } },
    { UNET, "{\"attention_type\": \"gated\"}", GV_ERROR_UNSUPPORTED, { "attention_type", NULL } },
    { UNET, "{\"cross_attention_dim\": [768, 1024, 1024, 1024]}", GV_ERROR_UNSUPPORTED,
      { "cross_attention_dim", NULL } },
    { UNET, "{\"class_embed_type\": \"projection\"}", GV_ERROR_CORRUPT,
      { "projection_class_embeddings_input_dim", NULL } },
    { UNET, "{\"block_out_channels\": \"abc\"}", GV_ERROR_CORRUPT,
      { "block_out_channels", NULL } },
    { UNET, "{\"block_out_channels\": [32, 64]}", GV_ERROR_CORRUPT,
      { "down_block_types", "2", NULL } },
    { UNET, "{\"block_out_channels\": [320, 640, 1280, -1]}", GV_ERROR_CORRUPT,
      { "block_out_channels[3]", NULL } },
    { UNET, "{\"layers_per_block\": true}", GV_ERROR_CORRUPT, { "layers_per_block", NULL } },
    { UNET, "{\"norm_eps\": \"small\"}", GV_ERROR_CORRUPT, { "norm_eps", NULL } },
    { UNET, "{\"use_linear_projection\": 1}", GV_ERROR_CORRUPT,
      { "use_linear_projection", NULL } },
    { UNET, "{\"norm_num_groups\": 48}", GV_ERROR_CORRUPT, { "norm_num_groups", "320" } },
    { UNET, "{\"attention_head_dim\": [8, 8]}", GV_ERROR_CORRUPT, { "attention_head_dim" } },
    { UNET, "{\"_class_name\": \"UNet2DModel\"}", GV_ERROR_UNSUPPORTED,
      { "_class_name", "UNet2DModel" } },
    { VAE, "{\"down_block_types\": [\"DownBlock2D\"]}", GV_ERROR_UNSUPPORTED,
      { "down_block_types", "DownBlock2D", "DownEncoderBlock2D" } },
    { VAE, "{\"use_quant_conv\": false}", GV_ERROR_UNSUPPORTED, { "use_quant_conv", NULL } },
    { VAE, "{\"latent_channels\": 0}", GV_ERROR_CORRUPT, { "latent_channels", NULL } },
    { TEXT, "{\"hidden_act\": \"relu\"}", GV_ERROR_UNSUPPORTED,
      { "hidden_act", "relu", "quick_gelu" } },
    { TEXT, "{\"hidden_size\": 30, \"num_attention_heads\": 4}", GV_ERROR_CORRUPT,
      { "hidden_size", NULL } },
    { VISION, "{\"image_size\": 30, \"patch_size\": 8}", GV_ERROR_CORRUPT, { "patch_size" } },
    { SCHED, "{\"thresholding\": true}", GV_ERROR_UNSUPPORTED, { "thresholding", NULL } },
    { SCHED, "{\"beta_schedule\": \"sigmoid\"}", GV_ERROR_UNSUPPORTED,
      { "beta_schedule", "sigmoid", "squaredcos_cap_v2" } },
    { SCHED, "{\"prediction_type\": \"flow\"}", GV_ERROR_UNSUPPORTED,
      { "prediction_type", "v_prediction" } },
    { SCHED, "{\"timestep_spacing\": \"uniform\"}", GV_ERROR_UNSUPPORTED,
      { "timestep_spacing", NULL } },
    { SCHED, "{\"num_train_timesteps\": 3, \"trained_betas\": [0.1]}", GV_ERROR_CORRUPT,
      { "trained_betas", NULL } },
    { SCHED, "{\"beta_start\": 0.5, \"beta_end\": 0.1}", GV_ERROR_CORRUPT, { "beta_start" } },
    { PRE, "{\"size\": {\"height\": 224, \"width\": 224}}", GV_ERROR_UNSUPPORTED,
      { "size", "shortest_edge", NULL } },
    { PRE, "{\"image_processor_type\": \"ViTImageProcessor\"}", GV_ERROR_UNSUPPORTED,
      { "image_processor_type", NULL } },
    { PRE, "{\"resample\": 7}", GV_ERROR_CORRUPT, { "resample", NULL } },
    { PRE, "{\"image_std\": [1, 0, 1]}", GV_ERROR_CORRUPT, { "image_std", NULL } },
    { PRE, "{\"image_mean\": [1, 2]}", GV_ERROR_CORRUPT, { "image_mean", NULL } },
    { PRE, "{\"crop_size\": {\"height\": \"x\"}}", GV_ERROR_CORRUPT, { "crop_size", NULL } },
    { UNET, "[1, 2]", GV_ERROR_CORRUPT, { "object", NULL } },
    { UNET, "{\"a\": ", GV_ERROR_CORRUPT, { NULL } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    const Bad *b = &cases[i];
    gchar *path = write_config ("config.json", b->json);
    GError *error = NULL;
    g_test_message ("case %u: %s", i, b->json);
    g_assert_false (load_kind (b->kind, path, &error));
    gv_test_assert_error (error, b->code, path, b->mention[0], b->mention[1], b->mention[2], NULL);
    g_clear_error (&error);
    g_free (path);
  }
}

static void
test_missing_files (void)
{
  gchar *dir = gv_test_scratch_dir ();
  gchar *path = g_build_filename (dir, "config.json", NULL);
  gchar *nowhere = g_build_filename (dir, "nowhere", NULL);
  GError *error = NULL;
  GvUNetConfig u;

  g_assert_false (gv_unet_config_load (path, &u, &error));
  gv_test_assert_error (error, GV_ERROR_NOT_FOUND, path, NULL);
  g_clear_error (&error);
  g_assert_null (gv_checkpoint_config_load (nowhere, &error));
  gv_test_assert_error (error, GV_ERROR_NOT_FOUND, nowhere, NULL);
  g_clear_error (&error);
  /* a folder without model_index.json */
  g_assert_null (gv_checkpoint_config_load (dir, &error));
  gv_test_assert_error (error, GV_ERROR_NOT_FOUND, "model_index.json", NULL);
  g_clear_error (&error);
  g_free (nowhere);
  g_free (path);
  g_free (dir);
}

/* edited copies of the golden checkpoint's configs */
static void
test_checkpoint_errors (void)
{
  GError *error = NULL;
  struct {
    const gchar *file, *old, *new_text;
    GvErrorCode code;
    const gchar *mention[3];
  } cases[] = {
    { "model_index.json", "\"UNet2DConditionModel\"", "\"UNet2DModel\"", GV_ERROR_UNSUPPORTED,
      { "model_index.json", "unet", "UNet2DModel" } },
    { "model_index.json", "\"CLIPTextModel\"", "42", GV_ERROR_CORRUPT,
      { "model_index.json", "text_encoder", NULL } },
    { "unet/config.json", "\"cross_attention_dim\": 32", "\"cross_attention_dim\": 64",
      GV_ERROR_CORRUPT, { "cross_attention_dim 64", "hidden_size 32", NULL } },
    { "unet/config.json", "\"projection_class_embeddings_input_dim\": 64",
      "\"projection_class_embeddings_input_dim\": 32", GV_ERROR_CORRUPT,
      { "projection_class_embeddings_input_dim", NULL } },
    { "image_normalizer/config.json", "\"embedding_dim\": 32", "\"embedding_dim\": 16",
      GV_ERROR_CORRUPT, { "embedding_dim 16", NULL } },
    { "vae/config.json", "\"latent_channels\": 4", "\"latent_channels\": 8", GV_ERROR_CORRUPT,
      { "latent_channels 8", NULL } },
    { "unet/config.json", "\"act_fn\": \"silu\"", "\"act_fn\": \"mish\"", GV_ERROR_UNSUPPORTED,
      { "unet/config.json", "act_fn", "mish" } },
    { "scheduler/scheduler_config.json", "\"thresholding\": false", "\"thresholding\": true",
      GV_ERROR_UNSUPPORTED, { "scheduler/scheduler_config.json", "thresholding", NULL } },
    { "tokenizer/tokenizer_config.json", "\"tokenizer_class\": \"CLIPTokenizer\"",
      "\"tokenizer_class\": \"T5Tokenizer\"", GV_ERROR_UNSUPPORTED,
      { "tokenizer_config.json", "T5Tokenizer", NULL } },
    { "tokenizer/special_tokens_map.json", "\"pad_token\": \"!\"", "\"pad_token\": 5",
      GV_ERROR_CORRUPT, { "special_tokens_map.json", "pad_token", NULL } },
    { "feature_extractor/preprocessor_config.json", "\"resample\": 3", "\"resample\": \"x\"",
      GV_ERROR_CORRUPT, { "preprocessor_config.json", "resample", NULL } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    gchar *dir = gv_test_scratch_dir ();
    gv_test_copy_configs (dir);
    gchar *path = g_build_filename (dir, cases[i].file, NULL);
    gv_test_replace_in_file (path, cases[i].old, cases[i].new_text);
    g_test_message ("case %u: %s: %s", i, cases[i].file, cases[i].new_text);
    g_assert_null (gv_checkpoint_config_load (dir, &error));
    gv_test_assert_error (error, cases[i].code, cases[i].mention[0], cases[i].mention[1],
        cases[i].mention[2], NULL);
    g_clear_error (&error);
    g_free (path);
    g_free (dir);
  }

  /* a listed component without its folder */
  gchar *dir = gv_test_scratch_dir ();
  gv_test_copy_configs (dir);
  gchar *vae = g_build_filename (dir, "vae", NULL);
  gv_test_remove_tree (vae);
  g_assert_null (gv_checkpoint_config_load (dir, &error));
  gv_test_assert_error (error, GV_ERROR_NOT_FOUND, vae, "model_index.json", NULL);
  g_clear_error (&error);

  /* ... which is fine when the pipeline has none */
  gchar *index = g_build_filename (dir, "model_index.json", NULL);
  gv_test_replace_in_file (index, "\"diffusers\",\n    \"AutoencoderKL\"", "null, null");
  GvCheckpointConfig *c = gv_checkpoint_config_load (dir, &error);
  g_assert_no_error (error);
  g_assert_false (c->has_vae);
  g_assert_true (c->has_unet);
  gv_checkpoint_config_free (c);

  /* a component's config missing */
  gchar *unet_cfg = g_build_filename (dir, "unet", "config.json", NULL);
  g_remove (unet_cfg);
  g_assert_null (gv_checkpoint_config_load (dir, &error));
  gv_test_assert_error (error, GV_ERROR_NOT_FOUND, unet_cfg, NULL);
  g_clear_error (&error);
  g_free (unet_cfg);
  g_free (index);
  g_free (vae);
  g_free (dir);
}

/* generation_config.json: optional; its guidance scale when there, checked like any config */
static void
test_generation_config (void)
{
  GError *error = NULL;
  gchar *dir = gv_test_scratch_dir ();
  gv_test_copy_configs (dir);
  GvCheckpointConfig *c = gv_checkpoint_config_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (c->guidance_scale, ==, GV_DEFAULT_GUIDANCE_SCALE);
  gv_checkpoint_config_free (c);

  gchar *path = g_build_filename (dir, GV_GENERATION_CONFIG, NULL);
  g_assert_true (g_file_set_contents (path, "{ \"guidance_scale\": 2.5, \"note\": \"x\" }", -1,
      NULL));
  c = gv_checkpoint_config_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (c->guidance_scale, ==, 2.5f);
  gv_checkpoint_config_free (c);

  const gchar *bad[] = { "{ \"guidance_scale\": \"high\" }", "{ \"guidance_scale\": 0.5 }",
      "{ \"guidance_scale\": 2" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_assert_true (g_file_set_contents (path, bad[i], -1, NULL));
    g_assert_null (gv_checkpoint_config_load (dir, &error));
    gv_test_assert_error (error, GV_ERROR_CORRUPT, GV_GENERATION_CONFIG,
        i < 2 ? "guidance_scale" : NULL, NULL, NULL);
    g_clear_error (&error);
  }
  g_free (path);
  g_free (dir);
}

static void
test_tokenizer_config (void)
{
  gchar *dir = gv_test_scratch_dir ();
  gchar *cfg = g_build_filename (dir, "tokenizer_config.json", NULL);
  gchar *map = g_build_filename (dir, "special_tokens_map.json", NULL);
  GvTokenizerConfig t;
  GError *error = NULL;

  /* neither file: CLIPTokenizer's defaults */
  g_assert_true (gv_tokenizer_config_load (dir, &t, &error));
  g_assert_no_error (error);
  g_assert_cmpint (t.model_max_length, ==, 77);
  g_assert_cmpstr (t.pad_token, ==, "<|endoftext|>");
  gv_tokenizer_config_clear (&t);

  /* plain strings, "unlimited" length, and the map overriding the config */
  gv_test_write_file (cfg, "{\"model_max_length\": 1000000000000000019884624838656, "
      "\"bos_token\": \"<s>\", \"pad_token\": {\"content\": \"<pad>\"}, "
      "\"do_lower_case\": false}");
  gv_test_write_file (map, "{\"pad_token\": {\"__type\": \"AddedToken\", \"content\": \"!\"}, "
      "\"unk_token\": \"<unk>\"}");
  g_assert_true (gv_tokenizer_config_load (dir, &t, &error));
  g_assert_no_error (error);
  g_assert_cmpint (t.model_max_length, ==, 77);
  g_assert_false (t.do_lower_case);
  g_assert_cmpstr (t.bos_token, ==, "<s>");
  g_assert_cmpstr (t.pad_token, ==, "!");
  g_assert_cmpstr (t.unk_token, ==, "<unk>");
  g_assert_cmpstr (t.eos_token, ==, "<|endoftext|>");
  gv_tokenizer_config_clear (&t);

  gv_test_write_file (cfg, "{\"model_max_length\": 64, \"eos_token\": {\"lstrip\": false}}");
  g_assert_false (gv_tokenizer_config_load (dir, &t, &error));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, cfg, "eos_token", NULL);
  g_clear_error (&error);
  g_free (map);
  g_free (cfg);
  g_free (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config/golden-checkpoint", test_golden_checkpoint);
  g_test_add_func ("/config/shipped-model", test_shipped_model);
  g_test_add_func ("/config/presets", test_presets);
  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add_func ("/config/variants", test_variants);
  g_test_add_func ("/config/bad-values", test_bad_values);
  g_test_add_func ("/config/missing-files", test_missing_files);
  g_test_add_func ("/config/checkpoint-errors", test_checkpoint_errors);
  g_test_add_func ("/config/generation-config", test_generation_config);
  g_test_add_func ("/config/tokenizer-config", test_tokenizer_config);
  return g_test_run ();
}
