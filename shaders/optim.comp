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
layout(binding = 0, r32f) uniform readonly imageBuffer Grad;
layout(binding = 1, r32f) uniform readonly imageBuffer Result;
layout(binding = 2) buffer Param { float param[]; };
layout(binding = 3) buffer M { float m[]; };
layout(binding = 4) buffer V { float v[]; };

GV_PUSH (GvAdamwParams)

void main ()
{
  uint i = GV_LINEAR_INDEX;
  if (i >= p.count)
    return;
  float g = imageLoad (Grad, int (gv_off[0] + i)).x;
  if (CLIP != 0)
    g *= imageLoad (Result, int (gv_off[1] + 1)).x;
  uint pi = gv_off[2] + i, mi = gv_off[3] + i, vi = gv_off[4] + i;
  // the order of torch's _single_tensor_adamw: decay, moments, bias-corrected step
  float w = param[pi] * p.decay;
  float mm = m[mi] + (g - m[mi]) * p.one_minus_beta1;   // torch's lerp
  float vv = v[vi] * p.beta2 + g * g * p.one_minus_beta2;
  float denom = sqrt (vv) / p.bias2_sqrt + p.eps;
  m[mi] = mm;
  v[vi] = vv;
  param[pi] = w - p.step_size * mm / denom;
}
#endif
