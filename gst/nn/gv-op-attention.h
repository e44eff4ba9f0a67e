/* Multi-head scaled dot-product attention that never materialises the score matrix
 * (flash-attention style online softmax): memory is proportional to the sequence lengths. */
#pragma once

#include "nn/gv-tensor.h"

G_BEGIN_DECLS

typedef struct {
  gint heads;          /* H; the head size is D = channels / H */
  gfloat scale;        /* 0 means 1 / sqrt (D) */
  gboolean causal;     /* query i sees keys j <= i (CLIP text) */
} GvAttentionArgs;

/* q [B, Lq, H*D], k and v [Bk, Lk, H*D], out [B, Lq, H*D]; Bk divides B and query batch b uses
 * key/value batch b / (B / Bk) (so text embeddings are shared by the frames of a clip without
 * copies). out[b, i, h] = sum_j softmax_j (scale * q[b,i,h] . k[b',j,h]) v[b',j,h].
 * Any D up to 512 works (the VAE's single-head attention has D = 512). */
void gv_op_attention (GvCmd *cmd, GvTensor *out, GvTensor *q, GvTensor *k, GvTensor *v,
    const GvAttentionArgs *args);

/* The same for training: also writes lse [B, H, Lq], the natural log-sum-exp of each row's
 * scaled scores (lse[b, h, i] = log sum_j exp (scale q[b,i,h] . k[b',j,h]) over the keys the
 * row sees), which gv_op_attention_backward() needs. A registry variant of the kernels, so
 * gv_op_attention() itself does no extra work. */
void gv_op_attention_lse (GvCmd *cmd, GvTensor *out, GvTensor *lse, GvTensor *q, GvTensor *k,
    GvTensor *v, const GvAttentionArgs *args);

G_END_DECLS
