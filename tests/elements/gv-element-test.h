/* Helpers shared by the element tests, the GStreamer side of tests/support (same gv_test_
 * prefix): numbered frames whose timing and flags are checked on the way out, the clip meta
 * looked up by name (so that the tests which load the plugin do not link a second copy of it),
 * a recorder of what leaves a pad, and buffer leak counting. */
#pragma once

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include "gstgenvideoclipmeta.h"
#include "gstgenvideomessages.h"

G_BEGIN_DECLS

#define GV_TEST_CAPS "video/x-raw,format=RGBA,width=16,height=16,framerate=25/1"
#define GV_TEST_FRAME_DURATION (GST_SECOND / 25)

/* Frame @index of GV_TEST_CAPS: its first byte is @index, PTS index x 40 ms, DTS 1 ms earlier,
 * duration 40 ms, flags that differ from frame to frame. */
GstBuffer *gv_test_frame_new (guint index);
/* Asserts that @buffer is frame @index with its original timing and flags. */
void gv_test_assert_frame (GstBuffer *buffer, guint index);
/* The same for timing and flags only (an element that edits changes the content). */
void gv_test_assert_frame_timing (GstBuffer *buffer, guint index);
/* Pushes frames @start .. @start + @n - 1, asserting GST_FLOW_OK. */
void gv_test_push_frames (GstHarness *h, guint start, guint n);

/* The clip meta of @buffer, or NULL. */
GstGenVideoClipMeta *gv_test_clip_meta (GstBuffer *buffer);
/* Asserts that @n frames pulled in order form clips of @clip_frames frames (the last one
 * shorter): frame index, frame count, one clip object per clip, a new one for each clip. */
void gv_test_assert_clips (GstBuffer **frames, guint n, guint clip_frames);
/* Pulls @n frames, asserting each is frame start + i; returns them (free with
 * gv_test_frames_free). */
GstBuffer **gv_test_pull_frames (GstHarness *h, guint start, guint n);
/* The same, checking timing and flags only. */
GstBuffer **gv_test_pull_frames_timing (GstHarness *h, guint start, guint n);
void gv_test_frames_free (GstBuffer **frames, guint n);
/* Fast settings of the three stages on the shipped tiny model (few steps), with the test
 * target image: for tests that run the compute but are not about it. */
#define GV_TEST_TUNE "genvideotune steps=0"
#define GV_TEST_EDIT "invedit inversion-steps=2 target-prompt=\"a red disc\" target-location=\"" \
  GV_TEST_DATA_DIR "/target-red-disc.png\""
#define GV_TEST_CORRECT "latentcorrect steps=2 correction-steps=1"

/* The plugin's elements, and the state changes the state tests cycle them through. */
extern const gchar *const gv_test_elements[3];
extern const GstState gv_test_state_cycle[10];

/* Sets @pipeline to NULL (it must succeed at once) and unrefs it. */
void gv_test_stop (GstElement *pipeline);

/* Pulls events until EOS; fails when none comes. */
void gv_test_wait_eos (GstHarness *h);

/* Records what passes a pad, as "stream-start caps segment B0 B1 query-drain eos" (frames by
 * their first byte; of the queries, the serialized ones). */
typedef struct _GvTestRecorder GvTestRecorder;
GvTestRecorder *gv_test_recorder_new (GstPad *pad);
/* What was recorded so far; g_free() it. */
gchar *gv_test_recorder_dup (GvTestRecorder *r);
void gv_test_recorder_free (GvTestRecorder *r);

/* Counts, in *@freed, the buffers of @buffer's kind that are finalized. Returns @buffer. */
GstBuffer *gv_test_track (GstBuffer *buffer, gint *freed);

G_END_DECLS
