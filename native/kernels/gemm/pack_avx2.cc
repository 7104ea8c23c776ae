// AVX2 packing of lanes that are contiguous along the depth (rows of a row-major A, or rows
// of B when B is stored transposed): 8 × 8 blocks transposed in registers, where the
// portable path in pack.cc moves one float at a time.
#include "config.h"

#if defined(__x86_64__) || defined(_M_X64)

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx2,fma")
#endif

#include <immintrin.h>

namespace kiln::gemm {
namespace {

// Lane mask (all ones in lanes < count) for maskload / maskstore.
inline __m256i first_lanes(int64_t count) {
  const int clamped = count < 0 ? 0 : count > 8 ? 8 : static_cast<int>(count);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(clamped), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// In-place transpose of an 8 × 8 block: afterwards r[c] holds column c of the input rows.
void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 4; ++i) {  // per 128-bit half: [a0 b0 a1 b1], [a2 b2 a3 b3]
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 2; ++i) {  // u[4i + j]: rows 4i..4i+3 of column j (low half) and j + 4 (high half)
    u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0x44);
    u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0xee);
    u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
  }
  for (int j = 0; j < 4; ++j) {
    r[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
    r[j + 4] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
  }
}

// Stores the first `count` floats of v at dst (all 8 when count >= 8). Full and 6-float rows
// (the AVX2 kernel's MR) use plain stores: maskstore is slow on AMD cores.
inline void store_first(float* dst, __m256 v, int64_t count, __m256i mask) {
  if (count >= 8) {
    _mm256_storeu_ps(dst, v);
  } else if (count == 6) {
    _mm_storeu_ps(dst, _mm256_castps256_ps128(v));
    _mm_storel_pi(reinterpret_cast<__m64*>(dst + 4), _mm256_extractf128_ps(v, 1));
  } else {
    _mm256_maskstore_ps(dst, mask, v);
  }
}

// One panel (see pack_panels): n <= width lanes, lane l at src + l * lane_stride, contiguous
// along the depth. Lanes n..width-1 are written as zeros.
void pack_lanes_avx2(const float* src, int64_t lane_stride, int64_t n, int64_t depth, int width, float* dst) {
  for (int64_t l0 = 0; l0 < width; l0 += 8) {
    const __m256i store_mask = first_lanes(width - l0);
    for (int64_t p0 = 0; p0 < depth; p0 += 8) {
      const int64_t steps = depth - p0 < 8 ? depth - p0 : 8;
      const __m256i load_mask = first_lanes(steps);
      __m256 block[8];
      for (int64_t l = 0; l < 8; ++l) {
        const float* lane = src + (l0 + l) * lane_stride + p0;
        if (l0 + l >= n) {
          block[l] = _mm256_setzero_ps();
        } else {
          block[l] = steps == 8 ? _mm256_loadu_ps(lane) : _mm256_maskload_ps(lane, load_mask);
        }
      }
      transpose8(block);
      for (int64_t p = 0; p < steps; ++p) store_first(dst + (p0 + p) * width + l0, block[p], width - l0, store_mask);
    }
  }
}

}  // namespace

const PackLanes kPackLanesAvx2 = pack_lanes_avx2;

}  // namespace kiln::gemm

#if defined(__clang__)
#pragma clang attribute pop
#endif

#endif  // x86-64
