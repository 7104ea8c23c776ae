// AVX512-VNNI int8 GEMM kernels. A weight group (16 columns × 4 k, each column's 4 s8
// together) is exactly one zmm, the layout vpdpbusd reads: per 32-bit lane it multiplies 4 u8
// of a broadcast activation row by a column's 4 s8 and adds the 4 products into the lane's
// int32, exactly (no s16 step, unlike vpmaddubsw), so the sums equal the scalar and AVX2
// kernels' bit for bit. A tile is 4 rows × up to kTilePanels weight panels (64 columns): 16
// zmm accumulators, so per group 4 weight loads and 4 broadcasts feed 16 vpdpbusd, enough
// independent sums to cover the instruction's latency on both multiply pipes.
// The activation's min/max and its quantization (fused with packing) run 16 floats at a time.
#include "internal.h"

#if defined(__x86_64__) || defined(_M_X64)

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512vnni,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx512f,avx512vnni,fma")
#endif

#include <immintrin.h>

// GCC 12 reports the _mm512_undefined_*() inside its own conversion intrinsics as
// uninitialized; the intrinsics' results are fully defined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cmath>
#include <cstring>

#include "../lane_masks_avx512.h"

namespace kiln::qgemm {
namespace {

constexpr int64_t kGroupBytes = kQgemmPanelColumns * kQgemmGroupDepth;  // 64: one zmm
constexpr int kTilePanels = 4;

// min and max, 16 lanes at a time (the tail masked: its empty lanes keep the running values);
// NaN is caught by an unordered self-compare (min / max would skip it), ±inf by the results.
bool min_max_avx512(const float* x, int64_t count, float* min, float* max) {
  __m512 lo = _mm512_set1_ps(x[0]), hi = lo;
  __mmask16 nan = 0;
  for (int64_t i = 0; i < count; i += 16) {
    const __mmask16 lanes = first_lanes(count - i);
    const __m512 v = _mm512_mask_loadu_ps(lo, lanes, x + i);
    lo = _mm512_min_ps(lo, v);
    hi = _mm512_max_ps(hi, _mm512_mask_mov_ps(hi, lanes, v));
    nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  }
  *min = _mm512_reduce_min_ps(lo);
  *max = _mm512_reduce_max_ps(hi);
  return nan == 0 && std::isfinite(*min) && std::isfinite(*max);
}

// x_q of 16 floats of one row (lanes past `count` zero), as 16 u8 in an xmm: fma, clamp to
// [0, 127] and round half to even, the scalar rule (clamping before rounding to the integer
// bounds gives the same value).
inline __m128i quantize16(const float* x, int64_t count, __m512 inverse_scale, __m512 zero_point) {
  const __mmask16 lanes = first_lanes(count);
  const __m512 scaled = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(lanes, x), inverse_scale, zero_point);
  const __m512 clamped = _mm512_min_ps(_mm512_max_ps(scaled, _mm512_setzero_ps()), _mm512_set1_ps(127.0f));
  const __m512i q = _mm512_maskz_cvt_roundps_epi32(lanes, clamped, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  return _mm512_cvtepi32_epi8(q);
}

// 16 k of the panel's 4 rows at a time: row r's 16 u8 into 128-bit lane r of a zmm, then one
// dword permute gathers the 4 groups (a group: row 0's 4 bytes, row 1's, …) and a masked store
// writes the groups that exist. Rows past `rows` and k past `k` are zeros.
void quantize_panel_avx512(const float* x, int64_t ldx, int rows, int64_t k, int64_t groups, ActivationQuantization q,
                           uint8_t* panel) {
  static_assert(kRows == 4, "one 128-bit lane per row");
  const __m512 inverse_scale = _mm512_set1_ps(1.0f / q.scale);
  const __m512 zero_point = _mm512_set1_ps(static_cast<float>(q.zero_point));
  // Output dword 4 · g + r is row r's dword g: source dword 4 · r + g.
  const __m512i gather_groups = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  for (int64_t p = 0, g = 0; g < groups; p += 16, g += 4) {
    const auto row = [&](int r) {
      return r < rows ? quantize16(x + r * ldx + p, k - p, inverse_scale, zero_point) : _mm_setzero_si128();
    };
    __m512i rows_bytes = _mm512_castsi128_si512(row(0));
    rows_bytes = _mm512_inserti32x4(rows_bytes, row(1), 1);
    rows_bytes = _mm512_inserti32x4(rows_bytes, row(2), 2);
    rows_bytes = _mm512_inserti32x4(rows_bytes, row(3), 3);
    const __mmask16 lanes = first_lanes((groups - g) * kRows);
    _mm512_mask_storeu_epi32(panel + g * kRows * kQgemmGroupDepth, lanes,
                             _mm512_permutexvar_epi32(gather_groups, rows_bytes));
  }
}

// out[0:cols] (cols ≤ 16) of one row from one accumulator: (acc − corrections) · scales + bias.
// Every load is masked to the `cols` valid columns, so nothing past the per-column arrays is read.
inline void store_dequantized(__m512i acc, const Epilogue& e, int offset, int cols, float* out) {
  const __mmask16 lanes = first_lanes(cols);
  const __m512i corrections = _mm512_maskz_loadu_epi32(lanes, e.corrections + offset);
  const __m512 value = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc, corrections));
  const __m512 scales = _mm512_maskz_loadu_ps(lanes, e.scales + offset), bias = _mm512_maskz_loadu_ps(lanes, e.bias + offset);
  _mm512_mask_storeu_ps(out, lanes, _mm512_fmadd_ps(value, scales, bias));
}

// c0..c3 += row `a`'s 4 u8 of a group times weight panels 0..3's group (the first PANELS).
template <int PANELS>
inline __attribute__((always_inline)) void multiply_add(const uint8_t* a, __m512i b0, __m512i b1, __m512i b2,
                                                        __m512i b3, __m512i& c0, __m512i& c1, __m512i& c2,
                                                        __m512i& c3) {
  int32_t a_bytes;
  std::memcpy(&a_bytes, a, 4);
  const __m512i a_v = _mm512_set1_epi32(a_bytes);
  c0 = _mm512_dpbusd_epi32(c0, a_v, b0);
  if constexpr (PANELS > 1) c1 = _mm512_dpbusd_epi32(c1, a_v, b1);
  if constexpr (PANELS > 2) c2 = _mm512_dpbusd_epi32(c2, a_v, b2);
  if constexpr (PANELS > 3) c3 = _mm512_dpbusd_epi32(c3, a_v, b3);
}

// out[r, 0:cols] from one row's accumulators.
template <int PANELS>
inline void store_row(__m512i c0, __m512i c1, __m512i c2, __m512i c3, const Epilogue& e, int cols, float* out) {
  constexpr int kPanel = static_cast<int>(kQgemmPanelColumns);
  store_dequantized(c0, e, 0, cols, out);
  if constexpr (PANELS > 1) store_dequantized(c1, e, kPanel, cols - kPanel, out + kPanel);
  if constexpr (PANELS > 2) store_dequantized(c2, e, 2 * kPanel, cols - 2 * kPanel, out + 2 * kPanel);
  if constexpr (PANELS > 3) store_dequantized(c3, e, 3 * kPanel, cols - 3 * kPanel, out + 3 * kPanel);
}

// ROWS rows × PANELS weight panels, in named accumulators (not an array: GCC keeps neither an
// array nor, without the asm below, all 16 names in fixed registers across the loop).
template <int ROWS, int PANELS>
void tile_block(const uint8_t* a_panel, const int8_t* b_panel, int64_t groups, int cols, const Epilogue& e, float* out,
                int64_t ldo) {
  const int64_t b_panel_bytes = groups * kGroupBytes;
  const __m512i zero = _mm512_setzero_si512();
  __m512i c00 = zero, c01 = zero, c02 = zero, c03 = zero, c10 = zero, c11 = zero, c12 = zero, c13 = zero;
  __m512i c20 = zero, c21 = zero, c22 = zero, c23 = zero, c30 = zero, c31 = zero, c32 = zero, c33 = zero;
  for (int64_t g = 0; g < groups; ++g) {
    const int8_t* b = b_panel + g * kGroupBytes;
    const __m512i b0 = _mm512_loadu_si512(b);
    const __m512i b1 = PANELS > 1 ? _mm512_loadu_si512(b + b_panel_bytes) : zero;
    const __m512i b2 = PANELS > 2 ? _mm512_loadu_si512(b + 2 * b_panel_bytes) : zero;
    const __m512i b3 = PANELS > 3 ? _mm512_loadu_si512(b + 3 * b_panel_bytes) : zero;
    const uint8_t* a = a_panel + g * kRows * kQgemmGroupDepth;
    multiply_add<PANELS>(a, b0, b1, b2, b3, c00, c01, c02, c03);
    if constexpr (ROWS > 1) multiply_add<PANELS>(a + 4, b0, b1, b2, b3, c10, c11, c12, c13);
    if constexpr (ROWS > 2) multiply_add<PANELS>(a + 8, b0, b1, b2, b3, c20, c21, c22, c23);
    if constexpr (ROWS > 3) multiply_add<PANELS>(a + 12, b0, b1, b2, b3, c30, c31, c32, c33);
#if defined(__GNUC__)
    // Pins each accumulator to one register (without it GCC copies all of them every group);
    // two statements, as one asm takes at most 30 operands.
    __asm__("" : "+v"(c00), "+v"(c01), "+v"(c02), "+v"(c03), "+v"(c10), "+v"(c11), "+v"(c12), "+v"(c13));
    __asm__("" : "+v"(c20), "+v"(c21), "+v"(c22), "+v"(c23), "+v"(c30), "+v"(c31), "+v"(c32), "+v"(c33));
#endif
  }
  store_row<PANELS>(c00, c01, c02, c03, e, cols, out);
  if constexpr (ROWS > 1) store_row<PANELS>(c10, c11, c12, c13, e, cols, out + ldo);
  if constexpr (ROWS > 2) store_row<PANELS>(c20, c21, c22, c23, e, cols, out + 2 * ldo);
  if constexpr (ROWS > 3) store_row<PANELS>(c30, c31, c32, c33, e, cols, out + 3 * ldo);
}

template <int ROWS>
void tile_rows(const uint8_t* a_panel, const int8_t* b_panel, int64_t groups, int cols, const Epilogue& e, float* out,
               int64_t ldo) {
  static_assert(kTilePanels == 4, "one case per panel count");
  switch ((cols + kQgemmPanelColumns - 1) / kQgemmPanelColumns) {
    case 1:
      return tile_block<ROWS, 1>(a_panel, b_panel, groups, cols, e, out, ldo);
    case 2:
      return tile_block<ROWS, 2>(a_panel, b_panel, groups, cols, e, out, ldo);
    case 3:
      return tile_block<ROWS, 3>(a_panel, b_panel, groups, cols, e, out, ldo);
    default:
      return tile_block<ROWS, 4>(a_panel, b_panel, groups, cols, e, out, ldo);
  }
}

void tile_avx512_vnni(const uint8_t* a_panel, const int8_t* b_panel, int64_t groups, int rows, int cols,
                      const Epilogue& e, float* out, int64_t ldo) {
  static_assert(kRows == 4, "one case per row count");
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

const QgemmKernel kAvx512VnniKernel = {"avx512vnni", kTilePanels, min_max_avx512, quantize_panel_avx512,
                                       tile_avx512_vnni};

}  // namespace kiln::qgemm

#if defined(__clang__)
#pragma clang attribute pop
#endif

#endif  // x86-64
