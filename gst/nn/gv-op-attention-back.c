/* Attention backward, flash style: nothing of size Lq x Lk is kept. q, k, v and dout are
 * regrouped by head ([B, H, L, D]), then for each block of query rows of a run of (batch,
 * head) pairs the scores are recomputed on the matmul kernels (S = scale Q K^T, dP = dO V^T),
 * turned into P = exp (S - lse) and dS = scale P (dP - delta) by one elementwise pass, and the
 * three products dQ = dS K, dK += dS^T Q, dV += P^T dO follow. The blocks hold at most
 * BLOCK_SCORES scores, so scratch memory is linear in the sequence lengths. Blocks run in a
 * fixed order, each one adding into dK and dV after the previous: deterministic. */
#include <math.h>

#include "nn/gv-op-attention-back.h"
#include "nn/gv-op-layout.h"
#include "nn/gv-op-matmul.h"
#include "nn/gv-op-util.h"

#include "kernel-params.h"

/* scores per block (each of S and dP): 8 MiB each; 512 query rows of 4096 keys */
#define BLOCK_SCORES (1 << 21)
#define GROUP 64
#define MAX_GROUPS 65535

static const gint by_head[4] = { 0, 2, 1, 3 };   /* [B, L, H, D] <-> [B, H, L, D] */

/* t [n, L, H*D] regrouped as [n, H, L, D] in a new tensor */
static GvTensor *
heads_first (GvCmd *cmd, GvTensor *t, gint64 H)
{
  gint64 n = t->shape[0], L = t->shape[1], D = t->shape[2] / H;
  GvTensor *v = GV_VIEW (t, 0, n, L, H, D);
  GvTensor *r = GV_TENSOR (cmd, n, H, L, D);
  gv_op_permute (cmd, r, v, by_head);
  gv_tensor_unref (v);
  return r;
}

/* g [n, H, L, D] back into dst [n, L, H*D], overwriting or adding */
static void
heads_back (GvCmd *cmd, GvTensor *dst, GvTensor *g, gboolean accumulate)
{
  GvTensor *v = GV_VIEW (dst, 0, g->shape[0], g->shape[2], g->shape[1], g->shape[3]);
  gv_op_permute_backward (cmd, v, g, by_head, accumulate);
  gv_tensor_unref (v);
}

static void
delta_rows (GvCmd *cmd, GvTensor *delta, GvTensor *dout, GvTensor *out, gint64 H)
{
  GvKernel *k = gv_op_kernel (cmd, GV_KERNEL_ATTENTION_BACK_DELTA, NULL, 0);
  if (k == NULL)
    return;
  gint64 rows = dout->shape[0] * dout->shape[1], C = dout->shape[2];
  gint64 per = MIN (gv_op_max_elements (cmd, GV_BIND_BUFFER, 4) / C, G_MAXINT32 / H);
  GvAttentionBackParams p = {
    .lq = (guint32) dout->shape[1], .heads = (guint32) H, .d = (guint32) (C / H),
  };
  for (gint64 r0 = 0; r0 < rows; r0 += per) {
    gint64 n = MIN (per, rows - r0);
    GvBinding bind[3] = {
      gv_tensor_bind_range (dout, r0 * C, n * C, FALSE),
      gv_tensor_bind_range (out, r0 * C, n * C, FALSE),
      gv_tensor_bind (delta, TRUE),
    };
    p.r0 = (guint32) r0;
    p.count = (guint32) (n * H);
    guint gx, gy;
    gv_op_grid_1d (cmd, n * H, GROUP, &gx, &gy);
    gv_cmd_dispatch (cmd, k, bind, &p, gx, gy, 1);
  }
}

typedef struct {
  GvTensor *qh, *kh, *vh, *doh;      /* inputs by head */
  GvTensor *dqh, *dkh, *dvh;         /* gradients by head (dkh, dvh zeroed first) */
  GvTensor *lse, *delta;
  GvTensor *s, *dp;                  /* the two score blocks */
  GvKernel *scores_f32, *scores_vec4;
  gint64 H, Lq, Lk, D, R;
  gfloat scale;
  gboolean causal;
} Backward;

/* one block: query rows [i0, i0 + nq) of the (batch, head) pairs [bh0, bh0 + n), whose
 * key/value pairs are consecutive too */
static void
block (GvCmd *cmd, const Backward *w, gint64 bh0, gint64 n, gint64 i0,
    gint64 nq)
{
  gint64 b = bh0 / w->H, h = bh0 % w->H, kvh0 = (b / w->R) * w->H + h;
  /* causal: the keys past the block's last row are skipped, but only with one pair per block
   * (the pairs of a block are views of consecutive whole rows of keys) */
  gint64 D = w->D, nk = w->causal && n == 1 ? MIN (w->Lk, i0 + nq) : w->Lk;
  GvTensor *q = GV_VIEW (w->qh, (bh0 * w->Lq + i0) * D, n, nq, D);
  GvTensor *dO = GV_VIEW (w->doh, (bh0 * w->Lq + i0) * D, n, nq, D);
  GvTensor *dq = w->dqh ? GV_VIEW (w->dqh, (bh0 * w->Lq + i0) * D, n, nq, D) : NULL;
  GvTensor *k = GV_VIEW (w->kh, kvh0 * w->Lk * D, n, nk, D);
  GvTensor *v = GV_VIEW (w->vh, kvh0 * w->Lk * D, n, nk, D);
  GvTensor *dk = w->dkh ? GV_VIEW (w->dkh, kvh0 * w->Lk * D, n, nk, D) : NULL;
  GvTensor *dv = w->dvh ? GV_VIEW (w->dvh, kvh0 * w->Lk * D, n, nk, D) : NULL;
  GvTensor *s = GV_VIEW (w->s, 0, n, nq, nk), *dp = GV_VIEW (w->dp, 0, n, nq, nk);

  GvMatmulArgs nt = { .trans_b = TRUE, .alpha = w->scale };
  gv_op_matmul (cmd, s, q, k, &nt);
  nt.alpha = 1;
  gv_op_matmul (cmd, dp, dO, v, &nt);

  GvAttentionBackParams p = {
    .lq = (guint32) w->Lq, .i0 = (guint32) i0, .nq = (guint32) nq, .nk = (guint32) nk,
    .bh0 = (guint32) bh0, .causal = w->causal, .scale = w->scale,
  };
  GvBinding bind[6] = {
    gv_tensor_bind (s, FALSE), gv_tensor_bind (dp, FALSE),
    gv_tensor_bind (w->lse, FALSE), gv_tensor_bind (w->delta, FALSE),
    gv_tensor_bind (s, TRUE), gv_tensor_bind (dp, TRUE),
  };
  /* four keys an invocation where the rows are whole texels */
  gint64 vec = nk % 4 == 0 && gv_op_aligned16 (s) && gv_op_aligned16 (dp) ? 4 : 1;
  GvKernel *scores = vec == 4 ? w->scores_vec4 : w->scores_f32;
  /* a group per 64 texels of a row; rows on y, pairs on z, at most 65535 groups of each */
  for (gint64 g0 = 0; g0 < n; g0 += MAX_GROUPS)
    for (gint64 t0 = 0; t0 < nq; t0 += MAX_GROUPS) {
      p.g0 = (guint32) g0;
      p.t0 = (guint32) t0;
      gv_cmd_dispatch (cmd, scores, bind, &p, (guint) ((nk / vec + GROUP - 1) / GROUP),
          (guint) MIN (MAX_GROUPS, nq - t0), (guint) MIN (MAX_GROUPS, n - g0));
    }

  GvMatmulArgs plain = { 0 };
  if (dq)
    gv_op_matmul (cmd, dq, dp, k, &plain);
  GvMatmulArgs acc_t = { .trans_a = TRUE };
  if (dk) {
    acc_t.residual = dk;
    gv_op_matmul (cmd, dk, dp, q, &acc_t);
  }
  if (dv) {
    acc_t.residual = dv;
    gv_op_matmul (cmd, dv, s, dO, &acc_t);
  }

  GvTensor *all[] = { q, dO, dq, k, v, dk, dv, s, dp };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    if (all[i])
      gv_tensor_unref (all[i]);
}

void
gv_op_attention_backward (GvCmd *cmd, GvTensor *dq, GvTensor *dk, GvTensor *dv,
    GvTensor *dout, GvTensor *q, GvTensor *k, GvTensor *v, GvTensor *out, GvTensor *lse,
    const GvAttentionArgs *args, gboolean accumulate)
{
  GvTensor *ins[6] = { dout, q, k, v, out, lse };
  GvTensor *grads[3] = { dq, dk, dv };
  if (!gv_tensors_ready (cmd, "attention backward", 6, ins) ||
      !gv_op_check_f32 (cmd, "attention backward", 6, ins))
    return;
  for (guint i = 0; i < 3; i++) {
    if (grads[i] && (!gv_tensors_ready (cmd, "attention backward", 1, &grads[i]) ||
            !gv_op_check_f32 (cmd, "attention backward", 1, &grads[i])))
      return;
  }
  GvTensor *all[9] = { dout, q, k, v, out, lse, dq, dk, dv };
  gint H = args->heads;
  gboolean ok = q->ndim == 3 && k->ndim == 3 && gv_tensor_same_shape (k, v) &&
      gv_tensor_same_shape (q, out) && gv_tensor_same_shape (q, dout) &&
      k->shape[2] == q->shape[2] && k->shape[0] >= 1 && q->shape[0] % k->shape[0] == 0 &&
      (!dq || gv_tensor_same_shape (dq, q)) && (!dk || gv_tensor_same_shape (dk, k)) &&
      (!dv || gv_tensor_same_shape (dv, v)) && H >= 1 && q->shape[2] % H == 0 &&
      lse->ndim == 3 && lse->shape[0] == q->shape[0] && lse->shape[1] == H &&
      lse->shape[2] == q->shape[1];
  if (!ok) {
    gv_op_fail_shapes (cmd, "attention backward", "expected dout, q, out [B, Lq, C], k, v "
        "[Bk, Lk, C] with Bk dividing B, lse [B, heads, Lq], gradients shaped as their inputs "
        "(tensors: dout, q, k, v, out, lse, dq, dk, dv)", 9, all);
    return;
  }
  if (!dq && !dk && !dv)
    return;
  gint64 B = q->shape[0], Lq = q->shape[1], C = q->shape[2], Bk = k->shape[0];
  gint64 Lk = k->shape[1], D = C / H;
  if (Lk > BLOCK_SCORES) {
    gv_op_fail_shapes (cmd, "attention backward", "too many keys", 9, all);
    return;
  }
  GvKernel *scores_f32 = gv_op_kernel (cmd, GV_KERNEL_ATTENTION_BACK_SCORES_F32, NULL, 0);
  GvKernel *scores_vec4 = gv_op_kernel (cmd, GV_KERNEL_ATTENTION_BACK_SCORES_VEC4, NULL, 0);
  if (scores_f32 == NULL || scores_vec4 == NULL)
    return;

  Backward w = {
    .H = H, .Lq = Lq, .Lk = Lk, .D = D, .R = B / Bk, .causal = args->causal,
    .scale = args->scale != 0 ? args->scale : (gfloat) (1.0 / sqrt ((gdouble) D)),
    .lse = lse, .scores_f32 = scores_f32, .scores_vec4 = scores_vec4,
  };
  w.qh = heads_first (cmd, q, H);
  w.kh = heads_first (cmd, k, H);
  w.vh = heads_first (cmd, v, H);
  w.doh = heads_first (cmd, dout, H);
  w.delta = GV_TENSOR (cmd, B, H, Lq);
  delta_rows (cmd, w.delta, dout, out, H);
  /* dS is needed for dk and dq alike; dk and dv are sums over blocks */
  w.dqh = dq ? GV_TENSOR (cmd, B, H, Lq, D) : NULL;
  w.dkh = dk ? GV_TENSOR (cmd, Bk, H, Lk, D) : NULL;
  w.dvh = dv ? GV_TENSOR (cmd, Bk, H, Lk, D) : NULL;
  if (w.dkh)
    gv_tensor_record_fill (cmd, w.dkh, 0);
  if (w.dvh)
    gv_tensor_record_fill (cmd, w.dvh, 0);

  /* whole rows of several (batch, head) pairs per block when they fit, else blocks of rows of
   * one pair; pairs in one block share no key/value pair unless R = 1 (consecutive otherwise) */
  gint64 nq = MIN (Lq, MAX (1, BLOCK_SCORES / Lk));
  gint64 per = nq == Lq ? MAX (1, BLOCK_SCORES / (Lq * Lk)) : 1;
  if (w.R > 1)
    per = MIN (per, H);
  gint64 pairs = MIN (per, B * H);
  w.s = GV_TENSOR (cmd, pairs * nq * Lk);
  w.dp = GV_TENSOR (cmd, pairs * nq * Lk);

  for (gint64 bh0 = 0; bh0 < B * H && !gv_cmd_failed (cmd);) {
    gint64 n = MIN (per, B * H - bh0);
    if (w.R > 1)
      n = MIN (n, H - bh0 % H);    /* stay in one query batch */
    for (gint64 i0 = 0; i0 < Lq; i0 += nq)
      block (cmd, &w, bh0, n, i0, MIN (nq, Lq - i0));
    bh0 += n;
  }

  if (dq)
    heads_back (cmd, dq, w.dqh, accumulate);
  if (dk)
    heads_back (cmd, dk, w.dkh, accumulate);
  if (dv)
    heads_back (cmd, dv, w.dvh, accumulate);

  GvTensor *scratch[] = { w.qh, w.kh, w.vh, w.doh, w.delta, w.dqh, w.dkh, w.dvh, w.s, w.dp };
  for (guint i = 0; i < G_N_ELEMENTS (scratch); i++)
    if (scratch[i])
      gv_tensor_unref (scratch[i]);
}

void
gv_op_gather_backward (GvCmd *cmd, GvTensor *dsrc, GvTensor *dout, GvTensor *index,
    gboolean accumulate)
{
  GvTensor *ts[3] = { dsrc, dout, index };
  GvGatherShape sh;    /* the shapes of the forward, dsrc for src and dout for out */
  if (!gv_op_gather_check (cmd, "gather backward", dout, dsrc, index, &sh))
    return;
  gint64 planes = sh.b * sh.c, len = sh.l, d = sh.d, m = sh.m, ch = sh.c;
  GvKernel *k = gv_op_kernel (cmd, GV_KERNEL_GATHER_BACK, NULL, 0);
  if (k == NULL)
    return;
  gint64 max = MIN (gv_op_max_elements (cmd, GV_BIND_BUFFER, 4), G_MAXINT32);
  gint64 plane = MAX (len, m) * d;
  if (plane > max) {
    gv_op_fail_shapes (cmd, "gather backward", "a plane is larger than a binding may be", 3,
        ts);
    return;
  }
  gint64 per = max / plane;
  GvGatherBackParams p = {
    .len = (guint32) len, .d = (guint32) d, .m = (guint32) m, .ch = (guint32) ch,
    .accumulate = accumulate ? 1 : 0,
  };
  for (gint64 first = 0; first < planes; first += per) {
    gint64 n = MIN (per, planes - first);
    GvBinding bind[3] = {
      gv_tensor_bind_range (dout, first * m * d, n * m * d, FALSE),
      gv_tensor_bind (index, FALSE),
      gv_tensor_bind_range (dsrc, first * len * d, n * len * d, TRUE),
    };
    p.first_plane = (guint32) first;
    p.count = (guint32) (n * len * d);
    guint gx, gy;
    gv_op_grid_1d (cmd, n * len * d, GROUP, &gx, &gy);
    gv_cmd_dispatch (cmd, k, bind, &p, gx, gy, 1);
  }
}

void
gv_op_permute_backward (GvCmd *cmd, GvTensor *din, GvTensor *dout, const gint *perm,
    gboolean accumulate)
{
  GvTensor *ts[2] = { din, dout };
  if (!gv_tensors_ready (cmd, "permute backward", 2, ts))
    return;
  gint nd = din->ndim, inv[GV_MAX_DIMS];
  guint seen = 0;
  gboolean ok = dout->ndim == nd;
  for (gint d = 0; ok && d < nd; d++) {
    ok = perm[d] >= 0 && perm[d] < nd && !(seen & (1u << perm[d]));
    if (ok) {
      seen |= 1u << perm[d];
      inv[perm[d]] = d;
    }
  }
  if (!ok) {
    gv_op_fail_shapes (cmd, "permute backward", "perm is not a permutation of din's dims", 2,
        ts);
    return;
  }
  if (!accumulate) {
    gv_op_permute (cmd, din, dout, inv);
    return;
  }
  GvTensor *t = gv_tensor_alloc (cmd, nd, din->shape);
  gv_op_permute (cmd, t, dout, inv);
  gv_op_add (cmd, din, din, t);
  gv_tensor_unref (t);
}
