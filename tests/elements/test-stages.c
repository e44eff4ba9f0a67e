/* The edit through the real elements on the shipped tiny model: the frames change and keep
 * their timing, the messages come, output=masks, errors, reproducibility, the warning without
 * invedit, a static clip's perfect matches, the target pad, one shared device. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include <gst/video/video.h>

#include "gv-element-test.h"

#define TARGET GV_TEST_DATA_DIR "/target-red-disc.png"
#define FRAMES_64 "video/x-raw,format=RGBA,width=64,height=64,framerate=25/1"

typedef struct {
  GPtrArray *buffers;         /* what reached the fakesink "out" */
  GPtrArray *messages;        /* element and warning messages */
  GstCaps *caps;              /* the caps "out" got */
  GError *error;              /* the first error, if any */
  gchar *error_source;
  gint have_context;          /* have-context messages */
} Run;

static void
on_handoff (GstElement *sink, GstBuffer *buffer, GstPad *pad, gpointer data)
{
  Run *r = data;
  g_ptr_array_add (r->buffers, gst_buffer_ref (buffer));
  if (r->caps == NULL)
    r->caps = gst_pad_get_current_caps (pad);
}

/* Runs @launch (with a fakesink named "out") to EOS or error. */
static Run *
run (const gchar *launch)
{
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (launch, &error);
  Run *r = g_new0 (Run, 1);

  fail_unless (pipeline != NULL, "%s: %s", launch, error ? error->message : "");
  r->buffers = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);
  r->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_message_unref);
  GstElement *out = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  if (out) {
    g_object_set (out, "signal-handoffs", TRUE, NULL);
    g_signal_connect (out, "handoff", G_CALLBACK (on_handoff), r);
    gst_object_unref (out);
  }

  GstBus *bus = gst_element_get_bus (pipeline);
  GstStateChangeReturn sc = gst_element_set_state (pipeline, GST_STATE_PLAYING);
  GstMessage *msg;
  /* a refused start has its error on the bus already */
  GstClockTime wait = sc == GST_STATE_CHANGE_FAILURE ? GST_SECOND : 120 * GST_SECOND;
  while ((msg = gst_bus_timed_pop (bus, wait))) {
    GstMessageType t = GST_MESSAGE_TYPE (msg);
    if (t == GST_MESSAGE_EOS) {
      gst_message_unref (msg);
      break;
    }
    if (t == GST_MESSAGE_ERROR) {
      gst_message_parse_error (msg, &r->error, NULL);
      r->error_source = g_strdup (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)));
      gst_message_unref (msg);
      break;
    }
    if (t == GST_MESSAGE_HAVE_CONTEXT)
      r->have_context++;
    if (t == GST_MESSAGE_ELEMENT || t == GST_MESSAGE_WARNING)
      g_ptr_array_add (r->messages, msg);
    else
      gst_message_unref (msg);
  }
  fail_unless (msg != NULL || sc == GST_STATE_CHANGE_FAILURE, "%s did not finish", launch);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  return r;
}

static void
run_free (Run *r)
{
  g_ptr_array_unref (r->buffers);
  g_ptr_array_unref (r->messages);
  if (r->caps)
    gst_caps_unref (r->caps);
  g_clear_error (&r->error);
  g_free (r->error_source);
  g_free (r);
}

static void
assert_no_error (Run *r)
{
  fail_unless (r->error == NULL, "error from %s: %s", r->error_source,
      r->error ? r->error->message : "");
}

/* The messages named @name (element messages) */
static guint
count_messages (Run *r, const gchar *name)
{
  guint n = 0;
  for (guint i = 0; i < r->messages->len; i++)
    n += gst_message_has_name (r->messages->pdata[i], name);
  return n;
}

static const gchar *chain =
    "videotestsrc pattern=ball num-buffers=8 ! " FRAMES_64 " ! "
    GV_TEST_TUNE " source-prompt=\"a white ball\" clip-frames=4 ! "
    GV_TEST_EDIT " target-prompt=\"a red disc\" ! "
    GV_TEST_CORRECT " correction-steps=2 ! fakesink name=out";

/* The whole chain edits: frames leave with new content, in order, with their timestamps,
 * and every clip reports its masks and its corrected steps. */
GST_START_TEST (test_chain_edits_frames)
{
  Run *r = run (chain);
  Run *plain = run ("videotestsrc pattern=ball num-buffers=8 ! " FRAMES_64 " ! "
      "fakesink name=out");

  assert_no_error (r);
  fail_unless_equals_int (r->buffers->len, 8);
  guint changed = 0;
  for (guint i = 0; i < 8; i++) {
    GstBuffer *b = r->buffers->pdata[i], *p = plain->buffers->pdata[i];
    fail_unless_equals_uint64 (GST_BUFFER_PTS (b), GST_BUFFER_PTS (p));
    fail_unless_equals_uint64 (GST_BUFFER_DURATION (b), GST_BUFFER_DURATION (p));
    GstMapInfo mb, mp;
    gst_buffer_map (b, &mb, GST_MAP_READ);
    gst_buffer_map (p, &mp, GST_MAP_READ);
    fail_unless_equals_int (mb.size, mp.size);
    changed += memcmp (mb.data, mp.data, mb.size) != 0;
    gst_buffer_unmap (b, &mb);
    gst_buffer_unmap (p, &mp);
  }
  fail_unless_equals_int (changed, 8);

  /* one mask message per clip, with one area per frame */
  fail_unless_equals_int (count_messages (r, GST_GEN_VIDEO_MESSAGE_MASK), 2);
  /* correction-steps=2 corrected steps per clip, cosines in [-1, 1] */
  fail_unless_equals_int (count_messages (r, GST_GEN_VIDEO_MESSAGE_CORRECTION), 4);
  for (guint i = 0; i < r->messages->len; i++) {
    GstMessage *m = r->messages->pdata[i];
    const GstStructure *s = gst_message_get_structure (m);
    if (gst_message_has_name (m, GST_GEN_VIDEO_MESSAGE_MASK)) {
      const GValue *area = gst_structure_get_value (s, GST_GEN_VIDEO_FIELD_AREA);
      fail_unless (area != NULL && GST_VALUE_HOLDS_ARRAY (area));
      fail_unless_equals_int (gst_value_array_get_size (area), 4);
      for (guint f = 0; f < 4; f++) {
        gdouble a = g_value_get_double (gst_value_array_get_value (area, f));
        fail_unless (a >= 0.0 && a <= 1.0);
      }
    } else if (gst_message_has_name (m, GST_GEN_VIDEO_MESSAGE_CORRECTION)) {
      gdouble cosine;
      fail_unless (gst_structure_get_double (s, GST_GEN_VIDEO_FIELD_MEAN_COSINE, &cosine));
      fail_unless (cosine >= -1.0001 && cosine <= 1.0001, "%g", cosine);
    }
  }
  /* the elements shared one device: the first announced it, the others found it */
  fail_unless_equals_int (r->have_context, 1);
  run_free (r);
  run_free (plain);
}
GST_END_TEST;

static void
assert_same_frames (Run *a, Run *b)
{
  assert_no_error (a);
  assert_no_error (b);
  fail_unless_equals_int (a->buffers->len, b->buffers->len);
  for (guint i = 0; i < a->buffers->len; i++) {
    GstMapInfo ma, mb;
    gst_buffer_map (a->buffers->pdata[i], &ma, GST_MAP_READ);
    gst_buffer_map (b->buffers->pdata[i], &mb, GST_MAP_READ);
    fail_unless (ma.size == mb.size && memcmp (ma.data, mb.data, ma.size) == 0,
        "frame %u differs between two runs", i);
    gst_buffer_unmap (a->buffers->pdata[i], &ma);
    gst_buffer_unmap (b->buffers->pdata[i], &mb);
  }
}

/* Same input, settings and seed: the same bytes. */
GST_START_TEST (test_reproducible)
{
  Run *a = run (chain), *b = run (chain);
  assert_same_frames (a, b);
  run_free (a);
  run_free (b);
}
GST_END_TEST;

/* The blend weights are normalised: twice the defaults (0.5, 1, 0.5, as an application might
 * leave them between two of its sets) edit exactly as the defaults (0.25, 0.5, 0.25). */
GST_START_TEST (test_weights_normalised)
{
  gchar *doubled = g_strdup_printf ("%s", chain);
  gchar *at = strstr (doubled, "! fakesink name=out");
  fail_unless (at != NULL);
  *at = '\0';
  gchar *launch = g_strconcat (doubled, "weight-prev=0.5 weight-current=1 weight-next=0.5 "
      "! fakesink name=out", NULL);
  Run *a = run (chain), *b = run (launch);
  assert_same_frames (a, b);
  run_free (a);
  run_free (b);
  g_free (launch);
  g_free (doubled);
}
GST_END_TEST;

/* pixel-background: outside the masks the input's own bytes (the VAE reconstruction of the
 * random model is far from them), inside the decoded frame (the output with it off). */
GST_START_TEST (test_pixel_background)
{
  const gchar *head = "videotestsrc pattern=ball num-buffers=4 ! " FRAMES_64 " ! "
      GV_TEST_TUNE " source-prompt=\"a white ball\" ! "
      GV_TEST_EDIT " ! " GV_TEST_CORRECT;
  gchar *launch_on = g_strdup_printf ("%s ! fakesink name=out", head);
  gchar *launch_off = g_strdup_printf ("%s pixel-background=false ! fakesink name=out", head);
  Run *on = run (launch_on), *off = run (launch_off);
  Run *plain = run ("videotestsrc pattern=ball num-buffers=4 ! " FRAMES_64 " ! "
      "fakesink name=out");
  assert_no_error (on);
  assert_no_error (off);
  fail_unless_equals_int (on->buffers->len, 4);
  gsize bytes = 0, on_input = 0, off_input = 0, on_either = 0;
  for (guint i = 0; i < 4; i++) {
    GstMapInfo a, b, p;
    gst_buffer_map (on->buffers->pdata[i], &a, GST_MAP_READ);
    gst_buffer_map (off->buffers->pdata[i], &b, GST_MAP_READ);
    gst_buffer_map (plain->buffers->pdata[i], &p, GST_MAP_READ);
    for (gsize k = 0; k < a.size; k++) {
      if (k % 4 == 3)
        continue;              /* alpha */
      bytes++;
      on_input += a.data[k] == p.data[k];
      off_input += b.data[k] == p.data[k];
      on_either += a.data[k] == p.data[k] || a.data[k] == b.data[k];
    }
    gst_buffer_unmap (on->buffers->pdata[i], &a);
    gst_buffer_unmap (off->buffers->pdata[i], &b);
    gst_buffer_unmap (plain->buffers->pdata[i], &p);
  }
  GST_INFO ("input bytes kept: %.3f on, %.3f off; input or decoded: %.3f", (gdouble) on_input /
      bytes, (gdouble) off_input / bytes, (gdouble) on_either / bytes);
  fail_unless (on_input > 5 * off_input && on_input > bytes / 4, "input kept %" G_GSIZE_FORMAT
      " of %" G_GSIZE_FORMAT " bytes (off: %" G_GSIZE_FORMAT ")", on_input, bytes, off_input);
  /* inside the masks the decoded frame: bytes equal to the output without it (and not to the
   * input); measured 0.60 input, 0.13 decoded, the rest on the feathered seams of the random
   * model's speckled masks */
  fail_unless (on_either - on_input > bytes / 20, "%" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT,
      on_either - on_input, bytes);
  run_free (on);
  run_free (off);
  run_free (plain);
  g_free (launch_on);
  g_free (launch_off);
}
GST_END_TEST;

/* output=masks: GRAY8 pictures of 0 and 255 with the frames' timing; an invedit without a
 * target of its own after another one shows that one's masks. */
GST_START_TEST (test_output_masks)
{
  Run *r = run ("videotestsrc pattern=ball num-buffers=4 ! " FRAMES_64 " ! "
      GV_TEST_TUNE " ! " GV_TEST_EDIT " ! tee name=t "
      "t. ! queue ! invedit output=masks ! fakesink name=out "
      "t. ! queue ! fakesink");
  assert_no_error (r);
  fail_unless_equals_int (r->buffers->len, 4);
  GstVideoInfo info;
  fail_unless (gst_video_info_from_caps (&info, r->caps));
  fail_unless_equals_int (GST_VIDEO_INFO_FORMAT (&info), GST_VIDEO_FORMAT_GRAY8);
  fail_unless_equals_int (GST_VIDEO_INFO_WIDTH (&info), 64);
  for (guint i = 0; i < 4; i++) {
    GstBuffer *b = r->buffers->pdata[i];
    fail_unless_equals_uint64 (GST_BUFFER_PTS (b), i * (GST_SECOND / 25));
    GstMapInfo m;
    gst_buffer_map (b, &m, GST_MAP_READ);
    for (gsize k = 0; k < m.size; k++)
      fail_unless (m.data[k] == 0 || m.data[k] == 255);
    gst_buffer_unmap (b, &m);
  }
  /* both invedits report; the second reuses the first's masks */
  fail_unless_equals_int (count_messages (r, GST_GEN_VIDEO_MESSAGE_MASK), 2);
  run_free (r);
}
GST_END_TEST;

/* The warnings whose message has @part */
static guint
count_warnings (Run *r, const gchar *part)
{
  guint n = 0;
  for (guint i = 0; i < r->messages->len; i++) {
    GstMessage *m = r->messages->pdata[i];
    if (GST_MESSAGE_TYPE (m) != GST_MESSAGE_WARNING)
      continue;
    GError *w = NULL;
    gst_message_parse_warning (m, &w, NULL);
    n += strstr (w->message, part) != NULL;
    g_error_free (w);
  }
  return n;
}

/* latentcorrect without invedit re-generates the whole frame, and says so once per stream,
 * not per clip; genvideotune no longer warns about missing fine-tuning. */
GST_START_TEST (test_without_invedit_warns)
{
  Run *r = run ("videotestsrc num-buffers=4 ! " FRAMES_64 " ! genvideotune steps=0 "
      "clip-frames=2 ! " GV_TEST_CORRECT " ! fakesink name=out");
  assert_no_error (r);
  fail_unless_equals_int (r->buffers->len, 4);
  fail_unless_equals_int (count_warnings (r, "No masks"), 1);
  /* tuning exists now: the old warning about its absence is gone */
  fail_unless_equals_int (count_warnings (r, "Fine-tuning is not available"), 0);
  run_free (r);
}
GST_END_TEST;

/* A static clip: every frame's features match themselves in the neighbours (cosine 1). */
GST_START_TEST (test_static_clip_matches_perfectly)
{
  Run *r = run ("videotestsrc pattern=smpte num-buffers=1 ! " FRAMES_64 " ! imagefreeze "
      "num-buffers=4 ! " GV_TEST_TUNE " ! " GV_TEST_EDIT " ! " GV_TEST_CORRECT
      " ! fakesink name=out");
  assert_no_error (r);
  guint n = 0;
  for (guint i = 0; i < r->messages->len; i++) {
    GstMessage *m = r->messages->pdata[i];
    gdouble cosine;
    if (!gst_message_has_name (m, GST_GEN_VIDEO_MESSAGE_CORRECTION))
      continue;
    fail_unless (gst_structure_get_double (gst_message_get_structure (m), GST_GEN_VIDEO_FIELD_MEAN_COSINE,
            &cosine));
    fail_unless (fabs (cosine - 1.0) < 1e-4, "mean cosine %g on identical frames", cosine);
    n++;
  }
  fail_unless (n > 0);
  run_free (r);
}
GST_END_TEST;

/* The target image can come on the target pad. */
GST_START_TEST (test_target_pad)
{
  Run *r = run ("videotestsrc num-buffers=2 ! " FRAMES_64 " ! " GV_TEST_TUNE " ! "
      "invedit name=e inversion-steps=2 target-prompt=\"a disc\" ! fakesink name=out "
      "filesrc location=" TARGET " ! pngdec ! videoconvert ! e.target");
  assert_no_error (r);
  fail_unless_equals_int (r->buffers->len, 2);
  fail_unless_equals_int (count_messages (r, GST_GEN_VIDEO_MESSAGE_MASK), 1);
  run_free (r);
}
GST_END_TEST;

/* An error from @launch's element "el", of @domain/@code, whose message has @part. */
static void
expect_error (const gchar *launch, GQuark domain, gint code, const gchar *part)
{
  Run *r = run (launch);
  fail_unless (r->error != NULL, "no error from %s", launch);
  fail_unless_equals_string (r->error_source, "el");
  fail_unless (r->error->domain == domain && r->error->code == code, "%s: %s",
      g_quark_to_string (r->error->domain), r->error->message);
  fail_unless (strstr (r->error->message, part) != NULL, "'%s' not in '%s'", part,
      r->error->message);
  run_free (r);
}

static gchar *
write_temp (const gchar *name, const gchar *content)
{
  gchar *dir = g_dir_make_tmp ("genvideo-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, name, NULL);
  g_file_set_contents (path, content, -1, NULL);
  g_free (dir);
  return path;
}

/* a PNG made by GStreamer: @pattern at @size, fully transparent when @clear */
static gchar *
write_png (const gchar *name, gint size, gboolean clear)
{
  gchar *dir = g_dir_make_tmp ("genvideo-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, name, NULL);
  gchar *launch = g_strdup_printf ("videotestsrc num-buffers=1 pattern=solid-color "
      "foreground-color=%s ! video/x-raw,format=RGBA,width=%d,height=%d ! pngenc ! "
      "filesink location=%s", clear ? "0x00000000" : "0xffffffff", size, size, path);
  Run *r = run (launch);
  assert_no_error (r);
  run_free (r);
  g_free (launch);
  g_free (dir);
  return path;
}

GST_START_TEST (test_errors)
{
  gchar *text = write_temp ("not-an-image.png", "this is not a picture");
  gchar *clear = write_png ("clear.png", 32, TRUE);
  gchar *small_mask = write_png ("mask.png", 48, FALSE);
  const gchar *src = "videotestsrc num-buffers=2 ! " FRAMES_64 " ! ";
  gchar *launch;

  launch = g_strdup_printf ("%s invedit name=el target-location=/nonexistent.png ! fakesink",
      src);
  expect_error (launch, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND, "not found");
  g_free (launch);

  launch = g_strdup_printf ("%s invedit name=el ! fakesink", src);
  expect_error (launch, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND, "No target image");
  g_free (launch);

  launch = g_strdup_printf ("%s invedit name=el target-location=%s ! fakesink", src, text);
  expect_error (launch, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE, "could not be read");
  g_free (launch);

  launch = g_strdup_printf ("%s invedit name=el target-location=%s ! fakesink", src, clear);
  expect_error (launch, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, "no object");
  g_free (launch);

  launch = g_strdup_printf ("%s invedit name=el target-location=" TARGET
      " target-mask-location=%s ! fakesink", src, small_mask);
  expect_error (launch, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, "same size");
  g_free (launch);

  launch = g_strdup_printf ("%s genvideotune name=el steps=0 model=/nonexistent/model ! "
      "fakesink", src);
  expect_error (launch, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND, "missing");
  g_free (launch);

  /* weights that cannot blend: refused before anything runs (any other sum is normalised) */
  launch = g_strdup_printf ("%s latentcorrect name=el weight-prev=0 weight-current=0 "
      "weight-next=0 ! fakesink", src);
  expect_error (launch, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, "not all 0");
  g_free (launch);

  g_free (text);
  g_free (clear);
  g_free (small_mask);
}
GST_END_TEST;

/* A device that cannot be opened is an element error that names what was asked and what
 * exists, not a hang (gv_device_new's failure path once took the shared-device lock twice).
 * Each case runs in its own forked test: the environment and the shared device are per process. */
static void
expect_device_error (const gchar *property, const gchar *part)
{
  gchar *launch = g_strdup_printf ("videotestsrc num-buffers=2 ! " FRAMES_64 " ! "
      "genvideotune name=el steps=0 %s ! fakesink", property);
  expect_error (launch, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND, part);
  g_free (launch);
}

GST_START_TEST (test_device_index_missing)
{
  expect_device_error ("device-index=7", "device 7 requested, but only");
}
GST_END_TEST;

GST_START_TEST (test_device_env_invalid)
{
  g_setenv ("GENVIDEO_DEVICE", "abc", TRUE);
  expect_device_error ("", "GENVIDEO_DEVICE='abc' is not a device index (devices: 0: ");
  g_unsetenv ("GENVIDEO_DEVICE");
}
GST_END_TEST;

GST_START_TEST (test_device_no_driver)
{
  g_setenv ("VK_ICD_FILENAMES", "/nonexistent.json", TRUE);
  g_setenv ("VK_DRIVER_FILES", "/nonexistent.json", TRUE);
  expect_device_error ("", "No Vulkan");
  g_unsetenv ("VK_ICD_FILENAMES");
  g_unsetenv ("VK_DRIVER_FILES");
}
GST_END_TEST;

/* The progress messages of stage "tuning" of @r, and the last one's loss into @loss */
static guint
count_tuning (Run *r, gdouble *loss)
{
  guint n = 0;
  for (guint i = 0; i < r->messages->len; i++) {
    const GstStructure *st = gst_message_get_structure (r->messages->pdata[i]);
    if (gst_message_has_name (r->messages->pdata[i], GST_GEN_VIDEO_MESSAGE_PROGRESS)
        && g_strcmp0 (gst_structure_get_string (st, GST_GEN_VIDEO_FIELD_STAGE), "tuning") == 0) {
      fail_unless (gst_structure_get_double (st, GST_GEN_VIDEO_FIELD_LOSS, loss));
      n++;
    }
  }
  return n;
}

static gchar *
tune_chain (const gchar *tune)
{
  return g_strdup_printf ("videotestsrc pattern=ball num-buffers=4 ! " FRAMES_64 " ! "
      "genvideotune name=el source-prompt=\"a white ball\" clip-frames=4 %s ! "
      GV_TEST_EDIT " ! " GV_TEST_CORRECT " ! fakesink name=out", tune);
}

static gboolean
same_buffers (Run *a, Run *b)
{
  if (a->buffers->len != b->buffers->len)
    return FALSE;
  gboolean same = TRUE;
  for (guint i = 0; i < a->buffers->len; i++) {
    GstMapInfo ma, mb;
    gst_buffer_map (a->buffers->pdata[i], &ma, GST_MAP_READ);
    gst_buffer_map (b->buffers->pdata[i], &mb, GST_MAP_READ);
    same &= ma.size == mb.size && memcmp (ma.data, mb.data, ma.size) == 0;
    gst_buffer_unmap (a->buffers->pdata[i], &ma);
    gst_buffer_unmap (b->buffers->pdata[i], &mb);
  }
  return same;
}

/* steps > 0 through the whole chain: progress with the loss, the tuned file written and
 * then reused without tuning (the same frames to the byte); a file of other settings and a
 * damaged one are errors, and left as they are. */
GST_START_TEST (test_tune_steps_and_file)
{
  gchar *dir = g_dir_make_tmp ("genvideo-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, "tuned.safetensors", NULL);
  gchar *props = g_strdup_printf ("steps=2 learning-rate=1e-3 tuned-location=%s", path);
  gchar *launch = tune_chain (props);
  gdouble loss = 0;

  Run *tuned = run (launch);
  assert_no_error (tuned);
  fail_unless_equals_int (tuned->buffers->len, 4);
  fail_unless (count_tuning (tuned, &loss) > 0);
  fail_unless (isfinite (loss) && loss > 0);
  fail_unless (g_file_test (path, G_FILE_TEST_EXISTS));

  Run *again = run (launch);
  assert_no_error (again);
  fail_unless_equals_int (count_tuning (again, &loss), 0);
  fail_unless (same_buffers (tuned, again));
  run_free (again);
  run_free (tuned);
  g_free (launch);
  g_free (props);

  gchar *contents;
  gsize len;
  fail_unless (g_file_get_contents (path, &contents, &len, NULL));
  props = g_strdup_printf ("steps=3 learning-rate=1e-3 tuned-location=%s", path);
  launch = tune_chain (props);
  expect_error (launch, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT, "another model, clip or");
  g_free (launch);
  g_free (props);

  fail_unless (g_file_set_contents (path, contents, (gssize) len / 2, NULL));
  props = g_strdup_printf ("steps=2 learning-rate=1e-3 tuned-location=%s", path);
  launch = tune_chain (props);
  expect_error (launch, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ, "damaged");
  gchar *after;
  gsize after_len;
  fail_unless (g_file_get_contents (path, &after, &after_len, NULL));
  fail_unless_equals_uint64 (after_len, len / 2);
  g_free (after);
  g_free (launch);
  g_free (props);
  g_free (contents);
  g_unlink (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
}
GST_END_TEST;

/* PLAYING -> NULL while tuning: the step in progress is cancelled and the state change
 * returns, with no file left behind. */
GST_START_TEST (test_tune_cancel)
{
  gchar *dir = g_dir_make_tmp ("genvideo-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, "tuned.safetensors", NULL);
  gchar *launch = g_strdup_printf ("videotestsrc pattern=ball num-buffers=4 ! " FRAMES_64 " ! "
      "genvideotune source-prompt=ball clip-frames=4 steps=100000 tuned-location=%s ! "
      "fakesink", path);
  GstElement *pipeline = gst_parse_launch (launch, NULL);
  fail_unless (pipeline != NULL);
  GstBus *bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  gboolean tuning = FALSE;
  GstMessage *msg;
  while (!tuning && (msg = gst_bus_timed_pop (bus, 120 * GST_SECOND))) {
    const GstStructure *st = gst_message_get_structure (msg);
    fail_if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR);
    tuning = gst_message_has_name (msg, GST_GEN_VIDEO_MESSAGE_PROGRESS)
        && g_strcmp0 (gst_structure_get_string (st, GST_GEN_VIDEO_FIELD_STAGE), "tuning") == 0;
    gst_message_unref (msg);
  }
  fail_unless (tuning);
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  fail_if (g_file_test (path, G_FILE_TEST_EXISTS));
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
  g_free (launch);
}
GST_END_TEST;

static Suite *
stages_suite (void)
{
  Suite *s = suite_create ("genvideo-stages");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_chain_edits_frames);
  tcase_add_test (tc, test_reproducible);
  tcase_add_test (tc, test_weights_normalised);
  tcase_add_test (tc, test_output_masks);
  tcase_add_test (tc, test_pixel_background);
  tcase_add_test (tc, test_without_invedit_warns);
  tcase_add_test (tc, test_static_clip_matches_perfectly);
  tcase_add_test (tc, test_target_pad);
  tcase_add_test (tc, test_errors);
  tcase_add_test (tc, test_device_index_missing);
  tcase_add_test (tc, test_device_env_invalid);
  tcase_add_test (tc, test_device_no_driver);
  tcase_add_test (tc, test_tune_steps_and_file);
  tcase_add_test (tc, test_tune_cancel);
  return s;
}

GST_CHECK_MAIN (stages);
