/* AutoencoderKL (diffusers): encoder to the latent distribution, decoder back to images. */
#pragma once

#include "models/gv-config.h"
#include "models/gv-layers.h"

G_BEGIN_DECLS

typedef struct _GvVae GvVae;

GvVae *gv_vae_load (GvDevice *dev, const gchar *folder, const GvVaeConfig *cfg, GError **error);
/* The same network with its tensors from @ld (consumed), such as gv_loader_new_random()'s
 * made-up weights. */
GvVae *gv_vae_new_from_loader (GvDevice *dev, GvLoader *ld, const GvVaeConfig *cfg,
    GError **error);
void gv_vae_free (GvVae *vae);
const GvVaeConfig *gv_vae_get_config (GvVae *vae);

/* image [N, 3, H, W] in [-1, 1] -> the latent distribution's mean and log-variance (clamped to
 * [-30, 20]), [N, latent_channels, H/f, W/f] each (unscaled: multiply the mean by
 * scaling_factor for diffusion latents). @logvar may be NULL. */
void gv_vae_encode (GvVae *vae, GvCmd *cmd, GvTensor *image, GvTensor **mean,
    GvTensor **logvar);
/* latents [N, latent_channels, h, w] (unscaled) -> image [N, 3, h*f, w*f] */
GvTensor *gv_vae_decode (GvVae *vae, GvCmd *cmd, GvTensor *latents);
/* spatial downsampling factor f = 2^(blocks - 1) */
gint gv_vae_get_factor (GvVae *vae);
GvDevice *gv_vae_get_device (GvVae *vae);

/* --- Training (gv-vae-train.h) --- */

/* Every parameter under its diffusers state-dict name ("encoder.conv_in.weight", ...), in a
 * fixed order (the order of loading). */
void gv_vae_foreach_param (GvVae *vae, GvLoaderNameFunc fn, gpointer data);

/* Given the encoder's @mean and (clamped) @logvar, writes dL/dmean into @dmean and dL/dlogvar
 * into @dlogvar, the gradient before the clamp: zero where the clamp is active. Recorded on
 * @cmd (it may finish @cmd to read the values on the host). */
typedef void (*GvVaeLatentGradFunc) (GvCmd *cmd, GvTensor *mean, GvTensor *logvar,
    GvTensor *dmean, GvTensor *dlogvar, gpointer data);
/* Given the decoded image, returns a new tensor dL/dimage (same shape). */
typedef GvTensor *(*GvImageGradFunc) (GvCmd *cmd, GvTensor *image, gpointer data);

/* The encoder's forward (as gv_vae_encode) on @image, @latent_grad for the loss's gradient at
 * its output, and the backward: weight gradients are added where @g says. Only each layer's
 * input is kept; the insides are recomputed (as the UNet's training step). Group norm
 * statistics are per image. */
void gv_vae_encode_backward (GvVae *vae, GvCmd *cmd, GvTensor *image, const GvGrads *g,
    GvVaeLatentGradFunc latent_grad, gpointer data);
/* The decoder's forward on @latents, @image_grad, and the backward: weight gradients added as
 * @g says, the latents' gradient written into @dlatents (NULL: not wanted). */
void gv_vae_decode_backward (GvVae *vae, GvCmd *cmd, GvTensor *latents, const GvGrads *g,
    GvImageGradFunc image_grad, gpointer data, GvTensor *dlatents);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvVae, gv_vae_free)

G_END_DECLS
