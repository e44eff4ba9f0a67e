/* Backward of the ops that move data the UNet trains through (gv-op-layout.h): the skip
 * concatenation, nearest-neighbour upsampling, and the repeat of the time/class embedding for
 * the frames of a clip.
 *
 * Gradients: with @accumulate TRUE an op adds into its gradient tensors (a tensor used twice
 * sums its gradients, as the references of tests/ref/gv-ref-back.h do); with FALSE it
 * overwrites them. Sums run in a fixed order (no atomics). */
#pragma once

#include "nn/gv-tensor.h"

G_BEGIN_DECLS

/* The backward of gv_op_concat (cmd, y, a, b, dim): dy split back along @dim into da and db
 * (copies; either may be NULL, the other then gives the split). For dim 0 (or any split whose
 * leading sizes are all 1) a view of dy is the gradient without any copy: GV_VIEW (dy, 0, ...)
 * and GV_VIEW (dy, a->numel, ...). */
void gv_op_concat_backward (GvCmd *cmd, GvTensor *da, GvTensor *db, GvTensor *dy, gint dim,
    gboolean accumulate);

/* The backward of gv_op_resize_nearest (cmd, y, x): dy [..., Ho, Wo] -> dx [..., H, W], every
 * input position the sum of the gradients of the outputs that read it (the 2x2 sum of 2x
 * upsampling; any sizes, as the forward). */
void gv_op_resize_nearest_backward (GvCmd *cmd, GvTensor *dx, GvTensor *dy,
    gboolean accumulate);

/* The backward of repeating each row of x [clips, ...] for the @frames images of its clip
 * (the UNet's time/class embedding, one per clip, as every frame's ResNets read it):
 * dy [clips * frames, ...] -> dx [clips, ...], dx[c] = sum over f of dy[c * frames + f]. */
void gv_op_repeat_frames_backward (GvCmd *cmd, GvTensor *dx, GvTensor *dy, gint frames,
    gboolean accumulate);

G_END_DECLS
