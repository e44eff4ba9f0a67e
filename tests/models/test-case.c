/* The golden case reader on the golden set: listing, tensor roles, reads, extra inputs and
 * tolerances of every form the set uses. */
#include <glib/gstdio.h>
#include <string.h>

#include "gv-case.h"
#include "gv-test-files.h"

static GvCase *
open_case (const gchar *name)
{
  gchar *path = g_build_filename (gv_test_golden_dir (), "cases", name, NULL);
  GError *error = NULL;
  GvCase *c = gv_case_open (path, &error);
  g_assert_no_error (error);
  g_free (path);
  return c;
}

static void
test_list_and_open_all (void)
{
  gchar *dir = gv_test_golden_path ("cases");
  GError *error = NULL;
  gchar **names = gv_case_list (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (names), >=, 18);
  g_assert_true (g_strv_contains ((const gchar * const *) names, "tokenizer"));
  g_assert_true (g_strv_contains ((const gchar * const *) names, "pipeline_gs1.0"));
  for (guint i = 0; names[i]; i++) {
    if (i > 0)
      g_assert_cmpint (strcmp (names[i - 1], names[i]), <, 0);
    GvCase *c = open_case (names[i]);
    g_assert_cmpstr (gv_case_get_name (c), ==, names[i]);
    g_assert_cmpstr (gv_case_get_string (c, "case"), ==, names[i]);
    g_assert_cmpuint (gv_case_get_n_tensors (c), >, 0);
    /* every case has a tolerance for its first tensor or says why not */
    GvCaseTolerance tol;
    if (gv_case_get_tolerance (c, gv_case_get_tensor_name (c, 0), &tol))
      g_assert_nonnull (tol.metric);
    gv_case_free (c);
  }
  g_strfreev (names);

  gchar *nowhere = g_build_filename (dir, "nowhere", NULL);
  g_assert_null (gv_case_list (nowhere, &error));
  gv_test_assert_error (error, GV_ERROR_NOT_FOUND, nowhere, NULL);
  g_clear_error (&error);
  g_assert_null (gv_case_open (nowhere, &error));
  gv_test_assert_error (error, GV_ERROR_NOT_FOUND, "nowhere.safetensors", NULL);
  g_clear_error (&error);
  g_free (nowhere);
  g_free (dir);
}

static void
test_roles_and_reads (void)
{
  g_autoptr (GvCase) c = open_case ("unet_t1.safetensors");
  GError *error = NULL;

  g_assert_cmpstr (gv_case_get_name (c), ==, "unet_t1");
  gchar **inter = gv_case_list_tensors (c, GV_CASE_INTER);
  g_assert_cmpuint (g_strv_length (inter), ==, 13);
  g_assert_cmpstr (inter[0], ==, "inter.time_embedding");
  g_strfreev (inter);
  gchar **outputs = gv_case_list_tensors (c, GV_CASE_OUTPUT);
  g_assert_cmpuint (g_strv_length (outputs), ==, 1);
  g_assert_cmpstr (outputs[0], ==, "out_sample");
  g_strfreev (outputs);
  gchar **plain = gv_case_list_tensors (c, GV_CASE_PLAIN);
  g_assert_cmpuint (g_strv_length (plain), ==, 4);
  g_assert_cmpstr (plain[0], ==, "sample");
  g_strfreev (plain);
  g_assert_cmpint (gv_case_tensor_role ("param.conv_in.weight"), ==, GV_CASE_PARAM);
  g_assert_cmpint (gv_case_tensor_role ("grad.x"), ==, GV_CASE_GRAD);
  g_assert_cmpint (gv_case_tensor_role ("new.x"), ==, GV_CASE_NEW);

  gint64 shape[GV_ST_MAX_DIMS];
  g_assert_cmpint (gv_case_get_shape (c, "sample", shape), ==, 4);
  g_assert_cmpint (shape[0], ==, 2);
  g_assert_cmpint (shape[1], ==, 4);
  g_assert_cmpint (gv_case_get_numel (c, "sample"), ==, 2 * 4 * 16 * 16);
  g_assert_cmpint (gv_case_get_shape (c, "timestep", shape), ==, 0);
  g_assert_cmpint (gv_case_get_shape (c, "nothing", shape), ==, -1);
  g_assert_false (gv_case_has_tensor (c, "nothing"));

  gint64 *t = gv_case_read_i64 (c, "timestep", &error);
  g_assert_no_error (error);
  g_assert_cmpint (t[0], ==, 1);
  g_free (t);
  gfloat *tf = gv_case_read_f32 (c, "timestep", &error);
  g_assert_cmpfloat (tf[0], ==, 1.0f);
  g_free (tf);
  gfloat *s = gv_case_read_f32 (c, "sample", &error);
  g_assert_no_error (error);
  g_free (s);
  g_assert_null (gv_case_read_i64 (c, "sample", &error));
  gv_test_assert_error (error, GV_ERROR_INVALID, "sample", "F32", NULL);
  g_clear_error (&error);
  g_assert_null (gv_case_read_u8 (c, "sample", &error));
  gv_test_assert_error (error, GV_ERROR_INVALID, "sample", NULL);
  g_clear_error (&error);
  g_assert_null (gv_case_read_f32 (c, "nothing", &error));
  gv_test_assert_error (error, GV_ERROR_NOT_FOUND, "nothing", NULL);
  g_clear_error (&error);

  g_autoptr (GvCase) img = open_case ("image_encoder_uint8.json");
  guint8 *u8 = gv_case_read_u8 (img, "image_uint8", &error);
  g_assert_no_error (error);
  g_free (u8);
}

static void
test_extra_inputs (void)
{
  g_autoptr (GvCase) p = open_case ("pipeline_gs3.0");
  gdouble gs;
  gint64 steps;
  g_assert_cmpstr (gv_case_get_string (p, "prompt"), ==, "a photo of a red fox sitting in the snow");
  g_assert_null (gv_case_get_member (p, "negative_prompt"));
  g_assert_true (gv_case_get_double (p, "guidance_scale", &gs));
  g_assert_cmpfloat (gs, ==, 3.0);
  g_assert_true (gv_case_get_int (p, "num_inference_steps", &steps));
  g_assert_cmpint (steps, ==, 4);
  g_assert_true (gv_case_get_double (p, "num_inference_steps", &gs));
  g_assert_false (gv_case_get_int (p, "guidance_scale", &steps));
  g_assert_false (gv_case_get_double (p, "prompt", &gs));
  guint n;
  gdouble *ts = gv_case_get_doubles (p, "timesteps", &n);
  g_assert_cmpuint (n, ==, 4);
  g_assert_cmpfloat (ts[0], ==, 751);
  g_free (ts);

  g_autoptr (GvCase) s = open_case ("scheduler");
  ts = gv_case_get_doubles (s, "timesteps/10", &n);
  g_assert_cmpuint (n, ==, 10);
  g_assert_cmpfloat (ts[9], ==, 1);
  g_free (ts);
  g_assert_null (gv_case_get_member (s, "timesteps/11"));
  g_assert_null (gv_case_get_member (s, "call/x"));

  g_autoptr (GvCase) t = open_case ("tokenizer");
  gchar **prompts = gv_case_get_strv (t, "prompts");
  g_assert_cmpuint (g_strv_length (prompts), ==, 6);
  g_assert_cmpstr (prompts[2], ==, "");
  g_strfreev (prompts);
  g_assert_null (gv_case_get_strv (t, "model_max_length"));
}

static void
test_tolerances (void)
{
  GvCaseTolerance tol;
  g_autoptr (GvCase) s = open_case ("scheduler");
  g_assert_true (gv_case_get_tolerance (s, "timesteps_4", &tol));
  g_assert_cmpstr (tol.metric, ==, "exact");
  g_assert_cmpfloat (tol.value, ==, 0);
  g_assert_true (gv_case_get_tolerance (s, "ddim.v_prediction.t751.prev_sample", &tol));
  g_assert_cmpstr (tol.metric, ==, "rel_l2");
  g_assert_cmpfloat (tol.value, ==, 1e-5);

  g_autoptr (GvCase) t = open_case ("tav_train_step");
  g_assert_true (gv_case_get_tolerance (t, "loss", &tol));
  g_assert_cmpstr (tol.metric, ==, "rel");
  g_assert_cmpfloat (tol.value, ==, 1e-4);
  g_assert_true (gv_case_get_tolerance (t, "grad.down_blocks.0.attentions.0.x", &tol));
  g_assert_cmpfloat (tol.value, ==, 1e-3);
  g_assert_true (gv_case_get_tolerance (t, "new.down_blocks.0.attentions.0.x", &tol));
  g_assert_cmpfloat (tol.value, ==, 1e-2);
  g_assert_false (gv_case_get_tolerance (t, "model_pred", &tol));

  g_autoptr (GvCase) k = open_case ("tokenizer");
  g_assert_true (gv_case_get_tolerance (k, "input_ids", &tol));
  g_assert_cmpstr (tol.metric, ==, "exact");

  g_autoptr (GvCase) u = open_case ("unet_t1");
  g_assert_true (gv_case_get_tolerance (u, "inter.mid_block", &tol));
  g_assert_cmpfloat (tol.value, ==, 1e-4);
}

/* a case without its JSON file: the copy in the safetensors metadata serves */
static void
test_metadata_sidecar (void)
{
  gchar *dir = gv_test_scratch_dir ();
  gchar *src = gv_test_golden_path ("cases/vae_decode.safetensors");
  gchar *dst = g_build_filename (dir, "vae_decode.safetensors", NULL);
  GError *error = NULL;
  gv_test_copy_file (src, dst);

  g_autoptr (GvCase) c = gv_case_open (dst, &error);
  g_assert_no_error (error);
  GvCaseTolerance tol;
  g_assert_true (gv_case_get_tolerance (c, "image", &tol));
  g_assert_cmpfloat (tol.value, ==, 1e-4);
  g_assert_cmpstr (gv_case_get_string (c, "case"), ==, "vae_decode");

  /* a JSON sidecar that is broken is an error, not a fallback */
  gchar *json = g_build_filename (dir, "vae_decode.json", NULL);
  gv_test_write_file (json, "{\"case\": ");
  g_assert_null (gv_case_open (dst, &error));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, json, NULL);
  g_clear_error (&error);
  g_free (json);
  g_free (dst);
  g_free (src);
  g_free (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/case/list-and-open-all", test_list_and_open_all);
  g_test_add_func ("/case/roles-and-reads", test_roles_and_reads);
  g_test_add_func ("/case/extra-inputs", test_extra_inputs);
  g_test_add_func ("/case/tolerances", test_tolerances);
  g_test_add_func ("/case/metadata-sidecar", test_metadata_sidecar);
  return g_test_run ();
}
