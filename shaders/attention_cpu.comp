#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#include "common.glsl"

// Flash attention for CPU devices (lavapipe): no shared memory, no barriers. A subgroup of 8
// lanes (x) owns a block of MQ queries of one head. Per block of 8 * NKL keys:
// - scores: a register tile, lane l holding keys l, l + 8, ... for all MQ queries; the head is
//   walked in chunks of 8 texels, lane u fetching texel u of the chunk for every query and the
//   others taking it with subgroupShuffle (a texel fetch costs a scalar load per lane there,
//   a shuffle one permute);
// - online softmax: the running max is shared across lanes by shuffles, the sums stay per lane;
// - acc = alpha acc + P V: lane l holds 4 * DL4 head channels of all MQ queries, and takes the
//   probability of each key from the lane that owns it.
// Loops over chunk steps and over the lanes of a key block are left rolled: fully unrolled
// bodies of that size schedule badly.
layout(local_size_x = 8, local_size_y_id = 3) in;
layout(constant_id = 0) const uint MQ = 16;   // queries per subgroup
layout(constant_id = 1) const uint NKL = 4;   // keys per lane per block
layout(constant_id = 2) const uint DL4 = 2;   // vec4s of head channels per lane
layout(constant_id = 4) const uint HD = 64;   // head size, floats (a pipeline per head size)

#include "attention.glsl"

const uint NK = 8 * NKL;         // keys per block
const uint DL = 4 * DL4;         // head channels per lane
const uint DCH = 8 * DL;         // head channels per task
const uint HT = HD / TEXW;       // texels per head row

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
  uint hoff = tk.h * HT;                             // head start in a row, texels
  uint dl0 = tk.dc * DCH + lane * DL;                // first head channel of this lane
  uint jend = p.causal != 0 ? min (p.lk, iq0 + nvalid) : p.lk;

  uint qbase[MQ];
  [[unroll]] for (uint i = 0; i < MQ; i++)
    qbase[i] = gv_off[0] + (qrow0 + min (i, nvalid - 1)) * p.cw + hoff;

  float m[MQ], l[MQ];
  vec4 acc[MQ][DL4];
  [[unroll]] for (uint i = 0; i < MQ; i++) {
    m[i] = NEG_BIG;
    l[i] = 0.0;
    [[unroll]] for (uint e = 0; e < DL4; e++)
      acc[i][e] = vec4 (0.0);
  }

  for (uint j0 = 0; j0 < jend; j0 += NK) {
    float s[MQ][NKL];
    uint kbase[NKL];
    [[unroll]] for (uint t = 0; t < NKL; t++) {
      kbase[t] = gv_off[1] + (krow0 + min (j0 + t * 8 + lane, p.lk - 1)) * p.cw + hoff;
      [[unroll]] for (uint i = 0; i < MQ; i++)
        s[i][t] = 0.0;
    }

    // scores: Q K^T over the head, in chunks of 8 texels
    for (uint e0 = 0; e0 < HT; e0 += 8) {
      TVEC qc[MQ];
      [[unroll]] for (uint i = 0; i < MQ; i++)
        qc[i] = LD (Q, qbase[i] + min (e0 + lane, HT - 1));
      for (uint u = 0; u < min (8, HT - e0); u++) {
        TVEC kv[NKL];
        [[unroll]] for (uint t = 0; t < NKL; t++)
          kv[t] = LD (K, kbase[t] + e0 + u);
        [[unroll]] for (uint i = 0; i < MQ; i++) {
          TVEC qv = subgroupShuffle (qc[i], u);
          [[unroll]] for (uint t = 0; t < NKL; t++)
            s[i][t] += dot (qv, kv[t]);
        }
      }
    }

    // online softmax: s becomes P = exp2 (s - m_new); acc and l are rescaled
    [[unroll]] for (uint i = 0; i < MQ; i++) {
      uint iq = iq0 + i;
      float mx = NEG_BIG;
      [[unroll]] for (uint t = 0; t < NKL; t++) {
        uint j = j0 + t * 8 + lane;
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
    for (uint c = 0; c < 8; c++) {
      [[unroll]] for (uint t = 0; t < NKL; t++) {
        uint j = min (j0 + t * 8 + c, p.lk - 1);    // keys past the end have P = 0
        uint vbase = gv_off[2] + (krow0 + j) * p.cw + hoff;
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

  [[unroll]] for (uint i = 0; i < MQ; i++) {
    float lsum = 0.0;
    [[unroll]] for (uint c = 0; c < 8; c++)
      lsum += subgroupShuffle (l[i], c);
    float inv = lsum > 0.0 ? 1.0 / lsum : 0.0;
#if LSE
    // scores are in base 2 (p.scale holds log2 (e)); m[i] is the same in every lane
    if (i < nvalid && lane == 0 && tk.dc == 0)
      lse_o[gv_off[4] + (tk.bl * p.heads + tk.h) * p.lq + iq0 + i] =
          (m[i] + log2 (lsum)) * 0.69314718055994531;
#endif
    if (i < nvalid) {
      uint obase = gv_off[3] + (qrow0 + i) * p.cw * TEXW + tk.h * HD;   // floats
      [[unroll]] for (uint e = 0; e < DL4; e++) {
        uint dd = dl0 + 4 * e;
        vec4 r = acc[i][e] * inv;
#if VEC4
        if (dd < HD)
          o[(obase + dd) / 4] = r;
#else
        [[unroll]] for (uint u = 0; u < 4; u++)
          if (dd + u < HD)
            o[obase + dd + u] = r[u];
#endif
      }
    }
  }
}
