/* Data movement: concatenation (buffer copies when the pieces are few and large, else a kernel),
 * permutation (dims simplified first, then row copies, 4x4 register transposes or a gather),
 * nearest resize, gather by index, timestep embedding (one shader each in shaders/). Outputs
 * larger than one storage binding are split into dispatches along their outer dimension. */
#include <math.h>

#include "nn/gv-op-layout.h"
#include "nn/gv-op-util.h"

#include "kernel-params.h"

/* the work of one invocation, as the shaders have it */
#define PERMUTE_RPI GV_PERMUTE_ROWS_PER_INVOCATION
#define RESIZE_RPI GV_RESIZE_ROWS_PER_INVOCATION
#define GATHER_PER GV_GATHER_TEXELS_PER_INVOCATION

#define GROUP 64
/* concat as buffer copies when there are at most this many pieces per input... */
#define COPY_MAX_PIECES 8
/* ...or when every piece has at least this many elements (and there are not too many) */
#define COPY_MIN_PIECE 4096
#define COPY_MAX_PIECES_LARGE 256

static GvKernel *
kernel (GvCmd *cmd, GvKernelId id, guint32 spec1, guint32 spec2)
{
  guint32 spec[3] = { GROUP, spec1, spec2 };
  return gv_op_kernel (cmd, id, spec, 3);
}

/* elements one dispatch may cover: one storage binding out, one texel binding in */
static gint64
max_chunk (GvCmd *cmd, gboolean vec4)
{
  return MIN (gv_op_max_elements (cmd, GV_BIND_BUFFER, 4),
      gv_op_max_elements (cmd, vec4 ? GV_BIND_TEXEL_RGBA32F : GV_BIND_TEXEL_R32F,
          vec4 ? 16 : 4) * (vec4 ? 4 : 1));
}

/* rows on grid y (and z past the device's limit) */
static void
dispatch_rows (GvCmd *cmd, GvKernel *k, const GvBinding *bind, const void *params,
    gint64 row_len, gint64 rows)
{
  guint gy, gz;
  gv_op_grid_yz (cmd, rows, &gy, &gz);
  gv_cmd_dispatch (cmd, k, bind, params, (guint) gv_div_up (row_len, GROUP), gy, gz);
}

void
gv_op_concat (GvCmd *cmd, GvTensor *out, GvTensor *a, GvTensor *b, gint dim)
{
  GvTensor *ts[3] = { out, a, b };
  if (!gv_tensors_ready (cmd, "concat", 3, ts) || !gv_op_check_f32 (cmd, "concat", 3, ts))
    return;
  if (dim < 0)
    dim += out->ndim;
  gboolean ok = dim >= 0 && dim < out->ndim && a->ndim == out->ndim && b->ndim == out->ndim &&
      a->shape[dim] + b->shape[dim] == out->shape[dim];
  for (gint d = 0; ok && d < out->ndim; d++)
    ok = d == dim || (a->shape[d] == out->shape[d] && b->shape[d] == out->shape[d]);
  if (!ok) {
    gv_op_fail_shapes (cmd, "concat", "a and b must match out except along dim", 3, ts);
    return;
  }

  gint64 outer = 1, inner = 1;
  for (gint d = 0; d < dim; d++)
    outer *= out->shape[d];
  for (gint d = dim + 1; d < out->ndim; d++)
    inner *= out->shape[d];
  gint64 la = a->shape[dim] * inner, lb = b->shape[dim] * inner, len = la + lb;

  /* few large pieces: the copy engine (lavapipe: a memcpy) beats a kernel */
  if (outer <= COPY_MAX_PIECES ||
      (MIN (la, lb) >= COPY_MIN_PIECE && outer <= COPY_MAX_PIECES_LARGE)) {
    for (gint64 r = 0; r < outer; r++) {
      gv_cmd_copy (cmd, a->mem, a->offset + r * la * 4, out->mem, out->offset + r * len * 4,
          la * 4);
      gv_cmd_copy (cmd, b->mem, b->offset + r * lb * 4, out->mem,
          out->offset + (r * len + la) * 4, lb * 4);
    }
    return;
  }

  gboolean vec4 = la % 4 == 0 && lb % 4 == 0 && gv_op_aligned16 (out) && gv_op_aligned16 (a) &&
      gv_op_aligned16 (b);
  guint vec = vec4 ? 4 : 1;
  GvKernel *k = kernel (cmd, vec4 ? GV_KERNEL_CONCAT_VEC4 : GV_KERNEL_CONCAT_F32, 0, 0);
  if (k == NULL)
    return;
  gint64 per = max_chunk (cmd, vec4) / len;
  if (per < 1) {
    gv_op_fail_shapes (cmd, "concat", "one row exceeds a binding", 3, ts);
    return;
  }
  for (gint64 first = 0; first < outer; first += per) {
    gint64 n = MIN (per, outer - first);
    GvBinding bind[3] = {
      gv_tensor_bind_range (a, first * la, n * la, FALSE),
      gv_tensor_bind_range (b, first * lb, n * lb, FALSE),
      gv_tensor_bind_range (out, first * len, n * len, TRUE),
    };
    GvConcatParams p = { (guint32) (la / vec), (guint32) (lb / vec), (guint32) n };
    dispatch_rows (cmd, k, bind, &p, len / vec, n);
  }
}

void
gv_op_permute (GvCmd *cmd, GvTensor *out, GvTensor *in, const gint *perm)
{
  GvTensor *ts[2] = { out, in };
  if (!gv_tensors_ready (cmd, "permute", 2, ts) || !gv_op_check_f32 (cmd, "permute", 2, ts))
    return;
  gint nd = in->ndim;
  gint64 in_st[GV_MAX_DIMS];
  guint seen = 0;
  gboolean ok = out->ndim == nd;
  for (gint d = 0; ok && d < nd; d++) {
    ok = perm[d] >= 0 && perm[d] < nd && !(seen & (1u << perm[d])) &&
        out->shape[d] == in->shape[perm[d]];
    if (ok)
      seen |= 1u << perm[d];
  }
  if (!ok) {
    gv_op_fail_shapes (cmd, "permute", "out must be in's shape permuted by perm", 2, ts);
    return;
  }
  in_st[nd - 1] = 1;
  for (gint d = nd - 2; d >= 0; d--)
    in_st[d] = in_st[d + 1] * in->shape[d + 1];

  /* output dims with their input strides, size-1 dims dropped and runs that stay contiguous
   * in the input merged: what remains is the real reordering */
  gint64 size[GV_MAX_DIMS], st[GV_MAX_DIMS];
  gint n = 0;
  for (gint d = 0; d < nd; d++) {
    gint64 s = in->shape[perm[d]], t = in_st[perm[d]];
    if (s == 1)
      continue;
    if (n > 0 && st[n - 1] == t * s) {
      size[n - 1] *= s;
      st[n - 1] = t;
    } else {
      size[n] = s;
      st[n++] = t;
    }
  }
  if (n <= 1) {
    gv_tensor_record_copy (cmd, out, in);
    return;
  }
  if (in->numel > G_MAXUINT32) {
    gv_op_fail_shapes (cmd, "permute", "more than 2^32 elements", 2, ts);
    return;
  }

  /* right-align into the 5 grid dims: 0..3 rows, 4 the output row */
  GvPermuteParams p = { 0 };
  gint off = GV_MAX_DIMS - n, tiled = -1;
  gint64 ost = 1;
  for (gint d = GV_MAX_DIMS - 1; d >= 0; d--) {
    gint i = d - off;
    p.ext[d] = i >= 0 ? (guint32) size[i] : 1;
    p.ist[d] = i >= 0 ? (guint32) st[i] : 0;
    if (d < 4)
      p.ost[d] = (guint32) ost;
    if (i >= 0 && st[i] == 1)
      tiled = d;
    ost *= p.ext[d];
  }
  gboolean aligned = gv_op_aligned16 (in) && gv_op_aligned16 (out);
  GvKernelId id = GV_KERNEL_PERMUTE_F32;
  gboolean tile = FALSE;
  if (tiled == 4) {
    /* the input's last dim stays last: contiguous rows */
    if (aligned && p.ext[4] % 4 == 0) {
      id = GV_KERNEL_PERMUTE_VEC4;
      p.ext[4] /= 4;
    }
  } else if (aligned && p.ext[4] % 4 == 0 && p.ext[tiled] % 4 == 0) {
    id = GV_KERNEL_PERMUTE_VEC4;
    tile = TRUE;
    p.ext[4] /= 4;
    p.ext[tiled] /= 4;
    p.tile_ost = p.ost[tiled];
    p.ist[tiled] *= 4;
    p.ost[tiled] *= 4;
  }
  GvKernel *k = kernel (cmd, id, tile ? 1 : 0, 0);
  if (k == NULL)
    return;
  if (in->numel > gv_op_max_elements (cmd, id == GV_KERNEL_PERMUTE_F32 ? GV_BIND_TEXEL_R32F :
          GV_BIND_TEXEL_RGBA32F, id == GV_KERNEL_PERMUTE_F32 ? 4 : 16) *
      (id == GV_KERNEL_PERMUTE_F32 ? 1 : 4)) {
    gv_op_fail_shapes (cmd, "permute", "the input exceeds one texel binding", 2, ts);
    return;
  }

  /* split the output along its outermost dim (a tile unit there covers 4 slices) */
  gint d0 = off;
  gint64 unit = p.ost[d0];    /* output elements of one step along d0 */
  gint64 units = p.ext[d0];
  gint64 per = gv_op_max_elements (cmd, GV_BIND_BUFFER, 4) / unit;
  if (per < 1) {
    gv_op_fail_shapes (cmd, "permute", "one outer slice exceeds a binding", 2, ts);
    return;
  }
  for (gint64 first = 0; first < units; first += per) {
    gint64 cnt = MIN (per, units - first);
    GvBinding bind[2] = {
      gv_tensor_bind (in, FALSE),
      gv_tensor_bind_range (out, first * unit, cnt * unit, TRUE),
    };
    GvPermuteParams q = p;
    q.ext[d0] = (guint32) cnt;
    q.in_first = (guint32) (first * p.ist[d0]);
    gint64 rows = (gint64) q.ext[0] * q.ext[1] * q.ext[2] * q.ext[3];
    q.rows = (guint32) rows;
    /* up to 8 invocations share a row block, fewer when rows are short */
    while (q.lanes_log2 < 3 && (1u << (q.lanes_log2 + 1)) <= q.ext[4])
      q.lanes_log2++;
    guint gx, gy;
    gv_op_grid_1d (cmd, gv_div_up (rows, PERMUTE_RPI) << q.lanes_log2, GROUP, &gx, &gy);
    gv_cmd_dispatch (cmd, k, bind, &q, gx, gy, 1);
  }
}

void
gv_op_resize_nearest (GvCmd *cmd, GvTensor *out, GvTensor *in)
{
  GvTensor *ts[2] = { out, in };
  if (!gv_tensors_ready (cmd, "resize_nearest", 2, ts) ||
      !gv_op_check_f32 (cmd, "resize_nearest", 2, ts))
    return;
  gint nd = in->ndim;
  gboolean ok = nd >= 2 && out->ndim == nd;
  for (gint d = 0; ok && d < nd - 2; d++)
    ok = out->shape[d] == in->shape[d];
  if (!ok) {
    gv_op_fail_shapes (cmd, "resize_nearest", "in must be [..., H, W] and out [..., Ho, Wo]",
        2, ts);
    return;
  }
  gint64 h = in->shape[nd - 2], w = in->shape[nd - 1];
  gint64 ho = out->shape[nd - 2], wo = out->shape[nd - 1];
  gint64 planes = in->numel / (h * w);
  gboolean vec4 = wo % 4 == 0 && gv_op_aligned16 (out);
  GvKernel *k = kernel (cmd, vec4 ? GV_KERNEL_RESIZE_VEC4 : GV_KERNEL_RESIZE_F32, 0, 0);
  if (k == NULL)
    return;
  gint64 per = max_chunk (cmd, FALSE) / MAX (h * w, ho * wo);
  if (per < 1 || (ho * h) > G_MAXUINT32 || (wo * w) > G_MAXUINT32) {
    gv_op_fail_shapes (cmd, "resize_nearest", "a plane is too large", 2, ts);
    return;
  }
  for (gint64 first = 0; first < planes; first += per) {
    gint64 n = MIN (per, planes - first);
    GvBinding bind[2] = {
      gv_tensor_bind_range (in, first * h * w, n * h * w, FALSE),
      gv_tensor_bind_range (out, first * ho * wo, n * ho * wo, TRUE),
    };
    GvResizeParams p = { (guint32) h, (guint32) w, (guint32) ho, (guint32) wo,
      (guint32) (n * ho) };
    guint gx, gy;
    gv_op_grid_1d (cmd, gv_div_up (n * ho, RESIZE_RPI) * (wo / (vec4 ? 4 : 1)), GROUP, &gx, &gy);
    gv_cmd_dispatch (cmd, k, bind, &p, gx, gy, 1);
  }
}

void
gv_op_gather (GvCmd *cmd, GvTensor *out, GvTensor *src, GvTensor *index)
{
  GvTensor *ts[3] = { out, src, index };
  GvGatherShape sh;
  if (!gv_op_gather_check (cmd, "gather", out, src, index, &sh))
    return;
  gint64 bs = sh.b, ch = sh.c, len = sh.l, d = sh.d, m = sh.m;
  gboolean vec4 = d % 4 == 0 && gv_op_aligned16 (src) && gv_op_aligned16 (out);
  guint vec = vec4 ? 4 : 1;
  gint64 dv = d / vec;
  GvKernel *k = kernel (cmd, vec4 ? GV_KERNEL_GATHER_VEC4 : GV_KERNEL_GATHER_F32, 0, 0);
  if (k == NULL)
    return;

  /* whole planes per dispatch where they fit, else one plane in runs of index rows */
  gint64 max_out = gv_op_max_elements (cmd, GV_BIND_BUFFER, 4);
  gint64 max_src = max_chunk (cmd, vec4);
  gint64 planes = bs * ch, plane_per, m_per;
  if (m * d <= max_out) {
    plane_per = MIN (MIN (max_out / (m * d), max_src / (len * d)), gv_op_max_groups (cmd, 2));
    m_per = m;
  } else {
    plane_per = 1;
    m_per = max_out / d;
  }
  gboolean flat = dv < GROUP;
  if (!flat)
    m_per = MIN (m_per, gv_op_max_groups (cmd, 1));
  if (plane_per < 1 || m_per < 1 || len * d > max_src || dv > gv_op_max_groups (cmd, 0) * GROUP) {
    gv_op_fail_shapes (cmd, "gather", "a plane is too large", 3, ts);
    return;
  }
  for (gint64 first = 0; first < planes; first += plane_per) {
    gint64 n = MIN (plane_per, planes - first);
    for (gint64 m0 = 0; m0 < m; m0 += m_per) {
      gint64 mc = MIN (m_per, m - m0);
      GvBinding bind[3] = {
        gv_tensor_bind_range (src, first * len * d, n * len * d, FALSE),
        gv_tensor_bind (index, FALSE),
        gv_tensor_bind_range (out, (first * m + m0) * d, (n - 1) * m * d + mc * d, TRUE),
      };
      GvGatherParams p = {
        (guint32) len, (guint32) dv, (guint32) m, (guint32) ch, (guint32) first, (guint32) n,
        (guint32) m0, (guint32) mc, flat,
      };
      guint gx, gy;
      if (flat)
        gv_op_grid_1d (cmd, mc * dv, GROUP, &gx, &gy);
      else {
        gx = (guint) gv_div_up (dv, GROUP * GATHER_PER);
        gy = (guint) mc;
      }
      gv_cmd_dispatch (cmd, k, bind, &p, gx, gy, (guint) n);
    }
  }
}

/* @x rounded to its 12 leading significant bits (so that products with 12-bit halves of a
 * float are exact) */
static gdouble
round12 (gdouble x)
{
  gint e;
  if (x == 0)
    return 0;
  frexp (x, &e);
  return ldexp (nearbyint (ldexp (x, 12 - e)), e - 12);
}

void
gv_op_timestep_embedding (GvCmd *cmd, GvTensor *out, GvTensor *timesteps,
    gboolean flip_sin_to_cos, gfloat shift, gfloat max_period)
{
  GvTensor *ts[2] = { out, timesteps };
  if (!gv_tensors_ready (cmd, "timestep_embedding", 2, ts) ||
      !gv_op_check_f32 (cmd, "timestep_embedding", 2, ts))
    return;
  gint64 batch = timesteps->numel;
  if (out->ndim != 2 || out->shape[0] != batch || out->shape[1] < 2) {
    gv_op_fail_shapes (cmd, "timestep_embedding", "want timesteps [B] and out [B, dim >= 2]", 2,
        ts);
    return;
  }
  gint64 dim = out->shape[1], half = dim / 2;
  if (batch > gv_op_max_groups (cmd, 1) || half - shift == 0) {
    gv_op_fail_shapes (cmd, "timestep_embedding",
        "batch above the device's workgroup count or dim/2 == shift", 2, ts);
    return;
  }

  /* frequencies in turns, in double, split into 12 + 12 + 24 bits for the shader */
  gfloat *table = g_new (gfloat, half * 4);
  for (gint64 i = 0; i < half; i++) {
    gdouble g = exp (-log ((gdouble) max_period) * i / (half - (gdouble) shift)) / (2 * G_PI);
    gdouble gh = round12 (g), gm = round12 (g - gh);
    table[4 * i] = (gfloat) gh;
    table[4 * i + 1] = (gfloat) gm;
    table[4 * i + 2] = (gfloat) (g - gh - gm);
    table[4 * i + 3] = 0;
  }
  GvTensor *freq = GV_TENSOR (cmd, half * 4);
  gv_tensor_record_upload (cmd, freq, table);
  g_free (table);

  GvKernel *k = kernel (cmd, GV_KERNEL_TIMESTEP_EMBEDDING, 0, flip_sin_to_cos ? 1 : 0);
  if (k != NULL && !gv_cmd_failed (cmd)) {
    GvBinding bind[3] = {
      gv_tensor_bind (timesteps, FALSE),
      gv_tensor_bind (freq, FALSE),
      gv_tensor_bind (out, TRUE),
    };
    GvTimestepParams p = { (guint32) dim, (guint32) half, (guint32) batch };
    gv_cmd_dispatch (cmd, k, bind, &p, (guint) gv_div_up (dim, GROUP), (guint) batch, 1);
  }
  gv_tensor_unref (freq);
}
