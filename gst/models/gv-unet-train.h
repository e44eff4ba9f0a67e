/* One training step of the inflated UNet on the Vulkan engine (issue 9, stage 1 of the method):
 * forward, MSE loss against a given target, backward (llm.c-style, beside each block's
 * forward), global-norm clipping and AdamW on fp32 master weights. The trainer owns the
 * gradients and the AdamW moments; the trained tensors are the ones the inference path reads
 * (the GvUNetTemporal's attn1_q/attn2_q/attn_temp for Tune-A-Video, the GvUNet's own tensors
 * for whole-network training), so after a step gv_unet_forward () runs the tuned model.
 *
 * Deterministic: the same inputs and weights give the same bytes (no atomics in the reductions
 * the step uses). The GvCmd's cancel flag is noticed between dispatch batches inside a step:
 * the step then returns FALSE with GV_ERROR_CANCELLED and leaves the weights as they were. */
#pragma once

#include "models/gv-optimizer.h"
#include "models/gv-unet.h"

G_BEGIN_DECLS

typedef struct _GvUNetTrainer GvUNetTrainer;

/* Which tensors a step trains. */
typedef enum {
  /* Tune-A-Video's trainable_modules: attn1.to_q, attn2.to_q and attn_temp.* of every
   * transformer block (their tensors in the GvUNetTemporal) */
  GV_TRAIN_TAV,
  /* every parameter of the UNet and its temporal layers (demo-model training) */
  GV_TRAIN_ALL,
} GvTrainableSet;

/* lr (Tune-A-Video: 3e-5), beta1, beta2 (0.9, 0.999), eps (1e-8), weight_decay (1e-2,
 * decoupled as torch.optim.AdamW), in double (nn/gv-op-optim.h) */
typedef GvAdamW GvAdamWParams;

#define GV_ADAMW_PARAMS_DEFAULT { 3e-5, 0.9, 0.999, 1e-8, 1e-2 }

/* @temporal: the layers that make @unet the video model (required for GV_TRAIN_TAV; for
 * GV_TRAIN_ALL it may be NULL: the image model per frame). @recompute: keep only each block's
 * input during the forward and recompute the block's inside during the backward (per-block
 * gradient checkpointing); FALSE: the forward keeps every block's inside for the backward
 * (faster, several times the activation memory: docs/performance.md). Both give the same
 * bytes. Neither @unet nor @temporal is owned; both must outlive the trainer. */
GvUNetTrainer *gv_unet_trainer_new (GvUNet *unet, GvUNetTemporal *temporal,
    GvTrainableSet which, const GvAdamWParams *opt, gboolean recompute, GError **error);
void gv_unet_trainer_free (GvUNetTrainer *tr);

void gv_unet_trainer_set_lr (GvUNetTrainer *tr, gdouble lr);
void gv_unet_trainer_set_recompute (GvUNetTrainer *tr, gboolean recompute);
/* Per-element weights of the loss of the next steps (the target's shape; NULL: none, the
 * default): the gradient becomes that of mean (@weight (pred - target)^2). The reported loss
 * stays the plain MSE, comparable between weighted and unweighted runs. Referenced. */
void gv_unet_trainer_set_loss_weight (GvUNetTrainer *tr, GvTensor *weight);

/* One step on @noisy_latents [B*F, C, h, w] (frame-major, as gv_unet_forward) with
 * @frames frames per clip, @timesteps (B of them), @text [B, L, D], @class_labels [B, 2P] (or
 * NULL for a model without class embedding) and @target (same shape as the latents):
 * loss = mean ((unet (x) - target)^2); backward; clip the global gradient norm to
 * @max_grad_norm (<= 0: no clipping); AdamW. *@loss_out (may be NULL) gets the loss before
 * the update, *@grad_norm_out (may be NULL) the gradient norm before clipping. */
gboolean gv_unet_trainer_step (GvUNetTrainer *tr, GvCmd *cmd, GvTensor *noisy_latents,
    gint frames, const gfloat *timesteps, GvTensor *text, GvTensor *class_labels,
    GvTensor *target, gfloat max_grad_norm, gfloat *loss_out, gfloat *grad_norm_out,
    GError **error);

/* The trained tensors by their Tune-A-Video / diffusers state-dict names
 * ("down_blocks.0.attentions.0.transformer_blocks.0.attn_temp.to_q.weight", ...) in a fixed
 * order (for saving and loading tuned layers), their gradients of the last step (before
 * clipping), the step count and the AdamW state (learning rate, save/resume). */
GvOptimizer *gv_unet_trainer_get_optimizer (GvUNetTrainer *tr);

/* Peak device memory in bytes during the last step (gv_device_get_memory_stats ()). */
guint64 gv_unet_trainer_get_peak_memory (GvUNetTrainer *tr);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvUNetTrainer, gv_unet_trainer_free)

G_END_DECLS
