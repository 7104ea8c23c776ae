#include "matmul_bf16.h"

#include <algorithm>
#include <vector>

#include "gemm/gemm_bf16.h"
#include "parallel.h"

namespace kiln {
namespace {

constexpr double kMinFlopsThreaded = 2.0e6;  // as gemm.cc
constexpr double kMinFlopsPerChunk = 1.0e6;

thread_local std::vector<float> t_sums;  // one product's FP32 sums before rounding to bfloat16

// Stores the (m × n) FP32 product `sums` into product `index` of out.
void store(const float*, float*, int64_t, int64_t) {}  // summed in place (sums_for)
void store(const float* sums, uint16_t* out, int64_t index, int64_t size) {
  round_to_bf16(sums, size, out + index * size);
}

// Where product `index` sums into: straight into a float32 out, through t_sums for bfloat16.
float* sums_for(float* out, int64_t index, int64_t size) { return out + index * size; }
float* sums_for(uint16_t*, int64_t, int64_t size) {
  if (static_cast<int64_t>(t_sums.size()) < size) t_sums.resize(static_cast<size_t>(size));
  return t_sums.data();
}

// Whole products per thread when they are small or share out evenly; else one product after
// another, each split across the threads (gemm.cc's sgemm_grid rule).
template <typename Out>
void matmul_bf16_grid(const uint16_t* a, const uint16_t* b, Out* out, const MatmulShape& s) {
  const int64_t lda = s.lda != 0 ? s.lda : (s.trans_a ? s.m : s.k);
  const int64_t ldb = s.ldb != 0 ? s.ldb : (s.trans_b ? s.k : s.n);
  const int64_t products = s.outer * s.batch, size = s.m * s.n;
  if (products <= 0 || size <= 0) return;
  const double flops = 2.0 * static_cast<double>(s.m) * static_cast<double>(s.n) * static_cast<double>(s.k);
  const int64_t threads = get_num_threads();
  const bool split_batch =
      products > 1 && (flops < kMinFlopsThreaded || products % threads == 0 || products >= 4 * threads);
  auto run = [&](int64_t begin, int64_t end) {
    for (int64_t index = begin; index < end; ++index) {
      const int64_t o = index / s.batch, p = index % s.batch;
      const uint16_t* a_p = a + o * s.a_outer_stride + p * s.a_batch_stride;
      const uint16_t* b_p = b + o * s.b_outer_stride + p * s.b_batch_stride;
      float* sums = sums_for(out, index, size);
      gemm_bf16(s.trans_a, s.trans_b, s.m, s.n, s.k, a_p, lda, b_p, ldb, sums, s.n, !split_batch);
      store(sums, out, index, size);
    }
  };
  if (split_batch) {
    const int64_t grain = std::max<int64_t>(1, static_cast<int64_t>(kMinFlopsPerChunk / std::max(flops, 1.0)));
    parallel_for_balanced(0, products, grain, run);
  } else {
    run(0, products);
  }
}

}  // namespace

void matmul_bf16(const uint16_t* a, const uint16_t* b, float* out, const MatmulShape& s) { matmul_bf16_grid(a, b, out, s); }

void matmul_bf16(const uint16_t* a, const uint16_t* b, uint16_t* out, const MatmulShape& s) {
  matmul_bf16_grid(a, b, out, s);
}

}  // namespace kiln
