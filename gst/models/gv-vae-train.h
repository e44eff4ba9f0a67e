/* Training the VAE (AutoencoderKL) from scratch (issue 11): a step encodes a batch, samples
 * z = mean + std eps (eps seeded from the step), decodes z and descends on the
 * reconstruction loss plus a small KL term (gv-vae-loss.h), through the encoder's and
 * decoder's backward (gv-vae.h) and the shared optimizer (gv-optimizer.h). The VAE trains
 * in place: after a step gv_vae_encode () / gv_vae_decode () run the new weights. */
#pragma once

#include "models/gv-optimizer.h"
#include "models/gv-vae.h"
#include "models/gv-vae-loss.h"

G_BEGIN_DECLS

typedef struct _GvVaeTrainer GvVaeTrainer;

/* What the measurements of docs/performance.md chose: MSE (on world images it climbs in PSNR
 * faster than L1, and L1 + the edge term stalls), KL at SD's 1e-6. */
#define GV_VAE_LOSS_WEIGHTS_DEFAULT { 0.0f, 1.0f, 0.0f, 1e-6f }

/* Trains every parameter of @vae (not owned: it must outlive the trainer). */
GvVaeTrainer *gv_vae_trainer_new (GvVae *vae, const GvAdamW *opt, GError **error);
void gv_vae_trainer_free (GvVaeTrainer *tr);

void gv_vae_trainer_set_loss_weights (GvVaeTrainer *tr, const GvVaeLossWeights *w);
/* eps of step k (counted by the optimizer, from 0) is gv_random_normal (eps, n,
 * gv_vae_trainer_eps_seed (seed, k)): a resumed run draws what the first would have */
void gv_vae_trainer_set_seed (GvVaeTrainer *tr, guint64 seed);
guint64 gv_vae_trainer_eps_seed (guint64 seed, gint step);

/* One step on @images [B, 3, H, W] in [-1, 1] (H, W multiples of the VAE's factor): returns
 * the loss before the update in *@loss_out (may be NULL) and its reconstruction part (L1,
 * MSE and edge terms, no KL) in *@recon_out (may be NULL). @max_grad_norm <= 0: no
 * clipping. FALSE with @error (the weights unchanged) on bad input, failure or
 * cancellation of @cmd. */
gboolean gv_vae_trainer_step (GvVaeTrainer *tr, GvCmd *cmd, GvTensor *images,
    gfloat max_grad_norm, gfloat *loss_out, gfloat *recon_out, GError **error);

/* The parameters (diffusers names), lr schedule, save and resume. */
GvOptimizer *gv_vae_trainer_get_optimizer (GvVaeTrainer *tr);

/* Sets every GroupNorm to weight 1, bias 0 (torch's init; gv_loader_new_random () draws
 * them at random): the start of a from-scratch run. (Starting the log-variance low, so that
 * the decoder first sees the means with little noise, was measured: no gain.) */
gboolean gv_vae_init_norms (GvVae *vae, GError **error);

/* The standard deviation of the latent means of @images (SD's scaling_factor is 1 / std).
 * -1 with @error on failure. */
gdouble gv_vae_latent_std (GvVae *vae, GvCmd *cmd, GvTensor *images, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvVaeTrainer, gv_vae_trainer_free)

G_END_DECLS
