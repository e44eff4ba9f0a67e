/* GvWeights (finding files the diffusers way, names, shapes, legacy spellings) and GvLoader
 * (every tensor of the golden UNet onto the device). */
#include <string.h>

#include "gv-test-util.h"
#include "gv-test-files.h"
#include "models/gv-weights.h"

static gchar *
component_dir (const gchar *parent, const gchar *name)
{
  gchar *d = g_build_filename (parent, name, NULL);
  g_assert_cmpint (g_mkdir_with_parents (d, 0755), ==, 0);
  return d;
}

static void
test_golden_unet (void)
{
  gchar *folder = gv_test_golden_path ("checkpoint/unet");
  GError *error = NULL;
  GvWeights *w = gv_weights_open (folder, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gv_weights_get_n_tensors (w), ==, 688);
  g_assert_true (g_str_has_suffix (gv_weights_get_source (w),
          "diffusion_pytorch_model.safetensors"));
  g_assert_true (gv_weights_contains (w, "conv_in.weight"));
  g_assert_false (gv_weights_contains (w, "conv_in.weight.nothing"));
  gchar **names = gv_weights_list (w);
  g_assert_cmpuint (g_strv_length (names), ==, 688);
  for (guint i = 1; names[i]; i++)
    g_assert_cmpint (strcmp (names[i - 1], names[i]), <, 0);
  g_strfreev (names);

  gint64 shape[] = { 32, 4, 3, 3 };
  gfloat *v = gv_weights_read (w, "conv_in.weight", 4, shape, &error);
  g_assert_no_error (error);
  g_free (v);

  /* wrong shape: names the file, the tensor, both shapes */
  gint64 wrong[] = { 32, 4, 3 };
  g_assert_null (gv_weights_read (w, "conv_in.weight", 3, wrong, &error));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, "diffusion_pytorch_model.safetensors",
      "conv_in.weight", "[32, 4, 3, 3]", "[32, 4, 3]", NULL);
  g_clear_error (&error);

  g_assert_null (gv_weights_read (w, "down_blocks.9.resnets.0.conv1.weight", 4, shape, &error));
  gv_test_assert_error (error, GV_ERROR_NOT_FOUND, "diffusion_pytorch_model.safetensors",
      "down_blocks.9.resnets.0.conv1.weight", NULL);
  g_clear_error (&error);
  gv_weights_free (w);
  g_free (folder);
}

static void
test_missing (void)
{
  gchar *dir = gv_test_scratch_dir ();
  gchar *nowhere = g_build_filename (dir, "nowhere", NULL);
  GError *error = NULL;

  g_assert_null (gv_weights_open (nowhere, FALSE, &error));
  gv_test_assert_error (error, GV_ERROR_NOT_FOUND, nowhere, "no such folder", NULL);
  g_clear_error (&error);

  g_assert_null (gv_weights_open (dir, TRUE, &error));
  gv_test_assert_error (error, GV_ERROR_NOT_FOUND, dir, "diffusion_pytorch_model.safetensors",
      "model.safetensors", "diffusion_pytorch_model.fp16.safetensors", NULL);
  g_clear_error (&error);

  /* a pickle only: say why it is not read */
  gchar *bin = g_build_filename (dir, "diffusion_pytorch_model.bin", NULL);
  gv_test_write_file (bin, "pickle");
  g_assert_null (gv_weights_open (dir, FALSE, &error));
  gv_test_assert_error (error, GV_ERROR_NOT_FOUND, ".bin", NULL);
  g_clear_error (&error);

  /* a corrupt weights file is reported as such */
  gchar *st = g_build_filename (dir, "model.safetensors", NULL);
  gv_test_write_file (st, "garbage!");
  g_assert_null (gv_weights_open (dir, FALSE, &error));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, st, NULL);
  g_clear_error (&error);
  g_free (st);
  g_free (bin);
  g_free (nowhere);
  g_free (dir);
}

/* *.fp16.safetensors is used when asked for and present, the other file otherwise */
static void
test_fp16_variant (void)
{
  gchar *dir = gv_test_scratch_dir ();
  const gfloat f32[] = { 1.0f, 2.0f };
  const guint16 f16[] = { 0x4200, 0x4400 };      /* 3, 4 */
  GvTestStTensor t32 = { "w", "F32", 1, { 2 }, f32, sizeof f32 };
  GvTestStTensor t16 = { "w", "F16", 1, { 2 }, f16, sizeof f16 };
  gchar *p16 = g_build_filename (dir, "diffusion_pytorch_model.fp16.safetensors", NULL);
  gchar *p32 = g_build_filename (dir, "diffusion_pytorch_model.safetensors", NULL);
  gint64 shape[] = { 2 };
  GError *error = NULL;

  gv_test_write_safetensors (p16, &t16, 1, NULL);
  for (gint prefer = 0; prefer < 2; prefer++) {
    GvWeights *w = gv_weights_open (dir, prefer, &error);
    g_assert_no_error (error);
    gfloat *v = gv_weights_read (w, "w", 1, shape, &error);
    g_assert_no_error (error);
    g_assert_cmpfloat (v[0], ==, 3.0f);
    g_assert_cmpfloat (v[1], ==, 4.0f);
    g_free (v);
    gv_weights_free (w);
  }
  gv_test_write_safetensors (p32, &t32, 1, NULL);
  for (gint prefer = 0; prefer < 2; prefer++) {
    GvWeights *w = gv_weights_open (dir, prefer, &error);
    g_assert_no_error (error);
    gfloat *v = gv_weights_read (w, "w", 1, shape, &error);
    g_assert_no_error (error);
    g_assert_cmpfloat (v[0], ==, prefer ? 3.0f : 1.0f);
    g_free (v);
    gv_weights_free (w);
  }
  g_free (p16);
  g_free (p32);
  g_free (dir);
}

static void
test_sharded (void)
{
  gchar *dir = gv_test_scratch_dir ();
  const gfloat a[] = { 1, 2, 3, 4 }, b[] = { 5, 6 };
  GvTestStTensor ta = { "enc.a.weight", "F32", 2, { 2, 2 }, a, sizeof a };
  GvTestStTensor tb = { "enc.b.bias", "F32", 1, { 2 }, b, sizeof b };
  gchar *s1 = g_build_filename (dir, "model-00001-of-00002.safetensors", NULL);
  gchar *s2 = g_build_filename (dir, "model-00002-of-00002.safetensors", NULL);
  gchar *index = g_build_filename (dir, "model.safetensors.index.json", NULL);
  gint64 sa[] = { 2, 2 }, sb[] = { 2 };
  GError *error = NULL;

  gv_test_write_safetensors (s1, &ta, 1, NULL);
  gv_test_write_safetensors (s2, &tb, 1, NULL);
  gv_test_write_file (index, "{\"metadata\": {\"total_size\": 24}, \"weight_map\": {"
      "\"enc.a.weight\": \"model-00001-of-00002.safetensors\","
      "\"enc.b.bias\": \"model-00002-of-00002.safetensors\"}}");
  GvWeights *w = gv_weights_open (dir, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (gv_weights_get_source (w), ==, index);
  g_assert_cmpuint (gv_weights_get_n_tensors (w), ==, 2);
  gfloat *v = gv_weights_read (w, "enc.b.bias", 1, sb, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (v, sizeof b, b, sizeof b);
  g_free (v);
  v = gv_weights_read (w, "enc.a.weight", 2, sa, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (v, sizeof a, a, sizeof a);
  g_free (v);
  g_assert_null (gv_weights_read (w, "enc.c", 1, sb, &error));
  gv_test_assert_error (error, GV_ERROR_NOT_FOUND, index, "enc.c", NULL);
  g_clear_error (&error);
  gv_weights_free (w);

  /* the index sends a tensor to the wrong shard */
  gv_test_replace_in_file (index, "\"enc.b.bias\": \"model-00002", "\"enc.b.bias\": \"model-00001");
  g_assert_null (gv_weights_open (dir, FALSE, &error));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, index, "enc.b.bias", NULL);
  g_clear_error (&error);

  /* a shard that is not there */
  gv_test_replace_in_file (index, "\"enc.b.bias\": \"model-00001", "\"enc.b.bias\": \"model-00003");
  g_assert_null (gv_weights_open (dir, FALSE, &error));
  gv_test_assert_error (error, GV_ERROR_NOT_FOUND, index, "model-00003-of-00002.safetensors", NULL);
  g_clear_error (&error);

  /* a shard outside the folder */
  gv_test_write_file (index, "{\"weight_map\": {\"enc.a.weight\": \"../x.safetensors\"}}");
  g_assert_null (gv_weights_open (dir, FALSE, &error));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, index, "enc.a.weight", NULL);
  g_clear_error (&error);

  gv_test_write_file (index, "{\"metadata\": {}}");
  g_assert_null (gv_weights_open (dir, FALSE, &error));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, index, "weight_map", NULL);
  g_clear_error (&error);
  g_free (s1);
  g_free (s2);
  g_free (index);
  g_free (dir);
}

/* an old VAE: query/key/value/proj_attn, stored as 1x1 convolutions */
static void
test_legacy_vae_attention (void)
{
  gchar *dir = gv_test_scratch_dir ();
  gchar *vae = component_dir (dir, "vae");
  gfloat q[16], bias[4];
  for (gint i = 0; i < 16; i++)
    q[i] = (gfloat) i;
  for (gint i = 0; i < 4; i++)
    bias[i] = (gfloat) -i;
  const GvTestStTensor t[] = {
    { "encoder.mid_block.attentions.0.query.weight", "F32", 4, { 4, 4, 1, 1 }, q, sizeof q },
    { "encoder.mid_block.attentions.0.query.bias", "F32", 1, { 4 }, bias, sizeof bias },
    { "encoder.mid_block.attentions.0.proj_attn.weight", "F32", 2, { 4, 4 }, q, sizeof q },
    { "encoder.mid_block.attentions.0.group_norm.weight", "F32", 4, { 4, 4, 1, 1 }, q,
      sizeof q },
  };
  gchar *path = g_build_filename (vae, "diffusion_pytorch_model.safetensors", NULL);
  gint64 s2[] = { 4, 4 }, s1[] = { 4 };
  GError *error = NULL;

  gv_test_write_safetensors (path, t, G_N_ELEMENTS (t), NULL);
  GvWeights *w = gv_weights_open (vae, FALSE, &error);
  g_assert_no_error (error);
  g_assert_true (gv_weights_contains (w, "encoder.mid_block.attentions.0.to_q.weight"));
  g_assert_true (gv_weights_contains (w, "encoder.mid_block.attentions.0.to_out.0.weight"));
  g_assert_false (gv_weights_contains (w, "encoder.mid_block.attentions.0.to_k.weight"));

  gfloat *v = gv_weights_read (w, "encoder.mid_block.attentions.0.to_q.weight", 2, s2, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (v, sizeof q, q, sizeof q);
  g_free (v);
  v = gv_weights_read (w, "encoder.mid_block.attentions.0.to_q.bias", 1, s1, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (v, sizeof bias, bias, sizeof bias);
  g_free (v);
  v = gv_weights_read (w, "encoder.mid_block.attentions.0.to_out.0.weight", 2, s2, &error);
  g_assert_no_error (error);
  g_free (v);

  /* the 1x1 spelling is for attention projections only */
  g_assert_null (gv_weights_read (w, "encoder.mid_block.attentions.0.group_norm.weight", 2, s2,
          &error));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, "group_norm.weight", "[4, 4, 1, 1]", "[4, 4]",
      NULL);
  g_clear_error (&error);
  /* a missing attention tensor names both spellings */
  g_assert_null (gv_weights_read (w, "encoder.mid_block.attentions.0.to_v.weight", 2, s2,
          &error));
  gv_test_assert_error (error, GV_ERROR_NOT_FOUND, "to_v.weight", "value.weight", NULL);
  g_clear_error (&error);
  gv_weights_free (w);
  g_free (path);
  g_free (vae);
  g_free (dir);
}

static void
test_load_one (void)
{
  g_autofree gchar *folder = gv_test_golden_path ("checkpoint/image_normalizer");
  GError *error = NULL;
  g_autoptr (GvWeights) w = gv_weights_open (folder, FALSE, &error);
  g_assert_no_error (error);
  g_autoptr (GvTensor) t = GV_WEIGHTS_LOAD (w, gv_test_device (), "mean", &error, 1, 32);
  g_assert_no_error (error);
  g_autofree gfloat *want = gv_weights_read (w, "mean", 2, (const gint64[]) { 1, 32 }, &error);
  g_assert_no_error (error);
  g_autofree gfloat *got = gv_test_download (t);
  g_assert_cmpmem (got, 32 * 4, want, 32 * 4);
  g_assert_null (GV_WEIGHTS_LOAD (w, gv_test_device (), "mean", &error, 2, 32));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, "mean", "[1, 32]", "[2, 32]", NULL);
  g_clear_error (&error);
}

/* every tensor of the golden UNet through one loader, with prefixes as network code uses
 * them; the device copies equal the file */
static void
test_loader_whole_unet (void)
{
  gchar *folder = gv_test_golden_path ("checkpoint/unet");
  gchar *file = g_build_filename (folder, "diffusion_pytorch_model.safetensors", NULL);
  GError *error = NULL;
  GvWeights *w = gv_weights_open (folder, FALSE, &error);
  g_assert_no_error (error);
  GvSafetensors *st = gv_safetensors_open (file, &error);
  g_assert_no_error (error);
  GvLoader *l = gv_loader_new (w, gv_test_device ());
  guint n = gv_safetensors_get_n_tensors (st);
  GvTensor **tensors = g_new0 (GvTensor *, n);

  for (guint i = 0; i < n; i++) {
    const GvStTensor *t = gv_safetensors_get_nth (st, i);
    const gchar *leaf = strrchr (t->name, '.');
    g_assert_nonnull (leaf);
    gv_loader_push (l, "%.*s", (gint) (leaf - t->name), t->name);
    tensors[i] = gv_loader_tensor (l, leaf + 1, t->ndim, t->shape);
    gv_loader_pop (l);
    g_assert_nonnull (tensors[i]);
  }
  g_assert_false (gv_loader_failed (l));
  g_assert_true (gv_loader_finish (l, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < n; i++) {
    const GvStTensor *t = gv_safetensors_get_nth (st, i);
    gfloat *want = gv_safetensors_read_f32 (st, t);
    gfloat *got = gv_test_download (tensors[i]);
    if (memcmp (got, want, t->numel * 4) != 0)
      g_error ("%s differs on the device", t->name);
    g_free (want);
    g_free (got);
    gv_tensor_unref (tensors[i]);
  }
  g_free (tensors);
  gv_safetensors_close (st);
  gv_weights_free (w);
  g_free (file);
  g_free (folder);
}

/* the first error sticks, later calls give NULL at once, finish reports it */
static void
test_loader_sticky_error (void)
{
  gchar *folder = gv_test_golden_path ("checkpoint/unet");
  GError *error = NULL;
  GvWeights *w = gv_weights_open (folder, FALSE, &error);
  g_assert_no_error (error);
  GvLoader *l = gv_loader_new (w, gv_test_device ());

  gv_loader_push (l, "down_blocks.%d", 0);
  gv_loader_push (l, "resnets.%d", 1);
  GvTensor *ok = GV_LOAD (l, "norm1.weight", 32);
  g_assert_nonnull (ok);
  g_assert_null (GV_LOAD_OPTIONAL (l, "nothing.weight", 32));
  g_assert_false (gv_loader_failed (l));
  g_assert_null (GV_LOAD (l, "conv1.weight", 32, 32, 3, 1));
  g_assert_true (gv_loader_failed (l));
  gv_loader_pop (l);
  gv_loader_pop (l);
  g_assert_null (GV_LOAD (l, "conv_in.weight", 32, 4, 3, 3));
  gv_loader_failf (l, GV_ERROR_UNSUPPORTED, "ignored: not the first error");
  g_assert_false (gv_loader_finish (l, &error));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, "down_blocks.0.resnets.1.conv1.weight",
      "[32, 32, 3, 3]", "[32, 32, 3, 1]", NULL);
  g_clear_error (&error);
  gv_tensor_unref (ok);

  l = gv_loader_new (w, gv_test_device ());
  g_assert_null (GV_LOAD (l, "time_embedding.linear_9.weight", 128, 32));
  g_assert_false (gv_loader_finish (l, &error));
  gv_test_assert_error (error, GV_ERROR_NOT_FOUND, "time_embedding.linear_9.weight", NULL);
  g_clear_error (&error);

  l = gv_loader_new (w, gv_test_device ());
  gv_loader_failf (l, GV_ERROR_UNSUPPORTED, "block type %s", "Foo");
  g_assert_null (GV_LOAD (l, "conv_in.weight", 32, 4, 3, 3));
  g_assert_false (gv_loader_finish (l, &error));
  gv_test_assert_error (error, GV_ERROR_UNSUPPORTED, folder, "block type Foo", NULL);
  g_clear_error (&error);
  gv_weights_free (w);
  g_free (folder);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/weights/golden-unet", test_golden_unet);
  g_test_add_func ("/weights/missing", test_missing);
  g_test_add_func ("/weights/fp16-variant", test_fp16_variant);
  g_test_add_func ("/weights/sharded", test_sharded);
  g_test_add_func ("/weights/legacy-vae-attention", test_legacy_vae_attention);
  g_test_add_func ("/weights/load-one", test_load_one);
  g_test_add_func ("/loader/whole-unet", test_loader_whole_unet);
  g_test_add_func ("/loader/sticky-error", test_loader_sticky_error);
  return g_test_run ();
}
