// Shared by the attention kernels (attention_cpu.comp, attention_gpu.comp).
// VEC4=1: q, k, v read as rgba32f texels and out written as vec4 (C, D and the tensors' offsets
// are multiples of 4); VEC4=0: r32f texels, any D. Storage and arithmetic types are kept apart
// (ST_* here, float in the kernels) so an fp16 storage variant only changes this file.

#if VEC4
#define TEXW 4
#define TVEC vec4
#define TEXFMT rgba32f
#define LD(img, i) imageLoad (img, int (i))
#define ST_OUT vec4
#else
#define TEXW 1
#define TVEC float
#define TEXFMT r32f
#define LD(img, i) imageLoad (img, int (i)).x
#define ST_OUT float
#endif

layout(binding = 0, TEXFMT) uniform readonly imageBuffer Q;
layout(binding = 1, TEXFMT) uniform readonly imageBuffer K;
layout(binding = 2, TEXFMT) uniform readonly imageBuffer V;
layout(binding = 3) writeonly buffer Out { ST_OUT o[]; };
#ifndef LSE
#define LSE 0
#endif
#if LSE
// the training forward also keeps lse [B, H, Lq] (natural log) for the backward; the binding
// starts at batch b0
layout(binding = 4) writeonly buffer Lse { float lse_o[]; };
#endif

// Offsets below are in texels (TEXW floats) unless named in floats. The binding of q and out
// starts at row (b0 * lq + i0) of the flattened [B*Lq] rows; that of k and v at key/value
// batch b0 / ratio.
GV_PUSH (GvAttentionParams)

// Large negative instead of -inf so that exp2 (m_old - m_new) never sees inf - inf.
#define NEG_BIG (-1.0e30)

// The task of a unit of work: its query block, head chunk, head and batch (in this dispatch).
struct Task {
  uint qb, dc, h, bl, kvb;
};

Task
attention_task (uint t)
{
  Task r;
  r.qb = t % p.nqb;
  t /= p.nqb;
  r.dc = t % p.ndc;
  t /= p.ndc;
  r.h = t % p.heads;
  r.bl = t / p.heads;
  r.kvb = (p.b0 + r.bl) / p.ratio - p.b0 / p.ratio;
  return r;
}
