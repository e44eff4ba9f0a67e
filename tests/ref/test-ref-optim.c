/* The loss and optimiser references against values torch computed.
 *
 * The constants were obtained with torch 1.13.1 (Debian python3-torch) in float64, as a scratch
 * calculator outside the project:
 *   p1, p2 = tensors of P1, P2 (requires_grad); opt = torch.optim.AdamW ([p1, p2], lr=1e-2,
 *   betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-1); for each step: p.grad = the step's
 *   gradients, n = torch.nn.utils.clip_grad_norm_ ([p1, p2], 1.0), opt.step (); print n, p1, p2.
 *   target = sqrt (a) * eps - sqrt (1 - a) * z0 (a = 0.3);
 *   loss = F.mse_loss (pred, target); loss.backward (); print target, loss, pred.grad. */
#include <math.h>
#include <string.h>

#include "gv-ref-back.h"

/* the same operations in another order: agreement to a few ulps */
#define TOL 1e-13

static void
assert_close (const gdouble *ours, const gdouble *torch, gint n)
{
  for (gint i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (ours[i], torch[i], TOL * MAX (1.0, fabs (torch[i])));
}

/* Three steps of gradient clipping (norm 1) and AdamW on two tensors: steps 1 and 3 are
 * clipped, step 2 is not. */
static void
test_adamw_clip (void)
{
  gdouble p1[] = { 0.5, -1.25, 2.0 }, p2[] = { -0.75, 0.125 };
  gdouble m1[3] = { 0 }, v1[3] = { 0 }, m2[2] = { 0 }, v2[2] = { 0 };
  const gdouble grads[3][5] = {
    { 0.9, -2.0, 0.3, 1.5, -0.4 },
    { 0.2, 0.1, -0.3, 0.05, 0.4 },
    { -3.0, 0.7, 1.1, 0.6, 2.5 },
  };
  const gdouble torch_norm[] = { 2.703701166919155, 0.55, 4.160528812542944 };
  const gdouble torch_p1[3][3] = {
    { 0.48950000030041135, -1.2387500001351852, 1.988000000901234 },
    { 0.47943382758493247, -1.23186851150125, 1.9906683237319271 },
    { 0.4810719899272145, -1.2277876883697263, 1.987380063411273 },
  };
  const gdouble torch_p2[3][2] = {
    { -0.7592499998197532, 0.1348749993240745 },
    { -0.7658325239842165, 0.13008380144169818 },
    { -0.7721629598742255, 0.1226608731350828 },
  };
  const GvRefAdamW o = { .lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
    .weight_decay = 1e-1 };

  for (gint step = 1; step <= 3; step++) {
    gdouble g1[3], g2[2];
    memcpy (g1, grads[step - 1], sizeof (g1));
    memcpy (g2, grads[step - 1] + 3, sizeof (g2));
    gdouble *both[] = { g1, g2 };
    gdouble norm = gv_ref_clip_grad_norm (both, (const gint64[]) { 3, 2 }, 2, 1.0);
    g_assert_cmpfloat_with_epsilon (norm, torch_norm[step - 1], TOL * norm);
    gv_ref_adamw_step (p1, m1, v1, g1, 3, step, &o);
    gv_ref_adamw_step (p2, m2, v2, g2, 2, step, &o);
    g_test_message ("step %d: norm %.6f, p1[0] %.15f (torch %.15f)", step, norm, p1[0],
        torch_p1[step - 1][0]);
    assert_close (p1, torch_p1[step - 1], 3);
    assert_close (p2, torch_p2[step - 1], 2);
  }
}

/* Clipping leaves gradients under the norm as they are, scales those over it to it. */
static void
test_clip_norm (void)
{
  gdouble small[] = { 0.3, -0.4 }, big[] = { 3.0, -4.0 };
  gdouble *s[] = { small }, *b[] = { big };
  g_assert_cmpfloat_with_epsilon (gv_ref_clip_grad_norm (s, (const gint64[]) { 2 }, 1, 1.0),
      0.5, 1e-15);
  g_assert_cmpfloat (small[0], ==, 0.3);
  g_assert_cmpfloat_with_epsilon (gv_ref_clip_grad_norm (b, (const gint64[]) { 2 }, 1, 1.0),
      5.0, 1e-15);
  g_assert_cmpfloat_with_epsilon (sqrt (big[0] * big[0] + big[1] * big[1]), 1.0, 1e-6);
}

static void
test_mse_v_target (void)
{
  const gdouble z0[] = { 0.3, -1.1, 0.8, 2.2, -0.5 }, eps[] = { -0.6, 0.9, 1.4, -0.2, 0.35 };
  const gdouble pred[] = { 0.1, 0.7, -0.4, -1.3, 0.6 };
  const gdouble torch_target[] = { -0.5796315424633223, 1.4132763309421326,
    0.09748355927997188, -1.9501965698759995, 0.6100329083938458 };
  const gdouble torch_loss = 0.3282016576553139;
  const gdouble torch_dpred[] = { 0.2718526169853289, -0.28531053237685305,
    -0.19899342371198878, 0.2600786279503998, -0.004013163357538341 };
  gdouble target[5], dpred[5] = { 0 };

  gv_ref_v_target (target, z0, eps, 0.3, 5);
  assert_close (target, torch_target, 5);
  gdouble loss = gv_ref_mse_forward (pred, target, 5);
  g_assert_cmpfloat_with_epsilon (loss, torch_loss, TOL);
  gv_ref_mse_backward (dpred, 1.0, pred, target, 5);
  assert_close (dpred, torch_dpred, 5);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ref-optim/adamw-clip", test_adamw_clip);
  g_test_add_func ("/ref-optim/clip-norm", test_clip_norm);
  g_test_add_func ("/ref-optim/mse-v-target", test_mse_v_target);
  return g_test_run ();
}
