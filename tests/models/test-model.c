/* The whole checkpoint loaded as a GvModel: the shipped model loads; corrupted copies give an
 * error naming the component, the file and the tensor, and leave no device memory behind. */
#include <glib/gstdio.h>
#include <string.h>

#include "gv-test-util.h"
#include "gv-test-files.h"
#include "models/gv-model.h"

static guint64
device_bytes (void)
{
  guint64 bytes;
  gv_device_get_memory_stats (gv_test_device (), &bytes, NULL, NULL, NULL);
  return bytes;
}

static const gchar *const components[] = {
  "feature_extractor", "image_encoder", "image_noising_scheduler", "image_normalizer",
  "scheduler", "text_encoder", "tokenizer", "unet", "vae",
};

/* a full copy of the shipped model in a scratch folder */
static gchar *
copy_model (void)
{
  gchar *dir = gv_test_scratch_dir ();
  const gchar *src = gv_test_default_model_dir ();
  gchar *index_from = g_build_filename (src, "model_index.json", NULL);
  gchar *index_to = g_build_filename (dir, "model_index.json", NULL);
  gv_test_copy_file (index_from, index_to);
  g_free (index_from);
  g_free (index_to);
  for (guint i = 0; i < G_N_ELEMENTS (components); i++) {
    gchar *from = g_build_filename (src, components[i], NULL);
    gchar *to = g_build_filename (dir, components[i], NULL);
    g_mkdir (to, 0755);
    GDir *d = g_dir_open (from, 0, NULL);
    const gchar *name;
    while (d && (name = g_dir_read_name (d)) != NULL) {
      gchar *f = g_build_filename (from, name, NULL), *t = g_build_filename (to, name, NULL);
      gv_test_copy_file (f, t);
      g_free (f);
      g_free (t);
    }
    if (d)
      g_dir_close (d);
    g_free (from);
    g_free (to);
  }
  return dir;
}

/* loads @dir expecting @code with every string of the NULL-terminated list in the message,
 * and checks that the device holds no more memory than before */
static void
expect_failure (const gchar *dir, GvErrorCode code, const gchar *s1, const gchar *s2)
{
  GError *error = NULL;
  guint64 before = device_bytes ();
  GvModel *m = gv_model_load (gv_test_device (), dir, &error);
  g_assert_null (m);
  g_test_message ("error: %s", error ? error->message : "none");
  gv_test_assert_error (error, code, s1, s2, NULL);
  g_assert_cmpuint (device_bytes (), ==, before);
}

static void
test_shipped_model_loads_and_frees (void)
{
  GError *error = NULL;
  guint64 before = device_bytes ();
  GvModel *m = gv_model_load (gv_test_device (), gv_test_default_model_dir (), &error);
  g_assert_no_error (error);
  g_assert_nonnull (gv_model_get_unet (m));
  g_assert_nonnull (gv_model_get_vae (m));
  g_assert_cmpuint (device_bytes (), >, before);
  /* shared per (device, folder) */
  GvModel *a = gv_model_get_shared (gv_test_device (), gv_test_default_model_dir (), &error);
  GvModel *b = gv_model_get_shared (gv_test_device (), gv_test_default_model_dir (), &error);
  g_assert_true (a == b);
  gv_model_unref (a);
  gv_model_unref (b);
  gv_model_unref (m);
  g_assert_cmpuint (device_bytes (), ==, before);
}

static void
test_missing_folder (void)
{
  expect_failure ("/nonexistent/checkpoint", GV_ERROR_NOT_FOUND, "/nonexistent/checkpoint",
      NULL);
}

static void
test_missing_weights_file (void)
{
  gchar *dir = copy_model ();
  gchar *file = g_build_filename (dir, "vae", "diffusion_pytorch_model.safetensors", NULL);
  g_remove (file);
  expect_failure (dir, GV_ERROR_NOT_FOUND, "vae", "diffusion_pytorch_model.safetensors");
  g_free (file);
  g_free (dir);
}

static void
test_truncated_weights (void)
{
  gchar *dir = copy_model ();
  gchar *file = g_build_filename (dir, "unet", "diffusion_pytorch_model.safetensors", NULL);
  gchar *data;
  gsize len;
  g_assert_true (g_file_get_contents (file, &data, &len, NULL));
  g_assert_true (g_file_set_contents (file, data, len / 2, NULL));
  expect_failure (dir, GV_ERROR_CORRUPT, "unet", "diffusion_pytorch_model.safetensors");
  g_free (data);
  g_free (file);
  g_free (dir);
}

/* rewrites @component's weights with @victim reshaped to [n-1] (@drop: left out) */
static void
rewrite_tensor (const gchar *dir, const gchar *component, const gchar *file_name,
    const gchar *victim, gboolean drop)
{
  gchar *file = g_build_filename (dir, component, file_name, NULL);
  GError *error = NULL;
  GvSafetensors *st = gv_safetensors_open (file, &error);
  g_assert_no_error (error);
  guint n = gv_safetensors_get_n_tensors (st), out = 0;
  GvTestStTensor *t = g_new0 (GvTestStTensor, n);
  for (guint i = 0; i < n; i++) {
    const GvStTensor *s = gv_safetensors_get_nth (st, i);
    gboolean hit = strcmp (s->name, victim) == 0;
    if (hit && drop)
      continue;
    GvTestStTensor *m = &t[out++];
    m->name = s->name;
    m->dtype = gv_st_dtype_name (s->dtype);
    m->ndim = s->ndim;
    memcpy (m->shape, s->shape, sizeof (gint64) * MIN (s->ndim, 4));
    m->data = gv_safetensors_get_data (st, s);
    m->size = s->end - s->begin;
    if (hit) {
      /* one element fewer: still a consistent file, but not the shape the network needs */
      m->ndim = 1;
      m->shape[0] = s->numel - 1;
      m->size = (s->numel - 1) * gv_st_dtype_size (s->dtype);
    }
  }
  gchar *tmp = g_strconcat (file, ".new", NULL);
  gv_test_write_safetensors (tmp, t, out, NULL);
  gv_safetensors_close (st);
  g_assert_cmpint (g_rename (tmp, file), ==, 0);
  g_free (tmp);
  g_free (t);
  g_free (file);
}

static void
test_misshaped_tensor (void)
{
  gchar *dir = copy_model ();
  rewrite_tensor (dir, "text_encoder", "model.safetensors",
      "text_model.final_layer_norm.weight", FALSE);
  expect_failure (dir, GV_ERROR_CORRUPT, "text_model.final_layer_norm.weight", "expected");
  g_free (dir);
}

static void
test_missing_tensor (void)
{
  gchar *dir = copy_model ();
  rewrite_tensor (dir, "vae", "diffusion_pytorch_model.safetensors",
      "decoder.conv_out.weight", TRUE);
  expect_failure (dir, GV_ERROR_NOT_FOUND, "decoder.conv_out.weight", "vae");
  g_free (dir);
}

static void
test_unsupported_config_value (void)
{
  gchar *dir = copy_model ();
  gchar *config = g_build_filename (dir, "unet", "config.json", NULL);
  gv_test_replace_in_file (config, "\"act_fn\": \"silu\"", "\"act_fn\": \"mish\"");
  expect_failure (dir, GV_ERROR_UNSUPPORTED, "act_fn", "mish");
  g_free (config);
  g_free (dir);
}

static void
test_missing_component (void)
{
  gchar *dir = copy_model ();
  gchar *index = g_build_filename (dir, "model_index.json", NULL);
  gv_test_replace_in_file (index, "\"image_encoder\": [\n    \"transformers\",\n"
      "    \"CLIPVisionModelWithProjection\"\n  ],\n", "");
  expect_failure (dir, GV_ERROR_UNSUPPORTED, "image encoder", NULL);
  g_free (index);
  g_free (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/model/shipped-loads-and-frees", test_shipped_model_loads_and_frees);
  g_test_add_func ("/model/missing-folder", test_missing_folder);
  g_test_add_func ("/model/missing-weights-file", test_missing_weights_file);
  g_test_add_func ("/model/truncated-weights", test_truncated_weights);
  g_test_add_func ("/model/misshaped-tensor", test_misshaped_tensor);
  g_test_add_func ("/model/missing-tensor", test_missing_tensor);
  g_test_add_func ("/model/unsupported-config-value", test_unsupported_config_value);
  g_test_add_func ("/model/missing-component", test_missing_component);
  return g_test_run ();
}
