// AVX-512 packing of float32 strips into the pair panels of the AVX512-BF16 kernel, rounding
// each value to bfloat16 on the way (PackPairsF32, gemm_bf16_compute.h): element (l, p) lands
// at dst[(p / 2) · 2·width + 2·l + p % 2] as float_to_bf16 of it. The rounding is integer
// arithmetic on the bits, float_to_bf16's (not vcvtne2ps2bf16, which flushes subnormals and
// writes other NaN bits), 16 values a step. Two layouts in registers:
//   - lanes contiguous along the depth (rows of a row-major A, columns of a transposed B): a
//     lane's 32 floats round to its 16 pair words, and 16 lanes × 16 words are transposed
//     (transpose_avx512.h), as pack_bf16_avx512.cc does for bfloat16 sources;
//   - lanes contiguous (columns of a row-major B, rows of a transposed A): the rounded depth
//     rows p and p+1 are merged into (low, high) halves of one word per lane;
// any other strides: pack_pairs_f32_scalar.
#include "gemm_bf16_compute.h"

#if defined(__x86_64__) || defined(_M_X64)

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx512f,avx512bw,avx2,fma")
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

// float_to_bf16 of 16 floats, in the low 16 bits of each 32-bit lane (the high bits zero):
// (bits + 0x7fff + bit 16) >> 16, and 0xffff for NaN.
inline __m512i round_to_bf16_lanes(__m512 values) {
  const __m512i bits = _mm512_castps_si512(values);
  const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  const __m512i bias = _mm512_add_epi32(odd, _mm512_set1_epi32(0x7fff));
  const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(bits, bias), 16);
  const __mmask16 nan = _mm512_cmp_ps_mask(values, values, _CMP_UNORD_Q);
  return _mm512_mask_mov_epi32(rounded, nan, _mm512_set1_epi32(0xffff));
}

// Lanes contiguous along the depth (depth stride 1): lane l's depths 2q0 .. 2q0 + 31 round to
// its pair words q0 .. q0 + 15 (the low halves of two rounded vectors, vpermt2w), a missing
// partner of an odd depth's last value loads as zero; 16 lanes × 16 words are transposed.
void pack_pair_words(const float* src, int64_t lane_stride, int64_t n, int64_t depth, int width, uint16_t* dst) {
  alignas(64) uint16_t low_halves[32];  // vpermt2w indices: the low 16 bits of each 32-bit lane of both vectors
  for (int i = 0; i < 32; ++i) low_halves[i] = static_cast<uint16_t>(2 * i);
  const __m512i low_index = _mm512_load_si512(low_halves);
  const int64_t pairs = (depth + 1) / 2;
  for (int64_t l0 = 0; l0 < width; l0 += 16) {
    const __mmask16 store_mask = first_lanes(width - l0);
    for (int64_t q0 = 0; q0 < pairs; q0 += 16) {
      const int64_t steps = pairs - q0 < 16 ? pairs - q0 : 16;
      const int64_t values = depth - 2 * q0;  // from depth 2·q0 on
      __m512 block[16];
      for (int64_t l = 0; l < 16; ++l) {
        const float* lane = src + (l0 + l) * lane_stride + 2 * q0;
        const bool present = l0 + l < n;
        const __m512i first = round_to_bf16_lanes(_mm512_maskz_loadu_ps(present ? first_lanes(values) : 0, lane));
        const __m512i second = round_to_bf16_lanes(_mm512_maskz_loadu_ps(present ? first_lanes(values - 16) : 0, lane + 16));
        block[l] = _mm512_castsi512_ps(_mm512_permutex2var_epi16(first, low_index, second));
      }
      transpose16(block);
      for (int64_t q = 0; q < steps; ++q) {
        _mm512_mask_storeu_epi32(dst + (q0 + q) * 2 * width + 2 * l0, store_mask, _mm512_castps_si512(block[q]));
      }
    }
  }
}

// Lanes contiguous (lane stride 1): per pair of depth rows p, p+1 (zeros for p+1 = depth),
// lane l's word is round(row p) | round(row p+1) << 16, 16 lanes a step.
void pack_merged_rows(const float* src, int64_t depth_stride, int64_t n, int64_t depth, int width, uint16_t* dst) {
  for (int64_t p = 0; p < depth; p += 2) {
    const float* first_row = src + p * depth_stride;
    uint16_t* step = dst + p * width;  // (p / 2) · 2·width
    for (int64_t l0 = 0; l0 < width; l0 += 16) {
      const __mmask16 load_mask = first_lanes(n - l0);
      const __m512i first = round_to_bf16_lanes(_mm512_maskz_loadu_ps(load_mask, first_row + l0));
      const __m512i second = p + 1 < depth
                                 ? round_to_bf16_lanes(_mm512_maskz_loadu_ps(load_mask, first_row + depth_stride + l0))
                                 : _mm512_setzero_si512();
      _mm512_mask_storeu_epi32(step + 2 * l0, first_lanes(width - l0), _mm512_or_si512(first, _mm512_slli_epi32(second, 16)));
    }
  }
}

void pack_pairs_f32_avx512(const float* src, int64_t lane_stride, int64_t depth_stride, int64_t n, int64_t depth,
                           int width, uint16_t* dst) {
  if (depth_stride == 1) return pack_pair_words(src, lane_stride, n, depth, width, dst);
  if (lane_stride == 1) return pack_merged_rows(src, depth_stride, n, depth, width, dst);
  pack_pairs_f32_scalar(src, lane_stride, depth_stride, n, depth, width, dst);
}

}  // namespace

const PackPairsF32 kPackPairsF32Avx512 = pack_pairs_f32_avx512;

}  // namespace kiln::gemm

#if defined(__clang__)
#pragma clang attribute pop
#endif

#endif  // x86-64
