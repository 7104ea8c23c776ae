// Batched matrix product, computed by sgemm_batched (gemm/gemm.h).
#pragma once

#include <cstdint>

namespace kiln {

struct MatmulShape {
  int64_t batch, m, k, n;
  int64_t a_batch_stride;  // elements between a[p] and a[p + 1]; 0 broadcasts one matrix
  int64_t b_batch_stride;
  bool trans_a;  // a[p] stored (k, m) instead of (m, k)
  bool trans_b;  // b[p] stored (n, k) instead of (k, n)
  int64_t lda = 0;  // elements between stored rows of a[p]; 0 means dense (k, or m when trans_a)
  int64_t ldb = 0;  // elements between stored rows of b[p]; 0 means dense (n, or k when trans_b)
};

// out[p] = op(a[p]) · op(b[p]) for p < batch, overwriting out.
// op(a[p]): (m, k), a[p] at a + p * a_batch_stride, rows lda apart; op(b[p]): (k, n), b[p] at
// b + p * b_batch_stride, rows ldb apart (so transposed and sliced views need no copy);
// out: (batch, m, n) contiguous. k = 0 gives zeros.
void matmul(const float* a, const float* b, float* out, const MatmulShape& s);

}  // namespace kiln
