/* Helpers for the GStreamer-free tests: device, random data, comparisons. */
#pragma once

#include "nn/gv-ops.h"

G_BEGIN_DECLS

/* The device the tests run on (shared; GENVIDEO_DEVICE picks another). Aborts the test
 * program with a clear message when there is none. */
GvDevice *gv_test_device (void);

/* Replaces the test device with a newly opened one, which reads the environment again (for
 * settings read when a device opens, such as GENVIDEO_GEMM_MAX_BINDING). */
void gv_test_reopen_device (void);

/* Uniform random floats in [lo, hi) from a fixed seed (never all zeros). */
gfloat *gv_test_random (gsize n, guint32 seed, gfloat lo, gfloat hi);

/* ||ours - ref|| / ||ref|| with double accumulation; +inf when ours has a NaN or Inf. */
gdouble gv_test_rel_l2 (const gfloat *ours, const gfloat *ref, gsize n);

/* Asserts rel_l2 < tol and prints it (g_test_message). */
#define gv_assert_close(ours, ref, n, tol) \
  gv_test_assert_close_impl (__FILE__, __LINE__, #ours, (ours), (ref), (n), (tol))
void gv_test_assert_close_impl (const gchar *file, gint line, const gchar *what,
    const gfloat *ours, const gfloat *ref, gsize n, gdouble tol);

/* Tensors from and to host data (synchronous). */
GvTensor *gv_test_tensor (gint ndim, const gint64 *shape, const gfloat *data);
#define GV_TEST_TENSOR(data, ...) \
  gv_test_tensor (GV_NDIMS (__VA_ARGS__), (const gint64[]) { __VA_ARGS__ }, (data))
gfloat *gv_test_download (GvTensor *t);

/* Runs @cmd to completion, failing the test on error. */
void gv_test_finish (GvCmd *cmd);

G_END_DECLS
