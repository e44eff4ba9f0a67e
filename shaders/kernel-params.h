/* Push-constant parameters and op codes of the compute kernels: one definition, read by the
 * shaders (GLSL, through GL_GOOGLE_include_directive) and by the ops in gst/nn (C).
 *
 * Every field is a 32-bit scalar or an array of them, so that the C layout and the std430
 * layout of a GLSL push-constant block are the same (no padding on either side; the static
 * asserts at the end hold the C side to it). A shader declares its block with
 * GV_PUSH (GvXxxParams) (common.glsl): the per-binding offsets that gv_cmd_dispatch fills
 * (GV_PUSH_HEADER_SIZE bytes), then one of these, read as p.field. The host passes the
 * struct to gv_cmd_dispatch; the kernel registry takes its size from here. */
#ifndef GV_KERNEL_PARAMS_H
#define GV_KERNEL_PARAMS_H

#ifdef VULKAN   /* glslang, compiling for Vulkan */
#define guint32 uint
#define gfloat float
#define GV_PARAMS(T) struct T
#else
#include <glib.h>
#define GV_PARAMS(T) typedef struct T T; struct T
#endif

/* eltwise.comp: out = f (a, b, m) with numpy broadcasting */
GV_PARAMS (GvEltwiseParams) {
  guint32 shape[5];           /* of out, outermost first */
  guint32 sa[5], sb[5], sm[5];   /* element strides of a, b, m (0 where broadcast) */
  gfloat alpha, beta;
  guint32 first;              /* first element of out this dispatch handles */
  guint32 count;              /* elements this dispatch handles */
};

/* eltwise.comp: OP, specialization constant 0 */
#define GV_ELTWISE_ADD 0          /* alpha a + beta b */
#define GV_ELTWISE_MUL 1          /* alpha a b */
#define GV_ELTWISE_BLEND 2        /* m a + (1 - m) b */
#define GV_ELTWISE_AFFINE 3       /* alpha a + beta */
#define GV_ELTWISE_SILU 4
#define GV_ELTWISE_GELU 5
#define GV_ELTWISE_CLAMP 6        /* min (max (a, alpha), beta) */
#define GV_ELTWISE_QUICK_GELU 7

/* gemm.glsl: ACT, the activation fused into matmul and conv2d (the values of GvActivation,
 * asserted in gv-op-matmul.c) */
#define GV_GEMM_ACT_NONE 0
#define GV_GEMM_ACT_SILU 1
#define GV_GEMM_ACT_GELU 2

/* matmul_cpu.comp, matmul_gpu.comp */
GV_PARAMS (GvMatmulParams) {
  guint32 m, n, k;            /* of this dispatch */
  guint32 lda;                /* elements between rows of A's storage (K, or the whole M when
                               * transposed) */
  guint32 a_m0;               /* column of transposed A's storage that holds row 0 of this
                               * dispatch */
  guint32 a_batch, b_batch, o_batch;   /* elements between batch entries (0: shared) */
  gfloat alpha;
};

/* conv2d_cpu.comp, conv2d_cpu_row.comp, conv2d_gpu.comp */
GV_PARAMS (GvConv2dParams) {
  guint32 h, w, c;            /* input; c: channels this dispatch reduces over */
  guint32 ho, wo, co;         /* output; co: channels this dispatch writes */
  guint32 stride, pad_top, pad_left;
  guint32 in_img;             /* elements between images of the input */
  guint32 w_row;              /* elements between output channels of the weights (all input
                               * channels x taps) */
  guint32 o_img;              /* elements between images of out, residual and partial sums */
  guint32 add_row;            /* elements between images of add_per_channel */
};

/* attention.glsl (attention_cpu.comp, attention_gpu.comp) */
GV_PARAMS (GvAttentionParams) {
  guint32 lq, lk;             /* queries and keys per batch */
  guint32 cw;                 /* row length in texels (C / texel width) */
  guint32 d;                  /* head size in floats */
  guint32 heads;
  guint32 ratio;              /* B / Bk */
  guint32 b0, nb;             /* first query batch of this dispatch, batches in it */
  guint32 i0, ni;             /* first query row (in each batch) of this dispatch, rows */
  guint32 nqb;                /* query blocks per (batch, head) */
  guint32 ndc;                /* chunks of the head dimension (separate tasks) */
  gfloat scale;               /* softmax scale times log2 (e): scores are in base 2 */
  guint32 causal;
  guint32 tasks;              /* nqb * ndc * heads * nb */
};

/* match_reduce.comp */
GV_PARAMS (GvMatchReduceParams) {
  guint32 c, s;               /* channels, positions per frame */
  guint32 count;              /* invocations of this dispatch: frames * s */
  guint32 accumulate;
  gfloat eps;                 /* the norm clamp (GV_MATCH_INV_NORMS) */
};

/* match_reduce.comp: OP, specialization constant 0 */
#define GV_MATCH_INV_NORMS 0      /* inverse norms for the nearest-neighbour search */
#define GV_MATCH_NOISE_DIFF 1     /* mean over channels of |a - b| */

/* nn_search.glsl (nn_search_cpu.comp, nn_search_gpu.comp) */
GV_PARAMS (GvNnSearchParams) {
  guint32 c, s, h, w;         /* channels; positions per frame; frame height and width */
  guint32 radius;             /* 0: the whole frame */
  guint32 nblocks;            /* position blocks per frame */
  guint32 tasks;              /* nblocks * frames of this dispatch */
};

/* group_norm.comp, STAGE 1: chunk statistics */
GV_PARAMS (GvGroupNormPartialParams) {
  guint32 seg_len;            /* texels per segment */
  guint32 chunk;              /* texels per chunk */
  guint32 cps;                /* chunks per segment */
  guint32 first_seg;          /* segment at which binding X starts */
  guint32 first_chunk;        /* chunk this dispatch starts at (global) */
  guint32 count;              /* chunks in this dispatch */
};

/* group_norm.comp, STAGE 2: merge per statistic */
GV_PARAMS (GvGroupNormFinalParams) {
  guint32 n_stats;            /* (N / F) * G */
  guint32 groups;             /* G */
  guint32 frames;             /* F */
  guint32 cps;                /* chunks per segment */
  guint32 cpg;                /* channels per group */
  gfloat eps;
};

/* group_norm.comp, STAGE 3: normalisation */
GV_PARAMS (GvGroupNormApplyParams) {
  guint32 plane_len;          /* texels per plane (S / VEC) */
  guint32 first_plane;        /* plane (image * C + channel) at which bindings X and Out start */
  guint32 planes;             /* planes in this dispatch */
};

/* group_norm.comp, STAGE 3: texels each invocation normalises */
#define GV_GROUP_NORM_APPLY_TEXELS_PER_INVOCATION 4u

/* rows.comp: layer norm and softmax */
GV_PARAMS (GvRowsParams) {
  guint32 len;                /* texels per row */
  guint32 rows;               /* rows in this dispatch */
  gfloat eps;
};

/* rows.comp: MODE, specialization constant 1 */
#define GV_ROWS_LAYER_NORM 0
#define GV_ROWS_SOFTMAX 1

/* geglu.comp */
GV_PARAMS (GvGegluParams) {
  guint32 half_len;           /* texels of one half row (N / VEC) */
  guint32 rows;               /* rows in this dispatch */
};

/* concat.comp */
GV_PARAMS (GvConcatParams) {
  guint32 len_a, len_b;       /* texels of a's and b's part of one row */
  guint32 rows;
};

/* permute.comp */
GV_PARAMS (GvPermuteParams) {
  guint32 ext[5];             /* grid extents: rows over dims 0..3 (the tiled dim counted in
                               * 4s), dim 4 the row, in texels or tiles */
  guint32 ist[5];             /* input element strides of the output dims (x4 on the tiled
                               * dim) */
  guint32 ost[4];             /* output element strides of dims 0..3, relative to the binding
                               * (x4 idem) */
  guint32 rows;               /* ext[0] * ext[1] * ext[2] * ext[3] */
  guint32 tile_ost;           /* TILE: output stride of one step along the tiled dim */
  guint32 in_first;           /* input element at which this dispatch's first output row
                               * starts */
  guint32 lanes_log2;         /* invocations per row block: 2^lanes_log2 */
};

/* permute.comp: output rows each invocation walks */
#define GV_PERMUTE_ROWS_PER_INVOCATION 8u

/* resize.comp */
GV_PARAMS (GvResizeParams) {
  guint32 h, w;               /* input plane */
  guint32 ho, wo;             /* output plane */
  guint32 rows;               /* output rows in this dispatch (planes * ho) */
};

/* resize.comp: output rows each invocation walks */
#define GV_RESIZE_ROWS_PER_INVOCATION 16u

/* gather.comp */
GV_PARAMS (GvGatherParams) {
  guint32 len;                /* L: rows of a source plane */
  guint32 d;                  /* texels per row */
  guint32 m;                  /* M: indices per batch */
  guint32 ch;                 /* C: planes per batch */
  guint32 first_plane;        /* plane (b * C + c) at which bindings Src and Out start */
  guint32 planes;             /* planes in this dispatch (grid z) */
  guint32 m_first;            /* first index row of this dispatch, and their count: Out
                               * starts there */
  guint32 m_count;
  guint32 flattened;          /* 1: (row, texel) flattened on grid x/y, for short rows; 0:
                               * texels on x, rows on y (no division) */
};

/* gather.comp: texels each invocation of the long-row gather copies */
#define GV_GATHER_TEXELS_PER_INVOCATION 8u

/* timestep_embedding.comp */
GV_PARAMS (GvTimestepParams) {
  guint32 dim;
  guint32 half_dim;
  guint32 batch;
};

/* --- backward ops of linear and conv2d (gv-op-matmul-back.c, gv-op-conv-back.c) --- */
/* sum_strided.comp: out[i] = sum over r1 < len1, r0 < len0 of in[i si + r1 s1 + r0 s0]; or
 * in parts of the inner reduction: out[q count + i] = the same sum over r0 in
 * [q chunk, (q + 1) chunk), q < parts (few outputs of long sums: more invocations) */
GV_PARAMS (GvSumStridedParams) {
  guint32 count;              /* outputs of this dispatch */
  guint32 si;                 /* elements between the inputs of consecutive outputs */
  guint32 len0, s0;           /* inner reduction: terms, element stride */
  guint32 len1, s1;           /* outer reduction: terms, element stride */
  guint32 accumulate;         /* add to out instead of overwriting it */
  guint32 parts, chunk;       /* 1 and len0: whole sums */
};

/* im2col.comp, col2im.comp: one image of a conv2d */
GV_PARAMS (GvIm2colParams) {
  guint32 c, h, w;            /* input channels, height, width */
  guint32 kh, kw, ho, wo;     /* kernel and output size */
  guint32 stride, pad_top, pad_left;
  guint32 accumulate;         /* col2im: add to dx instead of overwriting it */
  guint32 c0, channels;       /* im2col: the input channels whose rows this dispatch writes */
};

/* conv2d_back_flip.comp: [co, c, kh, kw] -> [c, co, kh, kw], taps reversed */
GV_PARAMS (GvConvFlipParams) {
  guint32 c, co, kh, kw;
};

/* --- attention backward family (gv-op-attention-back.c) --- */

/* attention_back.comp: DELTA=1 computes delta [B, H, Lq] = rowsum (dout * out) per head for
 * the rows [r0, r0 + count / heads) of the flattened [B * Lq]; DELTA=0 turns a block of scores
 * (count elements, [groups, nq, nk], group g being (batch * heads + head) bh0 + g, rows from
 * query i0) into P = exp (s - lse) and dS = scale P (dP - delta) in place */
GV_PARAMS (GvAttentionBackParams) {
  guint32 lq;                 /* query rows per (batch, head) */
  guint32 heads, d;           /* DELTA: heads and head size */
  guint32 r0;                 /* DELTA: first row of this dispatch */
  guint32 i0, nq, nk;         /* scores: first query row, rows and keys of the block */
  guint32 bh0;                /* scores: first (batch * heads + head) of the block */
  guint32 causal;
  gfloat scale;
  guint32 count;              /* DELTA: (row, head) pairs of this dispatch */
  guint32 t0, g0;             /* scores: first row and pair of this dispatch in the block */
};

/* gather_back.comp: dsrc[p, l, :] (+)= sum over m with index[b, m] == l of dout[p, m, :], in
 * the order of m (p = b * C + c; indices clamped into [0, L) as in the forward) */
GV_PARAMS (GvGatherBackParams) {
  guint32 len, d, m, ch;      /* as GvGatherParams (d in floats) */
  guint32 first_plane;        /* plane at which the Dout and Dsrc bindings start */
  guint32 accumulate;         /* 1: add to dsrc, 0: overwrite it */
  guint32 count;              /* elements of dsrc this dispatch writes */
};

/* --- backward of normalisations, element-wise ops and resampling; loss and optimiser --- */
/* eltwise_back.comp: dx (+)= dy act'(x) */
GV_PARAMS (GvEltwiseBackParams) {
  guint32 count;              /* elements in this dispatch */
};

/* eltwise_back.comp: OP, specialization constant 0 */
#define GV_ELTWISE_BACK_IDENTITY 0    /* dx (+)= dy */
#define GV_ELTWISE_BACK_SILU 1
#define GV_ELTWISE_BACK_GELU 2
#define GV_ELTWISE_BACK_QUICK_GELU 3

/* concat_back.comp: dpart[r, i] (+)= dy[r, start + i] */
GV_PARAMS (GvSliceParams) {
  guint32 row_len;            /* elements of a row of dy */
  guint32 start;              /* where the part starts in a row */
  guint32 len;                /* elements of the part in a row */
  guint32 rows;
};

/* repeat_back.comp: dx[c, i] (+)= sum over f of dy[c * frames + f, i] */
GV_PARAMS (GvRepeatBackParams) {
  guint32 len;                /* elements of a row */
  guint32 frames;             /* rows of dy per row of dx */
  guint32 count;              /* elements of dx */
};

/* group_norm_back.comp, STAGES 1 and 3: per plane */
GV_PARAMS (GvGroupNormBackParams) {
  guint32 plane_len;          /* elements per plane (S) */
  guint32 first_plane;        /* plane at which bindings X, Dy and Dx start */
  guint32 planes;             /* planes in this dispatch */
  guint32 channels;           /* C */
};

/* group_norm_back.comp, STAGES 2 and 4: per statistic, per channel */
GV_PARAMS (GvGroupNormBackFinalParams) {
  guint32 n_stats;            /* (N / F) * G */
  guint32 groups, frames, cpg;
  guint32 plane_len;          /* S */
  guint32 n_img;              /* N */
};

/* optim.comp, STAGE 1: partial sums of squares */
GV_PARAMS (GvOptimPartialParams) {
  guint32 count;              /* elements in this dispatch */
  guint32 chunk;              /* elements per partial */
  guint32 first_part;         /* where this dispatch's partials start */
  gfloat scale;               /* GV_OPTIM_MSE: the gradient factor (2 / n) */
};

/* optim.comp, STAGE 2: the sum of the partials */
GV_PARAMS (GvOptimFinalParams) {
  guint32 n_parts;
  gfloat inv_count;           /* GV_OPTIM_MEAN: 1 / n */
  gfloat max_norm;            /* GV_OPTIM_CLIP */
};

/* optim.comp, STAGE 3: one AdamW step (factors computed on the host in double) */
GV_PARAMS (GvAdamwParams) {
  guint32 count;
  gfloat decay;               /* 1 - lr * weight_decay */
  gfloat beta2, eps;
  gfloat one_minus_beta1;     /* 1 - beta1 and 1 - beta2 rounded once from double, as torch */
  gfloat one_minus_beta2;
  gfloat step_size;           /* lr / (1 - beta1^step) */
  gfloat bias2_sqrt;          /* sqrt (1 - beta2^step) */
};

/* optim.comp: OP (specialization constant 0) and MODE (2) */
#define GV_OPTIM_SUM_SQUARES 0
#define GV_OPTIM_MSE 1
#define GV_OPTIM_MEAN 0
#define GV_OPTIM_CLIP 1

/* conv2d_back_dw_cpu.comp, conv2d_back_dw_gpu.comp: the conv2d weight gradient as an implicit
 * GEMM (gv-op-conv-back.c) */
GV_PARAMS (GvConvBackWeightParams) {
  guint32 h, w, c;            /* input */
  guint32 ho, wo, co;         /* dy */
  guint32 pad_top;            /* (left padding and stride are specialization constants) */
  guint32 in_img, dy_img;     /* elements between images of x and of dy */
  guint32 images;             /* images this dispatch reduces over */
  guint32 per_part;           /* reduction steps per part (grid z): pixel groups of 8 (cpu),
                               * pixels (gpu) */
  guint32 out_part;           /* elements between the parts' sums (Co * C * kh * kw) */
};

#ifndef VULKAN
/* 4-byte fields only (no padding), and at most 96 bytes: with the 32-byte offset header, the
 * 128 bytes of push constants every Vulkan device has */
#define GV_PARAMS_WORDS(T, n) \
  G_STATIC_ASSERT (sizeof (T) == (n) * 4 && (n) <= 24)
GV_PARAMS_WORDS (GvEltwiseParams, 24);
GV_PARAMS_WORDS (GvMatmulParams, 9);
GV_PARAMS_WORDS (GvConv2dParams, 13);
GV_PARAMS_WORDS (GvAttentionParams, 15);
GV_PARAMS_WORDS (GvMatchReduceParams, 5);
GV_PARAMS_WORDS (GvNnSearchParams, 7);
GV_PARAMS_WORDS (GvGroupNormPartialParams, 6);
GV_PARAMS_WORDS (GvGroupNormFinalParams, 6);
GV_PARAMS_WORDS (GvGroupNormApplyParams, 3);
GV_PARAMS_WORDS (GvRowsParams, 3);
GV_PARAMS_WORDS (GvGegluParams, 2);
GV_PARAMS_WORDS (GvConcatParams, 3);
GV_PARAMS_WORDS (GvPermuteParams, 18);
GV_PARAMS_WORDS (GvResizeParams, 5);
GV_PARAMS_WORDS (GvGatherParams, 9);
GV_PARAMS_WORDS (GvTimestepParams, 3);
GV_PARAMS_WORDS (GvSumStridedParams, 9);
GV_PARAMS_WORDS (GvIm2colParams, 13);
GV_PARAMS_WORDS (GvConvFlipParams, 4);
GV_PARAMS_WORDS (GvAttentionBackParams, 13);
GV_PARAMS_WORDS (GvGatherBackParams, 7);
GV_PARAMS_WORDS (GvEltwiseBackParams, 1);
GV_PARAMS_WORDS (GvSliceParams, 4);
GV_PARAMS_WORDS (GvRepeatBackParams, 3);
GV_PARAMS_WORDS (GvGroupNormBackParams, 4);
GV_PARAMS_WORDS (GvGroupNormBackFinalParams, 6);
GV_PARAMS_WORDS (GvOptimPartialParams, 4);
GV_PARAMS_WORDS (GvOptimFinalParams, 3);
GV_PARAMS_WORDS (GvAdamwParams, 8);
GV_PARAMS_WORDS (GvConvBackWeightParams, 12);
#undef GV_PARAMS_WORDS
#endif

#undef GV_PARAMS
#ifdef VULKAN
#undef guint32
#undef gfloat
#endif

#endif
