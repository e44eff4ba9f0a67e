/* Backward references of the layers (linear, conv2d, norms, element-wise, layout, the loss)
 * against central finite differences, on small random problems of odd sizes; each double
 * forward also against its float reference in gv-ref.h. */
#include "gv-ref-grad-check.h"

#define TOL GV_CHECK_GRAD_TOL

/* --- linear --- */
typedef struct {
  gint64 rows, in, out;
  gdouble *x, *w, *b, *g, *y;
} Linear;

static gdouble
linear_loss (gpointer data)
{
  Linear *c = data;
  gv_ref_linear_forward (c->y, c->x, c->w, c->b, c->rows, c->in, c->out);
  return gv_check_dot (c->y, c->g, c->rows * c->out);
}

static void
test_linear (gconstpointer with_bias)
{
  GRand *r = gv_check_rand (1);
  Linear c = { 7, 5, 3 };
  c.x = gv_check_random (r, c.rows * c.in);
  c.w = gv_check_random (r, c.out * c.in);
  c.b = with_bias ? gv_check_random (r, c.out) : NULL;
  c.g = gv_check_random (r, c.rows * c.out);
  c.y = gv_check_zeros (c.rows * c.out);
  gdouble *dx = gv_check_grad_buffer (c.rows * c.in), *dw = gv_check_grad_buffer (c.out * c.in);
  gdouble *db = gv_check_grad_buffer (c.out);

  gv_ref_linear_backward (dx, dw, c.b ? db : NULL, c.g, c.x, c.w, c.rows, c.in, c.out);
  gv_check_grad ("linear dX", linear_loss, &c, c.x, dx, c.rows * c.in, TOL);
  gv_check_grad ("linear dW", linear_loss, &c, c.w, dw, c.out * c.in, TOL);
  if (c.b)
    gv_check_grad ("linear db", linear_loss, &c, c.b, db, c.out, TOL);

  gfloat *ref = gv_check_floats (c.rows * c.out);
  gv_ref_matmul (ref, gv_check_to_float (c.x, c.rows * c.in),
      gv_check_to_float (c.w, c.out * c.in), 1, c.rows, c.out, c.in, FALSE, FALSE, FALSE, TRUE,
      1.0f, c.b ? gv_check_to_float (c.b, c.out) : NULL, GV_REF_ACT_NONE, NULL);
  linear_loss (&c);
  gv_check_forward ("linear", c.y, ref, c.rows * c.out, GV_CHECK_FORWARD_TOL);
}

/* --- conv2d per frame --- */
typedef struct {
  GvRefConv geo;
  gdouble *x, *w, *b, *add, *g, *y;
  gint64 ny;
} Conv;

static gdouble
conv_loss (gpointer data)
{
  Conv *c = data;
  gv_ref_conv2d_forward (c->y, c->x, c->w, c->b, c->add, &c->geo);
  return gv_check_dot (c->y, c->g, c->ny);
}

static void
check_conv (const gchar *what, GvRefConv geo, gboolean bias, gboolean add)
{
  GRand *r = gv_check_rand (2);
  Conv c = { geo };
  gint64 ho = gv_ref_conv_out_size (geo.h, geo.pad_top, geo.pad_bottom, geo.kh, geo.stride);
  gint64 wo = gv_ref_conv_out_size (geo.w, geo.pad_left, geo.pad_right, geo.kw, geo.stride);
  gint64 nx = geo.n * geo.c * geo.h * geo.w, nw = geo.co * geo.c * geo.kh * geo.kw;
  c.ny = geo.n * geo.co * ho * wo;
  c.x = gv_check_random (r, nx);
  c.w = gv_check_random (r, nw);
  c.b = bias ? gv_check_random (r, geo.co) : NULL;
  c.add = add ? gv_check_random (r, geo.n * geo.co) : NULL;
  c.g = gv_check_random (r, c.ny);
  c.y = gv_check_zeros (c.ny);
  gdouble *dx = gv_check_grad_buffer (nx), *dw = gv_check_grad_buffer (nw);
  gdouble *db = gv_check_grad_buffer (geo.co), *dadd = gv_check_grad_buffer (geo.n * geo.co);

  gv_ref_conv2d_backward (dx, dw, bias ? db : NULL, add ? dadd : NULL, c.g, c.x, c.w, &geo);
  g_test_message ("%s", what);
  gv_check_grad ("conv2d dX", conv_loss, &c, c.x, dx, nx, TOL);
  gv_check_grad ("conv2d dW", conv_loss, &c, c.w, dw, nw, TOL);
  if (bias)
    gv_check_grad ("conv2d db", conv_loss, &c, c.b, db, geo.co, TOL);
  if (add)
    gv_check_grad ("conv2d d(add per channel)", conv_loss, &c, c.add, dadd, geo.n * geo.co,
        TOL);

  gfloat *ref = gv_check_floats (c.ny);
  gv_ref_conv2d (ref, gv_check_to_float (c.x, nx), gv_check_to_float (c.w, nw), &geo,
      bias ? gv_check_to_float (c.b, geo.co) : NULL,
      add ? gv_check_to_float (c.add, geo.n * geo.co) : NULL, GV_REF_ACT_NONE, NULL);
  conv_loss (&c);
  gv_check_forward (what, c.y, ref, c.ny, GV_CHECK_FORWARD_TOL);
}

static void
test_conv (void)
{
  /* 3 frames; the ResNet's 3x3 (with the time embedding per channel), the UNet's stride-2
   * downsampler, the VAE's downsampler padded (0, 1, 0, 1), a 1x1 shortcut */
  check_conv ("3x3 stride 1 pad 1", (GvRefConv) { 3, 3, 7, 5, 4, 3, 3, 1, 1, 1, 1, 1 }, TRUE,
      TRUE);
  check_conv ("3x3 stride 2 pad 1", (GvRefConv) { 3, 3, 7, 5, 4, 3, 3, 2, 1, 1, 1, 1 }, TRUE,
      FALSE);
  check_conv ("3x3 stride 2 pad (0,1,0,1)", (GvRefConv) { 2, 3, 7, 6, 2, 3, 3, 2, 0, 1, 0, 1 },
      TRUE, FALSE);
  check_conv ("1x1 no bias", (GvRefConv) { 3, 5, 3, 5, 3, 1, 1, 1, 0, 0, 0, 0 }, FALSE, FALSE);
}

/* --- group norm and layer norm --- */
typedef struct {
  gint64 n, c, s;
  gint groups, frames;
  gboolean silu;
  gdouble *x, *gamma, *beta, *g, *y, *mean, *rstd;
} GroupNorm;

#define GROUP_NORM_EPS 1e-6

static gdouble
group_norm_loss (gpointer data)
{
  GroupNorm *c = data;
  gv_ref_group_norm_forward (c->y, c->mean, c->rstd, c->x, c->gamma, c->beta, c->n, c->c, c->s,
      c->groups, c->frames, GROUP_NORM_EPS, c->silu);
  return gv_check_dot (c->y, c->g, c->n * c->c * c->s);
}

static void
check_group_norm (gint frames, gboolean silu, gboolean affine)
{
  GRand *r = gv_check_rand (3);
  GroupNorm c = { 4, 6, 5, 3, frames, silu };
  gint64 nx = c.n * c.c * c.s;
  c.x = gv_check_random (r, nx);
  c.gamma = affine ? gv_check_random (r, c.c) : NULL;
  c.beta = affine ? gv_check_random (r, c.c) : NULL;
  c.g = gv_check_random (r, nx);
  c.y = gv_check_zeros (nx);
  c.mean = gv_check_zeros (c.n / frames * c.groups);
  c.rstd = gv_check_zeros (c.n / frames * c.groups);
  gdouble *dx = gv_check_grad_buffer (nx), *dgamma = gv_check_grad_buffer (c.c);
  gdouble *dbeta = gv_check_grad_buffer (c.c);

  g_test_message ("group norm, statistics over %d frame(s), %s, %s", frames,
      silu ? "SiLU" : "no SiLU", affine ? "affine" : "no affine");
  group_norm_loss (&c);
  gv_ref_group_norm_backward (dx, affine ? dgamma : NULL, affine ? dbeta : NULL, c.g, c.x,
      c.mean, c.rstd, c.gamma, c.beta, c.n, c.c, c.s, c.groups, frames, silu);
  gv_check_grad ("group norm dX", group_norm_loss, &c, c.x, dx, nx, TOL);
  if (affine) {
    gv_check_grad ("group norm dgamma", group_norm_loss, &c, c.gamma, dgamma, c.c, TOL);
    gv_check_grad ("group norm dbeta", group_norm_loss, &c, c.beta, dbeta, c.c, TOL);
  }

  gfloat *ref = gv_check_floats (nx);
  gv_ref_group_norm (ref, gv_check_to_float (c.x, nx), c.n, c.c, c.s,
      affine ? gv_check_to_float (c.gamma, c.c) : NULL,
      affine ? gv_check_to_float (c.beta, c.c) : NULL, c.groups, frames, GROUP_NORM_EPS, silu);
  group_norm_loss (&c);
  gv_check_forward ("group norm", c.y, ref, nx, GV_CHECK_FORWARD_TOL);
}

static void
test_group_norm (void)
{
  check_group_norm (1, FALSE, TRUE);    /* Transformer2D.norm: per frame */
  check_group_norm (2, TRUE, TRUE);     /* Tune-A-Video's ResNets: across the clip's frames */
  check_group_norm (4, FALSE, TRUE);
  check_group_norm (2, TRUE, FALSE);
}

typedef struct {
  gint64 rows, len;
  gdouble *x, *gamma, *beta, *g, *y, *mean, *rstd;
} LayerNorm;

#define LAYER_NORM_EPS 1e-5

static gdouble
layer_norm_loss (gpointer data)
{
  LayerNorm *c = data;
  gv_ref_layer_norm_forward (c->y, c->mean, c->rstd, c->x, c->gamma, c->beta, c->rows, c->len,
      LAYER_NORM_EPS);
  return gv_check_dot (c->y, c->g, c->rows * c->len);
}

static void
test_layer_norm (void)
{
  GRand *r = gv_check_rand (4);
  LayerNorm c = { 5, 7 };
  gint64 nx = c.rows * c.len;
  c.x = gv_check_random (r, nx);
  c.gamma = gv_check_random (r, c.len);
  c.beta = gv_check_random (r, c.len);
  c.g = gv_check_random (r, nx);
  c.y = gv_check_zeros (nx);
  c.mean = gv_check_zeros (c.rows);
  c.rstd = gv_check_zeros (c.rows);
  gdouble *dx = gv_check_grad_buffer (nx), *dgamma = gv_check_grad_buffer (c.len);
  gdouble *dbeta = gv_check_grad_buffer (c.len);

  layer_norm_loss (&c);
  gv_ref_layer_norm_backward (dx, dgamma, dbeta, c.g, c.x, c.mean, c.rstd, c.gamma, c.rows,
      c.len);
  gv_check_grad ("layer norm dX", layer_norm_loss, &c, c.x, dx, nx, TOL);
  gv_check_grad ("layer norm dgamma", layer_norm_loss, &c, c.gamma, dgamma, c.len, TOL);
  gv_check_grad ("layer norm dbeta", layer_norm_loss, &c, c.beta, dbeta, c.len, TOL);

  gfloat *ref = gv_check_floats (nx);
  gv_ref_layer_norm (ref, gv_check_to_float (c.x, nx), c.rows, c.len,
      gv_check_to_float (c.gamma, c.len), gv_check_to_float (c.beta, c.len), LAYER_NORM_EPS);
  layer_norm_loss (&c);
  gv_check_forward ("layer norm", c.y, ref, nx, GV_CHECK_FORWARD_TOL);
}

/* --- element-wise: one input, one output --- */
typedef enum { UNARY_SILU, UNARY_GELU, UNARY_GEGLU } Unary;

typedef struct {
  Unary op;
  gint64 rows, n, nx, ny;    /* GEGLU: x [rows, 2n] -> y [rows, n]; else rows 1, nx = ny = n */
  gdouble *x, *g, *y;
} Eltwise;

static gdouble
eltwise_loss (gpointer data)
{
  Eltwise *c = data;
  if (c->op == UNARY_SILU)
    gv_ref_silu_forward (c->y, c->x, c->n);
  else if (c->op == UNARY_GELU)
    gv_ref_gelu_forward (c->y, c->x, c->n);
  else
    gv_ref_geglu_forward (c->y, c->x, c->rows, c->n);
  return gv_check_dot (c->y, c->g, c->ny);
}

static void
test_eltwise (gconstpointer op)
{
  GRand *r = gv_check_rand (5);
  Eltwise c = { GPOINTER_TO_INT (op), 1, 17 };
  if (c.op == UNARY_GEGLU)
    c.rows = 3, c.n = 5;
  c.ny = c.rows * c.n;
  c.nx = c.op == UNARY_GEGLU ? 2 * c.ny : c.ny;
  c.x = gv_check_random (r, c.nx);
  for (gint64 i = 0; i < c.nx; i++)
    c.x[i] *= 3;      /* through the curved part of the activations */
  c.g = gv_check_random (r, c.ny);
  c.y = gv_check_zeros (c.ny);
  gdouble *dx = gv_check_grad_buffer (c.nx);
  gfloat *ref = gv_check_floats (c.ny), *xf = gv_check_to_float (c.x, c.nx);
  const gchar *names[] = { "silu", "gelu", "geglu" };

  if (c.op == UNARY_SILU)
    gv_ref_silu_backward (dx, c.g, c.x, c.n);
  else if (c.op == UNARY_GELU)
    gv_ref_gelu_backward (dx, c.g, c.x, c.n);
  else
    gv_ref_geglu_backward (dx, c.g, c.x, c.rows, c.n);
  gv_check_grad (names[c.op], eltwise_loss, &c, c.x, dx, c.nx, TOL);

  if (c.op == UNARY_GEGLU)
    gv_ref_geglu (ref, xf, c.rows, c.n);
  for (gint64 i = 0; c.op != UNARY_GEGLU && i < c.n; i++)
    ref[i] = c.op == UNARY_SILU ? gv_ref_silu (xf[i]) : gv_ref_gelu (xf[i]);
  eltwise_loss (&c);
  gv_check_forward (names[c.op], c.y, ref, c.ny, GV_CHECK_FORWARD_TOL);
}

/* --- two inputs: add, concat along channels --- */
typedef struct {
  gboolean concat;
  gint64 outer, a_len, b_len, ny;
  gdouble *a, *b, *g, *y;
} Binary;

static gdouble
binary_loss (gpointer data)
{
  Binary *c = data;
  if (c->concat)
    gv_ref_concat_forward (c->y, c->a, c->b, c->outer, c->a_len, c->b_len);
  else
    gv_ref_add_forward (c->y, c->a, c->b, c->a_len);
  return gv_check_dot (c->y, c->g, c->ny);
}

static void
test_binary (gconstpointer concat)
{
  GRand *r = gv_check_rand (6);
  /* concat: [2, 3, 5] and [2, 4, 5] along dim 1 (hidden and skip of the up path) */
  Binary c = { GPOINTER_TO_INT (concat), 2, 3 * 5, 4 * 5 };
  if (!c.concat)
    c.outer = 1, c.b_len = c.a_len = 11;
  gint64 na = c.outer * c.a_len, nb = c.outer * c.b_len;
  c.ny = c.concat ? na + nb : na;
  c.a = gv_check_random (r, na);
  c.b = gv_check_random (r, nb);
  c.g = gv_check_random (r, c.ny);
  c.y = gv_check_zeros (c.ny);
  gdouble *da = gv_check_grad_buffer (na), *db = gv_check_grad_buffer (nb);

  if (c.concat)
    gv_ref_concat_backward (da, db, c.g, c.outer, c.a_len, c.b_len);
  else
    gv_ref_add_backward (da, db, c.g, na);
  gv_check_grad (c.concat ? "concat da" : "add da", binary_loss, &c, c.a, da, na, TOL);
  gv_check_grad (c.concat ? "concat db" : "add db", binary_loss, &c, c.b, db, nb, TOL);

  gfloat *ref = gv_check_floats (c.ny);
  if (c.concat) {
    gv_ref_concat (ref, gv_check_to_float (c.a, na), (const gint64[]) { 2, 3, 5 },
        gv_check_to_float (c.b, nb), (const gint64[]) { 2, 4, 5 }, 3, 1);
  } else {
    const gint64 shape[] = { na };
    gv_ref_binary (ref, shape, 1, gv_check_to_float (c.a, na), shape, 1,
        gv_check_to_float (c.b, nb), shape, 1, NULL, NULL, 0, GV_REF_ADD, 1.0f, 1.0f);
  }
  binary_loss (&c);
  gv_check_forward (c.concat ? "concat" : "add", c.y, ref, c.ny, GV_CHECK_FORWARD_TOL);
}

/* --- nearest resize --- */
typedef struct {
  gint64 planes, h, w, ho, wo;
  gdouble *x, *g, *y;
} Resize;

static gdouble
resize_loss (gpointer data)
{
  Resize *c = data;
  gv_ref_resize_nearest_forward (c->y, c->x, c->planes, c->h, c->w, c->ho, c->wo);
  return gv_check_dot (c->y, c->g, c->planes * c->ho * c->wo);
}

static void
check_resize (gint64 ho, gint64 wo)
{
  GRand *r = gv_check_rand (7);
  Resize c = { 3, 3, 5, ho, wo };
  gint64 nx = c.planes * c.h * c.w, ny = c.planes * ho * wo;
  c.x = gv_check_random (r, nx);
  c.g = gv_check_random (r, ny);
  c.y = gv_check_zeros (ny);
  gdouble *dx = gv_check_grad_buffer (nx);

  g_test_message ("nearest 3x5 -> %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT, ho, wo);
  gv_ref_resize_nearest_backward (dx, c.g, c.planes, c.h, c.w, ho, wo);
  gv_check_grad ("resize nearest dX", resize_loss, &c, c.x, dx, nx, TOL);
  gfloat *ref = gv_check_floats (ny);
  gv_ref_resize_nearest (ref, gv_check_to_float (c.x, nx), c.planes, c.h, c.w, ho, wo);
  resize_loss (&c);
  gv_check_forward ("resize nearest", c.y, ref, ny, GV_CHECK_FORWARD_TOL);
}

static void
test_resize (void)
{
  check_resize (6, 10);      /* the UNet's 2x upsampling */
  check_resize (7, 9);       /* to an odd skip size */
}

/* the 2x upsampling's backward is the sum of each 2x2 block, written out */
static void
test_upsample_is_block_sum (void)
{
  GRand *r = gv_check_rand (8);
  gint64 h = 3, w = 5;
  gdouble *dy = gv_check_random (r, 4 * h * w), *dx = gv_check_zeros (h * w);
  gv_ref_resize_nearest_backward (dx, dy, 1, h, w, 2 * h, 2 * w);
  for (gint64 y = 0; y < h; y++) {
    for (gint64 x = 0; x < w; x++) {
      gdouble s = dy[2 * y * 2 * w + 2 * x] + dy[2 * y * 2 * w + 2 * x + 1] +
          dy[(2 * y + 1) * 2 * w + 2 * x] + dy[(2 * y + 1) * 2 * w + 2 * x + 1];
      g_assert_cmpfloat_with_epsilon (dx[y * w + x], s, 1e-15);
    }
  }
}

/* --- the loss: MSE against the v-prediction target --- */
typedef struct {
  gint64 n;
  gdouble dloss, *pred, *target;
} Mse;

static gdouble
mse_loss (gpointer data)
{
  Mse *c = data;
  return c->dloss * gv_ref_mse_forward (c->pred, c->target, c->n);
}

static void
test_mse (void)
{
  GRand *r = gv_check_rand (9);
  Mse c = { 13, 0.7 };
  gdouble *z0 = gv_check_random (r, c.n), *eps = gv_check_random (r, c.n);
  c.pred = gv_check_random (r, c.n);
  c.target = gv_check_zeros (c.n);
  gv_ref_v_target (c.target, z0, eps, 0.3, c.n);
  gdouble *dpred = gv_check_grad_buffer (c.n);
  gv_ref_mse_backward (dpred, c.dloss, c.pred, c.target, c.n);
  gv_check_grad ("mse dpred", mse_loss, &c, c.pred, dpred, c.n, TOL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/ref-backward/linear", GINT_TO_POINTER (TRUE), test_linear);
  g_test_add_data_func ("/ref-backward/linear-no-bias", GINT_TO_POINTER (FALSE), test_linear);
  g_test_add_func ("/ref-backward/conv2d", test_conv);
  g_test_add_func ("/ref-backward/group-norm", test_group_norm);
  g_test_add_func ("/ref-backward/layer-norm", test_layer_norm);
  g_test_add_data_func ("/ref-backward/silu", GINT_TO_POINTER (UNARY_SILU), test_eltwise);
  g_test_add_data_func ("/ref-backward/gelu", GINT_TO_POINTER (UNARY_GELU), test_eltwise);
  g_test_add_data_func ("/ref-backward/geglu", GINT_TO_POINTER (UNARY_GEGLU), test_eltwise);
  g_test_add_data_func ("/ref-backward/add", GINT_TO_POINTER (FALSE), test_binary);
  g_test_add_data_func ("/ref-backward/concat", GINT_TO_POINTER (TRUE), test_binary);
  g_test_add_func ("/ref-backward/resize-nearest", test_resize);
  g_test_add_func ("/ref-backward/upsample-block-sum", test_upsample_is_block_sum);
  g_test_add_func ("/ref-backward/mse", test_mse);
  return g_test_run ();
}
