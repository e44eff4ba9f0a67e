#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// Flash attention for GPUs: a workgroup of 128 invocations owns BR = 32 queries of one head and
// DCH of its channels; key blocks of BC = 32 keys go through shared memory. Scores are
// accumulated over the head in chunks of DK channels, the online softmax keeps the running max
// and sum per query row, and the output tile (BR x DCH) stays in registers, 4 rows per
// invocation column group.
layout(local_size_x = 128) in;
layout(constant_id = 0) const uint DCH = 64;   // head channels per task (a multiple of 4)

#include "attention.glsl"

const uint NT = 128;
const uint BR = 32;
const uint BC = 32;
const uint DK = 32;
const uint OD = DCH / 4;          // output channels per invocation

shared float qs[BR][DK + 1];
shared float ks[BC][DK + 1];
shared float ss[BR][BC + 1];
shared float vs[BC][DCH + 1];
shared float alpha_s[BR];
shared float l_s[BR];

// built with VEC4=0 only: r32f texels, float output
#define LDF(img, i) imageLoad (img, int (i)).x

void
main ()
{
  uint tid = gl_LocalInvocationID.x;
  uint task = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (task >= p.tasks)
    return;     // uniform for the whole workgroup
  Task tk = attention_task (task);

  uint nvalid = min (BR, p.ni - tk.qb * BR);
  uint iq0 = p.i0 + tk.qb * BR;
  uint qrow0 = tk.bl * p.lq + tk.qb * BR;
  uint krow0 = tk.kvb * p.lk;
  uint c = p.cw * TEXW;                       // row length, floats
  uint hoff = tk.h * p.d;                     // floats
  uint qf = gv_off[0] * TEXW, kf = gv_off[1] * TEXW, vf = gv_off[2] * TEXW;
  uint d0 = tk.dc * DCH;
  uint jend = p.causal != 0 ? min (p.lk, iq0 + nvalid) : p.lk;

  uint r = tid / 4;            // this invocation's row of the score and output tiles
  uint col = tid % 4;          // and its first column (step 4)
  float acc[OD];
  [[unroll]] for (uint u = 0; u < OD; u++)
    acc[u] = 0.0;
  float m_run = NEG_BIG, l_run = 0.0;   // used by invocations tid < BR (row tid)

  for (uint j0 = 0; j0 < jend; j0 += BC) {
    float s[BC / 4];
    [[unroll]] for (uint u = 0; u < BC / 4; u++)
      s[u] = 0.0;
    for (uint k0 = 0; k0 < p.d; k0 += DK) {
      for (uint e = tid; e < BR * DK; e += NT) {
        uint rr = e / DK, cc = e % DK;
        uint qi = min (rr, nvalid - 1);
        qs[rr][cc] = k0 + cc < p.d ? LDF (Q, qf + (qrow0 + qi) * c + hoff + k0 + cc) : 0.0;
        uint kj = min (j0 + rr, p.lk - 1);
        ks[rr][cc] = k0 + cc < p.d ? LDF (K, kf + (krow0 + kj) * c + hoff + k0 + cc) : 0.0;
      }
      barrier ();
      [[unroll]] for (uint cc = 0; cc < DK; cc++) {
        float qv = qs[r][cc];
        [[unroll]] for (uint u = 0; u < BC / 4; u++)
          s[u] += qv * ks[col + 4 * u][cc];
      }
      barrier ();
    }
    [[unroll]] for (uint u = 0; u < BC / 4; u++) {
      uint j = j0 + col + 4 * u;
      bool ok = j < p.lk && (p.causal == 0 || j <= iq0 + r);
      ss[r][col + 4 * u] = ok ? s[u] * p.scale : NEG_BIG;
    }
    for (uint e = tid; e < BC * DCH; e += NT) {
      uint jj = e / DCH, dd = e % DCH;
      uint j = min (j0 + jj, p.lk - 1);
      vs[jj][dd] = d0 + dd < p.d ? LDF (V, vf + (krow0 + j) * c + hoff + d0 + dd) : 0.0;
    }
    barrier ();
    if (tid < BR) {
      float mx = m_run;
      for (uint j = 0; j < BC; j++)
        mx = max (mx, ss[tid][j]);
      float a = exp2 (m_run - mx);
      float ls = 0.0;
      for (uint j = 0; j < BC; j++) {
        float sv = ss[tid][j];
        float pv = sv > 0.5 * NEG_BIG ? exp2 (sv - mx) : 0.0;
        ss[tid][j] = pv;
        ls += pv;
      }
      m_run = mx;
      l_run = l_run * a + ls;
      alpha_s[tid] = a;
    }
    barrier ();
    float a = alpha_s[r];
    [[unroll]] for (uint u = 0; u < OD; u++)
      acc[u] *= a;
    for (uint j = 0; j < BC; j++) {
      float pv = ss[r][j];
      [[unroll]] for (uint u = 0; u < OD; u++)
        acc[u] += pv * vs[j][col + 4 * u];
    }
    barrier ();
  }

  if (tid < BR)
    l_s[tid] = l_run;
#if LSE
  // scores are in base 2 (p.scale holds log2 (e)); every head chunk has the same sums
  if (tid < nvalid && tk.dc == 0)
    lse_o[gv_off[4] + (tk.bl * p.heads + tk.h) * p.lq + iq0 + tid] =
        (m_run + log2 (l_run)) * 0.69314718055994531;
#endif
  barrier ();
  if (r < nvalid) {
    float lsum = l_s[r];
    float inv = lsum > 0.0 ? 1.0 / lsum : 0.0;
    uint obase = gv_off[3] + (qrow0 + r) * c + hoff + d0;   // floats
    [[unroll]] for (uint u = 0; u < OD; u++) {
      uint dd = col + 4 * u;
      if (d0 + dd < p.d) {
        o[obase + dd] = acc[u] * inv;
      }
    }
  }
}
