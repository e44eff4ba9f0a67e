/* gv-bench-cancel [--runs N] [--frames F] [--size S] [--model DIR] [--out FILE]: how long a
 * PLAYING -> NULL and a flushing seek take to return while genvideotune tunes (steps=100000),
 * against one training step timed in the same run. Each run starts a pipeline, waits for a few
 * steps, waits a different fraction of a step (so the cancellation lands at different points
 * inside a step) and times the call. Prints max and median of each, and the step, to stdout
 * and --out. Not a test (docs/performance.md). */
#include <stdlib.h>

#include <gst/gst.h>

#include "gstgenvideomessages.h"

typedef struct {
  GMutex lock;
  GCond cond;
  guint steps_seen;           /* tuning messages since the pipeline started */
  guint first_step, last_step;
  gint64 first_us, last_us;   /* when they were posted */
  gboolean error;
} Watch;

/* on the posting (streaming) thread: the moment a step's message goes out */
static GstBusSyncReply
on_message (GstBus *bus, GstMessage *msg, gpointer data)
{
  Watch *w = data;
  const GstStructure *s = gst_message_get_structure (msg);
  guint current;

  g_mutex_lock (&w->lock);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *error = NULL;
    gst_message_parse_error (msg, &error, NULL);
    g_printerr ("gv-bench-cancel: %s\n", error->message);
    g_error_free (error);
    w->error = TRUE;
  } else if (gst_message_has_name (msg, GST_GEN_VIDEO_MESSAGE_PROGRESS)
      && g_strcmp0 (gst_structure_get_string (s, GST_GEN_VIDEO_FIELD_STAGE), "tuning") == 0
      && gst_structure_get_uint (s, GST_GEN_VIDEO_FIELD_CURRENT, &current)) {
    gint64 now = g_get_monotonic_time ();
    if (w->steps_seen++ == 0) {
      w->first_step = current;
      w->first_us = now;
    }
    w->last_step = current;
    w->last_us = now;
  }
  g_cond_broadcast (&w->cond);
  g_mutex_unlock (&w->lock);
  return GST_BUS_DROP;
}

/* Waits until @steps steps after the first reported one have been reported; the time of one
 * step (ms) from the messages, or -1 on an error or after 10 minutes. */
static gdouble
wait_steps (Watch *w, guint steps)
{
  gint64 end = g_get_monotonic_time () + 600 * G_TIME_SPAN_SECOND;
  gdouble step_ms = -1;

  g_mutex_lock (&w->lock);
  while (!w->error && (w->steps_seen == 0 || w->last_step < w->first_step + steps))
    if (!g_cond_wait_until (&w->cond, &w->lock, end))
      break;
  if (!w->error && w->steps_seen > 0 && w->last_step >= w->first_step + steps)
    step_ms = (w->last_us - w->first_us) / 1000.0 / (w->last_step - w->first_step);
  g_mutex_unlock (&w->lock);
  return step_ms;
}

static gint
compare_doubles (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;
  return (x > y) - (x < y);
}

static gdouble
median (gdouble *v, gint n)
{
  qsort (v, n, sizeof (gdouble), compare_doubles);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static gdouble
maximum (const gdouble *v, gint n)
{
  gdouble m = v[0];
  for (gint i = 1; i < n; i++)
    m = MAX (m, v[i]);
  return m;
}

/* One run: PLAYING, a few steps, @phase of a step more, then the timed call (ms). With
 * @flush a flushing seek (the pipeline is stopped afterwards, untimed), else PLAYING -> NULL.
 * *@step_ms: the step time seen in this run. -1 on a failure. */
static gdouble
run_once (const gchar *launch, gboolean flush, gdouble phase, gdouble *step_ms)
{
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (launch, &error);
  if (pipeline == NULL) {
    g_printerr ("gv-bench-cancel: %s\n", error->message);
    exit (1);
  }
  Watch w = { 0 };
  g_mutex_init (&w.lock);
  g_cond_init (&w.cond);
  GstBus *bus = gst_element_get_bus (pipeline);
  gst_bus_set_sync_handler (bus, on_message, &w, NULL);

  gdouble took = -1;
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  /* the first step compiles the kernels: time the ones after it */
  *step_ms = wait_steps (&w, 3);
  if (*step_ms > 0) {
    g_usleep ((gulong) (phase * *step_ms * 1000));
    gint64 t0 = g_get_monotonic_time ();
    gboolean ok = flush ? gst_element_seek_simple (pipeline, GST_FORMAT_TIME,
        GST_SEEK_FLAG_FLUSH, 0) : gst_element_set_state (pipeline, GST_STATE_NULL)
        == GST_STATE_CHANGE_SUCCESS;
    took = ok ? (g_get_monotonic_time () - t0) / 1000.0 : -1;
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  gboolean failed = w.error;
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_mutex_clear (&w.lock);
  g_cond_clear (&w.cond);
  return failed ? -1 : took;
}

int
main (int argc, char **argv)
{
  gint runs = 5, frames = 4, size = 64;
  gchar *model = NULL, *out = NULL;
  GOptionEntry entries[] = {
    { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Runs of each kind (5)", "N" },
    { "frames", 0, 0, G_OPTION_ARG_INT, &frames, "Frames of the clip (4)", "F" },
    { "size", 0, 0, G_OPTION_ARG_INT, &size, "Frame width and height (64)", "S" },
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model, "Model folder (the shipped tiny model)",
      "DIR" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "Also write the figures there", "FILE" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- time cancellation during tuning");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || runs < 1 || frames < 1
      || size < 8) {
    g_printerr ("gv-bench-cancel: %s\n", error ? error->message : "bad option value");
    return 2;
  }
  g_option_context_free (ctx);

  /* the plugin of this build, with a registry of its own */
  g_setenv ("GST_PLUGIN_PATH", GV_BENCH_PLUGIN_DIR, FALSE);
  g_setenv ("GST_REGISTRY", GV_BENCH_REGISTRY, FALSE);
  gst_init (NULL, NULL);

  gchar *launch = g_strdup_printf ("videotestsrc pattern=ball num-buffers=%d ! "
      "video/x-raw,format=RGBA,width=%d,height=%d ! genvideotune model=\"%s\" "
      "source-prompt=ball clip-frames=%d steps=100000 ! fakesink", frames, size, size,
      model ? model : GV_BENCH_TINY_MODEL, frames);
  gdouble *stop = g_new (gdouble, runs), *flush = g_new (gdouble, runs);
  gdouble *steps = g_new (gdouble, 2 * runs);
  for (gint r = 0; r < runs; r++) {
    /* cancel at (r + 0.5) / runs of a step */
    gdouble phase = (r + 0.5) / runs;
    stop[r] = run_once (launch, FALSE, phase, &steps[2 * r]);
    flush[r] = run_once (launch, TRUE, phase, &steps[2 * r + 1]);
    if (stop[r] < 0 || flush[r] < 0) {
      g_printerr ("gv-bench-cancel: run %d failed\n", r);
      return 1;
    }
    g_print ("run %d (%.2f of a step): PLAYING->NULL %.1f ms, flush %.1f ms, step %.1f / "
        "%.1f ms\n", r, phase, stop[r], flush[r], steps[2 * r], steps[2 * r + 1]);
  }

  gdouble step = median (steps, 2 * runs);
  gdouble stop_max = maximum (stop, runs), flush_max = maximum (flush, runs);
  gchar *report = g_strdup_printf ("genvideotune, %d frames %dx%d, %d runs of each\n"
      "one training step (median): %.1f ms\n"
      "PLAYING->NULL: max %.1f ms, median %.1f ms (max / step %.2f)\n"
      "flushing seek: max %.1f ms, median %.1f ms (max / step %.2f)\n",
      frames, size, size, runs, step, stop_max, median (stop, runs), stop_max / step,
      flush_max, median (flush, runs), flush_max / step);
  g_print ("%s", report);
  if (out && !g_file_set_contents (out, report, -1, &error)) {
    g_printerr ("gv-bench-cancel: %s\n", error->message);
    return 1;
  }
  g_free (report);
  g_free (stop);
  g_free (flush);
  g_free (steps);
  g_free (launch);
  g_free (model);
  g_free (out);
  return 0;
}
