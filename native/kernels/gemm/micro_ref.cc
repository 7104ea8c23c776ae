// Portable micro-kernel: plain C++ over a 4 × 8 tile, for CPUs with neither AVX2 nor NEON
// (and as the easiest kernel to read). The compiler may vectorize the inner loop with the
// baseline instruction set.
#include "config.h"

namespace kiln::gemm {
namespace {

constexpr int MR = kScalarRule.mr;  // 4
constexpr int NR = kScalarRule.nr;  // 8

void micro_ref(int64_t kc, const float* a, const float* b, int64_t b_rs, float* c, int64_t ldc, int rows, int cols,
               float alpha, float beta) {
  float acc[MR][NR] = {};
  for (int64_t p = 0; p < kc; ++p) {
    for (int i = 0; i < MR; ++i) {
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
    }
    a += MR;
    b += b_rs;
  }
  for (int i = 0; i < rows; ++i) {
    float* c_row = c + i * ldc;
    for (int j = 0; j < cols; ++j) c_row[j] = alpha * acc[i][j] + (beta == 0.0f ? 0.0f : beta * c_row[j]);
  }
}

}  // namespace

const GemmKernel kScalarKernel{"scalar", kScalarRule, micro_ref, nullptr};

}  // namespace kiln::gemm
