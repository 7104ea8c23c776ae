// sgemm_bf16 / sgemm_grid_bf16: float32 operands, bfloat16 compute (gemm_bf16_compute.h). The
// loop nest is bf16_nest.h's with the pair path of the AVX512-BF16 kernel, its panels packed by
// PackPairsF32 (the rounding fused into packing); alpha, beta and the column bias are applied
// around it. The batch is shared out among the threads as sgemm_grid does (gemm.cc).
#include "gemm_bf16_compute.h"

#include <algorithm>
#include <vector>

#include "../parallel.h"
#include "bf16_nest.h"
#include "gemm_bf16.h"

namespace kiln {
namespace {

using gemm::Bf16PairKernel;
using F32Operand = gemm::bf16::StridedOperand<float>;
using F32PairPath = gemm::bf16::PairPath<float>;

F32Operand view_of(const float* data, int64_t ld, bool trans) {
  return trans ? F32Operand{data, 1, ld} : F32Operand{data, ld, 1};
}

// C (m, n) = beta · C + bias (a row of n, or none); beta == 0 never reads C.
void scale(int64_t m, int64_t n, float beta, const float* bias, float* c, int64_t ldc) {
  if (beta == 1.0f && bias == nullptr) return;  // C as it is (the weight gradient's later blocks)
  for (int64_t i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    for (int64_t j = 0; j < n; ++j) row[j] = (beta == 0.0f ? 0.0f : beta * row[j]) + (bias == nullptr ? 0.0f : bias[j]);
  }
}

// C (m, n) = alpha · product + C, product (m, n) dense.
void add_scaled(int64_t m, int64_t n, float alpha, const float* product, float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) c[i * ldc + j] += alpha * product[i * n + j];
  }
}

// One product, sgemm's contract, on the pair kernel.
void product_bf16(const F32PairPath& path, int64_t m, int64_t n, int64_t k, float alpha, F32Operand a, F32Operand b,
                  float beta, float* c, int64_t ldc, const float* bias, bool threaded) {
  if (m <= 0 || n <= 0) return;
  const bool adds_to_c = beta != 0.0f || bias != nullptr;
  if (adds_to_c || k <= 0 || alpha == 0.0f) scale(m, n, beta, bias, c, ldc);
  if (k <= 0 || alpha == 0.0f) return;
  if (alpha == 1.0f) {
    gemm::bf16::run_product(path, m, n, k, a, b, c, ldc, adds_to_c, threaded);
    return;
  }
  static thread_local std::vector<float> t_product;  // A · B before alpha scales it
  float* product = gemm::bf16::grown(t_product, m * n);
  gemm::bf16::run_product(path, m, n, k, a, b, product, n, false, threaded);
  if (!adds_to_c) scale(m, n, 0.0f, nullptr, c, ldc);
  add_scaled(m, n, alpha, product, c, ldc);
}

// The converting pack beside the pair kernel (which exists on x86-64 only).
gemm::PackPairsF32 converting_pack() {
#if defined(__x86_64__) || defined(_M_X64)
  return gemm::kPackPairsF32Avx512;
#else
  return gemm::pack_pairs_f32_scalar;
#endif
}

}  // namespace

void sgemm_grid_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                     int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc, const BatchGrid& grid,
                     const float* column_bias) {
  const Bf16PairKernel* kernel = gemm::bf16_pair_kernel();
  if (kernel == nullptr) return sgemm_grid(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, grid, column_bias);
  const int64_t batch = grid.outer * grid.inner;
  if (batch <= 0) return;
  const F32PairPath path{*kernel, converting_pack()};
  // As sgemm_grid: whole products per thread when they are small or share out evenly, else
  // one product after another, each split across the threads.
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const int64_t threads = get_num_threads();
  const bool split_batch = flops < gemm::bf16::kMinFlopsThreaded || batch % threads == 0 || batch >= 4 * threads;
  const int64_t grain = std::max<int64_t>(1, static_cast<int64_t>(gemm::bf16::kMinFlopsPerChunk / std::max(flops, 1.0)));
  auto run = [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t o = p / grid.inner, i = p % grid.inner;
      const F32Operand a_p = view_of(a + o * grid.a_outer + i * grid.a_inner, lda, trans_a);
      const F32Operand b_p = view_of(b + o * grid.b_outer + i * grid.b_inner, ldb, trans_b);
      product_bf16(path, m, n, k, alpha, a_p, b_p, beta, c + p * grid.c_stride, ldc, column_bias, !split_batch);
    }
  };
  if (split_batch) {
    parallel_for_balanced(0, batch, grain, run);
  } else {
    run(0, batch);
  }
}

void sgemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  sgemm_grid_bf16(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, BatchGrid{1, 1, 0, 0, 0, 0, 0});
}

void sgemm_in(GemmPrecision precision, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (precision == GemmPrecision::kBFloat16) return sgemm_bf16(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

bool sgemm_bf16_rounds_operands() { return gemm::bf16_pair_kernel() != nullptr; }

namespace gemm {

void pack_pairs_f32_scalar(const float* src, int64_t lane_stride, int64_t depth_stride, int64_t n, int64_t depth,
                           int width, uint16_t* dst) {
  for (int64_t p = 0; p < depth; p += 2) {
    uint16_t* step = dst + p * width;  // (p / 2) · 2·width
    for (int64_t l = 0; l < width; ++l) {
      step[2 * l] = l < n ? float_to_bf16(src[l * lane_stride + p * depth_stride]) : 0;
      step[2 * l + 1] = l < n && p + 1 < depth ? float_to_bf16(src[l * lane_stride + (p + 1) * depth_stride]) : 0;
    }
  }
}

}  // namespace gemm
}  // namespace kiln
