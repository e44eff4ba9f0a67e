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

/* Calls @tap (when not NULL) on @t as "hidden_states.<i>". */
void gv_encoder_tap_layer (GvTapFunc tap, gpointer data, GvCmd *cmd, gint i, GvTensor *t);

/* Rows @rows of the 2-D [R, D] @table: [count, D]. */
GvTensor *gv_encoder_gather_rows (GvCmd *cmd, GvTensor *table, const gint32 *rows,
    gint64 count);

G_END_DECLS
