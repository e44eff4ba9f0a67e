#include "models/gv-layers.h"

GvTensor *
gv_tensor_like (GvCmd *cmd, const GvTensor *like)
{
  return gv_tensor_alloc (cmd, like->ndim, like->shape);
}

GvTensor *
gv_tensor_like_last (GvCmd *cmd, const GvTensor *like, gint64 last)
{
  gint64 shape[GV_MAX_DIMS];
  for (gint i = 0; i < like->ndim; i++)
    shape[i] = like->shape[i];
  shape[like->ndim - 1] = last;
  return gv_tensor_alloc (cmd, like->ndim, shape);
}

void
gv_linear_load (GvLinear *l, GvLoader *ld, const gchar *name, gint in, gint out, gboolean bias)
{
  l->in = in;
  l->out = out;
  gv_loader_push (ld, "%s", name);
  l->weight = GV_LOAD (ld, "weight", out, in);
  l->bias = bias ? GV_LOAD (ld, "bias", out) : NULL;
  gv_loader_pop (ld);
}

void
gv_linear_load_conv1x1 (GvLinear *l, GvLoader *ld, const gchar *name, gint in, gint out,
    gboolean bias)
{
  l->in = in;
  l->out = out;
  gv_loader_push (ld, "%s", name);
  GvTensor *w = GV_LOAD (ld, "weight", out, in, 1, 1);
  if (w != NULL) {
    l->weight = GV_VIEW (w, 0, out, in);
    gv_tensor_unref (w);
  }
  l->bias = bias ? GV_LOAD (ld, "bias", out) : NULL;
  gv_loader_pop (ld);
}

GvTensor *
gv_linear_apply (GvLinear *l, GvCmd *cmd, GvTensor *x, GvActivation act, GvTensor *residual)
{
  GvTensor *out = gv_tensor_like_last (cmd, x, l->out);
  gv_op_linear (cmd, out, x, l->weight, l->bias, act, residual);
  return out;
}

GvTensor *
gv_linear_apply_pixels (GvLinear *l, GvCmd *cmd, GvTensor *x)
{
  gint64 n = x->shape[0], c = x->shape[1], hw = x->shape[2] * x->shape[3];
  GvTensor *x3 = GV_VIEW (x, 0, n, c, hw);
  GvTensor *out = GV_TENSOR (cmd, n, hw, l->out);
  GvMatmulArgs args = { .trans_a = TRUE, .trans_b = TRUE, .bias = l->bias };
  gv_op_matmul (cmd, out, x3, l->weight, &args);
  gv_tensor_unref (x3);
  return out;
}

GvTensor *
gv_linear_apply_to_pixels (GvLinear *l, GvCmd *cmd, GvTensor *h, gint64 height, gint64 width,
    GvTensor *residual)
{
  gint64 n = h->shape[0], c = l->out, hw = height * width;
  GvTensor *res = NULL;

  /* the bias runs along rows here: fold it into the residual */
  if (l->bias != NULL) {
    GvTensor *bias_col = GV_VIEW (l->bias, 0, c, 1);
    res = GV_TENSOR (cmd, n, c, hw);
    if (residual != NULL) {
      GvTensor *r3 = GV_VIEW (residual, 0, n, c, hw);
      gv_op_add (cmd, res, r3, bias_col);
      gv_tensor_unref (r3);
    } else {
      gv_op_scale (cmd, res, bias_col, 1.0f, 0.0f);
    }
    gv_tensor_unref (bias_col);
  } else if (residual != NULL) {
    res = GV_VIEW (residual, 0, n, c, hw);
  }
  GvTensor *out = GV_TENSOR (cmd, n, c, height, width);
  GvTensor *out3 = GV_VIEW (out, 0, n, c, hw);
  GvMatmulArgs args = { .trans_b = TRUE, .residual = res };
  gv_op_matmul (cmd, out3, l->weight, h, &args);
  gv_tensor_unref (out3);
  if (res)
    gv_tensor_unref (res);
  return out;
}

void
gv_linear_clear (GvLinear *l)
{
  g_clear_pointer (&l->weight, gv_tensor_unref);
  g_clear_pointer (&l->bias, gv_tensor_unref);
}

void
gv_conv2d_load (GvConv2d *c, GvLoader *ld, const gchar *name, gint in, gint out, gint kernel,
    gint stride, gint pad, gboolean bias)
{
  c->in = in;
  c->out = out;
  c->kernel = kernel;
  c->stride = stride;
  c->pad_top = c->pad_bottom = c->pad_left = c->pad_right = pad;
  gv_loader_push (ld, "%s", name);
  c->weight = GV_LOAD (ld, "weight", out, in, kernel, kernel);
  c->bias = bias ? GV_LOAD (ld, "bias", out) : NULL;
  gv_loader_pop (ld);
}

GvTensor *
gv_conv2d_apply (GvConv2d *c, GvCmd *cmd, GvTensor *x, GvTensor *add_per_channel,
    GvActivation act, GvTensor *residual)
{
  gint64 h = x->shape[2], w = x->shape[3];
  gint64 ho = (h + c->pad_top + c->pad_bottom - c->kernel) / c->stride + 1;
  gint64 wo = (w + c->pad_left + c->pad_right - c->kernel) / c->stride + 1;
  GvTensor *out = GV_TENSOR (cmd, x->shape[0], c->out, ho, wo);
  GvConvArgs args = {
    .stride = c->stride,
    .pad_top = c->pad_top, .pad_bottom = c->pad_bottom,
    .pad_left = c->pad_left, .pad_right = c->pad_right,
    .bias = c->bias,
    .add_per_channel = add_per_channel,
    .act = act,
    .residual = residual,
  };
  gv_op_conv2d (cmd, out, x, c->weight, &args);
  return out;
}

void
gv_conv2d_clear (GvConv2d *c)
{
  g_clear_pointer (&c->weight, gv_tensor_unref);
  g_clear_pointer (&c->bias, gv_tensor_unref);
}

void
gv_group_norm_load (GvGroupNorm *n, GvLoader *ld, const gchar *name, gint channels, gint groups,
    gfloat eps)
{
  n->channels = channels;
  n->groups = groups;
  n->eps = eps;
  if (groups <= 0 || channels % groups != 0) {
    gv_loader_failf (ld, GV_ERROR_UNSUPPORTED, "%s: %d channels do not split into %d groups",
        name, channels, groups);
    return;
  }
  gv_loader_push (ld, "%s", name);
  n->weight = GV_LOAD (ld, "weight", channels);
  n->bias = GV_LOAD (ld, "bias", channels);
  gv_loader_pop (ld);
}

GvTensor *
gv_group_norm_apply (GvGroupNorm *n, GvCmd *cmd, GvTensor *x, gint frames, gboolean silu)
{
  GvTensor *out = gv_tensor_like (cmd, x);
  gv_op_group_norm (cmd, out, x, n->weight, n->bias, n->groups, frames, n->eps, silu);
  return out;
}

void
gv_group_norm_clear (GvGroupNorm *n)
{
  g_clear_pointer (&n->weight, gv_tensor_unref);
  g_clear_pointer (&n->bias, gv_tensor_unref);
}

void
gv_layer_norm_load (GvLayerNorm *n, GvLoader *ld, const gchar *name, gint dim, gfloat eps)
{
  n->dim = dim;
  n->eps = eps;
  gv_loader_push (ld, "%s", name);
  n->weight = GV_LOAD (ld, "weight", dim);
  n->bias = GV_LOAD (ld, "bias", dim);
  gv_loader_pop (ld);
}

GvTensor *
gv_layer_norm_apply (GvLayerNorm *n, GvCmd *cmd, GvTensor *x)
{
  GvTensor *out = gv_tensor_like (cmd, x);
  gv_op_layer_norm (cmd, out, x, n->weight, n->bias, n->eps);
  return out;
}

void
gv_layer_norm_clear (GvLayerNorm *n)
{
  g_clear_pointer (&n->weight, gv_tensor_unref);
  g_clear_pointer (&n->bias, gv_tensor_unref);
}

/* --- backward --- */

GvTensor *
gv_grads_lookup (const GvGrads *g, GvTensor *param)
{
  return g != NULL && param != NULL ? g->grad (param, g->data) : NULL;
}

void
gv_linear_backward (GvLinear *l, GvCmd *cmd, const GvGrads *g, GvTensor *weight, GvTensor *dx,
    GvTensor *dy, GvTensor *x, gboolean accumulate)
{
  GvTensor *w = weight ? weight : l->weight, *dw = gv_grads_lookup (g, w);
  GvTensor *db = gv_grads_lookup (g, l->bias);
  if (dx != NULL)
    gv_op_linear_backward_input (cmd, dx, dy, w, accumulate);
  if (dw != NULL)
    gv_op_linear_backward_weight (cmd, dw, dy, x, TRUE);
  if (db != NULL)
    gv_op_linear_backward_bias (cmd, db, dy, TRUE);
}

void
gv_linear_pixels_backward (GvLinear *l, GvCmd *cmd, const GvGrads *g, GvTensor *dx,
    GvTensor *dy, GvTensor *x, gboolean accumulate)
{
  GvTensor *dw = gv_grads_lookup (g, l->weight), *db = gv_grads_lookup (g, l->bias);
  /* weight gradients add up; dx follows @accumulate: two calls when they differ */
  if (dx != NULL)
    gv_op_linear_apply_pixels_backward (cmd, dx, NULL, NULL, dy, x, l->weight, accumulate);
  if (dw != NULL || db != NULL)
    gv_op_linear_apply_pixels_backward (cmd, NULL, dw, db, dy, x, l->weight, TRUE);
}

void
gv_linear_to_pixels_backward (GvLinear *l, GvCmd *cmd, const GvGrads *g, GvTensor *dh,
    GvTensor *dy, GvTensor *h, gboolean accumulate)
{
  GvTensor *dw = gv_grads_lookup (g, l->weight), *db = gv_grads_lookup (g, l->bias);
  if (dh != NULL)
    gv_op_linear_apply_to_pixels_backward (cmd, dh, NULL, NULL, dy, h, l->weight, accumulate);
  if (dw != NULL || db != NULL)
    gv_op_linear_apply_to_pixels_backward (cmd, NULL, dw, db, dy, h, l->weight, TRUE);
}

void
gv_conv2d_backward (GvConv2d *c, GvCmd *cmd, const GvGrads *g, GvTensor *dx, GvTensor *dadd,
    GvTensor *dy, GvTensor *x, gboolean accumulate)
{
  GvConvArgs args = {
    .stride = c->stride,
    .pad_top = c->pad_top, .pad_bottom = c->pad_bottom,
    .pad_left = c->pad_left, .pad_right = c->pad_right,
  };
  GvTensor *dw = gv_grads_lookup (g, c->weight), *db = gv_grads_lookup (g, c->bias);
  if (dx != NULL)
    gv_op_conv2d_backward_input (cmd, dx, dy, c->weight, &args, accumulate);
  if (dadd != NULL)
    gv_op_conv2d_backward_add (cmd, dadd, dy, FALSE);
  if (dw != NULL)
    gv_op_conv2d_backward_weight (cmd, dw, dy, x, &args, TRUE);
  if (db != NULL)
    gv_op_conv2d_backward_bias (cmd, db, dy, TRUE);
}

void
gv_group_norm_backward (GvGroupNorm *n, GvCmd *cmd, const GvGrads *g, GvTensor *dx,
    GvTensor *dy, GvTensor *x, gint frames, gboolean silu, gboolean accumulate)
{
  GvTensor *dgamma = gv_grads_lookup (g, n->weight), *dbeta = gv_grads_lookup (g, n->bias);
  if (dx != NULL)
    gv_op_group_norm_backward (cmd, dx, NULL, NULL, dy, x, n->weight, n->bias, n->groups,
        frames, n->eps, silu, accumulate);
  if (dgamma != NULL || dbeta != NULL)
    gv_op_group_norm_backward (cmd, NULL, dgamma, dbeta, dy, x, n->weight, n->bias,
        n->groups, frames, n->eps, silu, TRUE);
}

void
gv_layer_norm_backward (GvLayerNorm *n, GvCmd *cmd, const GvGrads *g, GvTensor *dx,
    GvTensor *dy, GvTensor *x, gboolean accumulate)
{
  GvTensor *dgamma = gv_grads_lookup (g, n->weight), *dbeta = gv_grads_lookup (g, n->bias);
  if (dx != NULL)
    gv_op_layer_norm_backward (cmd, dx, NULL, NULL, dy, x, n->weight, n->eps, accumulate);
  if (dgamma != NULL || dbeta != NULL) {
    GvTensor *scratch = gv_tensor_like (cmd, x);
    gv_op_layer_norm_backward (cmd, scratch, dgamma, dbeta, dy, x, n->weight, n->eps, TRUE);
    gv_tensor_unref (scratch);
  }
}
