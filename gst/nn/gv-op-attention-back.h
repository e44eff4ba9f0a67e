/* Backward of attention and of the layouts around it: the sparse-causal key/value gather and
 * the permutes of temporal attention. Gradient convention: with @accumulate FALSE an op
 * overwrites its gradient tensors, with TRUE it adds into them (a tensor used twice gets the
 * sum of its gradients). */
#pragma once

#include "nn/gv-op-attention.h"

G_BEGIN_DECLS

/* Gradients of out = attention (q, k, v) (gv_op_attention(), same @args): from dout
 * [B, Lq, H*D], the forward's q, k, v, out and lse (gv_op_attention_lse()) it writes (or adds
 * into) dq [B, Lq, H*D], dk and dv [Bk, Lk, H*D]; any of the three may be NULL (not wanted).
 * With delta_i = dout_i . out_i and P the softmax recomputed from q, k and lse:
 *   dv_j = sum_i P_ij dout_i, dS_ij = P_ij (dout_i . v_j - delta_i),
 *   dq_i = scale sum_j dS_ij k_j, dk_j = scale sum_i dS_ij q_i.
 * When Bk < B, dk and dv of key/value batch b' sum over the query batches that share it, in
 * batch order. The scores are recomputed in blocks of query rows (at most a fixed number of
 * scores per block, on the matmul kernels), so the scratch memory is linear in the sequence
 * lengths (a few copies of q, k, v by head, and two blocks), never Lq x Lk. Deterministic. */
void gv_op_attention_backward (GvCmd *cmd, GvTensor *dq, GvTensor *dk, GvTensor *dv,
    GvTensor *dout, GvTensor *q, GvTensor *k, GvTensor *v, GvTensor *out, GvTensor *lse,
    const GvAttentionArgs *args, gboolean accumulate);

/* Gradient of gv_op_gather (out, src, index) (same shapes): dsrc[b, c, l, :] gets the sum of
 * dout[b, c, m, :] over the m with index[b, m] == l (clamped into [0, L) as the forward does),
 * in the order of m: deterministic. The sparse-causal gather of Tune-A-Video's attn1
 * (gv_sparse_causal_index()) adds each frame's key/value gradient into frames 0 and i-1. */
void gv_op_gather_backward (GvCmd *cmd, GvTensor *dsrc, GvTensor *dout, GvTensor *index,
    gboolean accumulate);

/* Gradient of gv_op_permute (out, in, perm): din = dout permuted back (by the inverse of
 * @perm); din has in's shape. */
void gv_op_permute_backward (GvCmd *cmd, GvTensor *din, GvTensor *dout, const gint *perm,
    gboolean accumulate);

G_END_DECLS
