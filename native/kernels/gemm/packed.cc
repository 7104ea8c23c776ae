// sgemm_packed_a: products whose left operand is packed once and reused (gemm.h, PackedA);
// sgemm_packed_b: products whose right operand the caller wrote in packed panels.
// sgemm packs A again on every call; Winograd's 16 GEMMs per block of tiles re-packed the same
// transformed filters for every block (ResNet-18's 64→64 at 32×32, batch 64: 64 blocks).
//
//   for each column chunk (the threads' items, whole NR micro-panels):
//     for pc in K by KC:          (depth slices, in order: every element summed the same way)
//       for ic in M by MC:        (row blocks of near-equal height, as sgemm's)
//         macro-kernel over the chunk's full micro-panels, B read in place;
//         the last partial micro-panel packed first (the micro-kernel reads NR columns)
#include <algorithm>

#include "../parallel.h"
#include "gemm.h"
#include "internal.h"

namespace kiln {
namespace {

using gemm::ceil_div;
using gemm::GemmKernel;
using gemm::round_up;

// Least multiply-adds per chunk of columns (a claim costs ~1 µs: see gemm.cc).
constexpr double kMinFlopsPerChunk = 1.0e6;

}  // namespace

// panels_: for each depth slice pc (KC deep, the last shorter), round_up(m, MR) × kc floats
// starting at round_up(m, MR) · pc, as pack_panels lays out an (m × kc) strip.
PackedA::PackedA(int64_t m, int64_t k, const float* a, int64_t lda) : m_(m), k_(k), kernel_(&gemm::current_kernel()) {
  const GemmKernel& kernel = *kernel_;
  const int64_t padded_rows = round_up(m, kernel.blocks.mr);
  panels_.resize(static_cast<size_t>(padded_rows * k));
  for (int64_t pc = 0; pc < k; pc += kernel.blocks.kc) {
    const int64_t kc = std::min<int64_t>(kernel.blocks.kc, k - pc);
    gemm::pack_panels(kernel, a + pc, lda, 1, m, kc, kernel.blocks.mr, panels_.data() + padded_rows * pc);
  }
}

void sgemm_packed_a(const PackedA& a, int64_t n, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  const GemmKernel& kernel = *a.kernel_;
  const int64_t m = a.m_, k = a.k_, nr = kernel.blocks.nr, padded_rows = round_up(m, kernel.blocks.mr);
  const int64_t mc = gemm::row_block_height(kernel.blocks, m), panels = ceil_div(n, nr);
  const int64_t grain = std::max<int64_t>(1, static_cast<int64_t>(kMinFlopsPerChunk / (2.0 * m * k * nr)));
  parallel_for_balanced(0, panels, grain, [&](int64_t panel_begin, int64_t panel_end) {
    const int64_t j0 = panel_begin * nr, j1 = std::min(n, panel_end * nr), full = (j1 - j0) / nr * nr;
    thread_local std::vector<float> tail;  // the last partial micro-panel of B, packed
    for (int64_t pc = 0; pc < k; pc += kernel.blocks.kc) {
      const int64_t kc = std::min<int64_t>(kernel.blocks.kc, k - pc);
      const float slice_beta = pc == 0 ? beta : 1.0f;
      const float* b_slice = b + pc * ldb;
      if (j0 + full < j1) {
        tail.resize(static_cast<size_t>(nr * kc));
        gemm::pack_panels(kernel, b_slice + j0 + full, 1, ldb, j1 - j0 - full, kc, static_cast<int>(nr), tail.data());
      }
      for (int64_t ic = 0; ic < m; ic += mc) {
        const int64_t rows = std::min(mc, m - ic);
        const float* packed = a.panels_.data() + padded_rows * pc + ic * kc;
        float* c_block = c + ic * ldc + j0;
        if (full > 0) gemm::macro_kernel(kernel, rows, full, kc, 1.0f, packed, b_slice + j0, nr, ldb, slice_beta, c_block, ldc, 1);
        if (j0 + full < j1) {
          gemm::macro_kernel(kernel, rows, j1 - j0 - full, kc, 1.0f, packed, tail.data(), nr * kc, nr, slice_beta,
                             c_block + full, ldc, 1);
        }
      }
    }
  });
}

int64_t sgemm_panel_width() { return gemm::current_kernel().blocks.nr; }

void sgemm_packed_b(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t panel_step,
                    float beta, float* c, int64_t ldc) {
  const GemmKernel& kernel = gemm::current_kernel();
  const int64_t nr = kernel.blocks.nr, mc = gemm::row_block_height(kernel.blocks, m);
  thread_local std::vector<float> packed;  // one MC × KC block of A
  packed.resize(static_cast<size_t>(round_up(mc, kernel.blocks.mr) * kernel.blocks.kc));
  for (int64_t pc = 0; pc < k; pc += kernel.blocks.kc) {
    const int64_t kc = std::min<int64_t>(kernel.blocks.kc, k - pc);
    for (int64_t ic = 0; ic < m; ic += mc) {
      const int64_t rows = std::min(mc, m - ic);
      gemm::pack_panels(kernel, a + ic * lda + pc, lda, 1, rows, kc, kernel.blocks.mr, packed.data());
      gemm::macro_kernel(kernel, rows, n, kc, 1.0f, packed.data(), b + pc * nr, panel_step, nr, pc == 0 ? beta : 1.0f,
                         c + ic * ldc, ldc, 1);
    }
  }
}

}  // namespace kiln
