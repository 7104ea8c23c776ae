// AVX-512 micro-kernel: a 12 × 32 tile of C in 24 zmm accumulators (two 16-float vectors per
// row). Per step p: load the 32 floats B(p, 0:32), broadcast each A(i, p) and multiply-add.
// Beside it, the merge of a tile into C stored transposed (the role swap of gemm.cc).
// Compiled for AVX-512 by a target pragma, so the rest of the binary stays baseline x86-64;
// dispatch.cc only calls it when cpuid says the CPU can.
#include "config.h"

#if defined(__x86_64__) || defined(_M_X64)

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx512f,avx2,fma")
#endif

#include <immintrin.h>

#include <algorithm>

// GCC 12 reports the _mm512_undefined_ps() inside its own unpack intrinsics (transpose16) as
// "maybe uninitialized"; the intrinsics' results are fully defined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "../lane_masks_avx512.h"
#include "transpose_avx512.h"

namespace kiln::gemm {
namespace {

constexpr int MR = kAvx512Rule.mr;  // 12
constexpr int NR = kAvx512Rule.nr;  // 32
static_assert(NR == 32, "two zmm vectors per row");

// c[r, 0:32] (masked to the valid columns) = alpha · acc + beta · c[r, 0:32].
inline void store_row(float* c_row, __m512 acc0, __m512 acc1, __mmask16 mask0, __mmask16 mask1, __m512 alpha,
                      float beta) {
  acc0 = _mm512_mul_ps(acc0, alpha);
  acc1 = _mm512_mul_ps(acc1, alpha);
  if (beta != 0.0f) {
    const __m512 beta_v = _mm512_set1_ps(beta);
    acc0 = _mm512_fmadd_ps(beta_v, _mm512_maskz_loadu_ps(mask0, c_row), acc0);
    acc1 = _mm512_fmadd_ps(beta_v, _mm512_maskz_loadu_ps(mask1, c_row + 16), acc1);
  }
  _mm512_mask_storeu_ps(c_row, mask0, acc0);
  _mm512_mask_storeu_ps(c_row + 16, mask1, acc1);
}

// The kernel for a tile of exactly ROWS rows (ROWS <= MR), so short edge tiles do no wasted
// work. Masked loads and stores never touch columns >= cols.
template <int ROWS>
void micro_rows(int64_t kc, const float* a, const float* b, int64_t b_rs, float* c, int64_t ldc, int cols,
                float alpha, float beta) {
  __m512 acc[ROWS][2];
#pragma GCC unroll 16
  for (int r = 0; r < ROWS; ++r) {
    acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    // Fetch the C tile while the loop below runs: its rows are ldc apart, often a power of
    // two, so they are rarely all still in L1 when the tile is stored.
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + NR - 1), _MM_HINT_T0);
  }
  for (int64_t p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_loadu_ps(b);
    const __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) {
      const __m512 a_r = _mm512_set1_ps(a[r]);
      acc[r][0] = _mm512_fmadd_ps(a_r, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(a_r, b1, acc[r][1]);
    }
    a += MR;
    b += b_rs;
  }
  const __mmask16 mask0 = first_lanes(cols), mask1 = first_lanes(cols - 16);
  const __m512 alpha_v = _mm512_set1_ps(alpha);
#pragma GCC unroll 16
  for (int r = 0; r < ROWS; ++r) store_row(c + r * ldc, acc[r][0], acc[r][1], mask0, mask1, alpha_v, beta);
}

void micro_avx512(int64_t kc, const float* a, const float* b, int64_t b_rs, float* c, int64_t ldc, int rows,
                  int cols, float alpha, float beta) {
  using Rows = void (*)(int64_t, const float*, const float*, int64_t, float*, int64_t, int, float, float);
  static const Rows by_rows[MR + 1] = {nullptr,        micro_rows<1>, micro_rows<2>,  micro_rows<3>, micro_rows<4>,
                                       micro_rows<5>,  micro_rows<6>, micro_rows<7>,  micro_rows<8>, micro_rows<9>,
                                       micro_rows<10>, micro_rows<11>, micro_rows<12>};
  by_rows[rows](kc, a, b, b_rs, c, ldc, cols, alpha, beta);
}

// The transposed merge (GemmKernel::merge_transposed): a (rows × cols) tile, ldt NR, whose
// element (i, j) belongs at c[i + j · ldc]. Each half of the tile (16 columns) is transposed
// in registers, rows past `rows` zero, so column j becomes one vector of `rows` contiguous
// outputs; rounded as store_row rounds (alpha · t, then beta · c fused, or the bias first
// added to beta · c).
void merge_transposed_avx512(const float* tile, int rows, int cols, float alpha, float beta, const float* row_bias,
                             float* c, int64_t ldc) {
  const __mmask16 out_mask = first_lanes(rows);
  const __m512 alpha_v = _mm512_set1_ps(alpha), beta_v = _mm512_set1_ps(beta);
  const __m512 bias = row_bias != nullptr ? _mm512_maskz_loadu_ps(out_mask, row_bias) : _mm512_setzero_ps();
  for (int half = 0; half * 16 < cols; ++half) {
    __m512 r[16];
    for (int i = 0; i < 16; ++i) r[i] = _mm512_maskz_loadu_ps(i < rows ? 0xffff : 0, tile + i * NR + half * 16);
    transpose16(r);
    const int half_cols = std::min(16, cols - half * 16);
    for (int j = 0; j < half_cols; ++j) {
      float* out = c + (half * 16 + j) * ldc;
      const __m512 product = _mm512_mul_ps(alpha_v, r[j]);
      __m512 value;
      if (row_bias != nullptr) {
        const __m512 start = beta == 0.0f ? bias : _mm512_add_ps(bias, _mm512_mul_ps(beta_v, _mm512_maskz_loadu_ps(out_mask, out)));
        value = _mm512_add_ps(start, product);
      } else {
        value = beta == 0.0f ? product : _mm512_fmadd_ps(beta_v, _mm512_maskz_loadu_ps(out_mask, out), product);
      }
      _mm512_mask_storeu_ps(out, out_mask, value);
    }
  }
}

}  // namespace

const GemmKernel kAvx512Kernel{"avx512", kAvx512Rule, micro_avx512, kPackLanesAvx512, merge_transposed_avx512};

}  // namespace kiln::gemm

#if defined(__clang__)
#pragma clang attribute pop
#endif

#endif  // x86-64
