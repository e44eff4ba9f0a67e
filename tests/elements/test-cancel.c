/* A pipeline stopped (state NULL) from the application's thread when a stage reports progress,
 * for every stage of the three elements, twice: the cancelled step unwinds without a
 * critical (G_DEBUG=fatal-criticals) and the change to NULL succeeds at once. */
#include <string.h>

#include "gv-element-test.h"

/* the first progress message of @stage from any element; FALSE at EOS or an error */
static gboolean
wait_for_stage (GstBus *bus, const gchar *stage)
{
  for (;;) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, 300 * GST_SECOND,
        GST_MESSAGE_ELEMENT | GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    if (msg == NULL)
      return FALSE;
    gboolean found = FALSE, end = GST_MESSAGE_TYPE (msg) != GST_MESSAGE_ELEMENT;
    const GstStructure *s = gst_message_get_structure (msg);
    if (!end && s != NULL && gst_structure_has_field (s, "stage"))
      found = g_strcmp0 (gst_structure_get_string (s, "stage"), stage) == 0;
    gst_message_unref (msg);
    if (found || end)
      return found;
  }
}

GST_START_TEST (test_stop_at_every_stage)
{
  static const gchar *const stages[] = { "encoding", "inversion", "masks", "sampling",
    "decoding" };

  for (guint i = 0; i < G_N_ELEMENTS (stages); i++) {
    for (guint round = 0; round < 2; round++) {
      GstElement *pipeline = gst_parse_launch ("videotestsrc num-buffers=2 ! "
          "video/x-raw,format=RGB,width=32,height=32 ! " GV_TEST_TUNE " clip-frames=2 ! "
          GV_TEST_EDIT " clip-frames=2 ! " GV_TEST_CORRECT " clip-frames=2 ! fakesink", NULL);
      GstBus *bus = gst_element_get_bus (pipeline);
      gst_element_set_state (pipeline, GST_STATE_PLAYING);
      fail_unless (wait_for_stage (bus, stages[i]), "no %s stage", stages[i]);
      gv_test_stop (pipeline);
      gst_object_unref (bus);
    }
  }
}
GST_END_TEST;

static Suite *
cancel_suite (void)
{
  Suite *s = suite_create ("genvideo-cancel");
  TCase *tc = tcase_create ("general");

  /* fifteen starts of the three stages on lavapipe */
  tcase_set_timeout (tc, 540);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_stop_at_every_stage);
  return s;
}

GST_CHECK_MAIN (cancel);
