/* The configs of a diffusers checkpoint folder, parsed with json-glib into typed structs.
 * Every hyper-parameter the networks use comes from here. A value we do not support (another
 * block type, activation, embedding kind...) is an error naming the file, the key, the value and
 * what is supported; a missing key takes the default of the reference implementation. */
#pragma once

#include <glib.h>

#include "base/gv-error.h"

G_BEGIN_DECLS

#define GV_MAX_BLOCKS 8

typedef enum {
  GV_CLASS_EMBED_NONE,
  GV_CLASS_EMBED_PROJECTION,   /* Linear(projection_class_embeddings_input_dim, T)-SiLU-Linear */
} GvClassEmbedType;

typedef enum {
  GV_BLOCK_PLAIN,              /* DownBlock2D / UpBlock2D */
  GV_BLOCK_CROSS_ATTN,         /* CrossAttnDownBlock2D / CrossAttnUpBlock2D */
} GvBlockKind;

typedef struct {
  gint sample_size;
  gint in_channels, out_channels;
  gboolean center_input_sample;
  gboolean flip_sin_to_cos;
  gfloat freq_shift;
  gint n_blocks;
  gint block_out_channels[GV_MAX_BLOCKS];
  GvBlockKind down_blocks[GV_MAX_BLOCKS];
  GvBlockKind up_blocks[GV_MAX_BLOCKS];
  gboolean mid_block_cross_attn;             /* UNetMidBlock2DCrossAttn (else UNetMidBlock2D) */
  gint layers_per_block[GV_MAX_BLOCKS];      /* per down block (an int in the file: the same for
                                                every block); up block i has
                                                layers_per_block[n_blocks - 1 - i] + 1 */
  gint transformer_layers_per_block[GV_MAX_BLOCKS];
  gint heads[GV_MAX_BLOCKS];                 /* num_attention_heads, else attention_head_dim
                                                (the historical diffusers naming: a head count).
                                                Down block i uses heads[i], up block i
                                                heads[n_blocks - 1 - i], the mid block the last */
  gint norm_num_groups;
  gfloat norm_eps;
  gint cross_attention_dim;
  gboolean use_linear_projection;
  gboolean upcast_attention;                 /* no effect in fp32 */
  gboolean only_cross_attention;
  gint downsample_padding;
  gfloat mid_block_scale_factor;
  gint conv_in_kernel, conv_out_kernel;
  gint time_embedding_dim;                   /* resolved: 4 * block_out_channels[0] if null */
  GvClassEmbedType class_embed_type;
  gint projection_class_embeddings_input_dim;
} GvUNetConfig;

typedef struct {
  gint in_channels, out_channels, latent_channels;
  gint n_blocks;
  gint block_out_channels[GV_MAX_BLOCKS];
  gint layers_per_block;
  gint norm_num_groups;
  gfloat scaling_factor;
  gboolean mid_block_add_attention;
  gint sample_size;
} GvVaeConfig;

typedef enum {
  GV_HIDDEN_ACT_GELU,          /* exact erf GELU */
  GV_HIDDEN_ACT_QUICK_GELU,    /* x * sigmoid (1.702 x) (OpenAI CLIP, SD 1.x) */
} GvHiddenAct;

typedef struct {
  gint vocab_size;
  gint hidden_size, intermediate_size;
  gint num_hidden_layers, num_attention_heads;
  gint max_position_embeddings;
  GvHiddenAct hidden_act;
  gfloat layer_norm_eps;
  gint eos_token_id;
  gint projection_dim;
} GvClipTextConfig;

typedef struct {
  gint hidden_size, intermediate_size;
  gint num_hidden_layers, num_attention_heads;
  gint image_size, patch_size, num_channels;
  gint projection_dim;
  GvHiddenAct hidden_act;
  gfloat layer_norm_eps;
} GvClipVisionConfig;

typedef enum {
  GV_BETA_LINEAR,
  GV_BETA_SCALED_LINEAR,
  GV_BETA_SQUAREDCOS_CAP_V2,
} GvBetaSchedule;

typedef enum {
  GV_PREDICT_EPSILON,
  GV_PREDICT_V,
  GV_PREDICT_SAMPLE,
} GvPredictionType;

typedef enum {
  GV_SPACING_LEADING,
  GV_SPACING_TRAILING,
  GV_SPACING_LINSPACE,
} GvTimestepSpacing;

/* DDIMScheduler and DDPMScheduler configs (scheduler/, image_noising_scheduler/). The config
 * of any diffusers scheduler is read the same way (the pipeline runs DDIM from it, as
 * DDIMScheduler.from_config() would); set_alpha_to_one defaults to TRUE. */
typedef struct {
  gint num_train_timesteps;
  gfloat beta_start, beta_end;
  GvBetaSchedule beta_schedule;
  gfloat *trained_betas;                     /* NULL, or num_train_timesteps values */
  GvPredictionType prediction_type;
  gint steps_offset;
  gboolean set_alpha_to_one;
  gboolean clip_sample;
  gfloat clip_sample_range;
  GvTimestepSpacing timestep_spacing;
  gboolean rescale_betas_zero_snr;
} GvSchedulerConfig;

typedef struct {
  gint embedding_dim;
} GvImageNormalizerConfig;

/* CLIPImageProcessor (feature_extractor/preprocessor_config.json) */
typedef struct {
  gboolean do_resize;
  gint shortest_edge;                        /* size.shortest_edge (or size as an int); a size
                                                of {height, width} is rejected, as
                                                CLIPImageProcessor.resize() does */
  gboolean do_center_crop;
  gint crop_height, crop_width;
  gboolean do_rescale;
  gdouble rescale_factor;                    /* double, as numpy multiplies by it */
  gboolean do_normalize;
  gfloat image_mean[3], image_std[3];
  gint resample;                             /* PIL filter id: 3 = bicubic, 2 = bilinear */
  gboolean do_convert_rgb;
} GvPreprocessorConfig;

typedef struct {
  gint model_max_length;                     /* 77 when absent or "unlimited" (1e30) */
  gboolean do_lower_case;                    /* read, but CLIPTokenizer lower-cases always */
  gchar *bos_token, *eos_token, *unk_token, *pad_token;   /* contents */
} GvTokenizerConfig;

/* The whole checkpoint folder. Components absent from model_index.json (or listed as
 * [null, null]) are not loaded (their has_* flag is FALSE); a component listed but missing on
 * disk is an error (GV_ERROR_NOT_FOUND), and so is a class we cannot run
 * (GV_ERROR_UNSUPPORTED). Sizes handed between components must agree (GV_ERROR_CORRUPT):
 * unet cross_attention_dim = text hidden_size, unet out_channels = vae latent_channels,
 * image_normalizer embedding_dim = image_encoder projection_dim, unet
 * projection_class_embeddings_input_dim = 2 x image projection_dim, tokenizer model_max_length
 * <= text max_position_embeddings. */
typedef struct {
  gchar *folder;
  gchar *pipeline_class;                     /* model_index.json _class_name */
  gboolean has_unet, has_vae, has_text_encoder, has_tokenizer, has_image_encoder,
      has_feature_extractor, has_image_normalizer, has_image_noising_scheduler, has_scheduler;
  GvUNetConfig unet;
  GvVaeConfig vae;
  GvClipTextConfig text_encoder;
  GvClipVisionConfig image_encoder;
  GvSchedulerConfig scheduler;
  GvSchedulerConfig image_noising_scheduler;
  GvImageNormalizerConfig image_normalizer;
  GvPreprocessorConfig feature_extractor;
  GvTokenizerConfig tokenizer;
  /* generation_config.json at the folder's root (optional; diffusers ignores it): the
   * classifier-free guidance scale the model is meant to run at, GV_DEFAULT_GUIDANCE_SCALE
   * without the file. Small models trained here over-shoot at SD's 7.5 (docs/benchmark.md). */
  gfloat guidance_scale;
} GvCheckpointConfig;

#define GV_DEFAULT_GUIDANCE_SCALE 7.5f
#define GV_GENERATION_CONFIG "generation_config.json"

GvCheckpointConfig *gv_checkpoint_config_load (const gchar *folder, GError **error);
void gv_checkpoint_config_free (GvCheckpointConfig *cfg);

/* Single files, for tools and tests. The tokenizer reads @folder/tokenizer_config.json and
 * @folder/special_tokens_map.json (both optional; the map wins, as in transformers). */
gboolean gv_unet_config_load (const gchar *path, GvUNetConfig *cfg, GError **error);
gboolean gv_vae_config_load (const gchar *path, GvVaeConfig *cfg, GError **error);
gboolean gv_clip_text_config_load (const gchar *path, GvClipTextConfig *cfg, GError **error);
gboolean gv_clip_vision_config_load (const gchar *path, GvClipVisionConfig *cfg, GError **error);
gboolean gv_scheduler_config_load (const gchar *path, GvSchedulerConfig *cfg, GError **error);
void gv_scheduler_config_clear (GvSchedulerConfig *cfg);
gboolean gv_preprocessor_config_load (const gchar *path, GvPreprocessorConfig *cfg,
    GError **error);
gboolean gv_tokenizer_config_load (const gchar *folder, GvTokenizerConfig *cfg, GError **error);
void gv_tokenizer_config_clear (GvTokenizerConfig *cfg);

/* The SD-2.1-unCLIP UNet at full size (stabilityai/stable-diffusion-2-1-unclip), for benchmarks
 * that need the real shapes without the file. */
void gv_unet_config_sd21_unclip (GvUNetConfig *cfg);
void gv_vae_config_sd (GvVaeConfig *cfg);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvCheckpointConfig, gv_checkpoint_config_free)

G_END_DECLS
