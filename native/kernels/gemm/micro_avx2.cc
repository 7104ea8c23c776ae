// AVX2 + FMA micro-kernel: a 6 × 16 tile of C in 12 ymm accumulators (two 8-float vectors per
// row). Same scheme as micro_avx512.cc at half the width; edge columns go through
// maskload / maskstore, which never touch the masked-off lanes.
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

constexpr int MR = kAvx2Blocks.mr;  // 6
constexpr int NR = kAvx2Blocks.nr;  // 16
static_assert(NR == 16, "two ymm vectors per row");

// Lane mask (all ones in lanes < count) for maskload / maskstore.
inline __m256i first_lanes(int count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// c[r, 0:16] (masked to the valid columns) = alpha · acc + beta · c[r, 0:16].
inline void store_row(float* c_row, __m256 acc0, __m256 acc1, __m256i mask0, __m256i mask1, __m256 alpha,
                      float beta) {
  acc0 = _mm256_mul_ps(acc0, alpha);
  acc1 = _mm256_mul_ps(acc1, alpha);
  if (beta != 0.0f) {
    const __m256 beta_v = _mm256_set1_ps(beta);
    acc0 = _mm256_fmadd_ps(beta_v, _mm256_maskload_ps(c_row, mask0), acc0);
    acc1 = _mm256_fmadd_ps(beta_v, _mm256_maskload_ps(c_row + 8, mask1), acc1);
  }
  _mm256_maskstore_ps(c_row, mask0, acc0);
  _mm256_maskstore_ps(c_row + 8, mask1, acc1);
}

// The kernel for a tile of exactly ROWS rows (ROWS <= MR).
template <int ROWS>
void micro_rows(int64_t kc, const float* a, const float* b, int64_t b_rs, float* c, int64_t ldc, int cols,
                float alpha, float beta) {
  __m256 acc[ROWS][2];
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 8
    for (int r = 0; r < ROWS; ++r) {
      const __m256 a_r = _mm256_broadcast_ss(a + r);
      acc[r][0] = _mm256_fmadd_ps(a_r, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(a_r, b1, acc[r][1]);
    }
    a += MR;
    b += b_rs;
  }
  const __m256i mask0 = first_lanes(cols), mask1 = first_lanes(cols - 8);
  const __m256 alpha_v = _mm256_set1_ps(alpha);
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; ++r) store_row(c + r * ldc, acc[r][0], acc[r][1], mask0, mask1, alpha_v, beta);
}

void micro_avx2(int64_t kc, const float* a, const float* b, int64_t b_rs, float* c, int64_t ldc, int rows, int cols,
                float alpha, float beta) {
  using Rows = void (*)(int64_t, const float*, const float*, int64_t, float*, int64_t, int, float, float);
  static const Rows by_rows[MR + 1] = {nullptr,       micro_rows<1>, micro_rows<2>, micro_rows<3>,
                                       micro_rows<4>, micro_rows<5>, micro_rows<6>};
  by_rows[rows](kc, a, b, b_rs, c, ldc, cols, alpha, beta);
}


}  // namespace

const GemmKernel kAvx2Kernel{"avx2", kAvx2Blocks, micro_avx2, kPackLanesAvx2};

}  // namespace kiln::gemm

#if defined(__clang__)
#pragma clang attribute pop
#endif

#endif  // x86-64
