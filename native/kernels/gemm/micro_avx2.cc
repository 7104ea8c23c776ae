// AVX2 + FMA micro-kernel: a 6 × 16 tile of C in 12 ymm accumulators (two 8-float vectors per
// row), leaving 4 of the 16 ymm registers for the two B vectors and the A broadcast. 12
// independent accumulators cover the FMA latency (4 cycles) × 2 FMA pipes of Zen 3 and
// recent Intel cores. Full tiles load and store C with plain vector moves; edge columns go
// through maskload / maskstore (slow on AMD, so only there), which never touch the
// masked-off lanes.
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

constexpr int MR = kAvx2Rule.mr;  // 6
constexpr int NR = kAvx2Rule.nr;  // 16
static_assert(NR == 16, "two ymm vectors per row");

// Lane mask (all ones in lanes < count) for maskload / maskstore.
inline __m256i first_lanes(int count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// C row pieces: 8 floats, all of them when `full`, else the lanes of `mask`.
inline __m256 load_c(const float* c, __m256i mask, bool full) {
  return full ? _mm256_loadu_ps(c) : _mm256_maskload_ps(c, mask);
}
inline void store_c(float* c, __m256 value, __m256i mask, bool full) {
  if (full) {
    _mm256_storeu_ps(c, value);
  } else {
    _mm256_maskstore_ps(c, mask, value);
  }
}

// c[r, 0:16] (all 16 columns when `full`, else masked) = alpha · acc + beta · c[r, 0:16].
inline void store_row(float* c_row, __m256 acc0, __m256 acc1, __m256i mask0, __m256i mask1, bool full,
                      __m256 alpha, float beta) {
  acc0 = _mm256_mul_ps(acc0, alpha);
  acc1 = _mm256_mul_ps(acc1, alpha);
  if (beta != 0.0f) {
    const __m256 beta_v = _mm256_set1_ps(beta);
    acc0 = _mm256_fmadd_ps(beta_v, load_c(c_row, mask0, full), acc0);
    acc1 = _mm256_fmadd_ps(beta_v, load_c(c_row + 8, mask1, full), acc1);
  }
  store_c(c_row, acc0, mask0, full);
  store_c(c_row + 8, acc1, mask1, full);
}

// acc[r] += A(r, p) · B(p, 0:16) for one step p.
template <int ROWS>
inline void multiply_add_step(__m256 (&acc)[ROWS][2], const float* a, const float* b) {
  const __m256 b0 = _mm256_loadu_ps(b);
  const __m256 b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; ++r) {
    const __m256 a_r = _mm256_broadcast_ss(a + r);
    acc[r][0] = _mm256_fmadd_ps(a_r, b0, acc[r][0]);
    acc[r][1] = _mm256_fmadd_ps(a_r, b1, acc[r][1]);
  }
}

// The kernel for a tile of exactly ROWS rows (ROWS <= MR), so short edge tiles do no wasted
// work. Tiles of 1 to 3 rows have too few accumulators to cover the FMA latency, so they keep
// two sets, for even and odd steps, added at the end.
template <int ROWS>
void micro_rows(int64_t kc, const float* a, const float* b, int64_t b_rs, float* c, int64_t ldc, int cols,
                float alpha, float beta) {
  constexpr int SETS = ROWS <= 3 ? 2 : 1;
  __m256 acc[SETS][ROWS][2];
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; ++r) {
    for (int s = 0; s < SETS; ++s) acc[s][r][0] = acc[s][r][1] = _mm256_setzero_ps();
    // Fetch the C tile while the loop runs (rows ldc apart, 16 floats may span two lines).
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + NR - 1), _MM_HINT_T0);
  }
  int64_t p = 0;
#pragma GCC unroll 4
  for (; p + SETS <= kc; p += SETS) {
#pragma GCC unroll 2
    for (int s = 0; s < SETS; ++s) multiply_add_step<ROWS>(acc[s], a + s * MR, b + s * b_rs);
    a += SETS * MR;
    b += SETS * b_rs;
  }
  if (p < kc) multiply_add_step<ROWS>(acc[0], a, b);
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; ++r) {
    for (int s = 1; s < SETS; ++s) {
      acc[0][r][0] = _mm256_add_ps(acc[0][r][0], acc[s][r][0]);
      acc[0][r][1] = _mm256_add_ps(acc[0][r][1], acc[s][r][1]);
    }
  }
  const bool full = cols == NR;
  const __m256i mask0 = first_lanes(cols), mask1 = first_lanes(cols - 8);
  const __m256 alpha_v = _mm256_set1_ps(alpha);
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; ++r) store_row(c + r * ldc, acc[0][r][0], acc[0][r][1], mask0, mask1, full, alpha_v, beta);
}

void micro_avx2(int64_t kc, const float* a, const float* b, int64_t b_rs, float* c, int64_t ldc, int rows, int cols,
                float alpha, float beta) {
  using Rows = void (*)(int64_t, const float*, const float*, int64_t, float*, int64_t, int, float, float);
  static const Rows by_rows[MR + 1] = {nullptr,       micro_rows<1>, micro_rows<2>, micro_rows<3>,
                                       micro_rows<4>, micro_rows<5>, micro_rows<6>};
  by_rows[rows](kc, a, b, b_rs, c, ldc, cols, alpha, beta);
}

}  // namespace

const GemmKernel kAvx2Kernel{"avx2", kAvx2Rule, micro_avx2, kPackLanesAvx2};

}  // namespace kiln::gemm

#if defined(__clang__)
#pragma clang attribute pop
#endif

#endif  // x86-64
