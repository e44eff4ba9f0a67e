/* Random inputs of the benchmarks that run the networks: one seeded normal tensor, uploaded at
 * once (gv_random_normal_tensor on a command of its own). */
#pragma once

#include "nn/gv-tensor.h"

G_BEGIN_DECLS

/* (transfer full): a tensor of @shape on @dev holding gv_random_normal () numbers from @seed;
 * exits the program with a message when the device fails. */
GvTensor *gv_bench_random_tensor (GvDevice *dev, gint ndim, const gint64 *shape, guint64 seed);

G_END_DECLS
