// gemm_bf16: the BLIS loop nest of gemm.cc for bfloat16 operands, FP32 compute.
//
//   for jc in N by NC:
//     for pc in K by KC:
//       pack B[pc:pc+KC, jc:jc+NC] → NR-column float32 micro-panels (widened), shared by the threads
//       for each (MC-row block, column slab) of C:       (the threads' work items)
//         pack A[ic:ic+MC, pc:pc+KC] → MR-row float32 micro-panels (widened), per item
//         macro-kernel (the FP32 one): C[ic.., slab] (+)= A · B
//
// Widening costs one shift per element while packing, which reads each operand element once
// per block anyway, so the FP32 micro-kernels keep their speed; the operands take half the
// memory traffic of float32 ones. Item boundaries fall on micro-tiles and each element sums
// its KC slices in order, so results are the same at any thread count.
#include <algorithm>
#include <vector>

#include "../parallel.h"
#include "gemm_bf16.h"
#include "internal.h"

namespace kiln {
namespace {

using gemm::BlockSizes;
using gemm::ceil_div;
using gemm::GemmKernel;

// A bfloat16 matrix operand: element (i, j) at data[i * rs + j * cs].
struct Bf16Operand {
  const uint16_t* data;
  int64_t rs, cs;
  Bf16Operand shifted(int64_t i, int64_t j) const { return {data + i * rs + j * cs, rs, cs}; }
};

// Products below this many flops run on the calling thread (as gemm.cc).
constexpr double kMinFlopsThreaded = 2.0e6;
constexpr double kMinFlopsPerChunk = 1.0e6;
constexpr int64_t kItemsPerThread = 4;

thread_local std::vector<float> t_packed_a;  // this thread's packed A block
thread_local std::vector<float> t_staging;   // this thread's widening staging (width × KC)
thread_local std::vector<float> t_packed_b;  // the shared B panel, owned by the calling thread

float* grown(std::vector<float>& buffer, int64_t floats) {
  if (static_cast<int64_t>(buffer.size()) < floats) buffer.resize(static_cast<size_t>(floats));
  return buffer.data();
}

class Bf16Nest {
 public:
  Bf16Nest(const GemmKernel& kernel, int64_t m, int64_t n, int64_t k, Bf16Operand a, Bf16Operand b, float* c,
           int64_t ldc, bool threaded)
      : kernel_(kernel), bs_(kernel.blocks), m_(m), n_(n), k_(k), a_(a), b_(b), c_(c), ldc_(ldc) {
    const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
    threads_ = threaded && flops >= kMinFlopsThreaded ? get_num_threads() : 1;
    row_blocks_ = ceil_div(m, bs_.mc);
    const int64_t wanted_items = kItemsPerThread * threads_;
    slabs_wanted_ = threads_ > 1 && row_blocks_ < wanted_items ? ceil_div(wanted_items, row_blocks_) : 1;
    const int64_t panel_cols = ceil_div(std::min<int64_t>(n, bs_.nc), bs_.nr) * bs_.nr;
    packed_b_ = grown(t_packed_b, panel_cols * bs_.kc);
  }

  void run() {
    for (int64_t jc = 0; jc < n_; jc += bs_.nc) {
      const int64_t nc = std::min<int64_t>(bs_.nc, n_ - jc);
      for (int64_t pc = 0; pc < k_; pc += bs_.kc) {
        const int64_t kc = std::min<int64_t>(bs_.kc, k_ - pc);
        pack_b(jc, nc, pc, kc);
        compute(jc, nc, pc, kc);
      }
    }
  }

 private:
  // body(begin, end) over the items [0, count): on the pool when this product is split.
  template <typename Body>
  void for_items(int64_t count, int64_t grain, const Body& body) const {
    if (threads_ > 1) return parallel_for_balanced(0, count, grain, body);
    body(0, count);
  }

  // The shared (kc × nc) B panel at (pc, jc), one item per NR-column micro-panel.
  void pack_b(int64_t jc, int64_t nc, int64_t pc, int64_t kc) {
    const int nr = bs_.nr;
    const Bf16Operand block = b_.shifted(pc, jc);
    const int64_t grain = std::max<int64_t>(1, 16384 / (int64_t{nr} * kc));
    for_items(ceil_div(nc, nr), grain, [&](int64_t begin, int64_t end) {
      float* staging = grown(t_staging, int64_t{nr} * kc);
      for (int64_t item = begin; item < end; ++item) {
        const int64_t j = item * nr;
        gemm::pack_panels_bf16(kernel_, block.shifted(0, j).data, b_.cs, b_.rs, std::min<int64_t>(nr, nc - j), kc, nr,
                               packed_b_ + j * kc, staging);
      }
    });
  }

  // The macro-kernels of one KC-deep slice over (row block, column slab) items.
  void compute(int64_t jc, int64_t nc, int64_t pc, int64_t kc) {
    const int64_t panels = ceil_div(nc, bs_.nr);
    const int64_t slabs = std::min(slabs_wanted_, panels);
    const int64_t slab_cols = ceil_div(panels, slabs) * bs_.nr;
    const double item_flops = 2.0 * std::min<int64_t>(bs_.mc, m_) * std::min(slab_cols, nc) * kc;
    const int64_t grain = std::max<int64_t>(1, static_cast<int64_t>(kMinFlopsPerChunk / item_flops));
    for_items(row_blocks_ * slabs, grain, [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end; ++item) {
        const int64_t ic = item / slabs * bs_.mc, j0 = item % slabs * slab_cols;
        if (j0 < nc) compute_block(ic, jc + j0, std::min(nc, j0 + slab_cols) - j0, j0, pc, kc);
      }
    });
  }

  // C[ic : ic + MC, col : col + cols] (+)= A[ic.., pc..] · B panel columns from `panel_col`.
  void compute_block(int64_t ic, int64_t col, int64_t cols, int64_t panel_col, int64_t pc, int64_t kc) {
    const int64_t mc = std::min<int64_t>(bs_.mc, m_ - ic);
    float* packed_a = grown(t_packed_a, int64_t{bs_.mc} * kc);
    float* staging = grown(t_staging, int64_t{bs_.mr} * kc);
    gemm::pack_panels_bf16(kernel_, a_.shifted(ic, pc).data, a_.rs, a_.cs, mc, kc, bs_.mr, packed_a, staging);
    gemm::macro_kernel(kernel_, mc, cols, kc, 1.0f, packed_a, packed_b_ + panel_col * kc, int64_t{bs_.nr} * kc, bs_.nr,
                       pc == 0 ? 0.0f : 1.0f, c_ + ic * ldc_ + col, ldc_, 1);
  }

  const GemmKernel& kernel_;
  const BlockSizes& bs_;
  int64_t m_, n_, k_;
  Bf16Operand a_, b_;
  float* c_;
  int64_t ldc_;
  int threads_;
  int64_t row_blocks_, slabs_wanted_;
  float* packed_b_;
};

}  // namespace

void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda,
               const uint16_t* b, int64_t ldb, float* c, int64_t ldc, bool threaded) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    return;
  }
  const Bf16Operand a_view = trans_a ? Bf16Operand{a, 1, lda} : Bf16Operand{a, lda, 1};
  const Bf16Operand b_view = trans_b ? Bf16Operand{b, 1, ldb} : Bf16Operand{b, ldb, 1};
  Bf16Nest(gemm::current_kernel(), m, n, k, a_view, b_view, c, ldc, threaded).run();
}

}  // namespace kiln
