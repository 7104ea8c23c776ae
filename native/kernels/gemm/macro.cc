// The macro-kernel: walks one packed block of A and one panel of B in MR × NR tiles and calls
// the micro-kernel on each (loops jr over NR-column micro-panels of B, ir over MR-row
// micro-panels of A, so one B micro-panel stays in L1 while A's block streams from L2).
#include <algorithm>
#include <cmath>

#include "internal.h"

namespace kiln::gemm {
namespace {

// The bias of element (i, j), 0 without one.
inline float bias_at(const Bias* bias, int64_t i, int64_t j) { return bias == nullptr ? 0.0f : bias->data[i * bias->rs + j * bias->cs]; }

// c (element (i, j) at c[i * rs_c + j * cs_c]) = alpha · tile + beta · c + bias over
// rows × cols, where tile (ldt = NR) holds A · B. beta == 0 never reads c. Rounded as the
// micro-kernel rounds a tile it stores in place (alpha · tile, then one fused multiply-add of
// beta · c; a bias first added to beta · c as start_tile_with_bias does), so a product whose
// roles were swapped gives the same bits as the same product computed unswapped.
void merge_tile(const float* tile, int nr, int rows, int cols, float alpha, float beta, const Bias* bias, float* c,
                int64_t rs_c, int64_t cs_c) {
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) {
      float& out = c[i * rs_c + j * cs_c];
      const float product = alpha * tile[i * nr + j];
      if (bias != nullptr) {
        out = (bias_at(bias, i, j) + (beta == 0.0f ? 0.0f : beta * out)) + product;
      } else {
        out = beta == 0.0f ? product : std::fma(beta, out, product);
      }
    }
  }
}

// c (rows × cols, rows ldc apart, unit column stride) = beta · c + bias: a tile the
// micro-kernel then accumulates into. beta == 0 never reads c. The usual case, a row vector
// copied into each row, is a plain copy loop (vectorized).
void start_tile_with_bias(const Bias& bias, int rows, int cols, float beta, float* c, int64_t ldc) {
  for (int i = 0; i < rows; ++i) {
    float* row = c + i * ldc;
    const float* values = bias.data + i * bias.rs;
    if (bias.cs == 1 && beta == 0.0f) {
      for (int j = 0; j < cols; ++j) row[j] = values[j];
    } else {
      for (int j = 0; j < cols; ++j) row[j] = values[j * bias.cs] + (beta == 0.0f ? 0.0f : beta * row[j]);
    }
  }
}

}  // namespace

void macro_kernel(const GemmKernel& kernel, int64_t mc, int64_t nc, int64_t kc, float alpha, const float* packed_a,
                  const float* b, int64_t b_panel_step, int64_t b_rs, float beta, float* c, int64_t rs_c,
                  int64_t cs_c, const Bias* bias) {
  const int mr = kernel.blocks.mr, nr = kernel.blocks.nr;
  for (int64_t jr = 0; jr < nc; jr += nr) {
    const int cols = static_cast<int>(std::min<int64_t>(nr, nc - jr));
    const float* b_panel = b + (jr / nr) * b_panel_step;
    for (int64_t ir = 0; ir < mc; ir += mr) {
      const int rows = static_cast<int>(std::min<int64_t>(mr, mc - ir));
      const float* a_panel = packed_a + ir * kc;  // (ir / mr) * mr * kc
      float* c_tile = c + ir * rs_c + jr * cs_c;
      const Bias tile_bias = bias == nullptr ? Bias{} : bias->shifted(ir, jr);
      if (cs_c == 1 && bias == nullptr) {
        kernel.micro(kc, a_panel, b_panel, b_rs, c_tile, rs_c, rows, cols, alpha, beta);
      } else if (cs_c == 1) {
        start_tile_with_bias(tile_bias, rows, cols, beta, c_tile, rs_c);
        kernel.micro(kc, a_panel, b_panel, b_rs, c_tile, rs_c, rows, cols, alpha, 1.0f);
      } else {  // C transposed in memory (see the role swap in gemm.cc): compute, then scatter
        alignas(64) float tile[kMaxTile];
        kernel.micro(kc, a_panel, b_panel, b_rs, tile, nr, rows, cols, 1.0f, 0.0f);
        if (rs_c == 1 && kernel.merge_transposed != nullptr && (bias == nullptr || (tile_bias.rs == 1 && tile_bias.cs == 0))) {
          const float* row_bias = bias == nullptr ? nullptr : tile_bias.data;  // rs == 1 once transposed
          kernel.merge_transposed(tile, rows, cols, alpha, beta, row_bias, c_tile, cs_c);
        } else {
          merge_tile(tile, nr, rows, cols, alpha, beta, bias == nullptr ? nullptr : &tile_bias, c_tile, rs_c, cs_c);
        }
      }
    }
  }
}

}  // namespace kiln::gemm
