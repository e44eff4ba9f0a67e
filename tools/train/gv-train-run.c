#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>


#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "gv-train-run.h"
#include "models/gv-safetensors-write.h"
#include "base/gv-cpu-time.h"

/* the progress line at most this often (and at each stage's first and last step) */
#define PROGRESS_SECONDS 5.0

typedef struct {
  gint stage, step;
  gfloat loss;
  gdouble seconds;      /* wall time since the stage began, over its sessions */
  gdouble cpu;          /* CPU time of the step (all threads): what a quiet machine needs */
} Row;

struct _GvTrainRun {
  gchar *work, *model, *csv;
  GvTrainRecipe *recipe;
  gdouble checkpoint_seconds;
  gboolean quiet;
  gint stop_after;
  GArray *rows;         /* Row, of every stage */
  GvTrainCheckpointFunc checkpoint_func;
  gpointer checkpoint_data;
};

static gchar *
state_path (GvTrainRun *run, GvTrainStage stage)
{
  g_autofree gchar *name = g_strdup_printf ("%s.state.json", gv_train_stage_name (stage));
  return g_build_filename (run->work, name, NULL);
}

/* the rows of an earlier session; a malformed line ends the table */
static void
read_rows (GvTrainRun *run)
{
  g_autofree gchar *text = NULL;
  if (!g_file_get_contents (run->csv, &text, NULL, NULL))
    return;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (gint i = 1; lines[i] != NULL && lines[i][0]; i++) {
    g_auto (GStrv) f = g_strsplit (lines[i], ",", -1);
    if (g_strv_length (f) != 5)
      break;
    Row r = { -1, atoi (f[1]), (gfloat) g_ascii_strtod (f[2], NULL),
      g_ascii_strtod (f[3], NULL), g_ascii_strtod (f[4], NULL) };
    for (gint s = 0; s < GV_N_STAGES; s++)
      if (strcmp (f[0], gv_train_stage_name (s)) == 0)
        r.stage = s;
    if (r.stage < 0)
      break;
    g_array_append_val (run->rows, r);
  }
}

static gboolean
write_rows (GvTrainRun *run, GError **error)
{
  GString *s = g_string_new ("stage,step,loss,seconds,cpu_seconds\n");
  for (guint i = 0; i < run->rows->len; i++) {
    const Row *r = &g_array_index (run->rows, Row, i);
    gchar loss[G_ASCII_DTOSTR_BUF_SIZE], secs[G_ASCII_DTOSTR_BUF_SIZE],
        cpu[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd (loss, sizeof loss, "%.7g", r->loss);
    g_ascii_formatd (secs, sizeof secs, "%.3f", r->seconds);
    g_ascii_formatd (cpu, sizeof cpu, "%.3f", r->cpu);
    g_string_append_printf (s, "%s,%d,%s,%s,%s\n", gv_train_stage_name (r->stage), r->step,
        loss, secs, cpu);
  }
  gboolean ok = g_file_set_contents (run->csv, s->str, (gssize) s->len, error);
  g_string_free (s, TRUE);
  return ok;
}

GvTrainRun *
gv_train_run_open (const gchar *work, GvTrainRecipe *recipe, gdouble checkpoint_seconds,
    gboolean quiet, GError **error)
{
  if (g_mkdir_with_parents (work, 0755) != 0) {
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "%s: cannot create: %s",
        work, g_strerror (errno));
    return NULL;
  }
  g_autofree gchar *recipe_path = g_build_filename (work, "recipe.ini", NULL);
  g_autofree gchar *text = gv_train_recipe_to_data (recipe);
  g_autofree gchar *old = NULL;
  if (g_file_get_contents (recipe_path, &old, NULL, NULL)) {
    if (strcmp (old, text) != 0) {
      g_set_error (error, GV_ERROR, GV_ERROR_INVALID, "%s: the work folder was started with "
          "another recipe (%s); resume with the same options, or use another --work", work,
          recipe_path);
      return NULL;
    }
  } else if (!g_file_set_contents (recipe_path, text, -1, error)) {
    return NULL;
  }

  GvTrainRun *run = g_new0 (GvTrainRun, 1);
  run->work = g_strdup (work);
  run->model = g_build_filename (work, "model", NULL);
  run->csv = g_build_filename (work, "loss.csv", NULL);
  run->recipe = recipe;
  run->checkpoint_seconds = checkpoint_seconds;
  run->quiet = quiet;
  run->rows = g_array_new (FALSE, FALSE, sizeof (Row));
  read_rows (run);
  return run;
}

void
gv_train_run_free (GvTrainRun *run)
{
  if (run == NULL)
    return;
  g_free (run->work);
  g_free (run->model);
  g_free (run->csv);
  g_array_unref (run->rows);
  g_free (run);
}

const gchar *
gv_train_run_get_work (GvTrainRun *run)
{
  return run->work;
}

const gchar *
gv_train_run_get_model_folder (GvTrainRun *run)
{
  return run->model;
}

GvTrainRecipe *
gv_train_run_get_recipe (GvTrainRun *run)
{
  return run->recipe;
}

void
gv_train_run_set_stop_after (GvTrainRun *run, gint steps)
{
  run->stop_after = steps;
}

typedef struct {
  gint step;
  guint64 sampler;
  gboolean done;
  gchar *file;
} State;

static gboolean
read_state (GvTrainRun *run, GvTrainStage stage, State *st, GError **error)
{
  memset (st, 0, sizeof *st);
  g_autofree gchar *path = state_path (run, stage);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  g_autoptr (JsonParser) p = json_parser_new ();
  if (!json_parser_load_from_file (p, path, error))
    return FALSE;
  JsonNode *root = json_parser_get_root (p);
  if (!JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, GV_ERROR, GV_ERROR_CORRUPT, "%s: not a JSON object", path);
    return FALSE;
  }
  JsonObject *o = json_node_get_object (root);
  st->step = (gint) json_object_get_int_member_with_default (o, "step", 0);
  st->sampler = (guint64) json_object_get_int_member_with_default (o, "sampler", 0);
  st->done = json_object_get_boolean_member_with_default (o, "done", FALSE);
  st->file = g_strdup (json_object_get_string_member_with_default (o, "file", ""));
  return TRUE;
}

static gboolean
write_state (GvTrainRun *run, GvTrainStage stage, const State *st, GError **error)
{
  g_autofree gchar *path = state_path (run, stage);
  g_autofree gchar *text = g_strdup_printf ("{\"step\": %d, \"sampler\": %" G_GUINT64_FORMAT
      ", \"done\": %s, \"file\": \"%s\"}\n", st->step, st->sampler, st->done ? "true" :
      "false", st->file ? st->file : "");
  return g_file_set_contents (path, text, -1, error);
}

gboolean
gv_train_run_stage_done (GvTrainRun *run, GvTrainStage stage)
{
  State st;
  gboolean done = read_state (run, stage, &st, NULL) && st.done;
  g_free (st.file);
  return done;
}

gint
gv_train_run_get_checkpoint_step (GvTrainRun *run, GvTrainStage stage)
{
  State st;
  gint step = read_state (run, stage, &st, NULL) && st.file && st.file[0] ? st.step : 0;
  g_free (st.file);
  return step;
}

void
gv_train_run_set_checkpoint_func (GvTrainRun *run, GvTrainCheckpointFunc func, gpointer data)
{
  run->checkpoint_func = func;
  run->checkpoint_data = data;
}

gboolean
gv_train_run_finish_stage (GvTrainRun *run, GvTrainStage stage, GError **error)
{
  State st;
  if (!read_state (run, stage, &st, error))
    return FALSE;
  st.done = TRUE;
  gboolean ok = write_state (run, stage, &st, error);
  g_free (st.file);
  return ok;
}

gdouble
gv_train_lr (const GvStageRecipe *r, gint step)
{
  if (step < r->warmup)
    return r->lr * (step + 1) / r->warmup;
  gdouble p = r->steps > r->warmup ? (gdouble) (step - r->warmup) / (r->steps - r->warmup) : 1;
  return r->lr * (0.1 + 0.9 * 0.5 * (1.0 + cos (G_PI * MIN (p, 1.0))));
}

static gboolean
has_prefix (const gchar *name, const gchar *const *prefixes)
{
  for (gint i = 0; prefixes == NULL || prefixes[i] != NULL; i++)
    if (prefixes == NULL || g_str_has_prefix (name, prefixes[i]))
      return TRUE;
  return FALSE;
}

gboolean
gv_train_save_weights (GvOptimizer *opt, const gchar *const *prefixes, const gchar *path,
    GError **error)
{
  g_autoptr (GvStWriter) w = gv_st_writer_new ();
  gv_st_writer_set_metadata (w, "format", "pt");
  for (gint i = 0; i < gv_optimizer_get_n_params (opt); i++) {
    if (!has_prefix (gv_optimizer_get_name (opt, i), prefixes))
      continue;
    /* the moving average where the stage keeps one (what diffusion training ships) */
    GvTensor *t = gv_optimizer_get_ema (opt, i) ? gv_optimizer_get_ema (opt, i) :
        gv_optimizer_get_param (opt, i);
    g_autofree gfloat *v = g_new (gfloat, MAX (t->numel, 1));
    if (!gv_tensor_download (t, v, error))
      return FALSE;
    gv_st_writer_add (w, gv_optimizer_get_name (opt, i), t->ndim, t->shape, v);
  }
  return gv_st_writer_write (w, path, error);
}

static gboolean
checkpoint (GvTrainRun *run, GvTrainStage stage, GvOptimizer *opt, State *st, GError **error)
{
  g_autofree gchar *name = g_strdup_printf ("%s-%d.safetensors", gv_train_stage_name (stage),
      st->step);
  g_autofree gchar *path = g_build_filename (run->work, name, NULL);
  if (!gv_optimizer_save (opt, path, error) ||
      (run->checkpoint_func && !run->checkpoint_func (run->checkpoint_data, error)))
    return FALSE;
  g_autofree gchar *old = st->file && st->file[0] && strcmp (st->file, name) != 0 ?
      g_build_filename (run->work, st->file, NULL) : NULL;
  g_free (st->file);
  st->file = g_strdup (name);
  if (!write_state (run, stage, st, error) || !write_rows (run, error))
    return FALSE;
  if (old != NULL)
    g_unlink (old);
  return TRUE;
}

static void
format_duration (gchar *buf, gsize n, gdouble s)
{
  gint t = (gint) (s + 0.5);
  if (t >= 3600)
    g_snprintf (buf, n, "%dh%02dm", t / 3600, t / 60 % 60);
  else
    g_snprintf (buf, n, "%dm%02ds", t / 60, t % 60);
}

gboolean
gv_train_run_stage (GvTrainRun *run, GvTrainStage stage, GvOptimizer *opt,
    GvTrainStepFunc step_fn, gpointer data, GError **error)
{
  const GvStageRecipe *r = &run->recipe->stage[stage];
  State st;
  if (!read_state (run, stage, &st, error))
    return FALSE;
  if (st.file != NULL && st.file[0]) {
    g_autofree gchar *path = g_build_filename (run->work, st.file, NULL);
    if (!gv_optimizer_load (opt, path, error) ||
        gv_optimizer_get_step_count (opt) != st.step) {
      if (error != NULL && *error == NULL)
        g_set_error (error, GV_ERROR, GV_ERROR_CORRUPT, "%s: holds step %d, the state says %d",
            path, gv_optimizer_get_step_count (opt), st.step);
      g_free (st.file);
      return FALSE;
    }
  }
  /* rows past the checkpoint were not kept: they are done again */
  for (guint i = run->rows->len; i-- > 0;) {
    const Row *row = &g_array_index (run->rows, Row, i);
    if (row->stage == (gint) stage && row->step >= st.step)
      g_array_remove_index (run->rows, i);
  }
  gdouble done_seconds = 0;
  for (guint i = 0; i < run->rows->len; i++) {
    const Row *row = &g_array_index (run->rows, Row, i);
    if (row->stage == (gint) stage)
      done_seconds = MAX (done_seconds, row->seconds);
  }

  gint64 start = g_get_monotonic_time (), last_ckpt = start, last_print = 0;
  gint session_steps = 0;
  gdouble ema = 0;
  gboolean ok = TRUE;
  while (ok && st.step < r->steps) {
    if (run->stop_after > 0 && session_steps >= run->stop_after) {
      ok = checkpoint (run, stage, opt, &st, error);
      if (ok)
        g_set_error (error, GV_ERROR, GV_ERROR_CANCELLED, "stopped after %d steps (as asked)",
            session_steps);
      g_free (st.file);
      return FALSE;
    }
    gint64 t0 = g_get_monotonic_time ();
    gdouble c0 = gv_cpu_seconds ();
    gfloat loss = 0;
    guint64 next = st.sampler;
    gv_optimizer_set_lr (opt, gv_train_lr (r, st.step));
    if (!step_fn (data, st.step, st.sampler, &next, &loss, error)) {
      ok = FALSE;
      break;
    }
    gint64 t1 = g_get_monotonic_time ();
    gdouble dt = (t1 - t0) / 1e6;
    /* the first step of a session compiles the kernels: the rate starts at the second */
    ema = session_steps <= 1 ? dt : 0.9 * ema + 0.1 * dt;
    Row row = { stage, st.step, loss, done_seconds + (t1 - start) / 1e6, gv_cpu_seconds () - c0 };
    g_array_append_val (run->rows, row);
    st.step++;
    st.sampler = next;
    session_steps++;

    if (!run->quiet && (st.step == 1 || st.step == r->steps || session_steps == 1 ||
            (t1 - last_print) / 1e6 >= PROGRESS_SECONDS)) {
      gchar eta[32];
      format_duration (eta, sizeof eta, ema * (r->steps - st.step));
      g_printerr ("[%s] step %d/%d loss %.5f lr %.2e %.2f s/step (cpu %.2f s) ETA %s\n",
          gv_train_stage_name (stage), st.step, r->steps, loss, gv_train_lr (r, st.step - 1),
          ema, row.cpu, eta);
      last_print = t1;
      ok = write_rows (run, error);
    }
    if (ok && (st.step == r->steps || (t1 - last_ckpt) / 1e6 >= run->checkpoint_seconds)) {
      ok = checkpoint (run, stage, opt, &st, error);
      last_ckpt = g_get_monotonic_time ();
    }
  }
  if (ok && st.step == r->steps && st.file == NULL)
    ok = checkpoint (run, stage, opt, &st, error);   /* a stage of 0 steps */
  g_free (st.file);
  return ok;
}

gboolean
gv_train_run_network (GvTrainRun *run, GvTrainStage stage, GvOptimizer *opt,
    GvTrainStepFunc step, gpointer data, const GvTrainOutput *outputs, gint n_outputs,
    GError **error)
{
  if (!gv_train_run_stage (run, stage, opt, step, data, error))
    return FALSE;
  for (gint i = 0; i < n_outputs; i++) {
    g_autofree gchar *path = g_build_filename (run->model, outputs[i].file, NULL);
    if (!gv_train_save_weights (opt, outputs[i].prefixes, path, error))
      return FALSE;
  }
  return TRUE;
}

gint
gv_train_run_get_losses (GvTrainRun *run, GvTrainStage stage, gint **steps, gfloat **losses)
{
  gint n = 0;
  *steps = g_new (gint, run->rows->len + 1);
  *losses = g_new (gfloat, run->rows->len + 1);
  for (guint i = 0; i < run->rows->len; i++) {
    const Row *row = &g_array_index (run->rows, Row, i);
    if (row->stage == (gint) stage) {
      (*steps)[n] = row->step;
      (*losses)[n++] = row->loss;
    }
  }
  return n;
}

void
gv_train_run_get_times (GvTrainRun *run, GvTrainStage stage, gdouble *wall, gdouble *cpu)
{
  *wall = *cpu = 0;
  for (guint i = 0; i < run->rows->len; i++) {
    const Row *row = &g_array_index (run->rows, Row, i);
    if (row->stage == (gint) stage) {
      *wall = MAX (*wall, row->seconds);
      *cpu += row->cpu;
    }
  }
}
