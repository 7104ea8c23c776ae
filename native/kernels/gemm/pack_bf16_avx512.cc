// AVX-512 packing of bfloat16 strips into the pair panels of the AVX512-BF16 kernel (PackPairs,
// gemm_bf16.h): element (l, p) lands at dst[(p / 2) · 2·width + 2·l + p % 2]. Three layouts:
//   - lanes contiguous along the depth (rows of a row-major A, columns of a transposed B): the
//     pair (p, p+1) of a lane is one 32-bit word, so a panel is a transpose of 32-bit words,
//     16 × 16 in registers (transpose_avx512.h);
//   - lanes contiguous (columns of a row-major B, rows of a transposed A): the two depth rows of
//     a pair are interleaved 16 bits at a time (vpermt2w), 32 lanes per step;
//   - any other strides: one value at a time.
// Only the bit patterns move, so every value (NaN payloads included) reaches the kernel as stored.
#include "gemm_bf16.h"

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

// Any strides, one value at a time; zeros past n lanes and past the depth.
void pack_pairs_scalar(const uint16_t* src, int64_t lane_stride, int64_t depth_stride, int64_t n, int64_t depth,
                       int width, uint16_t* dst) {
  for (int64_t p = 0; p < depth; p += 2) {
    uint16_t* step = dst + p * width;  // (p / 2) · 2·width
    for (int64_t l = 0; l < width; ++l) {
      step[2 * l] = l < n ? src[l * lane_stride + p * depth_stride] : 0;
      step[2 * l + 1] = l < n && p + 1 < depth ? src[l * lane_stride + (p + 1) * depth_stride] : 0;
    }
  }
}

// Lanes contiguous along the depth (depth stride 1): 32-bit word q of lane l is the pair
// (2q, 2q+1), and the panel's step q is word q of every lane, 16 lanes × 16 words per
// transpose. An odd depth's last value has no partner word: packed by the scalar path.
void pack_pair_words(const uint16_t* src, int64_t lane_stride, int64_t n, int64_t depth, int width, uint16_t* dst) {
  const int64_t whole_pairs = depth / 2;
  for (int64_t l0 = 0; l0 < width; l0 += 16) {
    const __mmask16 store_mask = first_lanes(width - l0);
    for (int64_t q0 = 0; q0 < whole_pairs; q0 += 16) {
      const int64_t steps = whole_pairs - q0 < 16 ? whole_pairs - q0 : 16;
      const __mmask16 load_mask = first_lanes(steps);
      __m512 block[16];
      for (int64_t l = 0; l < 16; ++l) {
        const uint16_t* words = src + (l0 + l) * lane_stride + 2 * q0;
        block[l] = l0 + l < n ? _mm512_castsi512_ps(_mm512_maskz_loadu_epi32(load_mask, words)) : _mm512_setzero_ps();
      }
      transpose16(block);
      for (int64_t q = 0; q < steps; ++q) {
        _mm512_mask_storeu_epi32(dst + (q0 + q) * 2 * width + 2 * l0, store_mask, _mm512_castps_si512(block[q]));
      }
    }
  }
  if (depth % 2 != 0) {
    pack_pairs_scalar(src + depth - 1, lane_stride, 1, n, 1, width, dst + whole_pairs * 2 * width);
  }
}

// Lanes contiguous (lane stride 1): depth rows p and p+1 (zeros for p+1 = depth) interleaved
// into 32 (l, p), (l, p+1) pairs per two stores.
void pack_interleaved_rows(const uint16_t* src, int64_t depth_stride, int64_t n, int64_t depth, int width,
                           uint16_t* dst) {
  alignas(64) uint16_t low[32], high[32];  // vpermt2w indices: lane i of the first row, 32 + i of the second
  for (int i = 0; i < 16; ++i) {
    low[2 * i] = static_cast<uint16_t>(i), low[2 * i + 1] = static_cast<uint16_t>(32 + i);
    high[2 * i] = static_cast<uint16_t>(16 + i), high[2 * i + 1] = static_cast<uint16_t>(48 + i);
  }
  const __m512i low_index = _mm512_load_si512(low), high_index = _mm512_load_si512(high);
  for (int64_t p = 0; p < depth; p += 2) {
    const uint16_t* first_row = src + p * depth_stride;
    uint16_t* step = dst + p * width;  // (p / 2) · 2·width
    for (int64_t l0 = 0; l0 < width; l0 += 32) {
      const __mmask32 load_mask = first_halves(n - l0);
      const __m512i first = _mm512_maskz_loadu_epi16(load_mask, first_row + l0);
      const __m512i second =
          p + 1 < depth ? _mm512_maskz_loadu_epi16(load_mask, first_row + depth_stride + l0) : _mm512_setzero_si512();
      _mm512_mask_storeu_epi32(step + 2 * l0, first_lanes(width - l0), _mm512_permutex2var_epi16(first, low_index, second));
      _mm512_mask_storeu_epi32(step + 2 * l0 + 32, first_lanes(width - l0 - 16),
                               _mm512_permutex2var_epi16(first, high_index, second));
    }
  }
}

void pack_pairs_avx512(const uint16_t* src, int64_t lane_stride, int64_t depth_stride, int64_t n, int64_t depth,
                       int width, uint16_t* dst) {
  if (depth_stride == 1) return pack_pair_words(src, lane_stride, n, depth, width, dst);
  if (lane_stride == 1) return pack_interleaved_rows(src, depth_stride, n, depth, width, dst);
  pack_pairs_scalar(src, lane_stride, depth_stride, n, depth, width, dst);
}

}  // namespace

const PackPairs kPackPairsAvx512 = pack_pairs_avx512;

}  // namespace kiln::gemm

#if defined(__clang__)
#pragma clang attribute pop
#endif

#endif  // x86-64
