/* Local throughput check of the norm and data-movement ops (not a test; the official benchmark
 * is gv-bench-ops). Each case records its op @REPEAT times in one GvCmd, after a warm-up; the
 * figure is the median over @RUNS runs, as GB/s of the bytes the op must read and write.
 * On a shared machine wall time follows the load; the process CPU time (all lavapipe threads)
 * much less so: "cpu GB/s" is bytes / (CPU time / 2), the rate on 2 cores of our own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gv-test-util.h"
#include "base/gv-cpu-time.h"

#define REPEAT 10
#define RUNS 5

typedef struct {
  GvTensor *in, *out, *gamma, *beta, *other;
  gint perm[5];
} Args;

typedef enum {
  OP_GROUP_NORM, OP_SILU, OP_LAYER_NORM, OP_SOFTMAX, OP_GEGLU, OP_PERMUTE, OP_COPY, OP_CONCAT,
  OP_RESIZE, OP_GATHER,
} Op;

/* records the op of @a: perm[0] is the frames of group norm and the dim of concat, perm[1]
 * turns group norm's SiLU off */
static void
record (GvCmd *cmd, Op op, Args *a)
{
  switch (op) {
    case OP_GROUP_NORM:
      gv_op_group_norm (cmd, a->out, a->in, a->gamma, a->beta, 32, a->perm[0], 1e-5f,
          a->perm[1] == 0);
      break;
    case OP_SILU:
      gv_op_activation (cmd, a->out, a->in, GV_ACT_SILU);
      break;
    case OP_LAYER_NORM:
      gv_op_layer_norm (cmd, a->out, a->in, a->gamma, a->beta, 1e-5f);
      break;
    case OP_SOFTMAX:
      gv_op_softmax (cmd, a->out, a->in);
      break;
    case OP_GEGLU:
      gv_op_geglu (cmd, a->out, a->in);
      break;
    case OP_PERMUTE:
      gv_op_permute (cmd, a->out, a->in, a->perm);
      break;
    case OP_COPY:
      gv_tensor_record_copy (cmd, a->out, a->in);
      break;
    case OP_CONCAT:
      gv_op_concat (cmd, a->out, a->in, a->other, a->perm[0]);
      break;
    case OP_RESIZE:
      gv_op_resize_nearest (cmd, a->out, a->in);
      break;
    case OP_GATHER:
      gv_op_gather (cmd, a->out, a->in, a->other);
      break;
  }
}

static int
cmp_double (const void *a, const void *b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;
  return x < y ? -1 : x > y;
}

static const gchar *filter;   /* first argument: run the cases whose name contains it */

static void
run_case (const gchar *name, Op op, Args *args, gdouble bytes)
{
  if (filter && !strstr (name, filter))
    return;
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  gdouble ms[RUNS], cpu[RUNS];
  record (cmd, op, args);
  gv_test_finish (cmd);
  for (gint r = 0; r < RUNS; r++) {
    gint64 t0 = g_get_monotonic_time ();
    gdouble c0 = gv_cpu_seconds ();
    for (gint i = 0; i < REPEAT; i++)
      record (cmd, op, args);
    gv_test_finish (cmd);
    ms[r] = (g_get_monotonic_time () - t0) / 1e3 / REPEAT;
    cpu[r] = (gv_cpu_seconds () - c0) * 1e3 / REPEAT;
  }
  qsort (ms, RUNS, sizeof (gdouble), cmp_double);
  qsort (cpu, RUNS, sizeof (gdouble), cmp_double);
  printf ("%-44s %8.3f ms %7.2f GB/s   cpu %8.3f ms %7.2f GB/s\n", name, ms[RUNS / 2],
      bytes / ms[RUNS / 2] / 1e6, cpu[RUNS / 2], bytes / (cpu[RUNS / 2] / 2) / 1e6);
  gv_cmd_free (cmd);
}

static GvTensor *
random_tensor (gint nd, const gint64 *shape, guint32 seed)
{
  gint64 n = 1;
  for (gint d = 0; d < nd; d++)
    n *= shape[d];
  gfloat *x = gv_test_random (n, seed, -2, 2);
  GvTensor *t = gv_test_tensor (nd, shape, x);
  g_free (x);
  return t;
}

static void
free_args (Args *a)
{
  g_clear_pointer (&a->in, gv_tensor_unref);
  g_clear_pointer (&a->out, gv_tensor_unref);
  g_clear_pointer (&a->gamma, gv_tensor_unref);
  g_clear_pointer (&a->beta, gv_tensor_unref);
  g_clear_pointer (&a->other, gv_tensor_unref);
}

int
main (int argc, char **argv)
{
  GvDevice *dev = gv_test_device ();
  Args a = { 0 };
  filter = argc > 1 ? argv[1] : NULL;
  printf ("device: %s (%s kernels)\n", gv_device_get_name (dev),
      gv_device_get_kernel_path (dev) == GV_KERNEL_PATH_GPU ? "gpu" : "cpu");

  /* group norm + SiLU, 320 x 64 x 64 (the benchmark case) and a clip of 8 frames */
  for (gint frames = 1; frames <= 8; frames *= 8) {
    gint64 n = frames, numel = n * 320 * 64 * 64;
    a.in = random_tensor (4, (gint64[]) { n, 320, 64, 64 }, 1);
    a.out = GV_TEST_TENSOR (NULL, n, 320, 64, 64);
    a.gamma = random_tensor (1, (gint64[]) { 320 }, 2);
    a.beta = random_tensor (1, (gint64[]) { 320 }, 3);
    a.perm[0] = frames;
    if (frames == 1)
      run_case ("silu (eltwise, for comparison) 320x64x64", OP_SILU, &a, 8.0 * numel);
    gchar *name = g_strdup_printf ("group_norm+silu %" G_GINT64_FORMAT "x320x64x64 F=%d", n,
        frames);
    run_case (name, OP_GROUP_NORM, &a, 8.0 * numel);
    g_free (name);
    a.perm[1] = 1;
    name = g_strdup_printf ("group_norm %" G_GINT64_FORMAT "x320x64x64 F=%d", n, frames);
    run_case (name, OP_GROUP_NORM, &a, 8.0 * numel);
    g_free (name);
    a.perm[1] = 0;
    free_args (&a);
  }

  /* layer norm and softmax rows, GEGLU of the UNet feed-forward at 64x64 */
  a.in = random_tensor (2, (gint64[]) { 4096, 320 }, 4);
  a.out = GV_TEST_TENSOR (NULL, 4096, 320);
  a.gamma = random_tensor (1, (gint64[]) { 320 }, 5);
  a.beta = random_tensor (1, (gint64[]) { 320 }, 6);
  run_case ("layer_norm 4096x320", OP_LAYER_NORM, &a, 8.0 * 4096 * 320);
  free_args (&a);
  a.in = random_tensor (2, (gint64[]) { 5 * 512, 4096 }, 7);
  a.out = GV_TEST_TENSOR (NULL, 5 * 512, 4096);
  run_case ("softmax 2560x4096", OP_SOFTMAX, &a, 8.0 * 2560 * 4096);
  free_args (&a);
  a.in = random_tensor (2, (gint64[]) { 4096, 2560 }, 8);
  a.out = GV_TEST_TENSOR (NULL, 4096, 1280);
  run_case ("geglu 4096x2560 -> 4096x1280", OP_GEGLU, &a, 4.0 * 4096 * (2560 + 1280));
  free_args (&a);

  /* permutes: Tune-A-Video (B, F, D, C) -> (B, D, F, C), and (B, C, HW) -> (B, HW, C) */
  gint64 big = 2 * 8 * 4096 * 320;
  a.in = random_tensor (4, (gint64[]) { 2, 8, 4096, 320 }, 9);
  a.out = GV_TEST_TENSOR (NULL, 2, 4096, 8, 320);
  memcpy (a.perm, (gint[]) { 0, 2, 1, 3 }, 4 * sizeof (gint));
  run_case ("permute 2x8x4096x320 (0,2,1,3)", OP_PERMUTE, &a, 8.0 * big);
  g_clear_pointer (&a.out, gv_tensor_unref);
  a.out = GV_TEST_TENSOR (NULL, 2, 8, 4096, 320);
  run_case ("copy (vkCmdCopyBuffer) of the same bytes", OP_COPY, &a, 8.0 * big);
  free_args (&a);
  a.in = random_tensor (3, (gint64[]) { 16, 320, 4096 }, 10);
  a.out = GV_TEST_TENSOR (NULL, 16, 4096, 320);
  memcpy (a.perm, (gint[]) { 0, 2, 1 }, 3 * sizeof (gint));
  run_case ("permute 16x320x4096 (0,2,1)", OP_PERMUTE, &a, 8.0 * big);
  free_args (&a);
  a.in = random_tensor (3, (gint64[]) { 16, 77, 4095 }, 11);
  a.out = GV_TEST_TENSOR (NULL, 16, 4095, 77);
  run_case ("permute 16x77x4095 (0,2,1), odd: gather", OP_PERMUTE, &a, 8.0 * 16 * 77 * 4095);
  free_args (&a);

  /* concat of UNet skips (copies), 2x upsampling */
  a.in = random_tensor (4, (gint64[]) { 16, 640, 32, 32 }, 12);
  a.other = random_tensor (4, (gint64[]) { 16, 320, 32, 32 }, 13);
  a.out = GV_TEST_TENSOR (NULL, 16, 960, 32, 32);
  a.perm[0] = 1;
  run_case ("concat 16x(640+320)x32x32 dim 1", OP_CONCAT, &a, 8.0 * 16 * 960 * 1024);
  free_args (&a);
  a.in = random_tensor (4, (gint64[]) { 16, 640, 32, 32 }, 14);
  a.out = GV_TEST_TENSOR (NULL, 16, 640, 64, 64);
  run_case ("resize_nearest 16x640x32x32 -> 64x64", OP_RESIZE, &a,
      4.0 * 16 * 640 * (1024 + 4096));
  free_args (&a);

  /* sparse-causal attention: 16 frames of 4096 x 320 as rows, 32 rows gathered */
  GError *error = NULL;
  gint32 idx[32];
  for (gint i = 0; i < 32; i++)
    idx[i] = i % 2 ? MAX (i / 2 - 1, 0) : 0;
  a.in = random_tensor (4, (gint64[]) { 1, 1, 16, 4096 * 320 }, 15);
  a.other = gv_tensor_new_typed (dev, GV_DTYPE_I32, 2, (gint64[]) { 1, 32 }, &error);
  g_assert_no_error (error);
  gv_tensor_upload (a.other, idx, &error);
  g_assert_no_error (error);
  a.out = GV_TEST_TENSOR (NULL, 1, 1, 32, 4096 * 320);
  run_case ("gather 32 of 16 rows of 4096x320", OP_GATHER, &a, 8.0 * 32 * 4096 * 320);
  free_args (&a);
  return 0;
}
