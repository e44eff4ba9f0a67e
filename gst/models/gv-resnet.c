#include "models/gv-resnet.h"

void
gv_resnet_load (GvResnet *r, GvLoader *ld, const gchar *name, gint in, gint out,
    gint temb_channels, gint groups, gfloat eps)
{
  r->in = in;
  r->out = out;
  gv_loader_push (ld, "%s", name);
  gv_group_norm_load (&r->norm1, ld, "norm1", in, groups, eps);
  gv_conv2d_load (&r->conv1, ld, "conv1", in, out, 3, 1, 1, TRUE);
  if (temb_channels > 0)
    gv_linear_load (&r->time_emb_proj, ld, "time_emb_proj", temb_channels, out, TRUE);
  gv_group_norm_load (&r->norm2, ld, "norm2", out, groups, eps);
  gv_conv2d_load (&r->conv2, ld, "conv2", out, out, 3, 1, 1, TRUE);
  if (in != out)
    gv_conv2d_load (&r->conv_shortcut, ld, "conv_shortcut", in, out, 1, 1, 0, TRUE);
  gv_loader_pop (ld);
}

/* conv1 (h) plus the (possibly mask-gated) embedding projection */
static GvTensor *
conv1_with_embedding (GvResnet *r, GvCmd *cmd, GvTensor *h, const GvResnetEmb *emb)
{
  if (emb == NULL || emb->emb_silu == NULL || r->time_emb_proj.weight == NULL)
    return gv_conv2d_apply (&r->conv1, cmd, h, NULL, GV_ACT_NONE, NULL);

  GvTensor *t = gv_linear_apply (&r->time_emb_proj, cmd, emb->emb_silu, GV_ACT_NONE, NULL);
  if (emb->mask == NULL) {
    GvTensor *out = gv_conv2d_apply (&r->conv1, cmd, h, t, GV_ACT_NONE, NULL);
    gv_tensor_unref (t);
    return out;
  }

  GvTensor *t_alt = gv_linear_apply (&r->time_emb_proj, cmd, emb->emb_silu_alt, GV_ACT_NONE,
      NULL);
  gint64 n = h->shape[0];
  GvTensor *a = GV_VIEW (t, 0, n, r->out, 1, 1);
  GvTensor *b = GV_VIEW (t_alt, 0, n, r->out, 1, 1);
  GvTensor *gated = GV_TENSOR (cmd, n, r->out, h->shape[2], h->shape[3]);
  gv_op_blend (cmd, gated, a, b, emb->mask);
  GvTensor *out = gv_conv2d_apply (&r->conv1, cmd, h, NULL, GV_ACT_NONE, gated);
  gv_tensor_unref (a);
  gv_tensor_unref (b);
  gv_tensor_unref (gated);
  gv_tensor_unref (t);
  gv_tensor_unref (t_alt);
  return out;
}

/* h2 = norm2 (conv1 (norm1 (x)) + embedding); @keep (or NULL) gets h, h1 and h2 */
static GvTensor *
inside (GvResnet *r, GvCmd *cmd, GvTensor *x, const GvResnetEmb *emb, gint frames,
    GvResnetInside *keep)
{
  GvTensor *h = gv_group_norm_apply (&r->norm1, cmd, x, frames, TRUE);
  GvTensor *h1 = conv1_with_embedding (r, cmd, h, emb);
  if (keep != NULL)
    keep->h = h;
  else
    gv_tensor_unref (h);
  GvTensor *h2 = gv_group_norm_apply (&r->norm2, cmd, h1, frames, TRUE);
  if (keep != NULL) {
    keep->h1 = h1;
    keep->h2 = gv_tensor_ref (h2);
  } else {
    gv_tensor_unref (h1);
  }
  return h2;
}

static GvTensor *
forward (GvResnet *r, GvCmd *cmd, GvTensor *x, const GvResnetEmb *emb, gint frames,
    GvResnetInside *keep)
{
  GvTensor *h2 = inside (r, cmd, x, emb, frames, keep);
  GvTensor *shortcut = r->conv_shortcut.weight ?
      gv_conv2d_apply (&r->conv_shortcut, cmd, x, NULL, GV_ACT_NONE, NULL) : gv_tensor_ref (x);
  GvTensor *out = gv_conv2d_apply (&r->conv2, cmd, h2, NULL, GV_ACT_NONE, shortcut);
  gv_tensor_unref (h2);
  gv_tensor_unref (shortcut);
  return out;
}

GvTensor *
gv_resnet_forward (GvResnet *r, GvCmd *cmd, GvTensor *x, const GvResnetEmb *emb, gint frames)
{
  return forward (r, cmd, x, emb, frames, NULL);
}

/* the embedding a training step adds (none without emb_silu or time_emb_proj) */
static const GvResnetEmb *
train_emb (GvResnet *r, GvResnetEmb *emb, GvTensor *emb_silu)
{
  emb->emb_silu = emb_silu;
  return emb_silu != NULL && r->time_emb_proj.weight != NULL ? emb : NULL;
}

GvTensor *
gv_resnet_forward_train (GvResnet *r, GvCmd *cmd, GvTensor *x, GvTensor *emb_silu,
    gint frames, GvResnetInside *keep)
{
  GvResnetEmb emb = { NULL };
  return forward (r, cmd, x, train_emb (r, &emb, emb_silu), frames, keep);
}

void
gv_resnet_inside_clear (GvResnetInside *in)
{
  g_clear_pointer (&in->h, gv_tensor_unref);
  g_clear_pointer (&in->h1, gv_tensor_unref);
  g_clear_pointer (&in->h2, gv_tensor_unref);
}

void
gv_resnet_backward (GvResnet *r, GvCmd *cmd, const GvGrads *g, GvTensor *dx,
    GvTensor *demb_silu, GvTensor *dout, GvTensor *x, GvTensor *emb_silu, gint frames,
    gboolean accumulate, GvResnetInside *kept)
{
  GvResnetEmb emb = { NULL };
  const GvResnetEmb *e = train_emb (r, &emb, emb_silu);
  gboolean with_emb = e != NULL;
  GvResnetInside in = { NULL };

  /* the inside as the forward kept it, or recomputed the same way */
  if (kept != NULL && kept->h != NULL)
    in = *kept;
  else
    gv_tensor_unref (inside (r, cmd, x, e, frames, &in));
  if (kept != NULL)
    *kept = (GvResnetInside) { NULL };
  GvTensor *h = in.h, *h1 = in.h1, *h2 = in.h2;

  /* out = conv2 (h2) + shortcut (x) */
  GvTensor *dh2 = gv_tensor_like (cmd, h2);
  gv_conv2d_backward (&r->conv2, cmd, g, dh2, NULL, dout, h2, FALSE);
  gv_tensor_unref (h2);
  GvTensor *dh1 = gv_tensor_like (cmd, h1);
  gv_group_norm_backward (&r->norm2, cmd, g, dh1, dh2, h1, frames, TRUE, FALSE);
  gv_tensor_unref (dh2);
  gv_tensor_unref (h1);

  /* h1 = conv1 (h) + time_emb_proj (emb_silu) per channel */
  GvTensor *dt = with_emb ? GV_TENSOR (cmd, x->shape[0], r->out) : NULL;
  GvTensor *dh = gv_tensor_like (cmd, h);
  gv_conv2d_backward (&r->conv1, cmd, g, dh, dt, dh1, h, FALSE);
  gv_tensor_unref (dh1);
  if (dt != NULL) {
    gv_linear_backward (&r->time_emb_proj, cmd, g, NULL, demb_silu, dt, emb_silu, TRUE);
    gv_tensor_unref (dt);
  }
  if (dx != NULL)
    gv_group_norm_backward (&r->norm1, cmd, g, dx, dh, x, frames, TRUE, accumulate);
  else
    gv_group_norm_backward (&r->norm1, cmd, g, NULL, dh, x, frames, TRUE, FALSE);
  gv_tensor_unref (dh);
  gv_tensor_unref (h);

  if (r->conv_shortcut.weight != NULL)
    gv_conv2d_backward (&r->conv_shortcut, cmd, g, dx, NULL, dout, x, TRUE);
  else if (dx != NULL)
    gv_op_add_backward (cmd, dx, NULL, dout, TRUE);
}

void
gv_resnet_clear (GvResnet *r)
{
  gv_group_norm_clear (&r->norm1);
  gv_group_norm_clear (&r->norm2);
  gv_conv2d_clear (&r->conv1);
  gv_conv2d_clear (&r->conv2);
  gv_conv2d_clear (&r->conv_shortcut);
  gv_linear_clear (&r->time_emb_proj);
}
