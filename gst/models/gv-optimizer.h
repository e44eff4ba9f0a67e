/* The trained tensors of one training run and what AdamW keeps for them: a gradient and two
 * moments per parameter, the step count, global-norm clipping. Every trainer (UNet, CLIP, VAE)
 * registers its parameters here and runs its own forward and backward into the gradients;
 * the state saves to and loads from one safetensors file, so a stopped run resumes exactly. */
#pragma once

#include "models/gv-layers.h"

G_BEGIN_DECLS

typedef struct _GvOptimizer GvOptimizer;

GvOptimizer *gv_optimizer_new (GvDevice *dev, const GvAdamW *opt);
void gv_optimizer_free (GvOptimizer *o);

/* Registers @param under @name and allocates its gradient and moments (zeros). A tensor
 * registered twice is kept once (its first name). */
gboolean gv_optimizer_add (GvOptimizer *o, const gchar *name, GvTensor *param,
    GError **error);

/* A GvParamFunc (@optimizer: the GvOptimizer) for a network's foreach_param: adds each
 * parameter; the first error is kept for gv_optimizer_take_error (). */
void gv_optimizer_add_param (const gchar *name, GvTensor *param, gpointer optimizer);
/* FALSE with the first error gv_optimizer_add_param () met (and forgets it). */
gboolean gv_optimizer_take_error (GvOptimizer *o, GError **error);

/* The gradient tensor of @param; NULL when @param is not trained. */
GvTensor *gv_optimizer_grad_of (GvOptimizer *o, GvTensor *param);
/* The GvGrads a network's backward writes the weight gradients through. */
GvGrads gv_optimizer_get_grads (GvOptimizer *o);
/* Records zeros into every gradient (the backward ops then add or overwrite). */
void gv_optimizer_zero_grads (GvOptimizer *o, GvCmd *cmd);

/* Records the global gradient norm and the clipping factor (@max_grad_norm <= 0: no
 * clipping), finishes @cmd (the forward and backward recorded before it run now), then
 * applies AdamW to every parameter and finishes again. When @cmd fails or is cancelled the
 * weights stay as they were and FALSE is returned. *@grad_norm_out (may be NULL) gets the
 * norm before clipping. */
gboolean gv_optimizer_step (GvOptimizer *o, GvCmd *cmd, gfloat max_grad_norm,
    gfloat *grad_norm_out, GError **error);

/* Keeps an exponential moving average of every parameter from now on (call it after the
 * last gv_optimizer_add (), before the first step or load): after each step
 * ema = d ema + (1 - d) param, with d = gv_optimizer_ema_decay_at (@decay, step), and the
 * averages start as copies of the parameters. @decay in (0, 1). */
gboolean gv_optimizer_set_ema (GvOptimizer *o, gdouble decay, GError **error);
/* The decay of step @step (from 1): min (@decay, (step) / (step + 9)), diffusers' EMAModel
 * warmup, so that the first steps' random weights fade fast. */
gdouble gv_optimizer_ema_decay_at (gdouble decay, gint step);
/* The average of parameter @i; NULL without gv_optimizer_set_ema (). */
GvTensor *gv_optimizer_get_ema (GvOptimizer *o, gint i);

void gv_optimizer_set_lr (GvOptimizer *o, gdouble lr);
gdouble gv_optimizer_get_lr (GvOptimizer *o);
/* Steps taken (AdamW's bias correction counts them). */
gint gv_optimizer_get_step_count (GvOptimizer *o);

/* The parameters in the order they were added. */
gint gv_optimizer_get_n_params (GvOptimizer *o);
const gchar *gv_optimizer_get_name (GvOptimizer *o, gint i);
GvTensor *gv_optimizer_get_param (GvOptimizer *o, gint i);
/* The gradient of the last step, before clipping. */
GvTensor *gv_optimizer_get_grad (GvOptimizer *o, gint i);
/* NULL when no parameter has @name. */
GvTensor *gv_optimizer_lookup (GvOptimizer *o, const gchar *name);

/* Everything a resumed run needs: each parameter as "<name>", its moments as
 * "<name>.exp_avg" / "<name>.exp_avg_sq" (torch.optim.AdamW's state names), its average as
 * "<name>.ema" when kept, and the step count in the metadata, written atomically (temporary
 * file + rename). */
gboolean gv_optimizer_save (GvOptimizer *o, const gchar *path, GError **error);
/* Reads a file written by gv_optimizer_save () into the registered tensors: every
 * parameter must be there with its shape (GV_ERROR_CORRUPT naming the first that is not);
 * a file that does not match changes nothing. */
gboolean gv_optimizer_load (GvOptimizer *o, const gchar *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvOptimizer, gv_optimizer_free)

G_END_DECLS
