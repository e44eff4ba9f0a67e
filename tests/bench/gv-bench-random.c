#include <stdlib.h>

#include "gv-bench-random.h"
#include "models/gv-random.h"

GvTensor *
gv_bench_random_tensor (GvDevice *dev, gint ndim, const gint64 *shape, guint64 seed)
{
  GError *error = NULL;
  GvCmd *cmd = gv_cmd_new (dev);
  GvTensor *t = gv_random_normal_tensor (cmd, ndim, shape, seed);
  if (!gv_cmd_finish (cmd, &error)) {
    g_printerr ("random input tensor: %s\n", error->message);
    exit (1);
  }
  gv_cmd_free (cmd);
  return t;
}
