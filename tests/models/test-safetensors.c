/* safetensors reader: dtype conversion, and every kind of broken file rejected with an error
 * that names the file and the problem. */
#include <math.h>
#include <string.h>

#include "gv-test-files.h"
#include "models/gv-safetensors.h"

static gchar *dir;

static gchar *
scratch (const gchar *name)
{
  return g_build_filename (dir, name, NULL);
}

static void
test_dtypes (void)
{
  const guint16 f16[] = { 0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x7c00,
    0xfc00, 0x3555, 0x7e00 };
  const gfloat f16_want[] = { 0.0f, -0.0f, 1.0f, -2.0f, 65504.0f, 5.9604645e-8f,
    6.0975552e-5f, INFINITY, -INFINITY, 0.33325195f, NAN };
  const guint16 bf16[] = { 0x3f80, 0xc040, 0x0000, 0x4049, 0x7f80 };
  const gfloat bf16_want[] = { 1.0f, -3.0f, 0.0f, 3.140625f, INFINITY };
  const gdouble f64[] = { 0.1, -1e10 };
  const gint64 i64[] = { -5, 1LL << 40 };
  const gint32 i32[] = { -7, 123456 };
  const gint16 i16[] = { -300, 300 };
  const gint8 i8[] = { -128, 127 };
  const guint8 u8[] = { 0, 255, 17 };
  const guint8 b[] = { 0, 1 };
  const guint16 u16[] = { 65535 };
  const gfloat scalar = 2.5f;
  const GvTestStTensor t[] = {
    { "f16", "F16", 1, { 11 }, f16, sizeof f16 },
    { "bf16", "BF16", 2, { 1, 5 }, bf16, sizeof bf16 },
    { "f64", "F64", 1, { 2 }, f64, sizeof f64 },
    { "i64", "I64", 1, { 2 }, i64, sizeof i64 },
    { "i32", "I32", 1, { 2 }, i32, sizeof i32 },
    { "i16", "I16", 1, { 2 }, i16, sizeof i16 },
    { "i8", "I8", 1, { 2 }, i8, sizeof i8 },
    { "u8", "U8", 3, { 1, 3, 1 }, u8, sizeof u8 },
    { "bool", "BOOL", 1, { 2 }, b, sizeof b },
    { "u16", "U16", 1, { 1 }, u16, sizeof u16 },
    { "scalar", "F32", 0, { 0 }, &scalar, 4 },
    { "empty", "F32", 2, { 0, 3 }, NULL, 0 },
  };
  gchar *path = scratch ("dtypes.safetensors");
  GError *error = NULL;

  gv_test_write_safetensors (path, t, G_N_ELEMENTS (t), "{\"format\":\"pt\",\"note\":\"x\"}");
  GvSafetensors *st = gv_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gv_safetensors_get_n_tensors (st), ==, G_N_ELEMENTS (t));
  g_assert_cmpstr (gv_safetensors_get_nth (st, 0)->name, ==, "f16");
  g_assert_cmpstr (gv_safetensors_get_metadata (st, "format"), ==, "pt");
  g_assert_null (gv_safetensors_get_metadata (st, "nothing"));
  g_assert_null (gv_safetensors_lookup (st, "nothing"));

  const GvStTensor *tt = gv_safetensors_lookup (st, "f16");
  gfloat *v = gv_safetensors_read_f32 (st, tt);
  for (guint i = 0; i < G_N_ELEMENTS (f16_want); i++) {
    if (isnan (f16_want[i])) {
      g_assert_true (isnan (v[i]));
    } else {
      g_assert_cmpfloat (v[i], ==, f16_want[i]);
      g_assert_cmpint (signbit (v[i]), ==, signbit (f16_want[i]));
    }
  }
  g_assert_null (gv_safetensors_read_i64 (st, tt));
  g_free (v);

  tt = gv_safetensors_lookup (st, "bf16");
  g_assert_cmpint (tt->ndim, ==, 2);
  g_assert_cmpint (tt->numel, ==, 5);
  v = gv_safetensors_read_f32 (st, tt);
  for (guint i = 0; i < G_N_ELEMENTS (bf16_want); i++)
    g_assert_cmpfloat (v[i], ==, bf16_want[i]);
  g_free (v);

  v = gv_safetensors_read_f32 (st, gv_safetensors_lookup (st, "f64"));
  g_assert_cmpfloat (v[0], ==, 0.1f);
  g_assert_cmpfloat (v[1], ==, -1e10f);
  g_free (v);

  struct { const gchar *name; gint64 want[3]; } ints[] = {
    { "i64", { -5, 1LL << 40 } }, { "i32", { -7, 123456 } }, { "i16", { -300, 300 } },
    { "i8", { -128, 127 } }, { "u8", { 0, 255, 17 } }, { "bool", { 0, 1 } },
    { "u16", { 65535 } },
  };
  for (guint k = 0; k < G_N_ELEMENTS (ints); k++) {
    tt = gv_safetensors_lookup (st, ints[k].name);
    gint64 *iv = gv_safetensors_read_i64 (st, tt);
    gfloat *fv = gv_safetensors_read_f32 (st, tt);
    for (gint64 i = 0; i < tt->numel; i++) {
      g_assert_cmpint (iv[i], ==, ints[k].want[i]);
      g_assert_cmpfloat (fv[i], ==, (gfloat) ints[k].want[i]);
    }
    g_free (iv);
    g_free (fv);
  }

  tt = gv_safetensors_lookup (st, "scalar");
  g_assert_cmpint (tt->ndim, ==, 0);
  g_assert_cmpint (tt->numel, ==, 1);
  v = gv_safetensors_read_f32 (st, tt);
  g_assert_cmpfloat (v[0], ==, 2.5f);
  g_free (v);
  tt = gv_safetensors_lookup (st, "empty");
  g_assert_cmpint (tt->numel, ==, 0);
  g_assert_cmpuint (tt->begin, ==, tt->end);

  gv_safetensors_close (st);
  g_free (path);
}

/* the reader on the golden checkpoint: every tensor F32 and as the README says */
static void
test_golden_file (void)
{
  gchar *path = gv_test_golden_path ("checkpoint/unet/diffusion_pytorch_model.safetensors");
  GError *error = NULL;
  GvSafetensors *st = gv_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gv_safetensors_get_n_tensors (st), ==, 688);
  g_assert_cmpstr (gv_safetensors_get_metadata (st, "format"), ==, "pt");
  const GvStTensor *t = gv_safetensors_lookup (st, "conv_in.weight");
  g_assert_nonnull (t);
  g_assert_cmpint (t->dtype, ==, GV_ST_F32);
  gint64 want[] = { 32, 4, 3, 3 };
  g_assert_cmpint (t->ndim, ==, 4);
  g_assert_cmpmem (t->shape, sizeof want, want, sizeof want);
  gv_safetensors_close (st);
  g_free (path);
}

typedef struct {
  const gchar *what;
  guint64 header_len;          /* 0 with a header: its length */
  const gchar *header;
  gsize data_size;
  GvErrorCode code;
  const gchar *mention;        /* the message names this too */
} Broken;

static void
test_broken_headers (void)
{
  static const guint8 zeros[64];
  static const Broken cases[] = {
    { "header length 0", 0, NULL, 0, GV_ERROR_CORRUPT, "header length" },
    { "header length 1", 1, NULL, 0, GV_ERROR_CORRUPT, "header length" },
    { "huge header length", G_GUINT64_CONSTANT (1) << 40, "{}", 0, GV_ERROR_CORRUPT,
      "header length" },
    { "header past the end", 4096, "{\"a\":{}}", 0, GV_ERROR_CORRUPT, "past the end" },
    { "bad JSON", 0, "{\"a\": {\"dtype\": ", 0, GV_ERROR_CORRUPT, "JSON" },
    { "not an object", 0, "[1, 2, 3]", 0, GV_ERROR_CORRUPT, "object" },
    { "entry not an object", 0, "{\"w\": 3}", 0, GV_ERROR_CORRUPT, "'w'" },
    { "unknown dtype", 0, "{\"w\":{\"dtype\":\"F17\",\"shape\":[1],\"data_offsets\":[0,4]}}",
      4, GV_ERROR_CORRUPT, "F17" },
    { "fp8 dtype", 0, "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[0,4]}}",
      4, GV_ERROR_UNSUPPORTED, "F8_E4M3" },
    { "no dtype", 0, "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, GV_ERROR_CORRUPT,
      "dtype" },
    { "shape/size mismatch", 0,
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20,
      GV_ERROR_CORRUPT, "[2, 3]" },
    { "negative dimension", 0,
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, GV_ERROR_CORRUPT,
      "dimension" },
    { "float dimension", 0,
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, GV_ERROR_CORRUPT,
      "dimension" },
    { "too many dimensions", 0,
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
      GV_ERROR_CORRUPT, "dimensions" },
    { "overflowing shape", 0, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
      "\"data_offsets\":[0,4]}}", 4, GV_ERROR_CORRUPT, "too large" },
    { "offsets past the data", 0,
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, GV_ERROR_CORRUPT,
      "outside the data section" },
    { "begin after end", 0,
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8, GV_ERROR_CORRUPT,
      "outside" },
    { "one offset", 0, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4,
      GV_ERROR_CORRUPT, "data_offsets" },
    { "overlap", 0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16, GV_ERROR_CORRUPT,
      "overlap" },
    { "metadata not strings", 0, "{\"__metadata__\":{\"n\":3}}", 0, GV_ERROR_CORRUPT,
      "__metadata__" },
    { "metadata not an object", 0, "{\"__metadata__\":\"x\"}", 0, GV_ERROR_CORRUPT,
      "__metadata__" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    const Broken *c = &cases[i];
    gchar *name = g_strdup_printf ("broken-%u.safetensors", i);
    gchar *path = scratch (name);
    GError *error = NULL;
    g_test_message ("case: %s", c->what);
    guint64 len = c->header && c->header_len == 0 ? strlen (c->header) : c->header_len;
    gv_test_write_raw (path, len, c->header, zeros, c->data_size);
    GvSafetensors *st = gv_safetensors_open (path, &error);
    g_assert_null (st);
    gv_test_assert_error (error, c->code, path, c->mention, NULL);
    g_clear_error (&error);
    g_free (path);
    g_free (name);
  }
}

/* overlap is checked on sorted ranges, whatever the header order; empty tensors take no room */
static void
test_overlap_order (void)
{
  static const guint8 zeros[16];
  gchar *path = scratch ("order.safetensors");
  GError *error = NULL;

  gv_test_write_raw (path, 0, NULL, NULL, 0);
  const gchar *ok = "{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
      "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
  gv_test_write_raw (path, strlen (ok), ok, zeros, 16);
  GvSafetensors *st = gv_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (gv_safetensors_get_nth (st, 0)->name, ==, "b");
  gv_safetensors_close (st);

  const gchar *bad = "{\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[4,16]},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
  gv_test_write_raw (path, strlen (bad), bad, zeros, 16);
  g_assert_null (gv_safetensors_open (path, &error));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, "'a'", "'b'", "overlap", NULL);
  g_clear_error (&error);
  g_free (path);
}

static void
test_short_and_missing_files (void)
{
  gchar *path = scratch ("short.safetensors");
  GError *error = NULL;

  g_file_set_contents (path, "abcd", 4, &error);
  g_assert_no_error (error);
  g_assert_null (gv_safetensors_open (path, &error));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, path, "too few", NULL);
  g_clear_error (&error);

  g_file_set_contents (path, "", 0, &error);
  g_assert_no_error (error);
  g_assert_null (gv_safetensors_open (path, &error));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, path, NULL);
  g_clear_error (&error);

  gchar *missing = scratch ("missing.safetensors");
  g_assert_null (gv_safetensors_open (missing, &error));
  gv_test_assert_error (error, GV_ERROR_NOT_FOUND, missing, NULL);
  g_clear_error (&error);

  g_assert_null (gv_safetensors_open (dir, &error));
  gv_test_assert_error (error, GV_ERROR_NOT_FOUND, dir, NULL);
  g_clear_error (&error);
  g_free (missing);
  g_free (path);
}

/* a real file cut short: the data section no longer holds the last tensors */
static void
test_truncated_checkpoint (void)
{
  gchar *src = gv_test_golden_path ("checkpoint/vae/diffusion_pytorch_model.safetensors");
  gchar *path = scratch ("truncated.safetensors");
  gchar *data;
  gsize len;
  GError *error = NULL;

  g_file_get_contents (src, &data, &len, &error);
  g_assert_no_error (error);
  g_file_set_contents (path, data, len / 2, &error);
  g_assert_no_error (error);
  g_assert_null (gv_safetensors_open (path, &error));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, path, "truncated", NULL);
  g_clear_error (&error);

  /* cut inside the header */
  g_file_set_contents (path, data, 100, &error);
  g_assert_no_error (error);
  g_assert_null (gv_safetensors_open (path, &error));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, path, "past the end", NULL);
  g_clear_error (&error);
  g_free (data);
  g_free (path);
  g_free (src);
}

static void
test_from_bytes (void)
{
  const gfloat v[] = { 1, 2, 3 };
  gchar *path = scratch ("bytes.safetensors");
  gchar *data;
  gsize len;
  GvTestStTensor t = { "x", "F32", 1, { 3 }, v, sizeof v };
  GError *error = NULL;

  gv_test_write_safetensors (path, &t, 1, NULL);
  g_file_get_contents (path, &data, &len, NULL);
  GBytes *bytes = g_bytes_new_take (data, len);
  GvSafetensors *st = gv_safetensors_new_from_bytes ("in-memory", bytes, &error);
  g_bytes_unref (bytes);
  g_assert_no_error (error);
  gfloat *got = gv_safetensors_read_f32 (st, gv_safetensors_lookup (st, "x"));
  g_assert_cmpmem (got, sizeof v, v, sizeof v);
  g_free (got);
  gv_safetensors_close (st);

  bytes = g_bytes_new_static ("\x10\0\0\0\0\0\0\0{}", 10);
  g_assert_null (gv_safetensors_new_from_bytes ("in-memory", bytes, &error));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, "in-memory", NULL);
  g_clear_error (&error);
  g_bytes_unref (bytes);
  g_free (path);
}

static void
test_shape_string (void)
{
  gint64 s[] = { 320, 4, 3, 3 };
  gchar *a = gv_st_shape_string (4, s), *b = gv_st_shape_string (0, s);
  g_assert_cmpstr (a, ==, "[320, 4, 3, 3]");
  g_assert_cmpstr (b, ==, "[]");
  g_free (a);
  g_free (b);
  g_assert_cmpstr (gv_st_dtype_name (GV_ST_BF16), ==, "BF16");
  g_assert_cmpuint (gv_st_dtype_size (GV_ST_F64), ==, 8);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  dir = gv_test_scratch_dir ();
  g_test_add_func ("/safetensors/dtypes", test_dtypes);
  g_test_add_func ("/safetensors/golden-file", test_golden_file);
  g_test_add_func ("/safetensors/broken-headers", test_broken_headers);
  g_test_add_func ("/safetensors/overlap-order", test_overlap_order);
  g_test_add_func ("/safetensors/short-and-missing", test_short_and_missing_files);
  g_test_add_func ("/safetensors/truncated-checkpoint", test_truncated_checkpoint);
  g_test_add_func ("/safetensors/from-bytes", test_from_bytes);
  g_test_add_func ("/safetensors/shape-string", test_shape_string);
  return g_test_run ();
}
