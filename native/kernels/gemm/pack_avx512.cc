// AVX-512 packing of lanes that are contiguous along the depth (rows of a row-major A, or
// rows of B when B is stored transposed): 16 × 16 blocks transposed in registers, where the
// portable path in pack.cc moves one float at a time.
#include "config.h"

#if defined(__x86_64__) || defined(_M_X64)

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx512f,avx2,fma")
#endif

#include <immintrin.h>

// GCC 12 reports the _mm512_undefined_ps() inside its own unpack intrinsics as "maybe
// uninitialized"; the intrinsics' results are fully defined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "../lane_masks_avx512.h"
#include "transpose_avx512.h"

namespace kiln::gemm {
namespace {

// One panel (see pack_panels): n <= width lanes, lane l at src + l * lane_stride, contiguous
// along the depth. Lanes n..width-1 are written as zeros.
void pack_lanes_avx512(const float* src, int64_t lane_stride, int64_t n, int64_t depth, int width, float* dst) {
  for (int64_t l0 = 0; l0 < width; l0 += 16) {
    const __mmask16 store_mask = first_lanes(width - l0);
    for (int64_t p0 = 0; p0 < depth; p0 += 16) {
      const int64_t steps = depth - p0 < 16 ? depth - p0 : 16;
      const __mmask16 load_mask = first_lanes(steps);
      __m512 block[16];
      for (int64_t l = 0; l < 16; ++l) {
        block[l] = l0 + l < n ? _mm512_maskz_loadu_ps(load_mask, src + (l0 + l) * lane_stride + p0) : _mm512_setzero_ps();
      }
      transpose16(block);
      for (int64_t p = 0; p < steps; ++p) _mm512_mask_storeu_ps(dst + (p0 + p) * width + l0, store_mask, block[p]);
    }
  }
}

}  // namespace

const PackLanes kPackLanesAvx512 = pack_lanes_avx512;

}  // namespace kiln::gemm

#if defined(__clang__)
#pragma clang attribute pop
#endif

#endif  // x86-64
