#include <math.h>

#include "models/gv-scheduler.h"

struct _GvScheduler {
  GvSchedulerConfig cfg;
  gint n_train;
  gfloat *alphas_cumprod;
  gfloat final_alpha_cumprod;
};

/* torch.linspace in float32: the first half counted from the start, the second from the end */
static void
linspace_f32 (gfloat *out, gfloat start, gfloat end, gint steps)
{
  gfloat step = steps > 1 ? (end - start) / (gfloat) (steps - 1) : 0.0f;
  gint halfway = steps / 2;
  for (gint i = 0; i < steps; i++)
    out[i] = i < halfway ? start + step * (gfloat) i : end - step * (gfloat) (steps - i - 1);
}

static gdouble
alpha_bar (gdouble t)
{
  gdouble c = cos ((t + 0.008) / 1.008 * G_PI / 2);
  return c * c;
}

static gboolean
make_betas (const GvSchedulerConfig *cfg, gfloat *betas, GError **error)
{
  gint n = cfg->num_train_timesteps;

  if (cfg->trained_betas != NULL) {
    for (gint i = 0; i < n; i++)
      betas[i] = cfg->trained_betas[i];
    return TRUE;
  }
  switch (cfg->beta_schedule) {
    case GV_BETA_LINEAR:
      linspace_f32 (betas, cfg->beta_start, cfg->beta_end, n);
      return TRUE;
    case GV_BETA_SCALED_LINEAR:
      linspace_f32 (betas, sqrtf (cfg->beta_start), sqrtf (cfg->beta_end), n);
      for (gint i = 0; i < n; i++)
        betas[i] = betas[i] * betas[i];
      return TRUE;
    case GV_BETA_SQUAREDCOS_CAP_V2:
      /* computed in double, then stored as float32 */
      for (gint i = 0; i < n; i++) {
        gdouble b = 1 - alpha_bar ((gdouble) (i + 1) / n) / alpha_bar ((gdouble) i / n);
        betas[i] = (gfloat) MIN (b, 0.999);
      }
      return TRUE;
  }
  g_set_error (error, GV_ERROR, GV_ERROR_UNSUPPORTED, "unknown beta schedule %d",
      cfg->beta_schedule);
  return FALSE;
}

/* rescale_zero_terminal_snr (Lin et al. 2023), as diffusers does it */
static void
rescale_zero_snr (gfloat *betas, gint n)
{
  gdouble *sq = g_new (gdouble, n);
  gdouble prod = 1;
  for (gint i = 0; i < n; i++) {
    prod *= 1.0 - betas[i];
    sq[i] = sqrt (prod);
  }
  gdouble first = sq[0], last = sq[n - 1];
  for (gint i = 0; i < n; i++)
    sq[i] = (sq[i] - last) * first / (first - last);
  gdouble prev = 1;
  for (gint i = 0; i < n; i++) {
    gdouble a = sq[i] * sq[i];
    betas[i] = (gfloat) (1.0 - (i == 0 ? a : a / prev));
    prev = a;
  }
  g_free (sq);
}

GvScheduler *
gv_scheduler_new (const GvSchedulerConfig *cfg, GError **error)
{
  gint n = cfg->num_train_timesteps;

  if (n <= 1) {
    g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "num_train_timesteps %d is too small", n);
    return NULL;
  }
  GvScheduler *s = g_new0 (GvScheduler, 1);
  s->cfg = *cfg;
  s->cfg.trained_betas = NULL;
  s->n_train = n;
  s->alphas_cumprod = g_new (gfloat, n);
  if (!make_betas (cfg, s->alphas_cumprod, error)) {
    gv_scheduler_free (s);
    return NULL;
  }
  if (cfg->rescale_betas_zero_snr)
    rescale_zero_snr (s->alphas_cumprod, n);
  /* cumulative product of 1 - beta, in float32 */
  gfloat prod = 1.0f;
  for (gint i = 0; i < n; i++) {
    prod *= 1.0f - s->alphas_cumprod[i];
    s->alphas_cumprod[i] = prod;
  }
  s->final_alpha_cumprod = cfg->set_alpha_to_one ? 1.0f : s->alphas_cumprod[0];
  return s;
}

void
gv_scheduler_free (GvScheduler *s)
{
  if (s == NULL)
    return;
  g_free (s->alphas_cumprod);
  g_free (s);
}

gint
gv_scheduler_get_train_timesteps (GvScheduler *s)
{
  return s->n_train;
}

const gfloat *
gv_scheduler_get_alphas_cumprod (GvScheduler *s)
{
  return s->alphas_cumprod;
}

gfloat
gv_scheduler_get_final_alpha_cumprod (GvScheduler *s)
{
  return s->final_alpha_cumprod;
}

gint *
gv_scheduler_timesteps (GvScheduler *s, gint n)
{
  gint *t = g_new (gint, MAX (n, 1));
  gint train = s->n_train;

  n = CLAMP (n, 1, train);
  switch (s->cfg.timestep_spacing) {
    case GV_SPACING_LEADING: {
      gint ratio = train / n;
      for (gint i = 0; i < n; i++)
        t[n - 1 - i] = i * ratio + s->cfg.steps_offset;
      break;
    }
    case GV_SPACING_TRAILING: {
      gdouble ratio = (gdouble) train / n;
      /* np.round (np.arange (train, 0, -ratio)) - 1, already descending */
      for (gint i = 0; i < n; i++)
        t[i] = (gint) nearbyint (train - i * ratio) - 1;
      break;
    }
    case GV_SPACING_LINSPACE:
      /* np.linspace (0, train - 1, n).round () reversed */
      for (gint i = 0; i < n; i++)
        t[n - 1 - i] = (gint) nearbyint (n > 1 ? (gdouble) i * (train - 1) / (n - 1) : 0);
      break;
  }
  return t;
}

static void
predict_eps (GvScheduler *s, GvCmd *cmd, gfloat a_t, GvTensor *model_output, GvTensor *sample,
    GvTensor *eps)
{
  gfloat sa = sqrtf (a_t), sb = sqrtf (1.0f - a_t);

  switch (s->cfg.prediction_type) {
    case GV_PREDICT_V:
      gv_op_binary (cmd, eps, model_output, sample, GV_BINARY_ADD, sa, sb);
      break;
    case GV_PREDICT_EPSILON:
      gv_op_scale (cmd, eps, model_output, 1.0f, 0.0f);
      break;
    case GV_PREDICT_SAMPLE:
      gv_op_binary (cmd, eps, sample, model_output, GV_BINARY_ADD, 1.0f / sb, -sa / sb);
      break;
  }
}

/* x0 and eps from the model output, as float32 coefficient pairs on (sample, output) */
static void
predict (GvScheduler *s, GvCmd *cmd, gfloat a_t, GvTensor *model_output, GvTensor *sample,
    GvTensor *x0, GvTensor *eps)
{
  gfloat sa = sqrtf (a_t), sb = sqrtf (1.0f - a_t);

  switch (s->cfg.prediction_type) {
    case GV_PREDICT_V:
      gv_op_binary (cmd, x0, sample, model_output, GV_BINARY_ADD, sa, -sb);
      break;
    case GV_PREDICT_EPSILON:
      gv_op_binary (cmd, x0, sample, model_output, GV_BINARY_ADD, 1.0f / sa, -sb / sa);
      break;
    case GV_PREDICT_SAMPLE:
      gv_op_scale (cmd, x0, model_output, 1.0f, 0.0f);
      break;
  }
  predict_eps (s, cmd, a_t, model_output, sample, eps);
  if (s->cfg.clip_sample)
    gv_op_clamp (cmd, x0, x0, -s->cfg.clip_sample_range, s->cfg.clip_sample_range);
}

void
gv_scheduler_predict_noise (GvScheduler *s, GvCmd *cmd, gint t, GvTensor *model_output,
    GvTensor *sample, GvTensor *eps)
{
  if (t < 0 || t >= s->n_train) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "noise prediction at timestep %d outside [0, %d)", t,
        s->n_train);
    return;
  }
  predict_eps (s, cmd, s->alphas_cumprod[t], model_output, sample, eps);
}

static void
ddim_update (GvScheduler *s, GvCmd *cmd, gfloat a_t, gfloat a_prev, GvTensor *model_output,
    GvTensor *sample, GvTensor *out, GvTensor *pred_original)
{
  GvTensor *x0 = pred_original ? gv_tensor_ref (pred_original) :
      gv_tensor_alloc (cmd, sample->ndim, sample->shape);
  GvTensor *eps = gv_tensor_alloc (cmd, sample->ndim, sample->shape);
  predict (s, cmd, a_t, model_output, sample, x0, eps);
  gv_op_binary (cmd, out, x0, eps, GV_BINARY_ADD, sqrtf (a_prev), sqrtf (1.0f - a_prev));
  gv_tensor_unref (x0);
  gv_tensor_unref (eps);
}

gfloat
gv_scheduler_alpha_after_step (GvScheduler *s, gint n, gint t)
{
  gint prev_t = t - s->n_train / MAX (n, 1);
  return prev_t >= 0 ? s->alphas_cumprod[prev_t] : s->final_alpha_cumprod;
}

void
gv_scheduler_step (GvScheduler *s, GvCmd *cmd, gint n, gint t, GvTensor *model_output,
    GvTensor *sample, GvTensor *prev, GvTensor *pred_original)
{
  if (t < 0 || t >= s->n_train) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "DDIM step at timestep %d outside [0, %d)", t,
        s->n_train);
    return;
  }
  ddim_update (s, cmd, s->alphas_cumprod[t], gv_scheduler_alpha_after_step (s, n, t),
      model_output, sample, prev, pred_original);
}

void
gv_scheduler_inverse_step (GvScheduler *s, GvCmd *cmd, gint n, gint t, GvTensor *model_output,
    GvTensor *sample, GvTensor *next)
{
  gint from = MIN (t - s->n_train / MAX (n, 1), s->n_train - 1);
  if (t < 0 || t >= s->n_train) {
    gv_cmd_failf (cmd, GV_ERROR_INVALID, "DDIM inversion step at timestep %d outside [0, %d)",
        t, s->n_train);
    return;
  }
  /* DDIMInverseScheduler: the initial alpha is alphas_cumprod[0] or 1 (set_alpha_to_one) */
  gfloat a_from = from >= 0 ? s->alphas_cumprod[from] : s->final_alpha_cumprod;
  ddim_update (s, cmd, a_from, s->alphas_cumprod[t], model_output, sample, next, NULL);
}

void
gv_scheduler_add_noise (GvScheduler *s, GvCmd *cmd, gint t, GvTensor *x0, GvTensor *noise,
    GvTensor *out)
{
  gfloat a = s->alphas_cumprod[CLAMP (t, 0, s->n_train - 1)];
  gv_op_binary (cmd, out, x0, noise, GV_BINARY_ADD, sqrtf (a), sqrtf (1.0f - a));
}

void
gv_scheduler_guide (GvCmd *cmd, GvTensor *out, GvTensor *uncond, GvTensor *cond, gfloat scale)
{
  gv_op_binary (cmd, out, cond, uncond, GV_BINARY_ADD, 1.0f, -1.0f);
  gv_op_binary (cmd, out, uncond, out, GV_BINARY_ADD, 1.0f, scale);
}
