// The macro-kernel: walks one packed block of A and one panel of B in MR × NR tiles and calls
// the micro-kernel on each (loops jr over NR-column micro-panels of B, ir over MR-row
// micro-panels of A, so one B micro-panel stays in L1 while A's block streams from L2).
#include <algorithm>

#include "internal.h"

namespace kiln::gemm {
namespace {

// c (element (i, j) at c[i * rs_c + j * cs_c]) = alpha · tile + beta · c over rows × cols,
// where tile (ldt = NR) holds A · B. beta == 0 never reads c.
void merge_tile(const float* tile, int nr, int rows, int cols, float alpha, float beta, float* c, int64_t rs_c,
                int64_t cs_c) {
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) {
      float& out = c[i * rs_c + j * cs_c];
      out = alpha * tile[i * nr + j] + (beta == 0.0f ? 0.0f : beta * out);
    }
  }
}

}  // namespace

void macro_kernel(const GemmKernel& kernel, int64_t mc, int64_t nc, int64_t kc, float alpha, const float* packed_a,
                  const float* b, int64_t b_panel_step, int64_t b_rs, float beta, float* c, int64_t rs_c,
                  int64_t cs_c) {
  const int mr = kernel.blocks.mr, nr = kernel.blocks.nr;
  for (int64_t jr = 0; jr < nc; jr += nr) {
    const int cols = static_cast<int>(std::min<int64_t>(nr, nc - jr));
    const float* b_panel = b + (jr / nr) * b_panel_step;
    for (int64_t ir = 0; ir < mc; ir += mr) {
      const int rows = static_cast<int>(std::min<int64_t>(mr, mc - ir));
      const float* a_panel = packed_a + ir * kc;  // (ir / mr) * mr * kc
      float* c_tile = c + ir * rs_c + jr * cs_c;
      if (cs_c == 1) {
        kernel.micro(kc, a_panel, b_panel, b_rs, c_tile, rs_c, rows, cols, alpha, beta);
      } else {  // C transposed in memory (see the role swap in gemm.cc): compute, then scatter
        alignas(64) float tile[kMaxTile];
        kernel.micro(kc, a_panel, b_panel, b_rs, tile, nr, rows, cols, 1.0f, 0.0f);
        merge_tile(tile, nr, rows, cols, alpha, beta, c_tile, rs_c, cs_c);
      }
    }
  }
}

}  // namespace kiln::gemm
