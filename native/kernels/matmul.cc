#include "matmul.h"

#include "gemm/gemm.h"

namespace kiln {

void matmul(const float* a, const float* b, float* out, const MatmulShape& s) {
  // a[p]: (m, k) or stored (k, m); b[p]: (k, n) or stored (n, k); out[p]: (m, n), contiguous.
  const int64_t lda = s.lda != 0 ? s.lda : (s.trans_a ? s.m : s.k);
  const int64_t ldb = s.ldb != 0 ? s.ldb : (s.trans_b ? s.k : s.n);
  sgemm_batched(s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0f, a, lda, s.a_batch_stride, b, ldb, s.b_batch_stride, 0.0f,
                out, s.n, s.m * s.n, s.batch);
}

}  // namespace kiln
