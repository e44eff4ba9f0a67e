#include "gv-test-files.h"
#include "gv-test-model.h"
#include "gv-test-util.h"

GvModel *
gv_test_tiny_model (void)
{
  GError *error = NULL;
  GvModel *model = gv_model_get_shared (gv_test_device (), gv_test_default_model_dir (),
      &error);
  g_assert_no_error (error);
  return model;
}

GvTensor *
gv_test_random_labels (GvModel *model, GvCmd *cmd, gint size, guint32 seed)
{
  gsize n = (gsize) size * size * 3;
  gfloat *f = gv_test_random (n, seed, 0, 255);
  guint8 *rgb = g_new (guint8, n);
  for (gsize i = 0; i < n; i++)
    rgb[i] = (guint8) f[i];
  GvTensor *labels = gv_image_class_labels (model, cmd, rgb, size, size, size * 3, seed);
  g_free (rgb);
  g_free (f);
  return labels;
}
