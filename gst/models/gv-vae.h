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

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvVae, gv_vae_free)

G_END_DECLS
