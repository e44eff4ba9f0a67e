/* The still-image loader: a PNG of 16 bits per RGB sample (tests/data/target-rgb16.png, 24x20,
 * background (0x10a5, 0x2096, 0x3087), an object (0xf0e1, 0x40d2, 0x18c3) at [6, 18) x [5, 15);
 * written by hand: GStreamer's pngenc writes no 16-bit RGB) decodes opaque with its colours,
 * where pngdec gave a near-zero alpha and rotated colours; its object is then found from the
 * border colour. A picture with alpha keeps it. Image sequences are named by one frame
 * number, and nothing else of a pattern is read as a format. */
#include <string.h>

#include <gst/gst.h>

#include "gstgenvideoimage.h"
#include "genvideo/gv-target.h"

static void
test_png16 (void)
{
  gint w = 0, h = 0, stride = 0;
  GError *error = NULL;
  guint8 *rgba = gst_gen_video_load_image (GV_TEST_DATA_DIR "/target-rgb16.png",
      GST_VIDEO_FORMAT_RGBA, &w, &h, &stride, &error);

  g_assert_no_error (error);
  g_assert_cmpint (w, ==, 24);
  g_assert_cmpint (h, ==, 20);
  for (gint y = 0; y < h; y++)
    for (gint x = 0; x < w; x++) {
      const guint8 *p = rgba + y * stride + 4 * x;
      gboolean in = x >= 6 && x < 18 && y >= 5 && y < 15;
      g_assert_cmpint (p[0], ==, in ? 0xf0 : 0x10);
      g_assert_cmpint (p[1], ==, in ? 0x40 : 0x20);
      g_assert_cmpint (p[2], ==, in ? 0x18 : 0x30);
      g_assert_cmpint (p[3], ==, 255);
    }

  gdouble coverage = 0;
  guint8 *rgb = gv_target_foreground (rgba, w, h, stride, NULL, 0, &coverage, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (coverage, 12.0 * 10 / (24 * 20), 1e-12);
  g_free (rgb);
  g_free (rgba);
}

/* the shipped target keeps its alpha: transparent corners, an opaque centre */
static void
test_alpha_kept (void)
{
  gint w = 0, h = 0, stride = 0;
  GError *error = NULL;
  guint8 *rgba = gst_gen_video_load_image (GV_TEST_DATA_DIR "/target-red-disc.png",
      GST_VIDEO_FORMAT_RGBA, &w, &h, &stride, &error);

  g_assert_no_error (error);
  g_assert_cmpint (rgba[3], ==, 0);
  g_assert_cmpint (rgba[(h / 2) * stride + (w / 2) * 4 + 3], ==, 255);
  g_free (rgba);
}

/* an RGB buffer on the target pad is opaque */
static void
test_convert_opaque (void)
{
  GstCaps *caps = gst_caps_from_string ("video/x-raw,format=RGB,width=5,height=3");
  GstBuffer *buffer = gst_buffer_new_allocate (NULL, 16 * 3, NULL);   /* rows of 16 bytes */
  gint w = 0, h = 0, stride = 0;
  GError *error = NULL;

  gst_buffer_memset (buffer, 0, 77, 16 * 3);
  guint8 *rgba = gst_gen_video_convert_image (buffer, caps, GST_VIDEO_FORMAT_RGBA, &w, &h,
      &stride, &error);
  g_assert_no_error (error);
  g_assert_cmpint (w, ==, 5);
  for (gint i = 0; i < w * h; i++)
    g_assert_cmpint (rgba[4 * i + 3], ==, 255);
  g_free (rgba);
  gst_buffer_unref (buffer);
  gst_caps_unref (caps);
}

/* mask-location's patterns: the frame number formatted, every other character as it is */
static void
test_sequence_path (void)
{
  static const struct {
    const gchar *pattern, *path;
  } cases[] = {
    { "masks/%04d.png", "masks/0012.png" },
    { "m%d.png", "m12.png" },
    { "m%u-%%.png", "m12-%.png" },
    { "%i", "12" },
    { "%3d|%05i", NULL },              /* two numbers */
    { "masks.png", NULL },             /* none */
    { "%s.png", NULL },
    { "%ld.png", NULL },
    { "%04x.png", NULL },
    { "%", NULL },
    { "%123d", NULL },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    GError *error = NULL;
    gchar *path = gst_gen_video_image_sequence_path (cases[i].pattern, 12, &error);
    g_assert_cmpstr (path, ==, cases[i].path);
    if (cases[i].path == NULL) {
      g_assert_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS);
      g_assert_nonnull (strstr (error->message, cases[i].pattern));
      g_clear_error (&error);
    }
    g_assert_no_error (error);
    g_free (path);
  }
  gchar *big = gst_gen_video_image_sequence_path ("%06d", G_GUINT64_CONSTANT (1234567), NULL);
  g_assert_cmpstr (big, ==, "1234567");
  g_free (big);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/image/png16", test_png16);
  g_test_add_func ("/image/alpha-kept", test_alpha_kept);
  g_test_add_func ("/image/convert-opaque", test_convert_opaque);
  g_test_add_func ("/image/sequence-path", test_sequence_path);
  return g_test_run ();
}
