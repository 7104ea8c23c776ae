// The BLIS loop nest of the bfloat16-compute GEMMs, shared by gemm_bf16.cc (bfloat16 operands)
// and gemm_bf16_compute.cc (float32 operands rounded to bfloat16 while they are packed):
//
//   for jc in N by NC:
//     for pc in K by KC:
//       pack B[pc:pc+KC, jc:jc+NC] → NR-column micro-panels, shared by the threads
//       for each (MC-row block, column slab) of C:       (the threads' work items)
//         pack A[ic:ic+MC, pc:pc+KC] → MR-row micro-panels, per item
//         macro-kernel: C[ic.., slab] (+)= A · B
//
// Threaded products that gemm::column_parts_pay (internal.h) picks run as column parts, one
// 1-thread nest per thread over its own columns (run_product, at the end).
//
// A Path says how operands are packed and multiplied (gemm_bf16.cc's WidenPath, PairPath
// below). Item boundaries fall on micro-tiles and each element sums its KC slices in order, so
// results are the same at any thread count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "../parallel.h"
#include "gemm_bf16.h"
#include "internal.h"

namespace kiln::gemm::bf16 {

// A matrix operand of T: element (i, j) at data[i * rs + j * cs].
template <typename T>
struct StridedOperand {
  const T* data;
  int64_t rs, cs;
  StridedOperand shifted(int64_t i, int64_t j) const { return {data + i * rs + j * cs, rs, cs}; }
};

// Products below this many flops run on the calling thread (gemm.cc's reason; at twice the
// FP32 rate the crossover comes at twice the flops and more). Measured (Zen 5 VM, pair
// kernel, 1 thread ~390 GF/s, two alternating runs): 2 threads slower up to 192³ (14 MFLOP:
// 371 vs 395 GF/s; 128³ 337 vs 373), faster from 256×256×128 (16.8 MFLOP: 574 vs 398).
constexpr double kMinFlopsThreaded = 16.0e6;
constexpr double kMinFlopsPerChunk = 1.0e6;

template <typename T>
T* grown(std::vector<T>& buffer, int64_t count) {
  if (static_cast<int64_t>(buffer.size()) < count) buffer.resize(static_cast<size_t>(count));
  return buffer.data();
}

// bfloat16 pairs for the AVX512-BF16 kernel: panels of ⌈kc / 2⌉ steps of two depths, packed
// from operands of Source (uint16_t bfloat16 bits, or float32 rounded on the way) by
// `pack_panel`, which has PackPairs' contract (gemm_bf16.h) for Source.
template <typename SourceType>
struct PairPath {
  using Source = SourceType;
  using Element = uint16_t;
  using PackPanel = void (*)(const Source* src, int64_t lane_stride, int64_t depth_stride, int64_t n, int64_t depth,
                             int width, uint16_t* dst);
  const Bf16PairKernel& kernel;
  PackPanel pack_panel;

  const BlockSizes& blocks() const { return kernel.blocks; }
  static int64_t padded_depth(int64_t kc) { return round_up(kc, 2); }

  void pack(const Source* src, int64_t lane_stride, int64_t depth_stride, int64_t lanes, int64_t depth, int width,
            uint16_t* dst) const {
    for (int64_t l0 = 0; l0 < lanes; l0 += width) {
      pack_panel(src + l0 * lane_stride, lane_stride, depth_stride, std::min<int64_t>(width, lanes - l0), depth, width,
                 dst + l0 * padded_depth(depth));
    }
  }

  // The macro-kernel: NR-column micro-panels of B (jr) outside, MR-row micro-panels of A (ir)
  // inside, so one B micro-panel stays in L1 while A's block streams from L2.
  void multiply(int64_t mc, int64_t cols, int64_t kc, const uint16_t* packed_a, const uint16_t* packed_b, float* c,
                int64_t ldc, bool accumulate) const {
    const int mr = kernel.blocks.mr, nr = kernel.blocks.nr;
    const int64_t depth = padded_depth(kc);
    for (int64_t jr = 0; jr < cols; jr += nr) {
      const int tile_cols = static_cast<int>(std::min<int64_t>(nr, cols - jr));
      for (int64_t ir = 0; ir < mc; ir += mr) {
        const int rows = static_cast<int>(std::min<int64_t>(mr, mc - ir));
        kernel.micro(depth / 2, packed_a + ir * depth, packed_b + jr * depth, c + ir * ldc + jr, ldc, rows, tile_cols,
                     accumulate);
      }
    }
  }
};

// C (m, n, row stride ldc) = A · B, or C += A · B when `add_to_c`; A (m, k) and B (k, n) of
// Path::Source.
template <typename Path>
class Bf16Nest {
  using Element = typename Path::Element;
  using Operand = StridedOperand<typename Path::Source>;

 public:
  Bf16Nest(const Path& path, int64_t m, int64_t n, int64_t k, Operand a, Operand b, float* c, int64_t ldc,
           bool add_to_c, bool threaded)
      : path_(path), bs_(path.blocks()), m_(m), n_(n), k_(k), a_(a), b_(b), c_(c), ldc_(ldc), add_to_c_(add_to_c) {
    const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
    threads_ = threaded && flops >= kMinFlopsThreaded ? get_num_threads() : 1;
    row_blocks_ = ceil_div(m, bs_.mc);
    const int64_t wanted_items = kRowBlocksPerThread * threads_;
    slabs_wanted_ = threads_ > 1 && row_blocks_ < wanted_items ? ceil_div(wanted_items, row_blocks_) : 1;
    const int64_t panel_cols = ceil_div(std::min<int64_t>(n, bs_.nc), bs_.nr) * bs_.nr;
    static thread_local std::vector<Element> t_packed_b;  // the shared B panel, owned by the calling thread
    // Sized by this product's depth, not KC (a short product on a worker thread would keep a
    // KC-deep buffer in its malloc arena).
    packed_b_ = grown(t_packed_b, panel_cols * Path::padded_depth(std::min<int64_t>(k, bs_.kc)));
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
    const int64_t depth = Path::padded_depth(kc);
    const Operand block = b_.shifted(pc, jc);
    const int64_t grain = std::max<int64_t>(1, 16384 / (int64_t{nr} * kc));
    for_items(ceil_div(nc, nr), grain, [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end; ++item) {
        const int64_t j = item * nr;
        path_.pack(block.shifted(0, j).data, b_.cs, b_.rs, std::min<int64_t>(nr, nc - j), kc, nr, packed_b_ + j * depth);
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
    const int64_t depth = Path::padded_depth(kc);
    static thread_local std::vector<Element> t_packed_a;  // this thread's packed A block
    Element* packed_a = grown(t_packed_a, int64_t{bs_.mc} * depth);
    path_.pack(a_.shifted(ic, pc).data, a_.rs, a_.cs, mc, kc, bs_.mr, packed_a);
    path_.multiply(mc, cols, kc, packed_a, packed_b_ + panel_col * depth, c_ + ic * ldc_ + col, ldc_,
                   pc != 0 || add_to_c_);
  }

  const Path& path_;
  const BlockSizes& bs_;
  int64_t m_, n_, k_;
  Operand a_, b_;
  float* c_;
  int64_t ldc_;
  bool add_to_c_;
  int threads_;
  int64_t row_blocks_, slabs_wanted_;
  Element* packed_b_;
};

// C (m, n, row stride ldc) = A · B, or C += A · B when `add_to_c`, as one Bf16Nest or, when
// threaded and column_parts_pay (internal.h), as column parts: one 1-thread nest per thread
// over its columns of B and C, claimed by whichever thread is free.
template <typename Path>
void run_product(const Path& path, int64_t m, int64_t n, int64_t k, StridedOperand<typename Path::Source> a,
                 StridedOperand<typename Path::Source> b, float* c, int64_t ldc, bool add_to_c, bool threaded) {
  const BlockSizes& blocks = path.blocks();
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const int64_t parts = threaded && flops >= kMinFlopsThreaded ? get_num_threads() : 1;
  if (!column_parts_pay(blocks, m, n, ceil_div(m, blocks.mc), parts)) {
    Bf16Nest<Path>(path, m, n, k, a, b, c, ldc, add_to_c, threaded).run();
    return;
  }
  const int64_t width = column_part_width(blocks, n, parts);
  parallel_for(0, parts, 1, [&](int64_t begin, int64_t end) {
    for (int64_t part = begin; part < end; ++part) {
      const int64_t j0 = part * width;
      if (j0 >= n) continue;
      Bf16Nest<Path>(path, m, std::min(width, n - j0), k, a, b.shifted(0, j0), c + j0, ldc, add_to_c, false).run();
    }
  });
}

}  // namespace kiln::gemm::bf16
