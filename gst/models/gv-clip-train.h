/* Contrastive training of the CLIP text and vision encoders (CLIP's recipe) on the Vulkan
 * engine: image embeddings (visual_projection) against text embeddings (the pooled output
 * through a text_projection [projection_dim, hidden] the trainer owns, named
 * "text_projection.weight" as in CLIPTextModelWithProjection), symmetric InfoNCE with a
 * learnable logit scale (gv-clip-loss.h: the loss head runs on the host), backward through
 * both encoders, clipping and AdamW (gv-optimizer.h). The encoders train in place: after a
 * step gv_text_encoder_forward () and gv_image_encoder_forward () run the trained weights.
 *
 * Deterministic for the same inputs and weights. Cancellation (the GvCmd's flag) as the UNet
 * trainer: the step returns FALSE with GV_ERROR_CANCELLED and the weights stay as they were. */
#pragma once

#include "models/gv-image-encoder.h"
#include "models/gv-optimizer.h"
#include "models/gv-text-encoder.h"
#include "models/gv-tokenizer.h"

G_BEGIN_DECLS

typedef struct _GvClipTrainer GvClipTrainer;

typedef enum {
  GV_CLIP_TRAIN_BOTH,
  GV_CLIP_TRAIN_TEXT,     /* the vision side frozen (its forward only) */
  GV_CLIP_TRAIN_VISION,   /* the text side and text_projection frozen */
} GvClipTrainable;

/* Neither encoder is owned; both must outlive the trainer and share one device.
 * text_projection starts uniform in +-1/sqrt (hidden) (@seed), the logit scale at
 * ln (1 / 0.07). Registered with the optimizer, in this order: the vision parameters, the
 * text parameters, "text_projection.weight", "logit_scale" (the frozen side's left out). */
GvClipTrainer *gv_clip_trainer_new (GvTextEncoder *text, GvImageEncoder *vision,
    GvClipTrainable which, const GvAdamW *opt, guint32 seed, GError **error);
void gv_clip_trainer_free (GvClipTrainer *tr);

/* CLIP's initialisation for training from scratch, on the trained parameters (the frozen
 * side is left alone): every layer norm weight 1 and every bias 0, the token embeddings
 * N(0, 0.02^2), the position embeddings N(0, 0.01^2), the class embedding
 * N(0, 1 / hidden); the other weights keep the values they were made with (the random
 * loader's +-1/sqrt (fan_in), torch's default). The random loader alone makes every tensor
 * uniform, norms included: from that start the loss stays at ln B for the first tens of steps
 * (tests/models/test-clip-train.c). */
gboolean gv_clip_trainer_init_weights (GvClipTrainer *tr, guint64 seed, GError **error);

/* One step on @pixel_values [B, 3, S, S] (preprocessed as gv-image-preprocess does) and
 * their captions' token ids @ids [B, @length] (row i describes image i; B >= 2): forward,
 * loss, backward, clipping to @max_grad_norm (<= 0: none), AdamW. *@loss_out (may be NULL)
 * gets the loss before the update. */
gboolean gv_clip_trainer_step (GvClipTrainer *tr, GvCmd *cmd, GvTensor *pixel_values,
    const gint32 *ids, gint length, gfloat max_grad_norm, gfloat *loss_out, GError **error);

/* The loss and the image -> text top-1 accuracy (the fraction of images whose most similar
 * caption of the batch is theirs, or the same text) without training: for held-out batches. */
gboolean gv_clip_trainer_evaluate (GvClipTrainer *tr, GvCmd *cmd, GvTensor *pixel_values,
    const gint32 *ids, gint length, gfloat *loss_out, gfloat *accuracy_out, GError **error);

/* The token ids [B, *@length] of @captions (@n of them) as the SD pipelines encode them
 * (gv_tokenizer_encode ()), cut after the last pooled token of the batch: the causal text
 * encoder gives the same pooled output, in fewer positions. g_free () it. */
gint32 *gv_clip_trainer_encode (GvClipTrainer *tr, GvTokenizer *tok,
    const gchar *const *captions, gint n, gint *length);

/* The optimizer (learning rate, step count, save/resume, parameters by name), owned by the
 * trainer. */
GvOptimizer *gv_clip_trainer_get_optimizer (GvClipTrainer *tr);
/* [projection_dim, hidden] and [1] (transfer none) */
GvTensor *gv_clip_trainer_get_text_projection (GvClipTrainer *tr);
GvTensor *gv_clip_trainer_get_logit_scale (GvClipTrainer *tr);
/* Recompute each encoder layer during the backward from its input instead of keeping its
 * inside (gv_encoder_stack_forward_train ()): less memory, one more forward of the layers.
 * Off by default: the demo model's encoders are small. */
void gv_clip_trainer_set_recompute (GvClipTrainer *tr, gboolean recompute);
/* The global gradient norm of the last step, before clipping. */
gfloat gv_clip_trainer_get_grad_norm (GvClipTrainer *tr);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvClipTrainer, gv_clip_trainer_free)

G_END_DECLS
