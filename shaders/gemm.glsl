// Shared by the matmul and conv kernels. Include after common.glsl.
//
// Storage type and arithmetic type are kept apart so that an fp16 storage path can reuse the
// kernels: SFLOAT is what the buffers hold, AFLOAT what accumulates (always fp32 here).
#ifndef SFLOAT
#define SFLOAT float
#endif
#define AFLOAT float
#define TO_A(x) AFLOAT (x)
#define TO_S(x) SFLOAT (x)

// act: GV_GEMM_ACT_* (kernel-params.h), a specialization constant (folded)
AFLOAT gv_gemm_activate (AFLOAT x, uint act)
{
  if (act == GV_GEMM_ACT_SILU)
    return gv_silu (x);
  if (act == GV_GEMM_ACT_GELU)
    return gv_gelu (x);
  return x;
}
