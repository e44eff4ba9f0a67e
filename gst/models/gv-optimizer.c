#include "models/gv-optimizer.h"

#include "models/gv-safetensors.h"
#include "nn/gv-op-eltwise.h"
#include "models/gv-safetensors-write.h"

struct _GvOptimizer {
  GvDevice *dev;
  GvAdamW opt;
  GPtrArray *names;               /* gchar * */
  GPtrArray *params, *grads, *m, *v;
  GPtrArray *ema;                 /* NULL, or the averages of the params */
  gdouble ema_decay;
  GHashTable *index;              /* param -> position + 1 */
  GvTensor *clip;                 /* [2]: norm, factor */
  gint step;
  GError *error;                  /* the first of gv_optimizer_add_param () */
};

GvOptimizer *
gv_optimizer_new (GvDevice *dev, const GvAdamW *opt)
{
  GvOptimizer *o = g_new0 (GvOptimizer, 1);
  o->dev = dev;
  o->opt = *opt;
  o->names = g_ptr_array_new_with_free_func (g_free);
  o->params = g_ptr_array_new_with_free_func ((GDestroyNotify) gv_tensor_unref);
  o->grads = g_ptr_array_new_with_free_func ((GDestroyNotify) gv_tensor_unref);
  o->m = g_ptr_array_new_with_free_func ((GDestroyNotify) gv_tensor_unref);
  o->v = g_ptr_array_new_with_free_func ((GDestroyNotify) gv_tensor_unref);
  o->index = g_hash_table_new (NULL, NULL);
  return o;
}

void
gv_optimizer_free (GvOptimizer *o)
{
  if (o == NULL)
    return;
  g_ptr_array_unref (o->names);
  g_ptr_array_unref (o->params);
  g_ptr_array_unref (o->grads);
  g_ptr_array_unref (o->m);
  g_ptr_array_unref (o->v);
  g_clear_pointer (&o->ema, g_ptr_array_unref);
  g_hash_table_unref (o->index);
  g_clear_pointer (&o->clip, gv_tensor_unref);
  g_clear_error (&o->error);
  g_free (o);
}

gboolean
gv_optimizer_add (GvOptimizer *o, const gchar *name, GvTensor *param, GError **error)
{
  if (g_hash_table_contains (o->index, param))
    return TRUE;
  GvTensor *t[3] = { NULL };
  for (gint i = 0; i < 3; i++) {
    t[i] = gv_tensor_new (o->dev, param->ndim, param->shape, error);
    if (t[i] == NULL) {
      for (gint j = 0; j < i; j++)
        gv_tensor_unref (t[j]);
      return FALSE;
    }
  }
  /* moments start at zero; gradients are zeroed before every step */
  GvCmd *cmd = gv_cmd_new (o->dev);
  gv_tensor_record_fill (cmd, t[1], 0.0f);
  gv_tensor_record_fill (cmd, t[2], 0.0f);
  gboolean ok = gv_cmd_finish (cmd, error);
  gv_cmd_free (cmd);
  if (!ok) {
    for (gint i = 0; i < 3; i++)
      gv_tensor_unref (t[i]);
    return FALSE;
  }
  g_ptr_array_add (o->names, g_strdup (name));
  g_ptr_array_add (o->params, gv_tensor_ref (param));
  g_ptr_array_add (o->grads, t[0]);
  g_ptr_array_add (o->m, t[1]);
  g_ptr_array_add (o->v, t[2]);
  g_hash_table_insert (o->index, param, GINT_TO_POINTER (o->params->len));
  return TRUE;
}

void
gv_optimizer_add_param (const gchar *name, GvTensor *param, gpointer optimizer)
{
  GvOptimizer *o = optimizer;
  if (o->error == NULL)
    gv_optimizer_add (o, name, param, &o->error);
}

gboolean
gv_optimizer_take_error (GvOptimizer *o, GError **error)
{
  if (o->error == NULL)
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&o->error));
  return FALSE;
}

GvTensor *
gv_optimizer_grad_of (GvOptimizer *o, GvTensor *param)
{
  gint i = GPOINTER_TO_INT (g_hash_table_lookup (o->index, param));
  return i > 0 ? g_ptr_array_index (o->grads, i - 1) : NULL;
}

static GvTensor *
grad_func (GvTensor *param, gpointer optimizer)
{
  return gv_optimizer_grad_of (optimizer, param);
}

GvGrads
gv_optimizer_get_grads (GvOptimizer *o)
{
  return (GvGrads) { grad_func, o };
}

void
gv_optimizer_zero_grads (GvOptimizer *o, GvCmd *cmd)
{
  for (guint i = 0; i < o->grads->len; i++)
    gv_tensor_record_fill (cmd, g_ptr_array_index (o->grads, i), 0.0f);
}

gboolean
gv_optimizer_step (GvOptimizer *o, GvCmd *cmd, gfloat max_grad_norm, gfloat *grad_norm_out,
    GError **error)
{
  gfloat clip[2] = { 0, 1 };

  if (o->clip == NULL) {
    o->clip = gv_tensor_new (o->dev, 1, (const gint64[]) { 2 }, error);
    if (o->clip == NULL)
      return FALSE;
  }
  /* the norm with max_norm +inf gives factor 1: no clipping */
  gv_op_clip_grad_norm (cmd, o->clip, (GvTensor *const *) o->grads->pdata, o->grads->len,
      max_grad_norm > 0 ? max_grad_norm : G_MAXFLOAT);
  gv_tensor_record_download (cmd, o->clip, clip);
  /* a cancelled or failed step leaves the weights as they were */
  if (!gv_cmd_finish (cmd, error))
    return FALSE;

  o->step++;
  for (guint i = 0; i < o->params->len; i++)
    gv_op_adamw_step (cmd, g_ptr_array_index (o->params, i), g_ptr_array_index (o->m, i),
        g_ptr_array_index (o->v, i), g_ptr_array_index (o->grads, i), o->clip, o->step,
        &o->opt);
  if (o->ema != NULL) {
    gfloat d = (gfloat) gv_optimizer_ema_decay_at (o->ema_decay, o->step);
    for (guint i = 0; i < o->params->len; i++) {
      GvTensor *e = g_ptr_array_index (o->ema, i);
      gv_op_binary (cmd, e, e, g_ptr_array_index (o->params, i), GV_BINARY_ADD, d, 1 - d);
    }
  }
  if (!gv_cmd_finish (cmd, error))
    return FALSE;
  if (grad_norm_out != NULL)
    *grad_norm_out = clip[0];
  return TRUE;
}

gdouble
gv_optimizer_ema_decay_at (gdouble decay, gint step)
{
  return MIN (decay, (1.0 + (step - 1)) / (10.0 + (step - 1)));
}

gboolean
gv_optimizer_set_ema (GvOptimizer *o, gdouble decay, GError **error)
{
  g_return_val_if_fail (o->ema == NULL && o->step == 0, FALSE);
  g_return_val_if_fail (decay > 0 && decay < 1, FALSE);
  GPtrArray *ema = g_ptr_array_new_with_free_func ((GDestroyNotify) gv_tensor_unref);
  GvCmd *cmd = gv_cmd_new (o->dev);
  for (guint i = 0; i < o->params->len; i++) {
    GvTensor *p = g_ptr_array_index (o->params, i);
    GvTensor *e = gv_tensor_new (o->dev, p->ndim, p->shape, error);
    if (e == NULL)
      break;
    gv_tensor_record_copy (cmd, e, p);
    g_ptr_array_add (ema, e);
  }
  gboolean ok = ema->len == o->params->len && gv_cmd_finish (cmd, error);
  gv_cmd_free (cmd);
  if (!ok) {
    g_ptr_array_unref (ema);
    return FALSE;
  }
  o->ema = ema;
  o->ema_decay = decay;
  return TRUE;
}

GvTensor *
gv_optimizer_get_ema (GvOptimizer *o, gint i)
{
  return o->ema != NULL ? g_ptr_array_index (o->ema, i) : NULL;
}

void
gv_optimizer_set_lr (GvOptimizer *o, gdouble lr)
{
  o->opt.lr = lr;
}

gdouble
gv_optimizer_get_lr (GvOptimizer *o)
{
  return o->opt.lr;
}

gint
gv_optimizer_get_step_count (GvOptimizer *o)
{
  return o->step;
}

gint
gv_optimizer_get_n_params (GvOptimizer *o)
{
  return o->params->len;
}

const gchar *
gv_optimizer_get_name (GvOptimizer *o, gint i)
{
  return g_ptr_array_index (o->names, i);
}

GvTensor *
gv_optimizer_get_param (GvOptimizer *o, gint i)
{
  return g_ptr_array_index (o->params, i);
}

GvTensor *
gv_optimizer_get_grad (GvOptimizer *o, gint i)
{
  return g_ptr_array_index (o->grads, i);
}

GvTensor *
gv_optimizer_lookup (GvOptimizer *o, const gchar *name)
{
  for (guint i = 0; i < o->names->len; i++)
    if (g_str_equal (g_ptr_array_index (o->names, i), name))
      return g_ptr_array_index (o->params, i);
  return NULL;
}

/* ---- resume state ---- */

static const gchar *const state_suffix[4] = { "", ".exp_avg", ".exp_avg_sq", ".ema" };

static GPtrArray *
state_of (GvOptimizer *o, gint which)
{
  return which == 0 ? o->params : which == 1 ? o->m : which == 2 ? o->v : o->ema;
}

/* the parameters, the moments, and the averages when kept */
static gint
n_states (GvOptimizer *o)
{
  return o->ema != NULL ? 4 : 3;
}

gboolean
gv_optimizer_save (GvOptimizer *o, const gchar *path, GError **error)
{
  g_autoptr (GvStWriter) w = gv_st_writer_new ();
  g_autofree gchar *step = g_strdup_printf ("%d", o->step);

  gv_st_writer_set_metadata (w, "format", "pt");
  gv_st_writer_set_metadata (w, "step", step);
  for (guint i = 0; i < o->params->len; i++) {
    for (gint s = 0; s < n_states (o); s++) {
      GvTensor *t = g_ptr_array_index (state_of (o, s), i);
      g_autofree gfloat *host = g_new (gfloat, t->numel);
      g_autofree gchar *name = g_strconcat (g_ptr_array_index (o->names, i),
          state_suffix[s], NULL);
      if (!gv_tensor_download (t, host, error))
        return FALSE;
      gv_st_writer_add (w, name, t->ndim, t->shape, host);
    }
  }
  return gv_st_writer_write (w, path, error);
}

static gboolean
same_shape (const GvStTensor *st, const GvTensor *t)
{
  if (st->ndim != t->ndim)
    return FALSE;
  for (gint d = 0; d < t->ndim; d++)
    if (st->shape[d] != t->shape[d])
      return FALSE;
  return TRUE;
}

gboolean
gv_optimizer_load (GvOptimizer *o, const gchar *path, GError **error)
{
  g_autoptr (GvSafetensors) st = gv_safetensors_open (path, error);
  if (st == NULL)
    return FALSE;
  const gchar *step_str = gv_safetensors_get_metadata (st, "step");
  guint64 step;
  if (step_str == NULL || !g_ascii_string_to_unsigned (step_str, 10, 0, G_MAXINT, &step,
          NULL)) {
    g_set_error (error, GV_ERROR, GV_ERROR_CORRUPT,
        "%s: no training step count in the metadata (not a training state file?)", path);
    return FALSE;
  }
  /* every tensor is checked before any is changed */
  GPtrArray *found = g_ptr_array_new ();
  for (guint i = 0; i < o->params->len; i++) {
    for (gint s = 0; s < n_states (o); s++) {
      GvTensor *t = g_ptr_array_index (state_of (o, s), i);
      g_autofree gchar *name = g_strconcat (g_ptr_array_index (o->names, i),
          state_suffix[s], NULL);
      const GvStTensor *st_t = gv_safetensors_lookup (st, name);
      if (st_t == NULL || !gv_st_dtype_is_float (st_t->dtype) || !same_shape (st_t, t)) {
        g_autofree gchar *want = gv_tensor_shape_string (t);
        g_set_error (error, GV_ERROR, GV_ERROR_CORRUPT, "%s: tensor %s %s (expected %s)", path,
            name, st_t == NULL ? "is missing" : "has another shape or type", want);
        g_ptr_array_unref (found);
        return FALSE;
      }
      g_ptr_array_add (found, (gpointer) st_t);
    }
  }
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < o->params->len; i++) {
    for (gint s = 0; ok && s < n_states (o); s++) {
      const GvStTensor *st_t = g_ptr_array_index (found, i * n_states (o) + s);
      g_autofree gfloat *host = gv_safetensors_read_f32 (st, st_t);
      ok = gv_tensor_upload (g_ptr_array_index (state_of (o, s), i), host, error);
    }
  }
  g_ptr_array_unref (found);
  if (ok)
    o->step = (gint) step;
  return ok;
}
