/* The op library: each op records dispatches on a GvCmd. Ops never block; they check their
 * arguments and fail the GvCmd (sticky error) on a mismatch, so model code can record long
 * sequences and check once at gv_cmd_finish(). Every op has a C reference in tests/ref/. */
#pragma once

#include "nn/gv-op-attention.h"
#include "nn/gv-op-attention-back.h"
#include "nn/gv-op-conv.h"
#include "nn/gv-op-conv-back.h"
#include "nn/gv-op-eltwise.h"
#include "nn/gv-op-layout.h"
#include "nn/gv-op-match.h"
#include "nn/gv-op-matmul.h"
#include "nn/gv-op-matmul-back.h"

#include "nn/gv-op-norm.h"
#include "nn/gv-op-rows.h"
/* backward of normalisations, element-wise ops and resampling; loss and optimiser */
#include "nn/gv-op-eltwise-back.h"
#include "nn/gv-op-norm-back.h"
#include "nn/gv-op-optim.h"
#include "nn/gv-op-resample-back.h"
