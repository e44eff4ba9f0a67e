/* libFuzzer target for the safetensors header parser: any bytes must give a reader or an
 * error, never a crash, and a reader's ranges must lie inside the input. (docs/testing.md says
 * how the targets of tests/fuzz are built and run.) */
#include "models/gv-safetensors.h"

int LLVMFuzzerTestOneInput (const guint8 *data, gsize size);

int
LLVMFuzzerTestOneInput (const guint8 *data, gsize size)
{
  GBytes *bytes = g_bytes_new (data, size);
  GError *error = NULL;
  GvSafetensors *st = gv_safetensors_new_from_bytes ("fuzz", bytes, &error);

  if (st == NULL) {
    g_assert (error != NULL);
    g_error_free (error);
  } else {
    for (guint i = 0; i < gv_safetensors_get_n_tensors (st); i++) {
      const GvStTensor *t = gv_safetensors_get_nth (st, i);
      g_assert (t->begin <= t->end && t->end <= size);
      if (t->numel < 4096)
        g_free (gv_safetensors_read_f32 (st, t));
    }
    gv_safetensors_close (st);
  }
  g_bytes_unref (bytes);
  return 0;
}
