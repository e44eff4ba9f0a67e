/* The edit through the real elements on the shipped tiny model: the frames change and keep
 * their timing, the messages come, output=masks, errors, reproducibility, the warning without
 * invedit, a static clip's perfect matches, the target pad, one shared device; the masks and
 * the edited frames the elements push are what the GenVideo functions compute. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include <gst/video/video.h>

#include "genvideo/gv-background.h"
#include "genvideo/gv-edit.h"
#include "genvideo/gv-target.h"
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

/* The genvideo-mask messages whose masks came from @origin */
static guint
count_mask_origins (Run *r, const gchar *origin)
{
  guint n = 0;
  for (guint i = 0; i < r->messages->len; i++)
    if (gst_message_has_name (r->messages->pdata[i], GST_GEN_VIDEO_MESSAGE_MASK))
      n += g_strcmp0 (gst_structure_get_string (gst_message_get_structure (
                  r->messages->pdata[i]), GST_GEN_VIDEO_FIELD_ORIGIN), origin) == 0;
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
  fail_unless_equals_int (count_mask_origins (r, GST_GEN_VIDEO_MASKS_INVEDIT), 2);
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
  fail_unless_equals_int (count_mask_origins (r, GST_GEN_VIDEO_MASKS_INVEDIT), 1);
  fail_unless_equals_int (count_mask_origins (r, GST_GEN_VIDEO_MASKS_UPSTREAM), 1);
  run_free (r);
}
GST_END_TEST;

/* A GRAY8 picture as a PNG file (encoded by GStreamer) */
static void
write_gray_png (const gchar *path, const guint8 *pixels, gint width, gint height)
{
  GstVideoInfo info;
  GstVideoFrame frame;
  GError *error = NULL;
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_GRAY8, width, height);
  GstBuffer *buffer = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  fail_unless (gst_video_frame_map (&frame, &info, buffer, GST_MAP_WRITE));
  for (gint y = 0; y < height; y++)
    memcpy ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0) +
        y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0), pixels + y * width, width);
  gst_video_frame_unmap (&frame);
  GstCaps *caps = gst_video_info_to_caps (&info), *png = gst_caps_new_empty_simple ("image/png");
  GstSample *raw = gst_sample_new (buffer, caps, NULL, NULL);
  GstSample *encoded = gst_video_convert_sample (raw, png, GST_CLOCK_TIME_NONE, &error);
  fail_unless (encoded != NULL, "%s", error ? error->message : "");
  GstMapInfo m;
  gst_buffer_map (gst_sample_get_buffer (encoded), &m, GST_MAP_READ);
  fail_unless (g_file_set_contents (path, (const gchar *) m.data, m.size, NULL));
  gst_buffer_unmap (gst_sample_get_buffer (encoded), &m);
  gst_sample_unref (encoded);
  gst_sample_unref (raw);
  gst_caps_unref (png);
  gst_caps_unref (caps);
  gst_buffer_unref (buffer);
}

/* mattes of 64x64 frames numbered from @first in @dir as m%04d.png: a square moving 6 px a
 * frame, a stray pixel of grey 100 (not inside); into @pixels when not NULL */
#define MATTES 4
static gchar *
write_mattes (guint first, guint8 *pixels)
{
  gchar *dir = g_dir_make_tmp ("genvideo-XXXXXX", NULL);
  guint8 *m = g_new (guint8, 64 * 64);
  for (guint k = 0; k < MATTES; k++) {
    for (gint y = 0; y < 64; y++)
      for (gint x = 0; x < 64; x++)
        m[y * 64 + x] = x >= 8 + 6 * (gint) k && x < 24 + 6 * (gint) k && y >= 20 && y < 36 ?
            255 : x == 60 && y == 4 ? 100 : 0;
    gchar *name = g_strdup_printf ("m%04u.png", first + k);
    gchar *path = g_build_filename (dir, name, NULL);
    write_gray_png (path, m, 64, 64);
    if (pixels)
      memcpy (pixels + k * 64 * 64, m, 64 * 64);
    g_free (path);
    g_free (name);
  }
  g_free (m);
  return dir;
}

/* the latent size of the genvideo-mask messages */
static void
mask_message_size (Run *r, gint *lw, gint *lh)
{
  for (guint i = 0; i < r->messages->len; i++)
    if (gst_message_has_name (r->messages->pdata[i], GST_GEN_VIDEO_MESSAGE_MASK)) {
      const GstStructure *st = gst_message_get_structure (r->messages->pdata[i]);
      fail_unless (gst_structure_get_int (st, GST_GEN_VIDEO_FIELD_WIDTH, lw) &&
          gst_structure_get_int (st, GST_GEN_VIDEO_FIELD_HEIGHT, lh));
      return;
    }
  fail ("no mask message");
}

/* Asserts that @r pushed the masks of @mattes (output=masks, two clips): a latent pixel inside
 * where any of its frame pixels is white. Returns the latent masks [MATTES, lh, lw]. */
static gboolean *
assert_masks_of_mattes (Run *r, const guint8 *mattes, gint *lw_out, gint *lh_out)
{
  fail_unless_equals_int (r->buffers->len, MATTES);
  fail_unless_equals_int (count_mask_origins (r, GST_GEN_VIDEO_MASKS_GIVEN), 2);
  gint lw = 0, lh = 0;
  mask_message_size (r, &lw, &lh);
  /* the expected cells, found from the pixels of each cell */
  gboolean *cell = g_new0 (gboolean, MATTES * lw * lh);
  for (gint k = 0; k < MATTES; k++)
    for (gint y = 0; y < 64; y++)
      for (gint x = 0; x < 64; x++)
        cell[(k * lh + y * lh / 64) * lw + x * lw / 64] |= mattes[(k * 64 + y) * 64 + x] > 127;
  for (gint k = 0; k < MATTES; k++) {
    GstMapInfo m;
    gst_buffer_map (r->buffers->pdata[k], &m, GST_MAP_READ);
    for (gint y = 0; y < 64; y++)
      for (gint x = 0; x < 64; x++)
        fail_unless_equals_int (m.data[y * 64 + x],
            cell[(k * lh + y * lh / 64) * lw + x * lw / 64] ? 255 : 0);
    gst_buffer_unmap (r->buffers->pdata[k], &m);
  }
  *lw_out = lw;
  *lh_out = lh;
  return cell;
}

/* mask-location: the masks are the mattes', numbered from mask-start-index across clips; the
 * edit keeps the source exactly away from them and changes the inside. */
GST_START_TEST (test_given_masks)
{
  guint8 *mattes = g_new (guint8, MATTES * 64 * 64);
  gchar *dir = write_mattes (10, mattes);
  const gchar *head = "videotestsrc pattern=ball num-buffers=4 ! " FRAMES_64 " ! "
      GV_TEST_TUNE " clip-frames=2 ! " GV_TEST_EDIT;
  gchar *launch = g_strdup_printf ("%s mask-location=%s/m%%04d.png mask-start-index=10 "
      "output=masks ! fakesink name=out", head, dir);
  Run *r = run (launch);
  assert_no_error (r);
  gint lw = 0, lh = 0;
  gboolean *cell = assert_masks_of_mattes (r, mattes, &lw, &lh);
  run_free (r);
  g_free (launch);

  /* the edit: the source's pixels where no masked cell is within the feather */
  launch = g_strdup_printf ("%s mask-location=%s/m%%04d.png mask-start-index=10 ! "
      GV_TEST_CORRECT " ! fakesink name=out", head, dir);
  Run *edit = run (launch);
  Run *plain = run ("videotestsrc pattern=ball num-buffers=4 ! " FRAMES_64 " ! "
      "fakesink name=out");
  assert_no_error (edit);
  fail_unless_equals_int (edit->buffers->len, MATTES);
  gsize far = 0, far_kept = 0, inside = 0, inside_changed = 0;
  gint reach = 64 / lw + GV_BACKGROUND_FEATHER + 1;
  for (gint k = 0; k < MATTES; k++) {
    GstMapInfo a, b;
    gst_buffer_map (edit->buffers->pdata[k], &a, GST_MAP_READ);
    gst_buffer_map (plain->buffers->pdata[k], &b, GST_MAP_READ);
    for (gint y = 0; y < 64; y++)
      for (gint x = 0; x < 64; x++) {
        gboolean near = FALSE;
        for (gint dy = -reach; dy <= reach; dy++)
          for (gint dx = -reach; dx <= reach; dx++) {
            gint yy = CLAMP (y + dy, 0, 63), xx = CLAMP (x + dx, 0, 63);
            near |= cell[(k * lh + yy * lh / 64) * lw + xx * lw / 64];
          }
        gboolean same = memcmp (a.data + (y * 64 + x) * 4, b.data + (y * 64 + x) * 4, 3) == 0;
        if (!near) {
          far++;
          far_kept += same;
        }
        if (mattes[(k * 64 + y) * 64 + x] > 127) {
          inside++;
          inside_changed += !same;
        }
      }
    gst_buffer_unmap (edit->buffers->pdata[k], &a);
    gst_buffer_unmap (plain->buffers->pdata[k], &b);
  }
  GST_INFO ("given masks: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " pixels far from them "
      "kept, %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " inside changed", far_kept, far,
      inside_changed, inside);
  fail_unless (far > 64 * 64 && far_kept == far, "%" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT,
      far_kept, far);
  fail_unless (inside_changed > inside / 2, "%" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT,
      inside_changed, inside);
  run_free (edit);
  run_free (plain);
  g_free (launch);
  g_free (cell);
  g_free (mattes);
  g_free (dir);
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

  /* mask-location: a frame without its file (frames 11 and 12 have one: the 2 frames read
   * 12 and 13), a picture of another size, a pattern without a frame number */
  gchar *mattes = write_mattes (9, NULL);
  launch = g_strdup_printf ("%s invedit name=el target-location=" TARGET " mask-location="
      "%s/m%%04d.png mask-start-index=12 ! fakesink", src, mattes);
  expect_error (launch, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
      "The mask of frame 13 was not found");
  g_free (launch);
  launch = g_strdup_printf ("%s invedit name=el target-location=" TARGET " mask-location="
      "%s%%d ! fakesink", src, small_mask);
  gchar *renamed = g_strdup_printf ("%s0", small_mask);
  g_rename (small_mask, renamed);
  expect_error (launch, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, "same size");
  g_rename (renamed, small_mask);
  g_free (renamed);
  g_free (launch);
  launch = g_strdup_printf ("%s invedit name=el target-location=" TARGET " mask-location="
      "%s/m.png ! fakesink", src, mattes);
  expect_error (launch, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
      "not a file name pattern");
  g_free (launch);
  g_free (mattes);

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

/* The mask pad: a matte stream gives the same masks as the files, paired with the frames in
 * order across clips; a stream that ends before the clip's last frame is an error that says
 * so. */
GST_START_TEST (test_mask_pad)
{
  guint8 *mattes = g_new (guint8, MATTES * 64 * 64);
  gchar *dir = write_mattes (10, mattes);
  gchar *launch = g_strdup_printf ("videotestsrc pattern=ball num-buffers=4 ! " FRAMES_64 " ! "
      GV_TEST_TUNE " clip-frames=2 ! " GV_TEST_EDIT " name=el output=masks ! fakesink name=out "
      "multifilesrc location=%s/m%%04d.png start-index=10 stop-index=%d "
      "caps=image/png,framerate=25/1 ! pngdec ! queue ! el.mask", dir, 13);
  Run *r = run (launch);
  assert_no_error (r);
  gint lw = 0, lh = 0;
  g_free (assert_masks_of_mattes (r, mattes, &lw, &lh));
  run_free (r);
  g_free (launch);

  /* three pictures for four frames: the second clip fails */
  launch = g_strdup_printf ("videotestsrc pattern=ball num-buffers=4 ! " FRAMES_64 " ! "
      GV_TEST_TUNE " clip-frames=2 ! " GV_TEST_EDIT " name=el ! fakesink name=out "
      "multifilesrc location=%s/m%%04d.png start-index=10 stop-index=12 "
      "caps=image/png,framerate=25/1 ! pngdec ! queue ! el.mask", dir);
  expect_error (launch, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED, "ended after 3 pictures");
  g_free (launch);
  g_free (mattes);
  g_free (dir);
}
GST_END_TEST;

/* Stopping while invedit waits for pictures that do not come returns at once. */
GST_START_TEST (test_mask_pad_stop)
{
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch ("videotestsrc pattern=ball num-buffers=4 ! "
      FRAMES_64 " ! " GV_TEST_TUNE " ! " GV_TEST_EDIT " name=el ! fakesink "
      "appsrc caps=video/x-raw,format=GRAY8,width=64,height=64,framerate=25/1 ! el.mask",
      &error);
  g_assert_no_error (error);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus (pipeline);
  /* the clip's first progress message: its source is prepared, the masks are next */
  GstMessage *m = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND, GST_MESSAGE_ELEMENT |
      GST_MESSAGE_ERROR);
  fail_unless (m != NULL && GST_MESSAGE_TYPE (m) == GST_MESSAGE_ELEMENT);
  gst_message_unref (m);
  g_usleep (2 * G_USEC_PER_SEC);
  gint64 start = g_get_monotonic_time ();
  gv_test_stop (pipeline);
  GST_INFO ("stopped in %.3f s", (g_get_monotonic_time () - start) / 1e6);
  gst_object_unref (bus);
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

/* ---- what the elements compute, against the GenVideo functions ---- */

#define CLIP_4 "videotestsrc pattern=ball num-buffers=4 ! " FRAMES_64
#define EDIT_3 "genvideotune steps=0 source-prompt=\"a white ball\" ! invedit inversion-steps=3 " \
  "guidance-scale=7.5 mask-threshold=0.5 mask-dilation=0 target-prompt=\"a red disc\" " \
  "target-location=\"" TARGET "\""

/* The edit of CLIP_4 by EDIT_3 and latentcorrect steps=3 correction-steps=2 (default weights,
 * radius and background preservation in latents and pixels, seed 0), computed with gv_edit_*
 * and gv_background_* directly. */
typedef struct {
  gint lw, lh;
  gfloat *masks;                /* [4, lh, lw] */
  guint8 *edited;               /* 4 RGBA frames of 64 x 64 */
  GArray *steps, *cosines;      /* the corrected steps and their mean cosines */
} Expected;

static void
expect_correction (const GvCorrectionReport *report, gpointer data)
{
  Expected *e = data;
  g_array_append_val (e->steps, report->step);
  g_array_append_val (e->cosines, report->mean_cosine);
}

/* the single buffer of @r as host bytes, with its video info */
static guint8 *
only_frame (Run *r, guint i, GstVideoInfo *info)
{
  GstMapInfo m;
  fail_unless (gst_video_info_from_caps (info, r->caps));
  gst_buffer_map (r->buffers->pdata[i], &m, GST_MAP_READ);
  guint8 *copy = g_memdup2 (m.data, m.size);
  gst_buffer_unmap (r->buffers->pdata[i], &m);
  return copy;
}

static void
compute_expected (Expected *e)
{
  GError *error = NULL;
  GstVideoInfo info, tinfo;
  Run *src = run (CLIP_4 " ! fakesink name=out");
  Run *png = run ("filesrc location=\"" TARGET "\" ! pngdec ! videoconvert ! "
      "video/x-raw,format=RGBA ! fakesink name=out");
  assert_no_error (src);
  assert_no_error (png);
  fail_unless_equals_int (src->buffers->len, 4);

  GvPicture pictures[4];
  guint8 *frames[4];
  for (guint i = 0; i < 4; i++) {
    frames[i] = only_frame (src, i, &info);
    pictures[i] = (GvPicture) { frames[i], GST_VIDEO_INFO_PLANE_STRIDE (&info, 0) };
  }
  guint8 *rgba = only_frame (png, 0, &tinfo);
  gint tw = GST_VIDEO_INFO_WIDTH (&tinfo), th = GST_VIDEO_INFO_HEIGHT (&tinfo);
  guint8 *fg = gv_target_foreground (rgba, tw, th, GST_VIDEO_INFO_PLANE_STRIDE (&tinfo, 0), NULL,
      0, NULL, &error);
  fail_unless (fg != NULL);

  GvDevice *dev = gv_device_get_shared (0, &error);
  GvModel *model = dev ? gv_model_get_shared (dev, g_getenv ("GENVIDEO_MODEL"), &error) : NULL;
  fail_unless (model != NULL, "%s", error ? error->message : "");
  GvClip *clip = gv_clip_new (4, 64, 64);
  fail_unless (gv_clip_lock (clip, NULL, NULL));
  GvEditEnv env = { .seed = 0 };
  GvMaskParams mp = { .steps = 3, .guidance_scale = 7.5f, .threshold = 0.5f,
    .clamp_ratio = 3.0f, .dilation = 0 };
  GvCorrectParams cp = { .steps = 3, .guidance_scale = 7.5f, .correction_steps = 2,
    .weight_prev = 0.25f, .weight_current = 0.5f, .weight_next = 0.25f,
    .search_radius = 0, .space = GV_CORRECTION_PREDICTIONS, .preserve_background = TRUE };
  e->steps = g_array_new (FALSE, FALSE, sizeof (gint));
  e->cosines = g_array_new (FALSE, FALSE, sizeof (gdouble));
  fail_unless (gv_edit_prepare_source (clip, model, &env, pictures, GV_PIXELS_RGBA,
          "a white ball", NULL, &error) &&
      gv_edit_set_target (clip, &env, "a red disc", fg, tw, th, tw * 3, &error) &&
      gv_edit_invert (clip, &env, 3, &error) &&
      gv_edit_compute_masks (clip, &env, &mp, &error), "%s", error ? error->message : "");
  e->lw = gv_edit_get_latent_width (clip);
  e->lh = gv_edit_get_latent_height (clip);
  e->masks = g_memdup2 (gv_edit_get_masks (clip, NULL), sizeof (gfloat) * 4 * e->lw * e->lh);
  gfloat *images = gv_edit_generate (clip, &env, &cp, expect_correction, e, &error);
  fail_unless (images != NULL, "%s", error ? error->message : "");
  /* the element's conversion: the source's pixels outside the feathered masks
   * (pixel-background), RGB written over the frame, alpha kept */
  gsize frame_size = GST_VIDEO_INFO_SIZE (&info);
  gfloat *weights = gv_background_weights (e->masks, 4, e->lw, e->lh, 64, 64,
      GV_BACKGROUND_FEATHER);
  e->edited = g_new (guint8, 4 * frame_size);
  for (guint i = 0; i < 4; i++) {
    gfloat *image = images + (gsize) i * 3 * 64 * 64;
    gv_background_composite (image, 64, 64, &pictures[i], GV_PIXELS_RGBA,
        weights + (gsize) i * 64 * 64);
    memcpy (e->edited + i * frame_size, frames[i], frame_size);
    gv_image_to_picture (image, 64, 64, e->edited + i * frame_size,
        GST_VIDEO_INFO_PLANE_STRIDE (&info, 0), GV_PIXELS_RGBA);
    g_free (frames[i]);
  }
  g_free (weights);
  g_free (images);
  gv_clip_unref (clip);
  gv_model_unref (model);
  gv_device_unref (dev);
  g_free (fg);
  g_free (rgba);
  run_free (src);
  run_free (png);
}

static void
expected_clear (Expected *e)
{
  g_free (e->masks);
  g_free (e->edited);
  g_array_unref (e->steps);
  g_array_unref (e->cosines);
}

/* What the elements push is what the GenVideo functions compute for the same clip, settings
 * and seed: output=masks pictures are the clip's masks upsampled (nearest, 0/255); the chain's
 * frames are gv_edit_generate's images, composited over the source (gv-background.h) and
 * converted the element's way; "genvideo-correction"
 * comes for the corrected steps only (the first correction-steps), with their cosines. */
GST_START_TEST (test_elements_compute_the_functions)
{
  Expected e;
  compute_expected (&e);
  GstVideoInfo info;

  Run *masks = run (CLIP_4 " ! " EDIT_3 " output=masks ! fakesink name=out");
  assert_no_error (masks);
  fail_unless_equals_int (masks->buffers->len, 4);
  guint white = 0;
  for (guint i = 0; i < 4; i++) {
    guint8 *m = only_frame (masks, i, &info);
    gint stride = GST_VIDEO_INFO_PLANE_STRIDE (&info, 0);
    fail_unless_equals_int (GST_VIDEO_INFO_FORMAT (&info), GST_VIDEO_FORMAT_GRAY8);
    for (gint y = 0; y < 64; y++)
      for (gint x = 0; x < 64; x++) {
        gfloat v = e.masks[((gsize) i * e.lh + y * e.lh / 64) * e.lw + x * e.lw / 64];
        fail_unless_equals_int (m[y * stride + x], v > 0.5f ? 255 : 0);
        white += v > 0.5f;
      }
    g_free (m);
  }
  /* the masks are neither empty nor full: the comparison tells pictures apart */
  fail_unless (white > 0 && white < 4 * 64 * 64, "%u white pixels", white);

  Run *chain4 = run (CLIP_4 " ! " EDIT_3 " ! latentcorrect steps=3 correction-steps=2 "
      "guidance-scale=7.5 search-radius=0 correction-space=predictions "
      "preserve-background=true pixel-background=true ! "
      "fakesink name=out");
  assert_no_error (chain4);
  fail_unless_equals_int (chain4->buffers->len, 4);
  for (guint i = 0; i < 4; i++) {
    guint8 *f = only_frame (chain4, i, &info);
    gsize size = GST_VIDEO_INFO_SIZE (&info);
    fail_unless (memcmp (f, e.edited + i * size, size) == 0, "frame %u differs", i);
    g_free (f);
  }
  fail_unless_equals_int (e.steps->len, 2);
  guint seen = 0;
  for (guint i = 0; i < chain4->messages->len; i++) {
    GstMessage *m = chain4->messages->pdata[i];
    gint step;
    gdouble cosine;
    if (!gst_message_has_name (m, "genvideo-correction"))
      continue;
    fail_unless (gst_structure_get_int (gst_message_get_structure (m), "step", &step));
    fail_unless (gst_structure_get_double (gst_message_get_structure (m), "mean-cosine",
            &cosine));
    fail_unless (seen < e.steps->len);
    fail_unless_equals_int (step, g_array_index (e.steps, gint, seen));
    fail_unless_equals_int (step, seen);
    fail_unless (cosine == g_array_index (e.cosines, gdouble, seen));
    seen++;
  }
  fail_unless_equals_int (seen, 2);
  run_free (masks);
  run_free (chain4);
  expected_clear (&e);
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

/* the three stages over @frames frames in clips of 4, genvideotune with @tune */
static gchar *
tune_frames (guint frames, const gchar *tune)
{
  return g_strdup_printf ("videotestsrc pattern=ball num-buffers=%u ! " FRAMES_64 " ! "
      "genvideotune name=el source-prompt=\"a white ball\" clip-frames=4 %s ! "
      GV_TEST_EDIT " ! " GV_TEST_CORRECT " ! fakesink name=out", frames, tune);
}

static gchar *
tune_chain (const gchar *tune)
{
  return tune_frames (4, tune);
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

/* @launch run again loads its tuned files: no tuning, the frames of @tuned to the byte */
static void
assert_rerun_loads (const gchar *launch, Run *tuned)
{
  gdouble loss;
  Run *again = run (launch);
  assert_no_error (again);
  fail_unless_equals_int (count_tuning (again, &loss), 0);
  fail_unless (same_buffers (tuned, again));
  run_free (again);
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

  assert_rerun_loads (launch, tuned);
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

/* Two clips with a clip-index pattern: two files written; a second run loads both, tunes
 * nothing and gives the same frames to the byte. Without a pattern the second clip's file is
 * refused; a location with another conversion fails the start. */
GST_START_TEST (test_tune_clip_files)
{
  gchar *dir = g_dir_make_tmp ("genvideo-XXXXXX", NULL);
  gchar *pattern = g_build_filename (dir, "tuned-%02u.safetensors", NULL);
  gchar *file0 = g_build_filename (dir, "tuned-00.safetensors", NULL);
  gchar *file1 = g_build_filename (dir, "tuned-01.safetensors", NULL);
  gchar *props = g_strdup_printf ("steps=2 learning-rate=1e-3 tuned-location=%s", pattern);
  gchar *launch = tune_frames (8, props);
  gdouble loss = 0;

  Run *tuned = run (launch);
  assert_no_error (tuned);
  fail_unless_equals_int (tuned->buffers->len, 8);
  fail_unless (count_tuning (tuned, &loss) > 0);
  fail_unless (g_file_test (file0, G_FILE_TEST_EXISTS) && g_file_test (file1,
          G_FILE_TEST_EXISTS));
  gchar *a, *b;
  gsize a_len, b_len;
  fail_unless (g_file_get_contents (file0, &a, &a_len, NULL)
      && g_file_get_contents (file1, &b, &b_len, NULL));
  /* each clip's own tuning (another fingerprint at least) */
  fail_if (a_len == b_len && memcmp (a, b, a_len) == 0);
  g_free (a);
  g_free (b);

  assert_rerun_loads (launch, tuned);
  run_free (tuned);
  g_free (launch);
  g_free (props);

  /* no pattern: written for the first clip, refused for the second */
  gchar *single = g_build_filename (dir, "tuned.safetensors", NULL);
  props = g_strdup_printf ("steps=2 learning-rate=1e-3 tuned-location=%s", single);
  launch = tune_frames (8, props);
  expect_error (launch, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT, "clip-index pattern");
  fail_unless (g_file_test (single, G_FILE_TEST_EXISTS));
  g_free (launch);
  g_free (props);

  gchar *bad = g_build_filename (dir, "tuned-%s.safetensors", NULL);
  props = g_strdup_printf ("steps=2 tuned-location=%s", bad);
  launch = tune_frames (8, props);
  expect_error (launch, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
      "not a clip-index conversion at %s");
  g_free (launch);
  g_free (props);

  for (const gchar *const *f = (const gchar *const[]) { file0, file1, single, NULL }; *f; f++)
    g_unlink (*f);
  g_rmdir (dir);
  g_free (bad);
  g_free (single);
  g_free (file0);
  g_free (file1);
  g_free (pattern);
  g_free (dir);
}
GST_END_TEST;

/* Pops messages until genvideotune reports a tuning step; fails on an error or EOS. */
static void
wait_for_tuning (GstBus *bus)
{
  gboolean tuning = FALSE;
  GstMessage *msg;
  while (!tuning && (msg = gst_bus_timed_pop (bus, 120 * GST_SECOND))) {
    const GstStructure *st = gst_message_get_structure (msg);
    fail_if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR);
    fail_if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
    tuning = gst_message_has_name (msg, GST_GEN_VIDEO_MESSAGE_PROGRESS)
        && g_strcmp0 (gst_structure_get_string (st, GST_GEN_VIDEO_FIELD_STAGE), "tuning") == 0;
    gst_message_unref (msg);
  }
  fail_unless (tuning);
}

/* The tensor bytes on the elements' (shared) device, which *@dev holds from the first call. */
static guint64
device_bytes (GvDevice **dev)
{
  GError *error = NULL;
  if (*dev == NULL)
    *dev = gv_device_get_shared (-1, &error);
  fail_unless (*dev != NULL, "%s", error ? error->message : "");
  guint64 bytes;
  gv_device_get_memory_stats (*dev, &bytes, NULL, NULL, NULL);
  return bytes;
}

/* Tuning for ever (steps=100000); @flush: a flushing seek in the middle of it (tuning then
 * starts again). Then PLAYING -> NULL in the middle of a step: it is cancelled, the state
 * change returns, no error is posted, no file is left and the device holds what it held
 * before (the model and the clip's tensors are gone). */
static void
cancel_tuning (gboolean flush)
{
  gchar *dir = g_dir_make_tmp ("genvideo-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, "tuned.safetensors", NULL);
  /* an endless source: after the seek it sends the first clip again */
  gchar *launch = g_strdup_printf ("videotestsrc pattern=ball ! " FRAMES_64 " ! "
      "genvideotune source-prompt=ball clip-frames=4 steps=100000 tuned-location=%s ! "
      "fakesink", path);
  GvDevice *dev = NULL;
  guint64 before = device_bytes (&dev);
  GstElement *pipeline = gst_parse_launch (launch, NULL);
  fail_unless (pipeline != NULL);
  GstBus *bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  wait_for_tuning (bus);
  if (flush) {
    fail_unless (gst_element_seek_simple (pipeline, GST_FORMAT_TIME, GST_SEEK_FLAG_FLUSH, 0));
    wait_for_tuning (bus);
  }
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  GstMessage *error = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (error == NULL);
  fail_if (g_file_test (path, G_FILE_TEST_EXISTS));
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  fail_unless_equals_uint64 (device_bytes (&dev), before);
  gv_device_unref (dev);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
  g_free (launch);
}

GST_START_TEST (test_tune_cancel)
{
  cancel_tuning (FALSE);
}
GST_END_TEST;

GST_START_TEST (test_tune_flush)
{
  cancel_tuning (TRUE);
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
  tcase_add_test (tc, test_given_masks);
  tcase_add_test (tc, test_mask_pad);
  tcase_add_test (tc, test_mask_pad_stop);
  tcase_add_test (tc, test_pixel_background);
  tcase_add_test (tc, test_without_invedit_warns);
  tcase_add_test (tc, test_static_clip_matches_perfectly);
  tcase_add_test (tc, test_target_pad);
  tcase_add_test (tc, test_elements_compute_the_functions);
  tcase_add_test (tc, test_errors);
  tcase_add_test (tc, test_device_index_missing);
  tcase_add_test (tc, test_device_env_invalid);
  tcase_add_test (tc, test_device_no_driver);
  tcase_add_test (tc, test_tune_steps_and_file);
  tcase_add_test (tc, test_tune_clip_files);
  tcase_add_test (tc, test_tune_cancel);
  tcase_add_test (tc, test_tune_flush);
  return s;
}

GST_CHECK_MAIN (stages);
