// Batched matrix product, computed by sgemm_grid (gemm/gemm.h) or sgemm_grid_bf16.
#pragma once

#include <cstdint>

#include "gemm/gemm_bf16_compute.h"

namespace kiln {

struct MatmulShape {
  int64_t batch, m, k, n;
  int64_t a_batch_stride;  // elements between a[p] and a[p + 1]; 0 broadcasts one matrix
  int64_t b_batch_stride;
  bool trans_a;  // a[p] stored (k, m) instead of (m, k)
  bool trans_b;  // b[p] stored (n, k) instead of (k, n)
  int64_t lda = 0;  // elements between stored rows of a[p]; 0 means dense (k, or m when trans_a)
  int64_t ldb = 0;  // elements between stored rows of b[p]; 0 means dense (n, or k when trans_b)
  // An outer level of `outer` batches of `batch` products (batch dims whose strides do not
  // merge): product (o, p) starts at o * a_outer_stride + p * a_batch_stride (likewise b).
  int64_t outer = 1;
  int64_t a_outer_stride = 0;
  int64_t b_outer_stride = 0;
  // nullptr, or (n) floats added to every row of every product (a Linear layer's bias).
  const float* bias = nullptr;
  // kBFloat16: the operands rounded to bfloat16 while packed, FP32 accumulation (sgemm_grid_bf16;
  // autocast's products), where the AVX512-BF16 kernel runs; sgemm_grid otherwise.
  GemmPrecision precision = GemmPrecision::kFloat32;
};

// out[o, p] = op(a[o, p]) · op(b[o, p]) (+ bias on every row) for o < outer, p < batch, overwriting out.
// op(a[o, p]): (m, k), at a + o * a_outer_stride + p * a_batch_stride, rows lda apart;
// op(b[o, p]): (k, n), likewise (so transposed, permuted and sliced views need no copy);
// out: (outer, batch, m, n) contiguous. k = 0 gives zeros.
void matmul(const float* a, const float* b, float* out, const MatmulShape& s);

}  // namespace kiln
