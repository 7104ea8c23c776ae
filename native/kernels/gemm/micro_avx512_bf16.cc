// AVX512-BF16 micro-kernel of gemm_bf16: a 12 × 32 tile of C in 24 zmm FP32 accumulators (two
// 16-float vectors per row), as the FP32 AVX-512 kernel, but each step is a pair of depths: one
// vdpbf16ps adds A(i, 2q)·B(2q, j) + A(i, 2q+1)·B(2q+1, j) to 16 columns j, twice the
// multiply-adds of an FP32 FMA. Per pair q: load B's 32 column pairs (two zmm), broadcast row
// i's pair of A (32 bits) into each of the row's two vdpbf16ps.
// Compiled for AVX512-BF16 by a target pragma, so the rest of the binary stays baseline
// x86-64; gemm_bf16.cc only calls it when cpuid reports avx512_bf16.
#include <cstring>

#include "gemm_bf16.h"

#if defined(__x86_64__) || defined(_M_X64)

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512bf16,avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx512f,avx512bw,avx512bf16,avx2,fma")
#endif

#include <immintrin.h>

#include "../lane_masks_avx512.h"

namespace kiln::gemm {
namespace {

constexpr int MR = kAvx512Bf16Rule.mr;  // 12
constexpr int NR = kAvx512Bf16Rule.nr;  // 32
static_assert(NR == 32, "two zmm vectors per row");

// The 32-bit pair (A(i, 2q), A(i, 2q+1)) at `pair`, in all 16 lanes.
inline __m512bh broadcast_pair(const uint16_t* pair) {
  int32_t bits;
  std::memcpy(&bits, pair, sizeof bits);
  return reinterpret_cast<__m512bh>(_mm512_set1_epi32(bits));
}

// The tile for exactly ROWS rows (ROWS <= MR), so short edge tiles do no wasted work. Masked
// loads and stores never touch columns >= cols. When accumulating, every row of C is read
// before any is written: rows a multiple of 4 KiB apart alias in the store buffer, and a load
// behind a store with the same low 12 address bits waits for it (see micro_avx2.cc).
template <int ROWS>
void micro_rows(int64_t pairs, const uint16_t* a, const uint16_t* b, float* c, int64_t ldc, int cols,
                bool accumulate) {
  __m512 acc[ROWS][2];
#pragma GCC unroll 16
  for (int r = 0; r < ROWS; ++r) {
    acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    // Fetch the C tile while the loop below runs: its rows are ldc apart, often a power of
    // two, so they are rarely all still in L1 when the tile is stored.
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + NR - 1), _MM_HINT_T0);
  }
  for (int64_t q = 0; q < pairs; ++q) {
    const __m512bh b0 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(b));
    const __m512bh b1 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(b + 32));
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) {
      const __m512bh a_r = broadcast_pair(a + 2 * r);
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], b0, a_r);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], b1, a_r);
    }
    a += 2 * MR;
    b += 2 * NR;
  }
  const __mmask16 mask0 = first_lanes(cols), mask1 = first_lanes(cols - 16);
  if (accumulate) {
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) {
      acc[r][0] = _mm512_add_ps(acc[r][0], _mm512_maskz_loadu_ps(mask0, c + r * ldc));
      acc[r][1] = _mm512_add_ps(acc[r][1], _mm512_maskz_loadu_ps(mask1, c + r * ldc + 16));
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < ROWS; ++r) {
    _mm512_mask_storeu_ps(c + r * ldc, mask0, acc[r][0]);
    _mm512_mask_storeu_ps(c + r * ldc + 16, mask1, acc[r][1]);
  }
}

void micro_avx512_bf16(int64_t pairs, const uint16_t* a, const uint16_t* b, float* c, int64_t ldc, int rows, int cols,
                       bool accumulate) {
  using Rows = void (*)(int64_t, const uint16_t*, const uint16_t*, float*, int64_t, int, bool);
  static const Rows by_rows[MR + 1] = {nullptr,        micro_rows<1>, micro_rows<2>,  micro_rows<3>, micro_rows<4>,
                                       micro_rows<5>,  micro_rows<6>, micro_rows<7>,  micro_rows<8>, micro_rows<9>,
                                       micro_rows<10>, micro_rows<11>, micro_rows<12>};
  by_rows[rows](pairs, a, b, c, ldc, cols, accumulate);
}

}  // namespace

const Bf16PairKernel kAvx512Bf16Kernel{"avx512_bf16", kAvx512Bf16Rule, micro_avx512_bf16, kPackPairsAvx512};

}  // namespace kiln::gemm

#if defined(__clang__)
#pragma clang attribute pop
#endif

#endif  // x86-64
