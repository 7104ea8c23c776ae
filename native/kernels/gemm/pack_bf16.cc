// Packing of bfloat16 operands for gemm_bf16's widening path: the panels of pack_panels
// (internal.h), in float32, widened from bfloat16 on the way (AVX2 where the CPU has it); and
// the rounding of FP32 results to bfloat16.
#include <algorithm>

#include "../cpu.h"
#include "../parallel.h"
#include "../vectorize.h"
#include "gemm_bf16.h"
#include "internal.h"

namespace kiln {

namespace {

KILN_VECTORIZE void round_run(const float* src, int64_t begin, int64_t end, uint16_t* dst) {
  for (int64_t i = begin; i < end; ++i) dst[i] = float_to_bf16(src[i]);
}

}  // namespace

// On the pool, 16 lanes a step with AVX-512: the output pass of matmul_bf16 after a product
// that was itself split across the threads.
void round_to_bf16(const float* src, int64_t count, uint16_t* dst) {
  parallel_for(0, count, grain_for(1), [&](int64_t begin, int64_t end) { round_run(src, begin, end, dst); });
}

namespace gemm {
namespace {

void widen_bf16_portable(const uint16_t* src, int64_t count, float* dst) {
  for (int64_t i = 0; i < count; ++i) dst[i] = bf16_to_float(src[i]);
}

// The widening routine for `kernel`: AVX2 beside the SIMD x86 kernels, else portable.
WidenBf16 widen_for(const GemmKernel& kernel) {
#if defined(__x86_64__) || defined(_M_X64)
  if (kernel.pack_lanes != nullptr && cpu_features().avx2_fma) return kWidenBf16Avx2;
#else
  (void)kernel;
#endif
  return widen_bf16_portable;
}

// Lanes contiguous (lane_stride 1): each step's run of n ≤ width lanes is widened straight
// into the panel, zeros after it.
void pack_contiguous_bf16(WidenBf16 widen, const uint16_t* src, int64_t depth_stride, int64_t n, int64_t depth,
                          int width, float* dst) {
  for (int64_t p = 0; p < depth; ++p) {
    float* step = dst + p * width;
    widen(src + p * depth_stride, n, step);
    std::fill(step + n, step + width, 0.0f);
  }
}

// Any other layout: the n lanes are widened into staging as (n × depth), each lane contiguous
// along the depth, and packed from there by the float32 transposing pack.
void pack_staged_bf16(const GemmKernel& kernel, WidenBf16 widen, const uint16_t* src, int64_t lane_stride,
                      int64_t depth_stride, int64_t n, int64_t depth, int width, float* dst, float* staging) {
  for (int64_t l = 0; l < n; ++l) {
    const uint16_t* lane = src + l * lane_stride;
    float* out = staging + l * depth;
    if (depth_stride == 1) {
      widen(lane, depth, out);
    } else {
      for (int64_t p = 0; p < depth; ++p) out[p] = bf16_to_float(lane[p * depth_stride]);
    }
  }
  pack_panels(kernel, staging, depth, 1, n, depth, width, dst);
}

}  // namespace

void pack_panels_bf16(const GemmKernel& kernel, const uint16_t* src, int64_t lane_stride, int64_t depth_stride,
                      int64_t lanes, int64_t depth, int width, float* dst, float* staging) {
  const WidenBf16 widen = widen_for(kernel);
  for (int64_t l0 = 0; l0 < lanes; l0 += width) {
    const int64_t n = std::min<int64_t>(width, lanes - l0);
    const uint16_t* panel_src = src + l0 * lane_stride;
    float* panel_dst = dst + l0 * depth;  // (l0 / width) * width * depth
    if (lane_stride == 1) {
      pack_contiguous_bf16(widen, panel_src, depth_stride, n, depth, width, panel_dst);
    } else {
      pack_staged_bf16(kernel, widen, panel_src, lane_stride, depth_stride, n, depth, width, panel_dst, staging);
    }
  }
}

}  // namespace gemm
}  // namespace kiln
