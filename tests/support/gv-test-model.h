/* Test helpers on the shipped tiny model: the model itself, through the cache the elements use,
 * and unCLIP class labels of random pictures, for conditions that differ from one another. */
#pragma once

#include "genvideo/gv-denoise.h"

G_BEGIN_DECLS

/* The shipped model (GENVIDEO_DEFAULT_MODEL_DIR) on the test device, a new reference. */
GvModel *gv_test_tiny_model (void);

/* The class labels [1, 2P] of a random @size x @size RGB picture drawn from @seed. */
GvTensor *gv_test_random_labels (GvModel *model, GvCmd *cmd, gint size, guint32 seed);

G_END_DECLS
