#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// Loss and optimiser (gv-op-optim.c), one stage per build (-DSTAGE=n):
//  1 partial: per chunk of p.chunk elements (an invocation each, summed in order), the sum of
//             a^2 (OP GV_OPTIM_SUM_SQUARES: a gradient's squared norm) or of d^2 with
//             d = a - b (OP GV_OPTIM_MSE: prediction - target, and grad (+)= scale d, the MSE
//             gradient 2/n (y - t)), into part[first_part + chunk]
//  2 final:   one invocation sums the partials in order (compensated): result = (mean, 1)
//             (MODE GV_OPTIM_MEAN) or (norm, min (max_norm / (norm + 1e-6), 1)) (MODE
//             GV_OPTIM_CLIP: torch.nn.utils.clip_grad_norm_'s factor), so the step reads the
//             clipping factor on the device
//  3 adamw:   torch.optim.AdamW on fp32 master weights, the gradient times result[1] when CLIP
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint OP = GV_OPTIM_SUM_SQUARES;   // partial
layout(constant_id = 1) const uint ACCUM = 0;                   // partial: grad (+)=
layout(constant_id = 2) const uint MODE = GV_OPTIM_MEAN;        // final
layout(constant_id = 3) const uint CLIP = 0;                    // adamw

#if STAGE == 1
layout(binding = 0, r32f) uniform readonly imageBuffer A;
layout(binding = 1, r32f) uniform readonly imageBuffer B;
layout(binding = 2) buffer Grad { float grad[]; };
layout(binding = 3) writeonly buffer Part { float part[]; };

GV_PUSH (GvOptimPartialParams)

void main ()
{
  uint k = GV_LINEAR_INDEX;
  uint start = k * p.chunk;
  if (start >= p.count)
    return;
  uint end = min (start + p.chunk, p.count);
  float s = 0.0;
  for (uint i = start; i < end; i++) {
    float d = imageLoad (A, int (gv_off[0] + i)).x;
    if (OP == GV_OPTIM_MSE) {
      d -= imageLoad (B, int (gv_off[1] + i)).x;
      uint gi = gv_off[2] + i;
      grad[gi] = ACCUM != 0 ? grad[gi] + p.scale * d : p.scale * d;
    }
    s += d * d;
  }
  part[gv_off[3] + p.first_part + k] = s;
}

#elif STAGE == 2
layout(binding = 0, r32f) uniform readonly imageBuffer Part;
layout(binding = 1) writeonly buffer Result { float result[]; };

GV_PUSH (GvOptimFinalParams)

void main ()
{
  if (GV_LINEAR_INDEX != 0)
    return;
  // Kahan-Babuska: many partials of one sign
  precise float s = 0.0, c = 0.0;
  for (uint i = 0; i < p.n_parts; i++) {
    float x = imageLoad (Part, int (gv_off[0] + i)).x;
    precise float t = s + x;
    c += abs (s) >= abs (x) ? (s - t) + x : (x - t) + s;
    s = t;
  }
  float total = s + c;
  if (MODE == GV_OPTIM_MEAN) {
    result[gv_off[1]] = total * p.inv_count;
    result[gv_off[1] + 1] = 1.0;
  } else {
    float norm = sqrt (total);
    result[gv_off[1]] = norm;
    result[gv_off[1] + 1] = min (p.max_norm / (norm + 1e-6), 1.0);
  }
}

#else
// param, m and v read through texel bindings (branch-free gathers on lavapipe) and written
// through storage-buffer bindings of the same ranges; VEC4 = 1: four elements an invocation
// (rgba32f texels, vec4 stores; the host checks lengths and alignment)
#if VEC4
#define VT vec4
#define TEXEL rgba32f
#define LOAD(img, i) imageLoad (img, int (i))
#else
#define VT float
#define TEXEL r32f
#define LOAD(img, i) imageLoad (img, int (i)).x
#endif
layout(binding = 0, TEXEL) uniform readonly imageBuffer Grad;
layout(binding = 1, r32f) uniform readonly imageBuffer Result;
layout(binding = 2, TEXEL) uniform readonly imageBuffer ParamIn;
layout(binding = 3, TEXEL) uniform readonly imageBuffer MIn;
layout(binding = 4, TEXEL) uniform readonly imageBuffer VIn;
layout(binding = 5) writeonly buffer Param { VT param[]; };
layout(binding = 6) writeonly buffer M { VT m[]; };
layout(binding = 7) writeonly buffer V { VT v[]; };

GV_PUSH (GvAdamwParams)   // count: texels

void main ()
{
  uint i = GV_LINEAR_INDEX;
  if (i >= p.count)
    return;
  VT g = LOAD (Grad, gv_off[0] + i);
  if (CLIP != 0)
    g *= imageLoad (Result, int (gv_off[1] + 1)).x;
  VT w = LOAD (ParamIn, gv_off[2] + i);
  VT m0 = LOAD (MIn, gv_off[3] + i);
  VT v0 = LOAD (VIn, gv_off[4] + i);
  // the order of torch's _single_tensor_adamw: decay, moments, bias-corrected step
  w *= p.decay;
  VT mm = m0 + (g - m0) * p.one_minus_beta1;   // torch's lerp
  VT vv = v0 * p.beta2 + g * g * p.one_minus_beta2;
  VT denom = sqrt (vv) / p.bias2_sqrt + p.eps;
  uint vec = VEC4 != 0 ? 4 : 1;
  m[gv_off[6] / vec + i] = mm;
  v[gv_off[7] / vec + i] = vv;
  param[gv_off[5] / vec + i] = w - p.step_size * mm / denom;
}
#endif
