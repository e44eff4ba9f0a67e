/* The VAE's training loss on the host, in plain C (the images and latents of a step are small:
 * a host pass costs well under a millisecond per image next to the seconds of the network).
 * Normalisation: every term is a mean over the image's elements, so the weights compare
 * across sizes; the KL sum is divided by the image elements too, which keeps SD's ratio
 * (both of its sums are per image) for the same kl weight. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  gfloat l1;      /* mean |x' - x| */
  gfloat mse;     /* mean (x' - x)^2 */
  /* mean |d(x') - d(x)| over horizontal and vertical neighbour differences: the edges */
  gfloat edge;
  gfloat kl;      /* 0.5 sum (mean^2 + var - 1 - logvar) / image elements */
} GvVaeLossWeights;

/* The loss of a reconstruction @pred of @target, both [n, c, h, w]; @dpred (may be NULL)
 * receives its gradient (written). Returns the weighted reconstruction loss (no KL). */
gdouble gv_vae_recon_loss (const GvVaeLossWeights *w, const gfloat *pred, const gfloat *target,
    gint n, gint c, gint h, gint w_, gfloat *dpred);

/* The KL term of @count latent elements against an image of @image_elements: returns
 * w->kl * KL and adds its gradient into @dmean and @dlogvar. */
gdouble gv_vae_kl_loss (const GvVaeLossWeights *w, const gfloat *mean, const gfloat *logvar,
    gsize count, gsize image_elements, gfloat *dmean, gfloat *dlogvar);

/* The reparameterised sample z = mean + exp (logvar / 2) eps. */
void gv_vae_sample (const gfloat *mean, const gfloat *logvar, const gfloat *eps, gsize count,
    gfloat *z);
/* Its backward: adds dz into @dmean, and dz eps exp (logvar / 2) / 2 into @dlogvar except
 * where the encoder's clamp of the log-variance is active ([-30, 20]). */
void gv_vae_sample_backward (const gfloat *logvar, const gfloat *eps, const gfloat *dz,
    gsize count, gfloat *dmean, gfloat *dlogvar);

G_END_DECLS
