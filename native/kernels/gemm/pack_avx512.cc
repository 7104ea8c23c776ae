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

namespace kiln::gemm {
namespace {

inline __mmask16 first_lanes(int64_t count) {
  if (count <= 0) return 0;
  return count >= 16 ? __mmask16(0xffff) : __mmask16((1u << count) - 1);
}

inline __m512 unpacklo_64(__m512 a, __m512 b) {
  return _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
}
inline __m512 unpackhi_64(__m512 a, __m512 b) {
  return _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
}

// In-place transpose of a 16 × 16 block: afterwards r[c] holds column c of the input rows.
void transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; ++i) {  // 32-bit interleave: per 128-bit lane [a0 b0 a1 b1], [a2 b2 a3 b3]
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {  // 64-bit interleave: u[4i + j], lane L = rows 4i..4i+3 of column 4L + j
    u[4 * i + 0] = unpacklo_64(t[4 * i + 0], t[4 * i + 2]);
    u[4 * i + 1] = unpackhi_64(t[4 * i + 0], t[4 * i + 2]);
    u[4 * i + 2] = unpacklo_64(t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = unpackhi_64(t[4 * i + 1], t[4 * i + 3]);
  }
  for (int j = 0; j < 4; ++j) {  // gather lane L of u[j], u[4 + j], u[8 + j], u[12 + j] into column 4L + j
    const __m512 w0 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x44);
    const __m512 w1 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xee);
    const __m512 w2 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x44);
    const __m512 w3 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xee);
    r[j] = _mm512_shuffle_f32x4(w0, w2, 0x88);
    r[j + 4] = _mm512_shuffle_f32x4(w0, w2, 0xdd);
    r[j + 8] = _mm512_shuffle_f32x4(w1, w3, 0x88);
    r[j + 12] = _mm512_shuffle_f32x4(w1, w3, 0xdd);
  }
}

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
