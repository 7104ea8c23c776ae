// sgemm: the BLIS loop nest around the macro-kernel, threading, the skinny-shape choices and
// the batched entry point.
//
//   for jc in N by NC:                          (columns of C and B)
//     for pc in K by KC:                        (depth)
//       pack B[pc:pc+KC, jc:jc+NC] → NR-column micro-panels, shared by the threads
//       for each (MC-row block ic, column slab) of C:      (the threads' work items)
//         pack A[ic:ic+MC, pc:pc+KC] → MR-row micro-panels (or use A packed once, shared)
//         macro-kernel: C[ic.., slab] = alpha · A · B + (pc == 0 ? beta : 1) · C (+ the bias at pc == 0)
//
// Short products (M <= MC: one row block, each B element used by one item) pack B one
// micro-panel at a time inside the item, right before the macro-kernel uses it from L1,
// instead of in a separate pass; B is read in place instead when its rows are contiguous and
// either M <= MR (one tile row, nothing to reuse) or its row stride spreads a micro-panel's
// rows over all of L1's sets (see rows_spread_over_l1).
//
// Threads: most threaded products run as column parts, one whole 1-thread nest per thread over
// its own columns of B and C, sharing no packed block (gemm::column_parts_pay says which:
// threads on different core complexes pay dearly for reading what the other packed). Tall
// products (m > n with many row blocks), and those too narrow to cut, share one nest: the
// packing of each B panel is split by micro-panels, then the (row block, slab) items are
// claimed by whichever thread is free (parallel_for_balanced), so a descheduled helper never
// holds the caller up for long. Tall products give one item per row block, each thread
// packing its own A blocks; short narrow ones (few row blocks) cut the columns into slabs and
// pack A once, shared. Part and item boundaries fall on micro-tiles, so every element of C is
// computed the same way whatever the thread count.
#include "gemm.h"

#include <algorithm>
#include <memory>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "../parallel.h"
#include "internal.h"

namespace kiln {
namespace {

using gemm::Bias;
using gemm::BlockSizes;
using gemm::ceil_div;
using gemm::round_up;
using gemm::GemmKernel;

// A matrix operand: element (i, j) at data[i * rs + j * cs]. Transposes are stride swaps.
struct Operand {
  const float* data;
  int64_t rs, cs;
  Operand transposed() const { return {data, cs, rs}; }
  Operand shifted(int64_t i, int64_t j) const { return {data + i * rs + j * cs, rs, cs}; }
};

struct Output {
  float* data;
  int64_t rs, cs;
  Output transposed() const { return {data, cs, rs}; }
  Output shifted(int64_t i, int64_t j) const { return {data + i * rs + j * cs, rs, cs}; }
};

// Products below this many flops run on the calling thread only: waking a helper and handing
// it a part costs several µs when the two cores share no cache. Measured (Zen 5 VM, 1 thread
// ~190 GF/s, medians of three alternating runs): 2 threads were slower up to ~3.1 MFLOP
// (100³ 125 vs 138 GF/s, 128×128×64 161 vs 179, 96×128×128 175 vs 193), tied at 3.15
// (128×128×96 201 vs 196) and were faster from 3.3 (160×160×64 250 vs 195, 128³ 215 vs 186).
constexpr double kMinFlopsThreaded = 4.0e6;

// Least work per chunk of a parallel loop, so each claim (~1 µs) is paid by ~10 µs of work:
// flops for the macro-kernel items, floats copied for the packing.
constexpr double kMinFlopsPerChunk = 1.0e6;
constexpr int64_t kMinFloatsPerPackChunk = 16384;

// Aligned scratch owned by one thread, grown on demand and kept for reuse. Buffers of 2 MiB
// or more (shared B panels and A slices of large products) are 2 MiB aligned and, on Linux,
// asked to be backed by transparent huge pages (honoured in THP "madvise" mode too), so
// walking a panel does not miss the TLB every 4 KiB.
class Scratch {
 public:
  float* get(int64_t floats) {
    if (floats > capacity_) {
      const size_t bytes = static_cast<size_t>(floats) * sizeof(float);
      const std::align_val_t align{bytes >= kHugePage ? kHugePage : 64};
      buffer_ = std::unique_ptr<float, Free>(static_cast<float*>(::operator new(bytes, align)), Free{align});
#if defined(__linux__) && defined(MADV_HUGEPAGE)
      if (align == std::align_val_t{kHugePage}) madvise(buffer_.get(), bytes / kHugePage * kHugePage, MADV_HUGEPAGE);
#endif
      capacity_ = floats;
    }
    return buffer_.get();
  }

 private:
  static constexpr size_t kHugePage = size_t{2} << 20;
  struct Free {
    std::align_val_t align;
    void operator()(float* p) const { ::operator delete(p, align); }
  };
  std::unique_ptr<float, Free> buffer_{nullptr, Free{std::align_val_t{64}}};
  int64_t capacity_ = 0;
};

thread_local Scratch t_block_a;   // an MC × KC block of A packed by this thread for its own item
thread_local Scratch t_panel_b;   // one B micro-panel packed by this thread for its own item
thread_local Scratch t_shared_a;  // all of A's KC-deep slice, packed once for every thread
thread_local Scratch t_shared_b;  // the KC × NC panel of B, packed once for every thread


// C = beta · C + bias (the whole product when k == 0 or alpha == 0); beta == 0 never reads C.
void scale(int64_t m, int64_t n, float beta, const Bias* bias, Output c) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      float& out = c.data[i * c.rs + j * c.cs];
      out = (beta == 0.0f ? 0.0f : beta * out) + (bias == nullptr ? 0.0f : bias->data[i * bias->rs + j * bias->cs]);
    }
  }
}

// Asks for the cache line holding `address` (a no-op on compilers without the builtin).
inline void prefetch(const float* address) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(address);
#endif
}

// Prefetches the (kc × width) block of B at b (one micro-panel's source), line by line.
void prefetch_block(Operand b, int64_t kc, int64_t width) {
  constexpr int64_t kLineFloats = 16;
  if (b.cs == 1) {
    for (int64_t p = 0; p < kc; ++p) {
      prefetch(b.data + p * b.rs);
      prefetch(b.data + p * b.rs + width - 1);
    }
  } else if (b.rs == 1) {
    for (int64_t j = 0; j < width; ++j) {
      for (int64_t p = 0; p < kc; p += kLineFloats) prefetch(b.data + j * b.cs + p);
    }
  }
}

// Whether the KC rows of one B micro-panel read in place (row stride `row_stride` floats) land
// in all of L1's sets, so the panel stays in L1 while the MR-row tiles of A stream past it as
// well as a packed one does. L1 ways are 4 KiB (64 sets of 64-byte lines: 32 KiB 8-way on the
// Zen 3/4 and recent Intel cores); rows a multiple of 128 bytes apart fold onto at most 32 of
// the 64 sets (a power-of-two stride onto a handful), and evict each other. Measured (Zen 3,
// 1 thread, per-process CPU time, kiln/OpenBLAS alternating): 64×400×120 (480-byte rows)
// 0.94× packed, 0.99× in place; 32×1024×256 (1 KiB rows) stays packed.
bool rows_spread_over_l1(int64_t row_stride) { return (row_stride * int64_t{sizeof(float)}) % 128 != 0; }

// body(begin, end) over [0, count): on the pool when `threaded`, else inline.
template <typename Body>
void run_items(bool threaded, int64_t count, int64_t grain, const Body& body) {
  if (threaded) {
    parallel_for_balanced(0, count, grain, body);
  } else {
    body(0, count);
  }
}

// One product after the trivial cases, and how its work is cut (see the top of this file).
class Nest {
 public:
  Nest(const GemmKernel& kernel, int64_t m, int64_t n, int64_t k, float alpha, Operand a, Operand b, float beta,
       Output c, const Bias* bias, bool threaded)
      : kernel_(kernel),
        bs_(kernel.blocks),
        m_(m),
        n_(n),
        k_(k),
        alpha_(alpha),
        a_(a),
        b_(b),
        beta_(beta),
        c_(c),
        bias_(bias) {
    const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
    threads_ = threaded && flops >= kMinFlopsThreaded ? get_num_threads() : 1;
    mc_ = gemm::row_block_height(bs_, m);
    row_blocks_ = ceil_div(m, mc_);
    b_per_item_ = row_blocks_ == 1;
    b_in_place_ = b.cs == 1 && (m <= bs_.mr || (b_per_item_ && rows_spread_over_l1(b.rs)));
    const int64_t wanted_items = gemm::kRowBlocksPerThread * threads_;
    slabs_wanted_ = threads_ > 1 && row_blocks_ < wanted_items ? ceil_div(wanted_items, row_blocks_) : 1;
    // Scratch sized by the depth this product has, not by KC: a short product on a worker
    // thread would otherwise take (and its thread's malloc arena keep) a KC-deep buffer.
    depth_ = std::min<int64_t>(k, bs_.kc);
    shared_a_ = slabs_wanted_ > 1 ? t_shared_a.get(round_up(m, bs_.mr) * depth_) : nullptr;
    packed_b_ = b_per_item_ ? nullptr : t_shared_b.get(round_up(std::min<int64_t>(n, bs_.nc), bs_.nr) * depth_);
  }

  void run() {
    for (int64_t jc = 0; jc < n_; jc += bs_.nc) {
      const int64_t nc = std::min<int64_t>(bs_.nc, n_ - jc);
      for (int64_t pc = 0; pc < k_; pc += bs_.kc) {
        const int64_t kc = std::min<int64_t>(bs_.kc, k_ - pc);
        pack_shared(jc, nc, pc, kc);
        compute(jc, nc, pc, kc);
      }
    }
  }

 private:
  // Packs the shared B panel (kc × nc at (pc, jc)) and A's slice (m × kc at column pc), each
  // when shared: one item per micro-panel, B's first. On one thread, B's panel is packed in
  // one call instead: each row of B is then read as one run of nc floats (several rows at a
  // time, see pack.cc) rather than NR floats per micro-panel from kc rows far apart, which
  // the hardware prefetchers cannot follow. A 4 MiB panel of a B in DRAM packed 620 → 320 µs;
  // products whose panel is used by few row blocks gained most (C++ harness, alternating in
  // one process, Zen 5 VM: 128×4096×4096 +9%, 256×4096×4096 +5% at 1 thread and +4–6% at 2
  // (column parts: each a 1-thread nest), 128×512×2048 +3%, 2048³ at 2 threads +1–5%;
  // 128×3136×1152 and 128×6272×1152, their B in L3, −2% to +0%; 4096³, 1024³, 512³ ±1%).
  void pack_shared(int64_t jc, int64_t nc, int64_t pc, int64_t kc) {
    const int mr = bs_.mr, nr = bs_.nr;
    if (threads_ == 1) {  // then shared_a_ is null (slabs_wanted_ is 1)
      if (!b_per_item_) gemm::pack_panels(kernel_, b_.shifted(pc, jc).data, b_.cs, b_.rs, nc, kc, nr, packed_b_);
      return;
    }
    const int64_t b_items = b_per_item_ ? 0 : ceil_div(nc, nr);
    const int64_t a_items = shared_a_ != nullptr ? ceil_div(m_, mr) : 0;
    const Operand b_block = b_.shifted(pc, jc);
    const int64_t grain = std::max<int64_t>(1, kMinFloatsPerPackChunk / (int64_t{std::min(mr, nr)} * kc));
    run_items(threads_ > 1, b_items + a_items, grain, [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end; ++item) {
        if (item < b_items) {
          const int64_t j = item * nr;
          gemm::pack_panels(kernel_, b_block.shifted(0, j).data, b_.cs, b_.rs, std::min<int64_t>(nr, nc - j), kc, nr,
                            packed_b_ + j * kc);
        } else {
          const int64_t i = (item - b_items) * mr;
          gemm::pack_panels(kernel_, a_.shifted(i, pc).data, a_.rs, a_.cs, std::min<int64_t>(mr, m_ - i), kc, mr,
                            shared_a_ + i * kc);
        }
      }
    });
  }

  // The macro-kernels of one KC-deep slice: items are (row block, column slab) pairs.
  void compute(int64_t jc, int64_t nc, int64_t pc, int64_t kc) {
    const int64_t panels = ceil_div(nc, bs_.nr);
    const int64_t slabs = std::min(slabs_wanted_, panels);
    const int64_t slab_cols = ceil_div(panels, slabs) * bs_.nr;
    const double item_flops = 2.0 * std::min(mc_, m_) * std::min(slab_cols, nc) * kc;
    const int64_t grain = std::max<int64_t>(1, static_cast<int64_t>(kMinFlopsPerChunk / item_flops));
    run_items(threads_ > 1, row_blocks_ * slabs, grain, [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end; ++item) {
        const int64_t ic = item / slabs * mc_, j0 = item % slabs * slab_cols;
        if (j0 < nc) compute_block(ic, jc, j0, std::min(nc, j0 + slab_cols), pc, kc);
      }
    });
  }

  // C[ic : ic + MC, jc + j0 : jc + j1] for depth slice pc (j0 a multiple of NR); the bias
  // goes in with the first slice.
  void compute_block(int64_t ic, int64_t jc, int64_t j0, int64_t j1, int64_t pc, int64_t kc) {
    const int64_t mc = std::min(mc_, m_ - ic);
    const float beta = pc == 0 ? beta_ : 1.0f;
    const Bias block_bias = bias_ != nullptr ? bias_->shifted(ic, jc + j0) : Bias{};
    const Bias* bias = pc == 0 && bias_ != nullptr ? &block_bias : nullptr;
    const float* packed_a = shared_a_ != nullptr ? shared_a_ + ic * kc : pack_block_a(ic, mc, pc, kc);
    const Output c_block = c_.shifted(ic, jc + j0);
    if (b_per_item_) {
      compute_panels(mc, packed_a, b_.shifted(pc, jc + j0), j1 - j0, kc, beta, bias, c_block);
    } else {
      gemm::macro_kernel(kernel_, mc, j1 - j0, kc, alpha_, packed_a, packed_b_ + j0 * kc, int64_t{bs_.nr} * kc, bs_.nr,
                         beta, c_block.data, c_block.rs, c_block.cs, bias);
    }
  }

  // C (mc × cols) = alpha · packed A · B (kc × cols) + beta · C (+ bias), B packed one
  // micro-panel at a time just before use, or read in place (whole panels, when b_in_place_).
  void compute_panels(int64_t mc, const float* packed_a, Operand b, int64_t cols, int64_t kc, float beta,
                      const Bias* bias, Output c) {
    const int nr = bs_.nr;
    float* panel = t_panel_b.get(int64_t{nr} * kc);
    for (int64_t j = 0; j < cols; j += nr) {
      const int64_t width = std::min<int64_t>(nr, cols - j);
      const Operand b_panel = b.shifted(0, j);
      const bool in_place = b_in_place_ && width == nr;
      if (!in_place) gemm::pack_panels(kernel_, b_panel.data, b.cs, b.rs, width, kc, nr, panel);
      const float* panel_data = in_place ? b_panel.data : panel;
      // The next micro-panel's source arrives while this one is multiplied (unless one tile
      // row reads B in place: then B streams through once, in order).
      if ((!b_in_place_ || m_ > bs_.mr) && j + nr < cols) prefetch_block(b.shifted(0, j + nr), kc, std::min<int64_t>(nr, cols - j - nr));
      const Output c_panel = c.shifted(0, j);
      const Bias panel_bias = bias != nullptr ? bias->shifted(0, j) : Bias{};
      gemm::macro_kernel(kernel_, mc, width, kc, alpha_, packed_a, panel_data, int64_t{nr} * kc, in_place ? b.rs : nr,
                         beta, c_panel.data, c_panel.rs, c_panel.cs, bias != nullptr ? &panel_bias : nullptr);
    }
  }

  const float* pack_block_a(int64_t ic, int64_t mc, int64_t pc, int64_t kc) {
    float* block = t_block_a.get(mc_ * depth_);
    gemm::pack_panels(kernel_, a_.shifted(ic, pc).data, a_.rs, a_.cs, mc, kc, bs_.mr, block);
    return block;
  }

  const GemmKernel& kernel_;
  const BlockSizes& bs_;
  int64_t m_, n_, k_;
  float alpha_;
  Operand a_, b_;
  float beta_;
  Output c_;
  const Bias* bias_;  // added to C with the first depth slice, or nullptr
  int threads_;
  int64_t row_blocks_, slabs_wanted_;
  int64_t mc_;  // rows per row block (a multiple of MR, at most MC)
  int64_t depth_;  // the deepest slice, min(K, KC): the depth the packed buffers are sized for
  bool b_per_item_;  // one row block: B packed per micro-panel inside the items, no shared panel
  bool b_in_place_;  // contiguous rows of B, one tile row or rows spread over L1: full micro-panels read in place
  float* shared_a_;  // A's packed slice when the columns are cut into slabs, else nullptr
  float* packed_b_;  // the shared B panel, nullptr when b_per_item_
};

// Whether C = A · B is better computed as Cᵀ = Bᵀ · Aᵀ: when C is taller than wide and
// narrower than two micro-tiles (n < 2·NR), but not exactly one tile wide. Narrower than one,
// most of every tile would be padding, while its transpose fills MR-row tiles. Between one and
// two, C cannot be cut into column parts for two threads, so its threads would share one nest
// and read each other's packed blocks, while its transpose (m columns) is cut into parts; at
// 1 thread the transpose's MR-row tiles also waste fewer lanes for most n (49 columns fill 77%
// of two NR-column tiles, 82% of five MR-row ones). Exactly one tile wide, C wastes no lane
// and one B micro-panel is all its threads share. Measured (Zen 5 VM, matmul of m × k by
// k × n, GF/s, two alternating runs, 1 / 2 threads): ResNet's layer4 convolution at batch 1,
// 512×49×4608, 118, 93 / 158, 146 → 116, 130 / 259, 271; its input gradient
// 4608×49×512 121, 89 / 236, 205 → 153, 123 / 276, 283; 1024×48×512 127, 126 / 212, 208 →
// 163, 157 / 297, 294; 2048×33×1024 87, 76 / 150, 153 → 147, 137 / 135, 170; the only loss
// was 512×63×512 at 1 thread (63 columns fill 98% of two tiles, 88% of six MR-row ones): 167,
// 164 → 159, 151 (2 threads 172, 173 → 281, 279). At n = NR (32) transposing lost at 1 thread
// (196×32×196 115, 123 → 103, 103) and tied at 2 (1024×32×1024 269, 269 → 263, 274). The
// choice does not depend on the thread count, so neither do the results.
bool swap_roles(const GemmKernel& kernel, int64_t m, int64_t n) {
  return m > n && n < 2 * kernel.blocks.nr && n != kernel.blocks.nr;
}

// Whether a threaded product runs as column parts (gemm::column_parts_pay) instead of one
// shared nest.
bool column_parts_pay(const BlockSizes& blocks, int64_t m, int64_t n, int64_t k) {
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  if (flops < kMinFlopsThreaded) return false;
  const int64_t row_blocks = ceil_div(m, gemm::row_block_height(blocks, m));
  return gemm::column_parts_pay(blocks, m, n, row_blocks, get_num_threads());
}

// C = alpha · A · B + beta · C (+ bias) as column parts, one per thread: part p takes
// columns [p · width, (p + 1) · width) of B and C (gemm::column_part_width), so every element
// is summed as one nest over all of C sums it. The parts are claimed by whichever thread is
// free, so a descheduled helper's part is taken over by the caller instead of awaited.
void run_column_parts(const GemmKernel& kernel, int64_t m, int64_t n, int64_t k, float alpha, Operand a, Operand b,
                      float beta, Output c, const Bias* bias) {
  const int64_t parts = get_num_threads();
  const int64_t width = gemm::column_part_width(kernel.blocks, n, parts);
  parallel_for(0, parts, 1, [&](int64_t begin, int64_t end) {
    for (int64_t part = begin; part < end; ++part) {
      const int64_t j0 = part * width;
      if (j0 >= n) continue;
      const Bias part_bias = bias != nullptr ? bias->shifted(0, j0) : Bias{};
      Nest(kernel, m, std::min(width, n - j0), k, alpha, a, b.shifted(0, j0), beta, c.shifted(0, j0),
           bias != nullptr ? &part_bias : nullptr, false)
          .run();
    }
  });
}

// The common entry: operands as views, after the trivial cases. bias: the column bias
// (n floats) or nullptr.
void gemm_views(const GemmKernel& kernel, int64_t m, int64_t n, int64_t k, float alpha, Operand a, Operand b,
                float beta, Output c, const float* column_bias, bool threaded) {
  if (m <= 0 || n <= 0) return;
  Bias bias{column_bias, 0, 1};
  const Bias* bias_or_null = column_bias != nullptr ? &bias : nullptr;
  if (k <= 0 || alpha == 0.0f) {
    scale(m, n, beta, bias_or_null, c);
    return;
  }
  if (swap_roles(kernel, m, n)) {
    std::swap(m, n);
    std::swap(a, b);
    a = a.transposed();
    b = b.transposed();
    c = c.transposed();
    bias = {column_bias, 1, 0};
  }
  if (threaded && column_parts_pay(kernel.blocks, m, n, k)) {
    run_column_parts(kernel, m, n, k, alpha, a, b, beta, c, bias_or_null);
  } else {
    Nest(kernel, m, n, k, alpha, a, b, beta, c, bias_or_null, threaded).run();
  }
}

Operand view_of(const float* data, int64_t ld, bool trans) { return trans ? Operand{data, 1, ld} : Operand{data, ld, 1}; }

}  // namespace

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  gemm_views(gemm::current_kernel(), m, n, k, alpha, view_of(a, lda, trans_a), view_of(b, ldb, trans_b), beta,
             Output{c, ldc, 1}, nullptr, true);
}

void sgemm_batched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                   int64_t lda, int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b, float beta, float* c,
                   int64_t ldc, int64_t stride_c, int64_t batch) {
  sgemm_grid(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
             BatchGrid{1, batch, 0, stride_a, 0, stride_b, stride_c});
}

void sgemm_grid(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                const float* b, int64_t ldb, float beta, float* c, int64_t ldc, const BatchGrid& grid,
                const float* column_bias) {
  const GemmKernel& kernel = gemm::current_kernel();
  const int64_t batch = grid.outer * grid.inner;
  if (batch <= 0) return;
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  // Whole products per thread when they are too small to split, or when the batch shares out
  // evenly among the threads (or is long enough that an uneven share costs little): then no
  // thread packs the A its partner packs too and no product waits for the slower half. A
  // short batch of large products runs one product after another, each split across the
  // threads. Either way every element is summed in the same order.
  const int64_t threads = get_num_threads();
  const bool split_batch = flops < kMinFlopsThreaded || batch % threads == 0 || batch >= 4 * threads;
  const int64_t grain = std::max<int64_t>(1, static_cast<int64_t>(kMinFlopsPerChunk / std::max(flops, 1.0)));
  auto run = [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t o = p / grid.inner, i = p % grid.inner;
      const float* a_p = a + o * grid.a_outer + i * grid.a_inner;
      const float* b_p = b + o * grid.b_outer + i * grid.b_inner;
      gemm_views(kernel, m, n, k, alpha, view_of(a_p, lda, trans_a), view_of(b_p, ldb, trans_b), beta,
                 Output{c + p * grid.c_stride, ldc, 1}, column_bias, !split_batch);
    }
  };
  if (split_batch) {
    parallel_for_balanced(0, batch, grain, run);
  } else {
    run(0, batch);
  }
}

}  // namespace kiln
