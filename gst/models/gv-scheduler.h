/* Noise schedules and the DDIM sampler (diffusers DDIMScheduler / DDIMInverseScheduler, eta 0),
 * plus the forward noising of DDPMScheduler.add_noise. Schedules are computed on the host in
 * float32 exactly as the reference does; steps run as element-wise ops on the device. */
#pragma once

#include "models/gv-config.h"
#include "nn/gv-ops.h"

G_BEGIN_DECLS

typedef struct _GvScheduler GvScheduler;

GvScheduler *gv_scheduler_new (const GvSchedulerConfig *cfg, GError **error);
void gv_scheduler_free (GvScheduler *s);

gint gv_scheduler_get_train_timesteps (GvScheduler *s);
/* alphas_cumprod[t], float32 as the reference computes it */
const gfloat *gv_scheduler_get_alphas_cumprod (GvScheduler *s);
/* the alpha product after the last step (1, or alphas_cumprod[0]: set_alpha_to_one) */
gfloat gv_scheduler_get_final_alpha_cumprod (GvScheduler *s);

/* The @n timesteps of sampling, in sampling order (descending); g_free() it. */
gint *gv_scheduler_timesteps (GvScheduler *s, gint n);

/* The noise @eps that @model_output at timestep @t on @sample implies, whatever the prediction
 * type (v: eps = sqrt (a_t) v + sqrt (1 - a_t) sample). */
void gv_scheduler_predict_noise (GvScheduler *s, GvCmd *cmd, gint t, GvTensor *model_output,
    GvTensor *sample, GvTensor *eps);

/* One DDIM step from timestep @t (of a schedule of @n steps) to the previous one:
 * prev = sqrt (a_prev) x0 + sqrt (1 - a_prev) eps, with x0 and eps from @model_output as the
 * prediction type says. @pred_original may be NULL. */
void gv_scheduler_step (GvScheduler *s, GvCmd *cmd, gint n, gint t, GvTensor *model_output,
    GvTensor *sample, GvTensor *prev, GvTensor *pred_original);

/* The cumulative alpha of the timestep a DDIM step from @t (of @n steps) lands on: the final
 * alpha after the last step. */
gfloat gv_scheduler_alpha_after_step (GvScheduler *s, gint n, gint t);

/* One DDIM inversion step towards noise: from the timestep before @t (t - 1000/n, or the
 * initial alpha) up to @t (DDIMInverseScheduler.step with the ascending schedule). */
void gv_scheduler_inverse_step (GvScheduler *s, GvCmd *cmd, gint n, gint t,
    GvTensor *model_output, GvTensor *sample, GvTensor *next);

/* out = sqrt (a_t) x0 + sqrt (1 - a_t) noise (DDPMScheduler.add_noise at timestep t) */
void gv_scheduler_add_noise (GvScheduler *s, GvCmd *cmd, gint t, GvTensor *x0, GvTensor *noise,
    GvTensor *out);

/* Classifier-free guidance of one sampling step: out = uncond + @scale (cond - uncond), the
 * model outputs without and with the conditions (same shapes; @out may be neither). */
void gv_scheduler_guide (GvCmd *cmd, GvTensor *out, GvTensor *uncond, GvTensor *cond,
    gfloat scale);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvScheduler, gv_scheduler_free)

G_END_DECLS
