/* The process's CPU time, all threads (lavapipe's included): on a machine shared with other
 * work it measures a piece of work better than the wall clock (benchmarks, training logs). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gdouble gv_cpu_seconds (void);

G_END_DECLS
