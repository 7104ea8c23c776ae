// GEMM of float32 operands in bfloat16 compute (issue 20: "FP32→BF16 conversion fused into
// packing"), the products of autocast('bfloat16'): each operand element is rounded to bfloat16
// (float_to_bf16: nearest even, NaN stays NaN) while the A blocks and B panels are packed for
// the AVX512-BF16 kernel (no conversion pass over a whole operand), and the kernel accumulates
// in FP32 (vdpbf16ps). Under autocast the operands are bfloat16 values already, so the
// rounding is exact and the result differs from sgemm's on the same operands only in the FP32
// summation order (and in subnormals, which vdpbf16ps treats as zero: gemm_bf16.h).
//
// Where gemm_bf16 widens instead (no avx512_bf16, KILN_GEMM_BF16=widen, KILN_ISA or
// set_gemm_isa below AVX-512) these functions are sgemm itself, which does not round the
// operands: on such a CPU autocast's products are computed as before, to the same values.
#pragma once

#include <cstdint>

#include "gemm.h"

namespace kiln {

// How the sgemm-family products of a kernel compute: kFloat32 is sgemm; kBFloat16 the
// functions below. Chosen per op by the binding (autocast travels with the op, also to the
// libuv thread of kiln.async) and passed down explicitly, never through a thread_local: a
// kernel's parallel loops run its GEMMs on pool threads too.
enum class GemmPrecision { kFloat32, kBFloat16 };

// sgemm_grid's contract (gemm.h): C = alpha · op(A) · op(B) + beta · C (+ column_bias on every
// row) for every product of `grid`; beta == 0 never reads C. With the AVX512-BF16 kernel, the
// operands are rounded to bfloat16 while packed; alpha != 1 costs a pass over C (no caller of
// autocast's products uses it), beta != 0 or a bias a pass before the product. Each element is
// summed in the same order whatever the thread count.
void sgemm_grid_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                     int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc, const BatchGrid& grid,
                     const float* column_bias = nullptr);

// sgemm's contract (gemm.h) in bfloat16 compute: sgemm_grid_bf16 of one product.
void sgemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// sgemm or sgemm_bf16, as `precision` says.
void sgemm_in(GemmPrecision precision, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// Whether sgemm_bf16 runs the AVX512-BF16 kernel now (else it is sgemm): the kernel name
// gemm_bf16_kernel_name() gives is "avx512_bf16".
bool sgemm_bf16_rounds_operands();

namespace gemm {

// Packs one panel of n <= width lanes of a float32 strip into the pair layout of PackPairs
// (gemm_bf16.h), each value rounded by float_to_bf16: element (l, p) at
// src[l * lane_stride + p * depth_stride] lands at dst[(p / 2) · 2·width + 2·l + p % 2],
// zeros for lanes l >= n and for the missing partner of an odd depth's last value.
using PackPairsF32 = void (*)(const float* src, int64_t lane_stride, int64_t depth_stride, int64_t n, int64_t depth,
                              int width, uint16_t* dst);

// The portable one, value by value (for tests, and the strides the AVX-512 pack leaves to it).
void pack_pairs_f32_scalar(const float* src, int64_t lane_stride, int64_t depth_stride, int64_t n, int64_t depth,
                           int width, uint16_t* dst);

#if defined(__x86_64__) || defined(_M_X64)
extern const PackPairsF32 kPackPairsF32Avx512;  // pack_pairs_f32_avx512.cc
#endif

}  // namespace gemm
}  // namespace kiln
