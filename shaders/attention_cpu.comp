#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#include "common.glsl"

// Flash attention for CPU devices (lavapipe): no shared memory, no barriers. A subgroup of 8
// lanes (x) owns a block of MQ queries of one head; the scores of a block of 8 * NKL keys are a
// register tile (lane l holds keys l*NKL .. l*NKL+NKL-1 for all MQ queries), the output a
// register tile too (lane l holds 4 * DL4 head channels of all MQ queries). Per key block:
// S = Q K^T (dot products over the head), online softmax (running max shared across lanes with
// constant-lane shuffles, per-lane partial sums), then O = alpha O + P V with P taken from the
// lane that owns each key by subgroupShuffle with a constant lane.
layout(local_size_x = 8, local_size_y_id = 3) in;
layout(constant_id = 0) const uint MQ = 8;    // queries per subgroup
layout(constant_id = 1) const uint NKL = 8;   // keys per lane per block
layout(constant_id = 2) const uint DL4 = 2;   // vec4s of head channels per lane

#include "attention.glsl"

const uint NK = 8 * NKL;         // keys per block
const uint DL = 4 * DL4;         // head channels per lane
const uint DCH = 8 * DL;         // head channels per task

void
main ()
{
  uint lane = gl_LocalInvocationID.x;
  uint task = (gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x) * gl_WorkGroupSize.y +
      gl_LocalInvocationID.y;
  if (task >= p.tasks)
    return;
  Task tk = attention_task (task);

  uint nvalid = min (MQ, p.ni - tk.qb * MQ);        // queries of this block inside the dispatch
  uint iq0 = p.i0 + tk.qb * MQ;                      // absolute index of its first query
  uint qrow0 = tk.bl * p.lq + tk.qb * MQ;            // its row in the q / out binding
  uint krow0 = tk.kvb * p.lk;
  uint hoff = tk.h * p.d / TEXW;                     // head start in a row, texels
  uint dw = p.d / TEXW;
  uint dl0 = tk.dc * DCH + lane * DL;                // first head channel of this lane
  uint jend = p.causal != 0 ? min (p.lk, iq0 + nvalid) : p.lk;

  uint qbase[MQ];
  [[unroll]] for (uint i = 0; i < MQ; i++)
    qbase[i] = p.gv_off[0] + (qrow0 + min (i, nvalid - 1)) * p.cw + hoff;

  float m[MQ], l[MQ];
  vec4 acc[MQ][DL4];
  [[unroll]] for (uint i = 0; i < MQ; i++) {
    m[i] = NEG_BIG;
    l[i] = 0.0;
    [[unroll]] for (uint e = 0; e < DL4; e++)
      acc[i][e] = vec4 (0.0);
  }

  for (uint j0 = 0; j0 < jend; j0 += NK) {
    // scores of this lane's keys
    float s[MQ][NKL];
    uint kbase[NKL];
    [[unroll]] for (uint t = 0; t < NKL; t++) {
      kbase[t] = p.gv_off[1] + (krow0 + min (j0 + lane * NKL + t, p.lk - 1)) * p.cw + hoff;
      [[unroll]] for (uint i = 0; i < MQ; i++)
        s[i][t] = 0.0;
    }
    for (uint e = 0; e < dw; e++) {
      TVEC kv[NKL];
      [[unroll]] for (uint t = 0; t < NKL; t++)
        kv[t] = LD (K, kbase[t] + e);
      [[unroll]] for (uint i = 0; i < MQ; i++) {
        TVEC qv = LD (Q, qbase[i] + e);
        [[unroll]] for (uint t = 0; t < NKL; t++)
          s[i][t] += dot (qv, kv[t]);
      }
    }

    // online softmax: s becomes P = exp2 (s - m_new); acc and l are rescaled
    [[unroll]] for (uint i = 0; i < MQ; i++) {
      uint iq = iq0 + i;
      float mx = NEG_BIG;
      [[unroll]] for (uint t = 0; t < NKL; t++) {
        uint j = j0 + lane * NKL + t;
        bool ok = j < p.lk && (p.causal == 0 || j <= iq);
        s[i][t] = ok ? s[i][t] * p.scale : NEG_BIG;
        mx = max (mx, s[i][t]);
      }
      float mall = mx;
      [[unroll]] for (uint c = 0; c < 8; c++)
        mall = max (mall, subgroupShuffle (mx, c));
      float mn = max (m[i], mall);
      float alpha = exp2 (m[i] - mn);
      m[i] = mn;
      float ls = 0.0;
      [[unroll]] for (uint t = 0; t < NKL; t++) {
        float pv = s[i][t] > 0.5 * NEG_BIG ? exp2 (s[i][t] - mn) : 0.0;
        s[i][t] = pv;
        ls += pv;
      }
      l[i] = l[i] * alpha + ls;
      [[unroll]] for (uint e = 0; e < DL4; e++)
        acc[i][e] *= alpha;
    }

    // acc += P V, key by key; P of key (c, t) lives in lane c
    [[unroll]] for (uint c = 0; c < 8; c++) {
      [[unroll]] for (uint t = 0; t < NKL; t++) {
        uint j = j0 + c * NKL + t;
        if (j < jend) {
          uint vbase = p.gv_off[2] + (krow0 + j) * p.cw + hoff;
          vec4 vv[DL4];
          [[unroll]] for (uint e = 0; e < DL4; e++) {
#if VEC4
            vv[e] = LD (V, vbase + dl0 / 4 + e);
#else
            uint vb = vbase + dl0 + 4 * e;
            vv[e] = vec4 (LD (V, vb), LD (V, vb + 1), LD (V, vb + 2), LD (V, vb + 3));
#endif
          }
          [[unroll]] for (uint i = 0; i < MQ; i++) {
            float pp = subgroupShuffle (s[i][t], c);
            [[unroll]] for (uint e = 0; e < DL4; e++)
              acc[i][e] += pp * vv[e];
          }
        }
      }
    }
  }

  [[unroll]] for (uint i = 0; i < MQ; i++) {
    float lsum = 0.0;
    [[unroll]] for (uint c = 0; c < 8; c++)
      lsum += subgroupShuffle (l[i], c);
    float inv = lsum > 0.0 ? 1.0 / lsum : 0.0;
    if (i < nvalid) {
      uint obase = p.gv_off[3] + (qrow0 + i) * p.cw * TEXW + tk.h * p.d;   // floats
      [[unroll]] for (uint e = 0; e < DL4; e++) {
        uint dd = dl0 + 4 * e;
        vec4 r = acc[i][e] * inv;
#if VEC4
        if (dd < p.d)
          o[(obase + dd) / 4] = r;
#else
        [[unroll]] for (uint u = 0; u < 4; u++)
          if (dd + u < p.d)
            o[obase + dd + u] = r[u];
#endif
      }
    }
  }
}
