/* The transformer encoder that the CLIP text and image encoders share (CLIPEncoder: pre-LN
 * layers of self-attention and MLP), and two small helpers of theirs. */
#pragma once

#include "models/gv-config.h"
#include "models/gv-layers.h"

G_BEGIN_DECLS

/* one layer (CLIPEncoderLayer), private */
typedef struct _GvEncoderLayer GvEncoderLayer;

typedef struct {
  gint n_layers, heads;
  GvEncoderLayer *layers;
  GvHiddenAct act;
} GvEncoderStack;

void gv_encoder_stack_load (GvEncoderStack *e, GvLoader *ld, gint layers, gint heads,
    gint hidden, gint inner, gfloat eps, GvHiddenAct act);
void gv_encoder_stack_clear (GvEncoderStack *e);
/* Consumes @h; taps "hidden_states.<i>" after layer i (1-based). */
GvTensor *gv_encoder_stack_forward (GvEncoderStack *e, GvCmd *cmd, GvTensor *h, gboolean causal,
    GvTapFunc tap, gpointer tap_data);

/* Training. The forward as gv_encoder_stack_forward () (without taps; @h is borrowed) into
 * *@out, keeping what the backward needs in the returned tape: each layer's input, and with
 * @recompute FALSE also its inside (about 8 activations of the layer's input size, 2 of them
 * 4x: the MLP); with @recompute TRUE the layer is recomputed from its input during the
 * backward (per-layer gradient checkpointing: one more forward, a fraction of the memory). */
typedef struct _GvEncoderTape GvEncoderTape;
GvEncoderTape *gv_encoder_stack_forward_train (GvEncoderStack *e, GvCmd *cmd, GvTensor *h,
    gboolean causal, gboolean recompute, GvTensor **out);
/* The backward from @dout (the gradient of the stack's output): returns the gradient of its
 * input (transfer full), adds the weight gradients where @g says, and frees @tape. */
GvTensor *gv_encoder_stack_backward (GvEncoderStack *e, GvCmd *cmd, const GvGrads *g,
    GvTensor *dout, GvEncoderTape *tape);
/* @fn on every parameter as "<prefix>encoder.layers.<i>.<transformers name>". */
void gv_encoder_stack_foreach_param (GvEncoderStack *e, const gchar *prefix, GvParamFunc fn,
    gpointer data);
/* @fn on "<prefix><name>.weight" and (when there is one) "<prefix><name>.bias". */
void gv_linear_foreach_param (GvLinear *l, const gchar *prefix, const gchar *name,
    GvParamFunc fn, gpointer data);
void gv_layer_norm_foreach_param (GvLayerNorm *n, const gchar *prefix, const gchar *name,
    GvParamFunc fn, gpointer data);

/* Calls @tap (when not NULL) on @t as "hidden_states.<i>". */
void gv_encoder_tap_layer (GvTapFunc tap, gpointer data, GvCmd *cmd, gint i, GvTensor *t);

/* Rows @rows of the 2-D [R, D] @table: [count, D]. */
GvTensor *gv_encoder_gather_rows (GvCmd *cmd, GvTensor *table, const gint32 *rows,
    gint64 count);

/* The backward of gv_encoder_gather_rows (): dtable [R, D] (+)= the rows of @drows
 * [count, D] scattered to @rows (rows read twice sum their gradients, in a fixed order). */
void gv_encoder_gather_rows_backward (GvCmd *cmd, GvTensor *dtable, GvTensor *drows,
    const gint32 *rows, gint64 count, gboolean accumulate);

G_END_DECLS
