#include "matmul.h"

#include "gemm/gemm.h"
#include "gemm/gemm_bf16_compute.h"

namespace kiln {

void matmul(const float* a, const float* b, float* out, const MatmulShape& s) {
  // a[o, p]: (m, k) or stored (k, m); b[o, p]: (k, n) or stored (n, k); out[o, p]: (m, n), contiguous.
  const int64_t lda = s.lda != 0 ? s.lda : (s.trans_a ? s.m : s.k);
  const int64_t ldb = s.ldb != 0 ? s.ldb : (s.trans_b ? s.k : s.n);
  const BatchGrid grid{s.outer, s.batch, s.a_outer_stride, s.a_batch_stride, s.b_outer_stride, s.b_batch_stride, s.m * s.n};
  const auto product = s.precision == GemmPrecision::kBFloat16 ? sgemm_grid_bf16 : sgemm_grid;
  product(s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0f, a, lda, b, ldb, 0.0f, out, s.n, grid, s.bias);
}

}  // namespace kiln
