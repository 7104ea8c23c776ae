// A 16 × 16 transpose of 32-bit elements in zmm registers, shared by the AVX-512 packs
// (pack_avx512.cc: float32 lanes; pack_bf16_avx512.cc: pairs of bfloat16). Include it after the
// file's AVX-512 target pragma: its functions take that target. They have internal linkage
// (an unnamed namespace), so each file keeps its own copy, compiled for its own target: one
// shared inline copy could be the linker's pick for a file compiled for fewer features.
#pragma once

#include <immintrin.h>

namespace kiln::gemm {
namespace {

inline __m512 unpacklo_64(__m512 a, __m512 b) {
  return _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
}
inline __m512 unpackhi_64(__m512 a, __m512 b) {
  return _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
}

// In-place transpose of a 16 × 16 block: afterwards r[c] holds column c of the input rows.
inline void transpose16(__m512 r[16]) {
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

}  // namespace
}  // namespace kiln::gemm
