/* gv-bench-ops: times the heavy ops on the chosen Vulkan device against the same computation
 * done by OpenBLAS (plus plain C for the parts that are no GEMM) in the same run, with as many
 * threads as the device uses. Prints a table; --json FILE writes the figures.
 *
 * Not a test: figures vary with the machine's load, compare the ratios of one run. Links the
 * core library only (no GStreamer). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <json-glib/json-glib.h>

#include "nn/gv-ops.h"

#ifdef GV_BENCH_OPENBLAS
void openblas_set_num_threads (int num_threads);
#endif

typedef struct {
  gint runs, warmup, threads;
  gboolean cpu_time;     /* time by process CPU time / threads instead of wall time */
  GvDevice *dev;
} Bench;

typedef struct {
  const gchar *name;
  gdouble flops;         /* floating-point operations of one run */
  gdouble ms, baseline_ms;
} Result;

/* ---- timing ---- */

static gint
cmp_double (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;
  return x < y ? -1 : x > y;
}

typedef void (*RunFunc) (gpointer data);

/* ms of wall time, or with --cpu-time of process CPU time spread over the threads (on a
 * machine shared with other work this is the steadier figure: waiting for a core costs none) */
static gdouble
now_ms (const Bench *b)
{
  if (b->cpu_time) {
    struct timespec ts;
    clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6) / b->threads;
  }
  return g_get_monotonic_time () / 1000.0;
}

/* median time in ms of @runs calls after @warmup untimed ones */
static gdouble
time_median (const Bench *b, RunFunc fn, gpointer data)
{
  gdouble t[64];
  gint runs = CLAMP (b->runs, 1, 64);
  for (gint i = 0; i < b->warmup; i++)
    fn (data);
  for (gint i = 0; i < runs; i++) {
    gdouble t0 = now_ms (b);
    fn (data);
    t[i] = now_ms (b) - t0;
  }
  qsort (t, runs, sizeof (gdouble), cmp_double);
  return runs % 2 ? t[runs / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
}

/* times @device and @baseline on the same data */
static void
measure (const Bench *b, Result *r, RunFunc device, RunFunc baseline, gpointer data)
{
  r->ms = time_median (b, device, data);
  r->baseline_ms = time_median (b, baseline, data);
}

/* ---- plain C in parallel, for the parts of the baselines that are no GEMM ---- */

typedef void (*RangeFunc) (gint64 first, gint64 end, gpointer data);

typedef struct {
  RangeFunc fn;
  gpointer data;
  gint64 first, end;
} Slice;

static gpointer
slice_run (gpointer p)
{
  Slice *s = p;
  s->fn (s->first, s->end, s->data);
  return NULL;
}

static void
parallel_for (gint threads, gint64 count, RangeFunc fn, gpointer data)
{
  Slice s[64];
  GThread *th[64];
  threads = CLAMP (threads, 1, 64);
  for (gint i = 0; i < threads; i++)
    s[i] = (Slice) { fn, data, count * i / threads, count * (i + 1) / threads };
  for (gint i = 1; i < threads; i++)
    th[i] = g_thread_new ("bench", slice_run, &s[i]);
  slice_run (&s[0]);
  for (gint i = 1; i < threads; i++)
    g_thread_join (th[i]);
}

/* ---- scratch: what a case allocates, released after it ---- */

static GPtrArray *scratch_tensors, *scratch_host;

static gpointer
host (gpointer p)
{
  g_ptr_array_add (scratch_host, p);
  return p;
}

/* ---- device helpers ---- */

/* a tensor of uniform random values in [-1, 1), its host copy in @data (both scratch) */
static GvTensor *
random_tensor (GvDevice *dev, gint ndim, const gint64 *shape, guint32 seed, gfloat **data)
{
  gint64 n = 1;
  for (gint i = 0; i < ndim; i++)
    n *= shape[i];
  gfloat *x = g_new (gfloat, n);
  GRand *r = g_rand_new_with_seed (seed);
  for (gint64 i = 0; i < n; i++)
    x[i] = (gfloat) g_rand_double_range (r, -1, 1);
  g_rand_free (r);
  GError *error = NULL;
  GvTensor *t = gv_tensor_new_from_data (dev, ndim, shape, x, &error);
  if (t == NULL)
    g_error ("upload: %s", error->message);
  g_ptr_array_add (scratch_tensors, t);
  *data = host (x);
  return t;
}
#define RANDOM(dev, seed, host, ...) \
  random_tensor ((dev), GV_NDIMS (__VA_ARGS__), (const gint64[]) { __VA_ARGS__ }, (seed), (host))

static GvTensor *
empty_tensor (GvDevice *dev, GvDType dtype, gint ndim, const gint64 *shape)
{
  GError *error = NULL;
  GvTensor *t = gv_tensor_new_typed (dev, dtype, ndim, shape, &error);
  if (t == NULL)
    g_error ("allocation: %s", error->message);
  g_ptr_array_add (scratch_tensors, t);
  return t;
}
#define EMPTY(dev, dtype, ...) \
  empty_tensor ((dev), (dtype), GV_NDIMS (__VA_ARGS__), (const gint64[]) { __VA_ARGS__ })

static void
finish (GvCmd *cmd)
{
  GError *error = NULL;
  if (!gv_cmd_finish (cmd, &error))
    g_error ("device: %s", error->message);
}

/* ---- matmul ---- */

typedef struct {
  GvCmd *cmd;
  GvTensor *a, *b, *out;
  const gfloat *ha, *hb;
  gfloat *hout;
  gint m, k, n;
} MatmulCase;

static void
matmul_device (gpointer p)
{
  MatmulCase *c = p;
  gv_op_matmul (c->cmd, c->out, c->a, c->b, NULL);
  finish (c->cmd);
}

static void
matmul_blas (gpointer p)
{
  MatmulCase *c = p;
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, c->m, c->n, c->k, 1.0f, c->ha, c->k,
      c->hb, c->n, 0.0f, c->hout, c->n);
}

static void
bench_matmul (const Bench *b, Result *r, gint m, gint k, gint n)
{
  gfloat *ha, *hb;
  MatmulCase c = { gv_cmd_new (b->dev) };
  c.a = RANDOM (b->dev, 1, &ha, m, k);
  c.b = RANDOM (b->dev, 2, &hb, k, n);
  c.out = EMPTY (b->dev, GV_DTYPE_F32, m, n);
  c.ha = ha;
  c.hb = hb;
  c.hout = host (g_new (gfloat, (gsize) m * n));
  c.m = m;
  c.k = k;
  c.n = n;
  r->flops = 2.0 * m * k * n;
  measure (b, r, matmul_device, matmul_blas, &c);
  gv_cmd_free (c.cmd);
}

/* ---- conv2d 3x3, padding 1 ---- */

typedef struct {
  GvCmd *cmd;
  GvTensor *in, *w, *bias, *out;
  const gfloat *hin, *hw, *hbias;
  gfloat *col, *hout;
  gint batch, c, co, h, wd, threads;
  const gfloat *hin_image;     /* the image of the batch conv_blas is at */
  gfloat *hout_image;
} ConvCase;

static void
conv_device (gpointer p)
{
  ConvCase *c = p;
  GvConvArgs args = { .stride = 1, .pad_top = 1, .pad_bottom = 1, .pad_left = 1,
    .pad_right = 1, .bias = c->bias };
  gv_op_conv2d (c->cmd, c->out, c->in, c->w, &args);
  finish (c->cmd);
}

static void
im2col_rows (gint64 first, gint64 end, gpointer p)
{
  ConvCase *c = p;
  gint64 hw = (gint64) c->h * c->wd;
  for (gint64 row = first; row < end; row++) {
    gint64 ci = row / 9, ky = row % 9 / 3, kx = row % 3;
    gfloat *dst = c->col + row * hw;
    for (gint y = 0; y < c->h; y++) {
      gint iy = y + ky - 1;
      for (gint x = 0; x < c->wd; x++) {
        gint ix = x + kx - 1;
        dst[y * c->wd + x] = iy < 0 || iy >= c->h || ix < 0 || ix >= c->wd ? 0.0f :
            c->hin_image[(ci * c->h + iy) * c->wd + ix];
      }
    }
  }
}

static void
bias_rows (gint64 first, gint64 end, gpointer p)
{
  ConvCase *c = p;
  gint64 hw = (gint64) c->h * c->wd;
  for (gint64 co = first; co < end; co++)
    for (gint64 i = 0; i < hw; i++)
      c->hout_image[co * hw + i] = c->hbias[co];
}

static void
conv_blas (gpointer p)
{
  ConvCase *c = p;
  gint hw = c->h * c->wd, k = c->c * 9;
  for (gint i = 0; i < c->batch; i++) {
    c->hin_image = c->hin + (gsize) i * c->c * hw;
    c->hout_image = c->hout + (gsize) i * c->co * hw;
    parallel_for (c->threads, k, im2col_rows, c);
    parallel_for (c->threads, c->co, bias_rows, c);
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, c->co, hw, k, 1.0f, c->hw, k,
        c->col, hw, 1.0f, c->hout_image, hw);
  }
}

static void
bench_conv (const Bench *b, Result *r, gint batch, gint ch, gint size)
{
  gfloat *hin, *hw, *hbias;
  ConvCase c = { gv_cmd_new (b->dev) };
  c.in = RANDOM (b->dev, 3, &hin, batch, ch, size, size);
  c.w = RANDOM (b->dev, 4, &hw, ch, ch, 3, 3);
  c.bias = RANDOM (b->dev, 5, &hbias, ch);
  c.out = EMPTY (b->dev, GV_DTYPE_F32, batch, ch, size, size);
  c.hin = hin;
  c.hw = hw;
  c.hbias = hbias;
  c.batch = batch;
  c.c = c.co = ch;
  c.h = c.wd = size;
  c.threads = b->threads;
  c.col = host (g_new (gfloat, (gsize) ch * 9 * size * size));
  c.hout = host (g_new (gfloat, (gsize) batch * ch * size * size));
  r->flops = 2.0 * batch * ch * ch * 9 * size * size;
  measure (b, r, conv_device, conv_blas, &c);
  gv_cmd_free (c.cmd);
}

/* ---- attention: 4096 x 4096 tokens, 5 heads of 64 ---- */

typedef struct {
  GvCmd *cmd;
  GvTensor *q, *k, *v, *out;
  const gfloat *hq, *hk, *hv;
  gfloat *s, *hout;
  gint l, heads, d, threads;
} AttnCase;

static void
attn_device (gpointer p)
{
  AttnCase *c = p;
  GvAttentionArgs args = { .heads = c->heads };
  gv_op_attention (c->cmd, c->out, c->q, c->k, c->v, &args);
  finish (c->cmd);
}

/* row = softmax (scale * row) */
static void
softmax_row (gfloat *row, gint l, gfloat scale)
{
  gfloat mx = -INFINITY, sum = 0;
  for (gint j = 0; j < l; j++)
    mx = MAX (mx, row[j]);
  for (gint j = 0; j < l; j++) {
    row[j] = expf ((row[j] - mx) * scale);
    sum += row[j];
  }
  for (gint j = 0; j < l; j++)
    row[j] /= sum;
}

static void
softmax_rows (gint64 first, gint64 end, gpointer p)
{
  AttnCase *c = p;
  gfloat scale = 1.0f / sqrtf ((gfloat) c->d);
  for (gint64 i = first; i < end; i++)
    softmax_row (c->s + i * c->l, c->l, scale);
}

static void
attn_blas (gpointer p)
{
  AttnCase *c = p;
  gint ld = c->heads * c->d;
  for (gint h = 0; h < c->heads; h++) {
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, c->l, c->l, c->d, 1.0f,
        c->hq + h * c->d, ld, c->hk + h * c->d, ld, 0.0f, c->s, c->l);
    parallel_for (c->threads, c->l, softmax_rows, c);
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, c->l, c->d, c->l, 1.0f, c->s, c->l,
        c->hv + h * c->d, ld, 0.0f, c->hout + h * c->d, ld);
  }
}

static void
bench_attention (const Bench *b, Result *r)
{
  gint l = 4096, heads = 5, d = 64;
  r->flops = 4.0 * heads * l * l * d;
  gfloat *hq, *hk, *hv;
  AttnCase c = { gv_cmd_new (b->dev) };
  c.q = RANDOM (b->dev, 6, &hq, 1, l, heads * d);
  c.k = RANDOM (b->dev, 7, &hk, 1, l, heads * d);
  c.v = RANDOM (b->dev, 8, &hv, 1, l, heads * d);
  c.out = EMPTY (b->dev, GV_DTYPE_F32, 1, l, heads * d);
  c.hq = hq;
  c.hk = hk;
  c.hv = hv;
  c.s = host (g_new (gfloat, (gsize) l * l));
  c.hout = host (g_new (gfloat, (gsize) l * heads * d));
  c.l = l;
  c.heads = heads;
  c.d = d;
  c.threads = b->threads;
  measure (b, r, attn_device, attn_blas, &c);
  gv_cmd_free (c.cmd);
}

/* ---- group norm (32 groups) + SiLU on 320 x 64 x 64 ---- */

typedef struct {
  GvCmd *cmd;
  GvTensor *in, *gamma, *beta, *out;
  const gfloat *hin, *hgamma, *hbeta;
  gfloat *hout;
  gint c, s, groups, threads;
} NormCase;

static void
norm_device (gpointer p)
{
  NormCase *c = p;
  gv_op_group_norm (c->cmd, c->out, c->in, c->gamma, c->beta, c->groups, 1, 1e-5f, TRUE);
  finish (c->cmd);
}

static void
norm_groups (gint64 first, gint64 end, gpointer p)
{
  NormCase *c = p;
  gint cg = c->c / c->groups;
  gint64 n = (gint64) cg * c->s;
  for (gint64 g = first; g < end; g++) {
    const gfloat *x = c->hin + g * n;
    gfloat *y = c->hout + g * n;
    gdouble sum = 0, sq = 0;
    for (gint64 i = 0; i < n; i++)
      sum += x[i];
    gdouble mean = sum / n;
    for (gint64 i = 0; i < n; i++)
      sq += (x[i] - mean) * (x[i] - mean);
    gfloat rstd = (gfloat) (1.0 / sqrt (sq / n + 1e-5));
    for (gint ch = 0; ch < cg; ch++) {
      gint cc = (gint) g * cg + ch;
      gfloat a = rstd * c->hgamma[cc], bb = c->hbeta[cc] - (gfloat) mean * a;
      for (gint i = 0; i < c->s; i++) {
        gfloat v = x[(gint64) ch * c->s + i] * a + bb;
        y[(gint64) ch * c->s + i] = v / (1.0f + expf (-v));
      }
    }
  }
}

static void
norm_plain (gpointer p)
{
  NormCase *c = p;
  parallel_for (c->threads, c->groups, norm_groups, c);
}

static void
bench_group_norm (const Bench *b, Result *r)
{
  gint ch = 320, s = 64 * 64;
  /* nominal operation count: sum, centred square sum, scale + shift, SiLU (4) per element */
  r->flops = 8.0 * ch * s;
  gfloat *hin, *hg, *hb;
  NormCase c = { gv_cmd_new (b->dev) };
  c.in = RANDOM (b->dev, 9, &hin, 1, ch, 64, 64);
  c.gamma = RANDOM (b->dev, 10, &hg, ch);
  c.beta = RANDOM (b->dev, 11, &hb, ch);
  c.out = EMPTY (b->dev, GV_DTYPE_F32, 1, ch, 64, 64);
  c.hin = hin;
  c.hgamma = hg;
  c.hbeta = hb;
  c.hout = host (g_new (gfloat, (gsize) ch * s));
  c.c = ch;
  c.s = s;
  c.groups = 32;
  c.threads = b->threads;
  measure (b, r, norm_device, norm_plain, &c);
  gv_cmd_free (c.cmd);
}

/* ---- nearest-neighbour search: 64 x 64 positions, 640 channels ---- */

typedef struct {
  GvCmd *cmd;
  GvTensor *a, *b, *index;
  const gfloat *ha, *hb;
  gfloat *na, *nb, *s;
  gint32 *hindex;
  gint c, p, threads;
} MatchCase;

static void
match_device (gpointer p)
{
  MatchCase *c = p;
  gv_op_nn_search (c->cmd, c->index, NULL, c->a, c->b, 0);
  finish (c->cmd);
}

/* features [C, P] -> unit vectors [P, C] */
static void
normalise_positions (gint64 first, gint64 end, gpointer p)
{
  MatchCase *c = p;
  for (gint64 q = first; q < end; q++) {
    for (gint which = 0; which < 2; which++) {
      const gfloat *src = which ? c->hb : c->ha;
      gfloat *dst = (which ? c->nb : c->na) + q * c->c;
      gdouble sq = 0;
      for (gint ch = 0; ch < c->c; ch++)
        sq += (gdouble) src[(gint64) ch * c->p + q] * src[(gint64) ch * c->p + q];
      gfloat inv = (gfloat) (1.0 / MAX (sqrt (sq), 1e-12));
      for (gint ch = 0; ch < c->c; ch++)
        dst[ch] = src[(gint64) ch * c->p + q] * inv;
    }
  }
}

static void
argmax_rows (gint64 first, gint64 end, gpointer p)
{
  MatchCase *c = p;
  for (gint64 i = first; i < end; i++) {
    const gfloat *row = c->s + i * c->p;
    gint best = 0;
    for (gint j = 1; j < c->p; j++)
      if (row[j] > row[best])
        best = j;
    c->hindex[i] = best;
  }
}

static void
match_blas (gpointer p)
{
  MatchCase *c = p;
  parallel_for (c->threads, c->p, normalise_positions, c);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, c->p, c->p, c->c, 1.0f, c->na, c->c,
      c->nb, c->c, 0.0f, c->s, c->p);
  parallel_for (c->threads, c->p, argmax_rows, c);
}

static void
bench_nn_search (const Bench *b, Result *r)
{
  gint ch = 640, p = 64 * 64;
  r->flops = 2.0 * p * p * ch;
  gfloat *ha, *hb;
  MatchCase c = { gv_cmd_new (b->dev) };
  c.a = RANDOM (b->dev, 12, &ha, 1, ch, 64, 64);
  c.b = RANDOM (b->dev, 13, &hb, 1, ch, 64, 64);
  c.index = EMPTY (b->dev, GV_DTYPE_I32, 1, p);
  c.ha = ha;
  c.hb = hb;
  c.na = host (g_new (gfloat, (gsize) p * ch));
  c.nb = host (g_new (gfloat, (gsize) p * ch));
  c.s = host (g_new (gfloat, (gsize) p * p));
  c.hindex = host (g_new (gint32, p));
  c.c = ch;
  c.p = p;
  c.threads = b->threads;
  measure (b, r, match_device, match_blas, &c);
  gv_cmd_free (c.cmd);
}

/* ---- backward: conv3x3 data and weight gradients, linear weight gradient ---- */

typedef struct {
  ConvCase conv;         /* in: the image (x), out: dy; col: the column matrix */
  GvTensor *dx, *dw;
  const gfloat *hdy;
  gfloat *hdx, *hdw;
} ConvBackCase;

static const GvConvArgs conv_back_args = { .stride = 1, .pad_top = 1, .pad_bottom = 1,
  .pad_left = 1, .pad_right = 1 };

static void
conv_back_data_device (gpointer p)
{
  ConvBackCase *c = p;
  gv_op_conv2d_backward_input (c->conv.cmd, c->dx, c->conv.out, c->conv.w, &conv_back_args,
      FALSE);
  finish (c->conv.cmd);
}

static void
conv_back_weight_device (gpointer p)
{
  ConvBackCase *c = p;
  gv_op_conv2d_backward_weight (c->conv.cmd, c->dw, c->conv.out, c->conv.in, &conv_back_args,
      FALSE);
  finish (c->conv.cmd);
}

/* dx[ci, y, x] = sum over taps of col[(ci, ky, kx), y - ky + 1, x - kx + 1] (col2im) */
static void
col2im_channels (gint64 first, gint64 end, gpointer p)
{
  ConvBackCase *c = p;
  const ConvCase *v = &c->conv;
  gint64 hw = (gint64) v->h * v->wd;
  for (gint64 ci = first; ci < end; ci++) {
    gfloat *dst = c->hdx + ci * hw;
    memset (dst, 0, hw * sizeof (gfloat));
    for (gint t = 0; t < 9; t++) {
      const gfloat *src = v->col + (ci * 9 + t) * hw;
      gint ky = t / 3, kx = t % 3;
      for (gint y = 0; y < v->h; y++) {
        gint oy = y - ky + 1;
        if (oy < 0 || oy >= v->h)
          continue;
        for (gint x = 0; x < v->wd; x++) {
          gint ox = x - kx + 1;
          if (ox >= 0 && ox < v->wd)
            dst[y * v->wd + x] += src[oy * v->wd + ox];
        }
      }
    }
  }
}

/* col = W^T dy, then col2im */
static void
conv_back_data_blas (gpointer p)
{
  ConvBackCase *c = p;
  ConvCase *v = &c->conv;
  gint hw = v->h * v->wd, k = v->c * 9;
  cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, k, hw, v->co, 1.0f, v->hw, k, c->hdy,
      hw, 0.0f, v->col, hw);
  parallel_for (v->threads, v->c, col2im_channels, c);
}

/* im2col, then dW = dy col^T */
static void
conv_back_weight_blas (gpointer p)
{
  ConvBackCase *c = p;
  ConvCase *v = &c->conv;
  gint hw = v->h * v->wd, k = v->c * 9;
  parallel_for (v->threads, k, im2col_rows, v);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, v->co, k, hw, 1.0f, c->hdy, hw, v->col,
      hw, 0.0f, c->hdw, k);
}

static void
bench_conv_back (const Bench *b, Result *r, gint ch, gint size, gboolean weight)
{
  gfloat *hin, *hw, *hdy;
  ConvBackCase c = { { gv_cmd_new (b->dev) } };
  ConvCase *v = &c.conv;
  v->in = RANDOM (b->dev, 3, &hin, 1, ch, size, size);
  v->w = RANDOM (b->dev, 4, &hw, ch, ch, 3, 3);
  v->out = RANDOM (b->dev, 5, &hdy, 1, ch, size, size);
  c.dx = EMPTY (b->dev, GV_DTYPE_F32, 1, ch, size, size);
  c.dw = EMPTY (b->dev, GV_DTYPE_F32, ch, ch, 3, 3);
  v->hin = v->hin_image = hin;
  v->hw = hw;
  c.hdy = hdy;
  v->batch = 1;
  v->c = v->co = ch;
  v->h = v->wd = size;
  v->threads = b->threads;
  v->col = host (g_new (gfloat, (gsize) ch * 9 * size * size));
  c.hdx = host (g_new (gfloat, (gsize) ch * size * size));
  c.hdw = host (g_new (gfloat, (gsize) ch * ch * 9));
  r->flops = 2.0 * ch * ch * 9 * size * size;
  if (weight)
    measure (b, r, conv_back_weight_device, conv_back_weight_blas, &c);
  else
    measure (b, r, conv_back_data_device, conv_back_data_blas, &c);
  gv_cmd_free (v->cmd);
}

typedef struct {
  GvCmd *cmd;
  GvTensor *x, *dy, *dw;
  const gfloat *hx, *hdy;
  gfloat *hdw;
  gint tokens, in, out;
} LinearBackCase;

static void
linear_dw_device (gpointer p)
{
  LinearBackCase *c = p;
  gv_op_linear_backward_weight (c->cmd, c->dw, c->dy, c->x, FALSE);
  finish (c->cmd);
}

/* dW [out, in] = dy^T [out, tokens] x [tokens, in] */
static void
linear_dw_blas (gpointer p)
{
  LinearBackCase *c = p;
  cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, c->out, c->in, c->tokens, 1.0f, c->hdy,
      c->out, c->hx, c->in, 0.0f, c->hdw, c->in);
}

static void
bench_linear_dw (const Bench *b, Result *r, gint tokens, gint in, gint out)
{
  gfloat *hx, *hdy;
  LinearBackCase c = { gv_cmd_new (b->dev) };
  c.x = RANDOM (b->dev, 6, &hx, 1, tokens, in);
  c.dy = RANDOM (b->dev, 7, &hdy, 1, tokens, out);
  c.dw = EMPTY (b->dev, GV_DTYPE_F32, out, in);
  c.hx = hx;
  c.hdy = hdy;
  c.hdw = host (g_new (gfloat, (gsize) out * in));
  c.tokens = tokens;
  c.in = in;
  c.out = out;
  r->flops = 2.0 * tokens * in * out;
  measure (b, r, linear_dw_device, linear_dw_blas, &c);
  gv_cmd_free (c.cmd);
}

/* ---- attention backward family: attention backward at 4096 tokens, 5 heads of 64 ---- */

typedef struct {
  GvCmd *cmd;
  GvTensor *q, *k, *v, *out, *lse, *dout, *dq, *dk, *dv;
  const gfloat *hq, *hk, *hv, *hdout;
  gfloat *s, *dp, *hdq, *hdk, *hdv;
  gint l, heads, d, threads;
} AttnBackCase;

static void
attn_back_device (gpointer p)
{
  AttnBackCase *c = p;
  GvAttentionArgs args = { .heads = c->heads };
  gv_op_attention_backward (c->cmd, c->dq, c->dk, c->dv, c->dout, c->q, c->k, c->v, c->out,
      c->lse, &args, FALSE);
  finish (c->cmd);
}

/* rows of s (scores) become P (softmax), rows of dp (dO V^T) become dS = scale P (dP - D)
 * with D_i = sum_j P_ij dP_ij (= dO_i . O_i) */
static void
softmax_back_rows (gint64 first, gint64 end, gpointer p)
{
  AttnBackCase *c = p;
  gfloat scale = 1.0f / sqrtf ((gfloat) c->d);
  for (gint64 i = first; i < end; i++) {
    gfloat *row = c->s + i * c->l, *drow = c->dp + i * c->l, di = 0;
    softmax_row (row, c->l, scale);
    for (gint j = 0; j < c->l; j++)
      di += row[j] * drow[j];
    for (gint j = 0; j < c->l; j++)
      drow[j] = scale * row[j] * (drow[j] - di);
  }
}

/* the same backward with OpenBLAS: S = Q K^T, dP = dO V^T, the softmax backward, dQ = dS K,
 * dK = dS^T Q, dV = P^T dO, per head */
static void
attn_back_blas (gpointer p)
{
  AttnBackCase *c = p;
  gint ld = c->heads * c->d, l = c->l, d = c->d;
  for (gint h = 0; h < c->heads; h++) {
    gint o = h * d;
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, l, l, d, 1.0f, c->hq + o, ld,
        c->hk + o, ld, 0.0f, c->s, l);
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, l, l, d, 1.0f, c->hdout + o, ld,
        c->hv + o, ld, 0.0f, c->dp, l);
    parallel_for (c->threads, l, softmax_back_rows, c);
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, l, d, l, 1.0f, c->dp, l,
        c->hk + o, ld, 0.0f, c->hdq + o, ld);
    cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, l, d, l, 1.0f, c->dp, l,
        c->hq + o, ld, 0.0f, c->hdk + o, ld);
    cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, l, d, l, 1.0f, c->s, l,
        c->hdout + o, ld, 0.0f, c->hdv + o, ld);
  }
}

static void
bench_attention_backward (const Bench *b, Result *r)
{
  gint l = 4096, heads = 5, d = 64;
  r->flops = 10.0 * heads * l * l * d;    /* five products of 2 l^2 d */
  gfloat *hq, *hk, *hv, *hdo;
  AttnBackCase c = { gv_cmd_new (b->dev) };
  c.q = RANDOM (b->dev, 16, &hq, 1, l, heads * d);
  c.k = RANDOM (b->dev, 17, &hk, 1, l, heads * d);
  c.v = RANDOM (b->dev, 18, &hv, 1, l, heads * d);
  c.dout = RANDOM (b->dev, 19, &hdo, 1, l, heads * d);
  c.out = EMPTY (b->dev, GV_DTYPE_F32, 1, l, heads * d);
  c.lse = EMPTY (b->dev, GV_DTYPE_F32, 1, heads, l);
  c.dq = EMPTY (b->dev, GV_DTYPE_F32, 1, l, heads * d);
  c.dk = EMPTY (b->dev, GV_DTYPE_F32, 1, l, heads * d);
  c.dv = EMPTY (b->dev, GV_DTYPE_F32, 1, l, heads * d);
  GvAttentionArgs args = { .heads = heads };
  gv_op_attention_lse (c.cmd, c.out, c.lse, c.q, c.k, c.v, &args);    /* not timed */
  finish (c.cmd);
  c.hq = hq;
  c.hk = hk;
  c.hv = hv;
  c.hdout = hdo;
  c.s = host (g_new (gfloat, (gsize) l * l));
  c.dp = host (g_new (gfloat, (gsize) l * l));
  c.hdq = host (g_new (gfloat, (gsize) l * heads * d));
  c.hdk = host (g_new (gfloat, (gsize) l * heads * d));
  c.hdv = host (g_new (gfloat, (gsize) l * heads * d));
  c.l = l;
  c.heads = heads;
  c.d = d;
  c.threads = b->threads;
  measure (b, r, attn_back_device, attn_back_blas, &c);
  gv_cmd_free (c.cmd);
}

/* ---- backward ops: group norm backward at 320x64x64, AdamW over 10 M parameters ---- */

typedef struct {
  GvCmd *cmd;
  GvTensor *in, *dy, *gamma, *beta, *dx, *dgamma, *dbeta;
  const gfloat *hin, *hdy, *hgamma, *hbeta;
  gfloat *hdx, *hdgamma, *hdbeta;
  gint c, s, groups, threads;
} NormBackCase;

static void
norm_back_device (gpointer p)
{
  NormBackCase *c = p;
  gv_op_group_norm_backward (c->cmd, c->dx, c->dgamma, c->dbeta, c->dy, c->in, c->gamma,
      c->beta, c->groups, 1, 1e-5f, TRUE, FALSE);
  finish (c->cmd);
}

/* the same backward in plain C, a group per task: statistics, per-channel sums through the
 * SiLU, then dx (dgamma and dbeta per channel fall out of the sums: one image) */
static void
norm_back_groups (gint64 first, gint64 end, gpointer p)
{
  NormBackCase *c = p;
  gint cg = c->c / c->groups;
  gint64 n = (gint64) cg * c->s;
  for (gint64 g = first; g < end; g++) {
    const gfloat *x = c->hin + g * n, *dy = c->hdy + g * n;
    gfloat *dx = c->hdx + g * n;
    gdouble sum = 0, sq = 0, c1 = 0, c2 = 0;
    for (gint64 i = 0; i < n; i++)
      sum += x[i];
    gfloat mean = (gfloat) (sum / n);
    for (gint64 i = 0; i < n; i++)
      sq += (x[i] - mean) * (x[i] - mean);
    gfloat rstd = (gfloat) (1.0 / sqrt (sq / n + 1e-5));
    for (gint ch = 0; ch < cg; ch++) {
      gint cc = (gint) g * cg + ch;
      gfloat s1 = 0, s2 = 0;
      for (gint i = 0; i < c->s; i++) {
        gint64 k = (gint64) ch * c->s + i;
        gfloat xh = (x[k] - mean) * rstd, y = xh * c->hgamma[cc] + c->hbeta[cc];
        gfloat sg = 1.0f / (1.0f + expf (-y)), d = dy[k] * sg * (1.0f + y * (1.0f - sg));
        dx[k] = d;   /* the gradient before the norm, finished below */
        s1 += d;
        s2 += d * xh;
      }
      c->hdbeta[cc] = s1;
      c->hdgamma[cc] = s2;
      c1 += c->hgamma[cc] * s1;
      c2 += c->hgamma[cc] * s2;
    }
    gfloat m1 = (gfloat) (c1 / n), m2 = (gfloat) (c2 / n);
    for (gint ch = 0; ch < cg; ch++) {
      gfloat gm = c->hgamma[(gint) g * cg + ch];
      for (gint i = 0; i < c->s; i++) {
        gint64 k = (gint64) ch * c->s + i;
        gfloat xh = (x[k] - mean) * rstd;
        dx[k] = rstd * (gm * dx[k] - m1 - xh * m2);
      }
    }
  }
}

static void
norm_back_plain (gpointer p)
{
  NormBackCase *c = p;
  parallel_for (c->threads, c->groups, norm_back_groups, c);
}

static void
bench_group_norm_backward (const Bench *b, Result *r)
{
  gint ch = 320, s = 64 * 64;
  /* nominal: statistics (3), SiLU backward recomputed twice (2 x 8), sums (4), dx (6) */
  r->flops = 29.0 * ch * s;
  gfloat *hin, *hdy, *hg, *hb;
  NormBackCase c = { gv_cmd_new (b->dev) };
  c.in = RANDOM (b->dev, 12, &hin, 1, ch, 64, 64);
  c.dy = RANDOM (b->dev, 13, &hdy, 1, ch, 64, 64);
  c.gamma = RANDOM (b->dev, 14, &hg, ch);
  c.beta = RANDOM (b->dev, 15, &hb, ch);
  c.dx = EMPTY (b->dev, GV_DTYPE_F32, 1, ch, 64, 64);
  c.dgamma = EMPTY (b->dev, GV_DTYPE_F32, ch);
  c.dbeta = EMPTY (b->dev, GV_DTYPE_F32, ch);
  c.hin = hin;
  c.hdy = hdy;
  c.hgamma = hg;
  c.hbeta = hb;
  c.hdx = host (g_new (gfloat, (gsize) ch * s));
  c.hdgamma = host (g_new (gfloat, ch));
  c.hdbeta = host (g_new (gfloat, ch));
  c.c = ch;
  c.s = s;
  c.groups = 32;
  c.threads = b->threads;
  measure (b, r, norm_back_device, norm_back_plain, &c);
  gv_cmd_free (c.cmd);
}

typedef struct {
  GvCmd *cmd;
  GvTensor *param, *m, *v, *grad, *clip;
  gfloat *hparam, *hm, *hv;
  const gfloat *hgrad;
  gint64 n;
  gint step, threads;
} AdamwCase;

static const GvAdamW bench_adamw = { 3e-5, 0.9, 0.999, 1e-8, 1e-2 };

/* one training step's optimiser work: the global norm, then the clipped AdamW update */
static void
adamw_device (gpointer p)
{
  AdamwCase *c = p;
  gv_op_clip_grad_norm (c->cmd, c->clip, &c->grad, 1, 1.0f);
  gv_op_adamw_step (c->cmd, c->param, c->m, c->v, c->grad, c->clip, ++c->step, &bench_adamw);
  finish (c->cmd);
}

static void
adamw_range (gint64 first, gint64 end, gpointer p)
{
  AdamwCase *c = p;
  gfloat decay = (gfloat) (1.0 - bench_adamw.lr * bench_adamw.weight_decay);
  gfloat b1 = (gfloat) bench_adamw.beta1, b2 = (gfloat) bench_adamw.beta2;
  gfloat step_size = (gfloat) (bench_adamw.lr / (1.0 - pow (b1, c->step)));
  gfloat bias2 = (gfloat) sqrt (1.0 - pow (b2, c->step));
  for (gint64 i = first; i < end; i++) {
    gfloat g = c->hgrad[i];
    c->hm[i] = b1 * c->hm[i] + (1.0f - b1) * g;
    c->hv[i] = b2 * c->hv[i] + (1.0f - b2) * g * g;
    c->hparam[i] = c->hparam[i] * decay - step_size * c->hm[i] /
        (sqrtf (c->hv[i]) / bias2 + (gfloat) bench_adamw.eps);
  }
}

/* the baseline: OpenBLAS's norm, then the update in a plain C loop (the same bytes) */
static void
adamw_plain (gpointer p)
{
  AdamwCase *c = p;
  gfloat norm = cblas_snrm2 ((blasint) c->n, c->hgrad, 1);
  (void) norm;
  c->step++;
  parallel_for (c->threads, c->n, adamw_range, c);
}

static void
bench_adamw_step (const Bench *b, Result *r)
{
  gint64 n = 10 * 1000 * 1000;
  /* nominal: norm (2), decay (1), moments (5), update (5) per parameter */
  r->flops = 13.0 * n;
  gfloat *hparam, *hm, *hv, *hgrad;
  AdamwCase c = { gv_cmd_new (b->dev) };
  c.param = RANDOM (b->dev, 16, &hparam, n);
  c.m = RANDOM (b->dev, 17, &hm, n);
  c.v = RANDOM (b->dev, 18, &hv, n);
  c.grad = RANDOM (b->dev, 19, &hgrad, n);
  c.clip = EMPTY (b->dev, GV_DTYPE_F32, 2);
  for (gint64 i = 0; i < n; i++)
    hv[i] = fabsf (hv[i]);
  GError *error = NULL;
  if (!gv_tensor_upload (c.v, hv, &error))
    g_error ("upload: %s", error->message);
  c.hparam = hparam;
  c.hm = hm;
  c.hv = hv;
  c.hgrad = hgrad;
  c.n = n;
  c.threads = b->threads;
  measure (b, r, adamw_device, adamw_plain, &c);
  gv_cmd_free (c.cmd);
}

/* ---- driver ---- */

typedef enum { CASE_MM1024, CASE_MM2048, CASE_CONV320, CASE_CONV640, CASE_ATTN, CASE_NORM,
  CASE_MATCH, CASE_CONV320_BACK_DATA, CASE_CONV320_BACK_WEIGHT, CASE_LINEAR_DW_320,
  CASE_LINEAR_DW_1280,
  CASE_ATTN_BACK,    /* attention backward family */
  CASE_NORM_BACK, CASE_ADAMW,   /* backward of norms, optimiser */
  CASE_MM_SMALL, CASE_CONV_SMALL,   /* the demo model's UNet (models/README.md) at batch 4 */
  N_CASES } CaseId;

static const gchar *case_names[N_CASES] = {
  "matmul-1024", "matmul-2048", "conv3x3-320-64x64", "conv3x3-640-32x32",
  "attention-4096-5x64", "group-norm-silu-320x64x64", "nn-search-64x64-640",
  "conv3x3-320-64x64-back-data", "conv3x3-320-64x64-back-weight", "linear-dw-4096x320x320",
  "linear-dw-1024x1280x1280",
  "attention-backward-4096-5x64",
  "group-norm-silu-back-320x64x64", "adamw-clip-10M",
  "matmul-1024x64x64", "conv3x3-32-32x32-batch4",
};

static void
run_case (const Bench *b, CaseId id, Result *r)
{
  r->name = case_names[id];
  scratch_tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) gv_tensor_unref);
  scratch_host = g_ptr_array_new_with_free_func (g_free);
  switch (id) {
    case CASE_MM1024:
      bench_matmul (b, r, 1024, 1024, 1024);
      break;
    case CASE_MM2048:
      bench_matmul (b, r, 2048, 2048, 2048);
      break;
    case CASE_MM_SMALL:
      /* a projection of its attention at 16x16 latents: 4 x 256 tokens of 64 channels */
      bench_matmul (b, r, 1024, 64, 64);
      break;
    case CASE_CONV320:
      bench_conv (b, r, 1, 320, 64);
      break;
    case CASE_CONV640:
      bench_conv (b, r, 1, 640, 32);
      break;
    case CASE_CONV_SMALL:
      /* a conv of its first level at 32x32 latents */
      bench_conv (b, r, 4, 32, 32);
      break;
    case CASE_ATTN:
      bench_attention (b, r);
      break;
    case CASE_NORM:
      bench_group_norm (b, r);
      break;
    case CASE_CONV320_BACK_DATA:
    case CASE_CONV320_BACK_WEIGHT:
      bench_conv_back (b, r, 320, 64, id == CASE_CONV320_BACK_WEIGHT);
      break;
    case CASE_LINEAR_DW_320:
      bench_linear_dw (b, r, 4096, 320, 320);
      break;
    case CASE_LINEAR_DW_1280:
      bench_linear_dw (b, r, 1024, 1280, 1280);
      break;
    case CASE_NORM_BACK:
      bench_group_norm_backward (b, r);
      break;
    case CASE_ADAMW:
      bench_adamw_step (b, r);
      break;
    case CASE_ATTN_BACK:
      bench_attention_backward (b, r);
      break;
    default:
      bench_nn_search (b, r);
      break;
  }
  g_ptr_array_unref (scratch_tensors);
  g_ptr_array_unref (scratch_host);
}

static gdouble
gflops (gdouble flops, gdouble ms)
{
  return ms > 0 ? flops / (ms * 1e6) : 0;
}

static void
write_json (const gchar *path, const Bench *b, const Result *res, gint n)
{
  g_autoptr (JsonBuilder) jb = json_builder_new ();
  json_builder_begin_object (jb);
  json_builder_set_member_name (jb, "device");
  json_builder_add_string_value (jb, gv_device_get_name (b->dev));
  json_builder_set_member_name (jb, "kernels");
  json_builder_add_string_value (jb,
      gv_device_get_kernel_path (b->dev) == GV_KERNEL_PATH_CPU ? "cpu" : "gpu");
  json_builder_set_member_name (jb, "threads");
  json_builder_add_int_value (jb, b->threads);
  json_builder_set_member_name (jb, "runs");
  json_builder_add_int_value (jb, b->runs);
  json_builder_set_member_name (jb, "timing");
  json_builder_add_string_value (jb, b->cpu_time ? "cpu" : "wall");
  json_builder_set_member_name (jb, "cases");
  json_builder_begin_array (jb);
  for (gint i = 0; i < n; i++) {
    const Result *r = &res[i];
    json_builder_begin_object (jb);
    json_builder_set_member_name (jb, "name");
    json_builder_add_string_value (jb, r->name);
    json_builder_set_member_name (jb, "ms");
    json_builder_add_double_value (jb, r->ms);
    json_builder_set_member_name (jb, "gflops");
    json_builder_add_double_value (jb, gflops (r->flops, r->ms));
    json_builder_set_member_name (jb, "baseline_ms");
    json_builder_add_double_value (jb, r->baseline_ms);
    json_builder_set_member_name (jb, "baseline_gflops");
    json_builder_add_double_value (jb, gflops (r->flops, r->baseline_ms));
    json_builder_set_member_name (jb, "ratio");
    json_builder_add_double_value (jb, r->baseline_ms / r->ms);
    json_builder_end_object (jb);
  }
  json_builder_end_array (jb);
  json_builder_end_object (jb);

  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (jb);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  GError *error = NULL;
  if (!json_generator_to_file (gen, path, &error)) {
    g_printerr ("gv-bench-ops: %s\n", error->message);
    g_clear_error (&error);
  }
}

/* threads the device computes with: lavapipe uses LP_NUM_THREADS or every core */
static gint
device_threads (void)
{
  const gchar *lp = g_getenv ("LP_NUM_THREADS");
  if (lp && atoi (lp) > 0)
    return atoi (lp);
  return (gint) g_get_num_processors ();
}

int
main (int argc, char **argv)
{
  gchar *json = NULL, *only = NULL;
  gint device = -1, runs = 5, warmup = 2;
  gboolean cpu_time = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_FILENAME, &json, "Write the figures to FILE", "FILE" },
    { "device", 0, 0, G_OPTION_ARG_INT, &device, "Vulkan device index (default: best)", "N" },
    { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Timed runs per case (median; default 5)", "N" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &warmup, "Untimed runs first (default 2)", "N" },
    { "case", 0, 0, G_OPTION_ARG_STRING, &only, "Only cases whose name contains TEXT", "TEXT" },
    { "cpu-time", 0, 0, G_OPTION_ARG_NONE, &cpu_time, "Time by process CPU time over the "
      "threads (steadier on a busy machine; OpenBLAS threads that spin count too)", NULL },
    { NULL }
  };
  GError *error = NULL;
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- time the heavy ops against OpenBLAS");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("gv-bench-ops: %s\n", error->message);
    return 2;
  }

  Bench b = { runs, warmup, device_threads (), cpu_time };
  b.dev = gv_device_new (device, &error);
  if (b.dev == NULL) {
    g_printerr ("gv-bench-ops: no Vulkan device: %s\n", error->message);
    return 1;
  }
#ifdef GV_BENCH_OPENBLAS
  openblas_set_num_threads (b.threads);
#endif
  g_print ("device: %s (%s kernels), baseline: OpenBLAS with %d threads, median of %d runs%s\n\n",
      gv_device_get_name (b.dev),
      gv_device_get_kernel_path (b.dev) == GV_KERNEL_PATH_CPU ? "cpu" : "gpu", b.threads,
      b.runs, b.cpu_time ? ", CPU time" : "");
  /* the name column as wide as the longest name of the cases that run */
  gint width = (gint) strlen ("case");
  for (gint id = 0; id < N_CASES; id++)
    if (!only || strstr (case_names[id], only))
      width = MAX (width, (gint) strlen (case_names[id]));
  g_print ("%-*s %10s %9s %12s %9s %7s\n", width, "case", "device ms", "GFLOP/s",
      "baseline ms", "GFLOP/s", "ratio");

  Result res[N_CASES] = { 0 };
  gint n = 0;
  for (gint id = 0; id < N_CASES; id++) {
    if (only && !strstr (case_names[id], only))
      continue;
    Result *r = &res[n++];
    run_case (&b, id, r);
    g_print ("%-*s %10.2f %9.1f %12.2f %9.1f %7.2f\n", width, r->name, r->ms,
        gflops (r->flops, r->ms), r->baseline_ms, gflops (r->flops, r->baseline_ms),
        r->baseline_ms / r->ms);
  }
  if (json)
    write_json (json, &b, res, n);
  gv_device_unref (b.dev);
  g_free (json);
  g_free (only);
  return 0;
}
