// AVX2 int8 GEMM kernels. The tile is 4 rows × 16 columns in 8 ymm accumulators of 8 int32:
// per group of 4 k, vpmaddubsw multiplies a row's 4 u8 (broadcast) by each column's 4 s8 and
// adds adjacent pairs into s16 (at most 2 · 127 · 128: no saturation, x_q ≤ 127), vpmaddwd
// by ones adds the two pairs into one s32 per column, vpaddd accumulates. 8 accumulators + 2
// weight vectors + broadcast + ones + product fit the 16 ymm registers. Quantization of x is
// fused with its packing: fma, round half to even (cvtps), saturating packs, min 127.
#include "internal.h"

#if defined(__x86_64__) || defined(_M_X64)

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx2,fma")
#endif

#include <immintrin.h>

#include <cmath>
#include <cstring>

namespace kiln::qgemm {
namespace {

constexpr int64_t kGroupBytes = kQgemmPanelColumns * kQgemmGroupDepth;  // 64: two ymm

// min and max, 8 lanes at a time; NaN is caught by an unordered self-compare (min / max would
// skip it), ±inf by the min and max themselves.
bool min_max_avx2(const float* x, int64_t count, float* min, float* max) {
  __m256 lo = _mm256_set1_ps(x[0]), hi = lo, nan = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    lo = _mm256_min_ps(lo, v);
    hi = _mm256_max_ps(hi, v);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  }
  alignas(32) float lanes_lo[8], lanes_hi[8];
  _mm256_store_ps(lanes_lo, lo);
  _mm256_store_ps(lanes_hi, hi);
  float lo_s = lanes_lo[0], hi_s = lanes_hi[0];
  bool finite = _mm256_movemask_ps(nan) == 0;
  for (int lane = 0; lane < 8; ++lane) {
    lo_s = std::fmin(lo_s, lanes_lo[lane]);
    hi_s = std::fmax(hi_s, lanes_hi[lane]);
  }
  for (; i < count; ++i) {
    lo_s = std::fmin(lo_s, x[i]);
    hi_s = std::fmax(hi_s, x[i]);
    finite = finite && !std::isnan(x[i]);
  }
  *min = lo_s;
  *max = hi_s;
  return finite && std::isfinite(lo_s) && std::isfinite(hi_s);
}

// 8 floats → 8 u8 in [0, 127] in the low half of an xmm (element 0 in the low byte).
inline __m128i quantize8(const float* x, __m256 inverse_scale, __m256 zero_point) {
  const __m256i q = _mm256_cvtps_epi32(_mm256_fmadd_ps(_mm256_loadu_ps(x), inverse_scale, zero_point));
  const __m128i s16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  return _mm_min_epu8(_mm_packus_epi16(s16, s16), _mm_set1_epi8(127));
}

// Row r's x_q[p], scalar (the tail past the last multiple of 8, and short panels).
inline void quantize_tail(const float* row, int r, int64_t begin, int64_t k, float inverse_scale, float zero_point,
                          uint8_t* panel) {
  for (int64_t p = begin; p < k; ++p) {
    const int64_t g = p / kQgemmGroupDepth, within = p % kQgemmGroupDepth;
    panel[(g * kRows + r) * kQgemmGroupDepth + within] = quantize_value(row[p], inverse_scale, zero_point);
  }
}

// A full panel takes 8 k of its 4 rows at a time: two groups of 4 rows × 4 bytes, written as
// two 16-byte stores after a 4 × 2 transpose of 32-bit lanes; a short panel goes row by row.
void quantize_panel_avx2(const float* x, int64_t ldx, int rows, int64_t k, int64_t groups, ActivationQuantization q,
                         uint8_t* panel) {
  std::memset(panel, 0, static_cast<size_t>(groups * kRows * kQgemmGroupDepth));
  const float inverse_scale = 1.0f / q.scale;
  const float zero_point = static_cast<float>(q.zero_point);
  const __m256 inverse_v = _mm256_set1_ps(inverse_scale), zero_point_v = _mm256_set1_ps(zero_point);
  int64_t vector_end = 0;
  if (rows == kRows) {
    for (; vector_end + 8 <= k; vector_end += 8) {
      const int64_t p = vector_end, g = p / kQgemmGroupDepth;
      const __m128i rows01 = _mm_unpacklo_epi32(quantize8(x + p, inverse_v, zero_point_v),
                                                quantize8(x + ldx + p, inverse_v, zero_point_v));
      const __m128i rows23 = _mm_unpacklo_epi32(quantize8(x + 2 * ldx + p, inverse_v, zero_point_v),
                                                quantize8(x + 3 * ldx + p, inverse_v, zero_point_v));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(panel + g * kRows * kQgemmGroupDepth), _mm_unpacklo_epi64(rows01, rows23));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(panel + (g + 1) * kRows * kQgemmGroupDepth),
                       _mm_unpackhi_epi64(rows01, rows23));
    }
  }
  for (int r = 0; r < rows; ++r) quantize_tail(x + r * ldx, r, vector_end, k, inverse_scale, zero_point, panel);
}

// 8 outputs from one accumulator: (acc − corrections) · scales + bias.
inline __m256 dequantize8(__m256i acc, const Epilogue& e, int offset) {
  const __m256i corrections = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e.corrections + offset));
  const __m256 value = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc, corrections));
  return _mm256_fmadd_ps(value, _mm256_loadu_ps(e.scales + offset), _mm256_loadu_ps(e.bias + offset));
}

// out[r, 0:cols] from one row's two accumulators (edge tiles through a buffer).
inline void store_row(__m256i acc0, __m256i acc1, const Epilogue& e, int cols, float* out) {
  if (cols == kQgemmPanelColumns) {
    _mm256_storeu_ps(out, dequantize8(acc0, e, 0));
    _mm256_storeu_ps(out + 8, dequantize8(acc1, e, 8));
    return;
  }
  alignas(32) float values[kQgemmPanelColumns];
  _mm256_store_ps(values, dequantize8(acc0, e, 0));
  _mm256_store_ps(values + 8, dequantize8(acc1, e, 8));
  std::memcpy(out, values, static_cast<size_t>(cols) * sizeof(float));
}

// acc0 / acc1 += the 4 u8 of `a` (one row, one group) times columns 0-7 / 8-15 of the group.
inline __attribute__((always_inline)) void multiply_add(const uint8_t* a, __m256i b0, __m256i b1, __m256i ones,
                                                        __m256i& acc0, __m256i& acc1) {
  int32_t a_bytes;
  std::memcpy(&a_bytes, a, 4);
  const __m256i a_v = _mm256_set1_epi32(a_bytes);
  acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_maddubs_epi16(a_v, b0), ones));
  acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(_mm256_maddubs_epi16(a_v, b1), ones));
}

// The first ROWS rows of a tile, in named accumulators (not an array) so they stay in
// registers across the loop; fewer rows for the last row panel (one row: a batch of one).
template <int ROWS>
void tile_rows(const uint8_t* a_panel, const int8_t* b_panel, int64_t groups, int cols, const Epilogue& e, float* out,
               int64_t ldo) {
  __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t g = 0; g < groups; ++g) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b_panel + g * kGroupBytes));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b_panel + g * kGroupBytes + 32));
    const uint8_t* a = a_panel + g * kRows * kQgemmGroupDepth;
    multiply_add(a, b0, b1, ones, c00, c01);
    if constexpr (ROWS > 1) multiply_add(a + 4, b0, b1, ones, c10, c11);
    if constexpr (ROWS > 2) multiply_add(a + 8, b0, b1, ones, c20, c21);
    if constexpr (ROWS > 3) multiply_add(a + 12, b0, b1, ones, c30, c31);
#if defined(__GNUC__)
    // Keeps the accumulators in registers (without it GCC spills one and copies the rest).
    __asm__("" : "+x"(c00), "+x"(c01), "+x"(c10), "+x"(c11), "+x"(c20), "+x"(c21), "+x"(c30), "+x"(c31));
#endif
  }
  store_row(c00, c01, e, cols, out);
  if constexpr (ROWS > 1) store_row(c10, c11, e, cols, out + ldo);
  if constexpr (ROWS > 2) store_row(c20, c21, e, cols, out + 2 * ldo);
  if constexpr (ROWS > 3) store_row(c30, c31, e, cols, out + 3 * ldo);
}

void tile_avx2(const uint8_t* a_panel, const int8_t* b_panel, int64_t groups, int rows, int cols, const Epilogue& e,
               float* out, int64_t ldo) {
  static_assert(kRows == 4, "four accumulator pairs");
  switch (rows) {
    case 1:
      return tile_rows<1>(a_panel, b_panel, groups, cols, e, out, ldo);
    case 2:
      return tile_rows<2>(a_panel, b_panel, groups, cols, e, out, ldo);
    case 3:
      return tile_rows<3>(a_panel, b_panel, groups, cols, e, out, ldo);
    default:
      return tile_rows<4>(a_panel, b_panel, groups, cols, e, out, ldo);
  }
}

}  // namespace

const QgemmKernel kAvx2Kernel = {"avx2", 1, min_max_avx2, quantize_panel_avx2, tile_avx2};

}  // namespace kiln::qgemm

#if defined(__clang__)
#pragma clang attribute pop
#endif

#endif  // x86-64
