/* latentcorrect steps against invedit's inversion-steps: different values run, with one
 * warning on the bus that names both; equal values give none. */
#include <string.h>

#include "gv-element-test.h"

/* Runs the three stages with @steps for latentcorrect (invedit: 2 inversion steps) over two
 * clips and returns how many warnings about the steps latentcorrect posted. */
static guint
steps_warnings (guint steps)
{
  gchar *launch = g_strdup_printf ("videotestsrc num-buffers=4 ! "
      "video/x-raw,format=RGB,width=32,height=32 ! " GV_TEST_TUNE " clip-frames=2 ! "
      GV_TEST_EDIT " clip-frames=2 ! latentcorrect name=lc steps=%u correction-steps=1 "
      "clip-frames=2 ! fakesink", steps);
  GstElement *pipeline = gst_parse_launch (launch, NULL);
  GstElement *lc = gst_bin_get_by_name (GST_BIN (pipeline), "lc");
  GstBus *bus = gst_element_get_bus (pipeline);
  guint warnings = 0;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (;;) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, 300 * GST_SECOND,
        GST_MESSAGE_WARNING | GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    fail_unless (msg != NULL);
    fail_if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR);
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
      gst_message_unref (msg);
      break;
    }
    GError *error = NULL;
    gst_message_parse_warning (msg, &error, NULL);
    if (GST_MESSAGE_SRC (msg) == GST_OBJECT (lc)
        && strstr (error->message, "inversion-steps") != NULL) {
      gchar *both = g_strdup_printf ("steps (%u) differs from the inversion-steps of invedit "
          "(2)", steps);
      fail_unless (strstr (error->message, both) != NULL, "%s", error->message);
      g_free (both);
      warnings++;
    }
    g_clear_error (&error);
    gst_message_unref (msg);
  }
  gst_object_unref (bus);
  gst_object_unref (lc);
  gv_test_stop (pipeline);
  g_free (launch);
  return warnings;
}

GST_START_TEST (test_other_steps_warn_once)
{
  fail_unless_equals_int (steps_warnings (3), 1);
}
GST_END_TEST;

GST_START_TEST (test_equal_steps_do_not_warn)
{
  fail_unless_equals_int (steps_warnings (2), 0);
}
GST_END_TEST;

static Suite *
steps_suite (void)
{
  Suite *s = suite_create ("genvideo-steps");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 540);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_other_steps_warn_once);
  tcase_add_test (tc, test_equal_steps_do_not_warn);
  return s;
}

GST_CHECK_MAIN (steps);
