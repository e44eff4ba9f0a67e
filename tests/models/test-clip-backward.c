/* The backward of the CLIP text and vision encoders (gv_*_encoder_forward_backward) on tiny
 * random configurations: every parameter tensor's gradient against central finite differences
 * of the inference forward, for the loss sum (output * R) with a fixed random R, with each
 * layer's inside kept and with it recomputed. */
#include <math.h>
#include <string.h>

#include "gv-test-util.h"
#include "models/gv-image-encoder.h"
#include "models/gv-text-encoder.h"

#define N 3
#define LENGTH 7
#define VOCAB 23

typedef struct {
  GPtrArray *names, *params, *grads;
} Params;

static void
add_param (const gchar *name, GvTensor *param, gpointer data)
{
  Params *p = data;
  g_ptr_array_add (p->names, g_strdup (name));
  g_ptr_array_add (p->params, gv_tensor_ref (param));
  GvTensor *g = gv_tensor_new (gv_test_device (), param->ndim, param->shape, NULL);
  g_assert_nonnull (g);
  gfloat *z = g_new0 (gfloat, param->numel);
  g_assert_true (gv_tensor_upload (g, z, NULL));
  g_free (z);
  g_ptr_array_add (p->grads, g);
}

static GvTensor *
grad_of (GvTensor *param, gpointer data)
{
  Params *p = data;
  for (guint i = 0; i < p->params->len; i++)
    if (p->params->pdata[i] == param)
      return p->grads->pdata[i];
  return NULL;
}

static void
params_init (Params *p)
{
  p->names = g_ptr_array_new_with_free_func (g_free);
  p->params = g_ptr_array_new_with_free_func ((GDestroyNotify) gv_tensor_unref);
  p->grads = g_ptr_array_new_with_free_func ((GDestroyNotify) gv_tensor_unref);
}

static void
params_clear (Params *p)
{
  g_ptr_array_unref (p->names);
  g_ptr_array_unref (p->params);
  g_ptr_array_unref (p->grads);
}

/* the loss's gradient: R itself */
static GvTensor *
weights_grad (GvCmd *cmd, GvTensor *out, gpointer data)
{
  const gfloat *r = data;
  GvTensor *d = GV_TENSOR (cmd, out->shape[0], out->shape[1]);
  gv_tensor_record_upload (cmd, d, r);
  return d;
}

static gdouble
weighted_sum (GvCmd *cmd, GvTensor *out, const gfloat *r)
{
  gfloat *o = g_new (gfloat, out->numel);
  gv_tensor_record_download (cmd, out, o);
  gv_test_finish (cmd);
  gdouble sum = 0;
  for (gint64 i = 0; i < out->numel; i++)
    sum += (gdouble) o[i] * r[i];
  g_free (o);
  return sum;
}

typedef gdouble (*LossFunc) (gpointer net, gpointer data);

/* fp32 forwards, step 1e-2: measured over the 228 checked elements, the largest mismatch is
 * 5e-5 absolute, and 2e-3 relative where the gradient is above 1e-2; the tolerance is ~4x
 * that */
static gboolean
close_enough (gdouble fd, gdouble analytic)
{
  return fabs (fd - analytic) <= 2e-4 + 2e-2 * fabs (fd);
}

/* three elements of every parameter (@pick chooses where, or NULL) against central
 * differences; a gradient 10% off must fail the same comparison for nearly all of them */
static void
check_all (Params *p, LossFunc loss, gpointer net, gpointer data,
    gint64 (*pick) (const gchar *name, GvTensor *t, gint e))
{
  gint checked = 0, sizable = 0, wrong_fails = 0;
  for (guint i = 0; i < p->params->len; i++) {
    const gchar *name = p->names->pdata[i];
    GvTensor *t = p->params->pdata[i];
    gfloat *w = gv_test_download (t), *g = gv_test_download (p->grads->pdata[i]);
    for (gint e = 0; e < 3; e++) {
      gint64 at = pick ? pick (name, t, e) : (gint64) ((e * 0.37 + 0.11) * t->numel) % t->numel;
      const gfloat h = 1e-2f;
      gfloat saved = w[at];
      w[at] = saved + h;
      g_assert_true (gv_tensor_upload (t, w, NULL));
      gdouble up = loss (net, data);
      w[at] = saved - h;
      g_assert_true (gv_tensor_upload (t, w, NULL));
      gdouble down = loss (net, data);
      w[at] = saved;
      g_assert_true (gv_tensor_upload (t, w, NULL));
      gdouble fd = (up - down) / (2.0 * h);
      if (g_test_verbose ())
        g_printerr ("%s[%" G_GINT64_FORMAT "]: analytic %.6e, differences %.6e\n", name, at,
            g[at], fd);
      if (!close_enough (fd, g[at]))
        g_error ("%s[%" G_GINT64_FORMAT "]: analytic %.6e, differences %.6e", name, at, g[at],
            fd);
      checked++;
      if (fabs (fd) > 1e-2) {
        sizable++;
        wrong_fails += !close_enough (fd, 1.1 * g[at]);
      }
    }
    g_free (w);
    g_free (g);
  }
  g_assert_cmpint (checked, ==, 3 * (gint) p->params->len);
  g_assert_cmpint (sizable, >=, checked / 2);
  g_assert_cmpint (wrong_fails, >=, sizable * 9 / 10);
}

/* --- text --- */

typedef struct {
  gint32 ids[N * LENGTH];
  gfloat r[N * 16];
} TextData;

static gdouble
text_loss (gpointer net, gpointer data)
{
  TextData *d = data;
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  GvTensor *pooled = NULL;
  GvTensor *last = gv_text_encoder_forward (net, cmd, d->ids, N, LENGTH, &pooled, NULL, NULL);
  gv_tensor_unref (last);
  gdouble s = weighted_sum (cmd, pooled, d->r);
  gv_tensor_unref (pooled);
  gv_cmd_free (cmd);
  return s;
}

/* token rows that the ids use (the others have no gradient: checked apart) */
static gint64
text_pick (const gchar *name, GvTensor *t, gint e)
{
  gint64 d = t->shape[t->ndim - 1];
  if (strstr (name, "token_embedding"))
    return (gint64) (e == 0 ? 5 : e == 1 ? 9 : VOCAB - 1) * d + 3 * e + 1;
  if (strstr (name, "position_embedding"))
    return (gint64) (e * 3) * d + 2 * e;
  return (gint64) ((e * 0.37 + 0.11) * t->numel) % t->numel;
}

static void
test_text (gconstpointer recompute)
{
  GvClipTextConfig cfg = {
    .vocab_size = VOCAB, .hidden_size = 16, .intermediate_size = 24, .num_hidden_layers = 2,
    .num_attention_heads = 2, .max_position_embeddings = 9, .hidden_act = GV_HIDDEN_ACT_GELU,
    .layer_norm_eps = 1e-5f, .eos_token_id = VOCAB - 1, .projection_dim = 16,
  };
  GError *error = NULL;
  GvTextEncoder *enc = gv_text_encoder_new_from_loader (gv_test_device (),
      gv_loader_new_random (gv_test_device (), 5), &cfg, &error);
  g_assert_no_error (error);
  TextData d;
  /* [bos, words, eos, pad...]: the end token at 3 different places; token 5 used twice */
  static const gint32 ids[N * LENGTH] = {
    20, 5, 7, 9, VOCAB - 1, 0, 0,
    20, 5, 5, 11, 3, 12, VOCAB - 1,
    20, 9, VOCAB - 1, 0, 0, 0, 0,
  };
  memcpy (d.ids, ids, sizeof ids);
  gfloat *r = gv_test_random (N * 16, 3, -1, 1);
  memcpy (d.r, r, sizeof d.r);
  g_free (r);

  Params p;
  params_init (&p);
  gv_text_encoder_foreach_param (enc, add_param, &p);
  g_assert_cmpuint (p.params->len, ==, 2 + 2 * 16 + 2);
  GvGrads g = { grad_of, &p };
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  gv_text_encoder_forward_backward (enc, cmd, d.ids, N, LENGTH, recompute != NULL, &g,
      weights_grad, d.r);
  gv_test_finish (cmd);
  gv_cmd_free (cmd);

  /* unused token rows and positions past the length get nothing */
  gfloat *gt = gv_test_download (p.grads->pdata[0]), *gp = gv_test_download (p.grads->pdata[1]);
  for (gint k = 0; k < 16; k++) {
    g_assert_cmpfloat (gt[1 * 16 + k], ==, 0);
    g_assert_cmpfloat (gt[5 * 16 + k], !=, 0);
    g_assert_cmpfloat (gp[8 * 16 + k], ==, 0);
  }
  g_free (gt);
  g_free (gp);
  check_all (&p, text_loss, enc, &d, text_pick);
  params_clear (&p);
  gv_text_encoder_free (enc);
}

/* --- vision --- */

typedef struct {
  GvTensor *pixels;
  gfloat r[N * 12];
} ImageData;

static gdouble
image_loss (gpointer net, gpointer data)
{
  ImageData *d = data;
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  GvTensor *embeds = gv_image_encoder_forward (net, cmd, d->pixels, NULL, NULL, NULL);
  gdouble s = weighted_sum (cmd, embeds, d->r);
  gv_tensor_unref (embeds);
  gv_cmd_free (cmd);
  return s;
}

static void
test_vision (gconstpointer recompute)
{
  GvClipVisionConfig cfg = {
    .hidden_size = 16, .intermediate_size = 24, .num_hidden_layers = 2,
    .num_attention_heads = 2, .image_size = 12, .patch_size = 4, .num_channels = 3,
    .projection_dim = 12, .hidden_act = GV_HIDDEN_ACT_QUICK_GELU, .layer_norm_eps = 1e-5f,
  };
  GError *error = NULL;
  GvImageEncoder *enc = gv_image_encoder_new_from_loader (gv_test_device (),
      gv_loader_new_random (gv_test_device (), 6), &cfg, &error);
  g_assert_no_error (error);
  ImageData d;
  gfloat *px = gv_test_random (N * 3 * 12 * 12, 8, -1, 1);
  d.pixels = GV_TEST_TENSOR (px, N, 3, 12, 12);
  g_free (px);
  gfloat *r = gv_test_random (N * 12, 9, -1, 1);
  memcpy (d.r, r, sizeof d.r);
  g_free (r);

  Params p;
  params_init (&p);
  gv_image_encoder_foreach_param (enc, add_param, &p);
  g_assert_cmpuint (p.params->len, ==, 3 + 2 + 2 * 16 + 2 + 1);
  GvGrads g = { grad_of, &p };
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  gv_image_encoder_forward_backward (enc, cmd, d.pixels, recompute != NULL, &g,
      weights_grad, d.r);
  gv_test_finish (cmd);
  gv_cmd_free (cmd);
  check_all (&p, image_loss, enc, &d, NULL);
  gv_tensor_unref (d.pixels);
  params_clear (&p);
  gv_image_encoder_free (enc);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* each layer's inside kept, and recomputed from its input */
  g_test_add_data_func ("/clip-backward/text/kept", NULL, test_text);
  g_test_add_data_func ("/clip-backward/text/recomputed", "", test_text);
  g_test_add_data_func ("/clip-backward/vision/kept", NULL, test_vision);
  g_test_add_data_func ("/clip-backward/vision/recomputed", "", test_vision);
  return g_test_run ();
}
