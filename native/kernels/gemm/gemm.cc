// sgemm: the BLIS loop nest around the macro-kernel, threading, the skinny-shape choices and
// the batched entry point.
//
//   for jc in N by NC:                      (columns of C and B)
//     for pc in K by KC:                    (depth)
//       pack B[pc:pc+KC, jc:jc+NC]          → NR-column micro-panels (skipped for skinny M)
//       for ic in M by MC:                  (rows of C and A)
//         pack A[ic:ic+MC, pc:pc+KC]        → MR-row micro-panels
//         macro-kernel: C[ic.., jc..] = alpha · A · B + (pc == 0 ? beta : 1) · C
#include "gemm.h"

#include <algorithm>
#include <memory>
#include <new>

#include "../parallel.h"
#include "internal.h"

namespace kiln {
namespace {

using gemm::BlockSizes;
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

// Work (in flops) below which a thread is not worth waking: each thread gets at least this
// much, so a second thread only joins when the product is large enough to gain from it.
// Pool threads poll for ~100 µs before parking (parallel.cc), so back-to-back loops wake
// them in about a microsecond; 1 MFLOP (~10 µs at ~100 GFLOP/s) per thread then pays.
constexpr double kMinFlopsPerThread = 1.0e6;

// Up to this many rows of C, B is read in place (when its rows are contiguous) instead of
// packed: packing it would cost as much memory traffic as the few passes over it it saves.
constexpr int64_t kSkinnyRows = 64;

// 64-byte aligned scratch owned by one thread, grown on demand and kept for reuse.
class Scratch {
 public:
  float* get(int64_t floats) {
    if (floats > capacity_) {
      buffer_.reset(static_cast<float*>(::operator new(static_cast<size_t>(floats) * sizeof(float), kAlign)));
      capacity_ = floats;
    }
    return buffer_.get();
  }

 private:
  static constexpr std::align_val_t kAlign{64};
  struct Free {
    void operator()(float* p) const { ::operator delete(p, kAlign); }
  };
  std::unique_ptr<float, Free> buffer_;
  int64_t capacity_ = 0;
};

thread_local Scratch t_packed_a;
thread_local Scratch t_packed_b;

int64_t round_up(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

// C = beta · C (the whole product when k == 0 or alpha == 0); beta == 0 never reads C.
void scale(int64_t m, int64_t n, float beta, Output c) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      float& out = c.data[i * c.rs + j * c.cs];
      out = beta == 0.0f ? 0.0f : beta * out;
    }
  }
}

// One KC-deep slice against a (kc × nc) block of B read in place (contiguous rows): full
// NR-wide micro-panels straight from B, the last narrower one packed (zero-padded) so the
// micro-kernel never reads past B's columns.
void macro_in_place_b(const GemmKernel& kernel, int64_t mc, int64_t nc, int64_t kc, float alpha, const float* packed_a,
                      Operand b, float beta, Output c) {
  const int nr = kernel.blocks.nr;
  const int64_t full = nc / nr * nr;
  if (full > 0) gemm::macro_kernel(kernel, mc, full, kc, alpha, packed_a, b.data, nr, b.rs, beta, c.data, c.rs, c.cs);
  if (full == nc) return;
  float* edge = t_packed_b.get(int64_t{nr} * kc);
  gemm::pack_panels(kernel, b.data + full, 1, b.rs, nc - full, kc, nr, edge);
  gemm::macro_kernel(kernel, mc, nc - full, kc, alpha, packed_a, edge, int64_t{nr} * kc, nr, beta, c.data + full * c.cs,
                     c.rs, c.cs);
}

// The loop nest on one thread: C (m × n) = alpha · A (m × k) · B (k × n) + beta · C.
void gemm_serial(const GemmKernel& kernel, int64_t m, int64_t n, int64_t k, float alpha, Operand a, Operand b,
                 float beta, Output c) {
  const BlockSizes& bs = kernel.blocks;
  const bool b_in_place = b.cs == 1 && m <= kSkinnyRows;
  float* packed_a = t_packed_a.get(int64_t{bs.mc} * bs.kc);
  float* packed_b = b_in_place ? nullptr : t_packed_b.get(round_up(std::min<int64_t>(n, bs.nc), bs.nr) * bs.kc);
  for (int64_t jc = 0; jc < n; jc += bs.nc) {
    const int64_t nc = std::min<int64_t>(bs.nc, n - jc);
    for (int64_t pc = 0; pc < k; pc += bs.kc) {
      const int64_t kc = std::min<int64_t>(bs.kc, k - pc);
      const float beta_pc = pc == 0 ? beta : 1.0f;
      const Operand b_block = b.shifted(pc, jc);
      if (!b_in_place) gemm::pack_panels(kernel, b_block.data, b.cs, b.rs, nc, kc, bs.nr, packed_b);
      for (int64_t ic = 0; ic < m; ic += bs.mc) {
        const int64_t mc = std::min<int64_t>(bs.mc, m - ic);
        gemm::pack_panels(kernel, a.shifted(ic, pc).data, a.rs, a.cs, mc, kc, bs.mr, packed_a);
        const Output c_block = c.shifted(ic, jc);
        if (b_in_place) {
          macro_in_place_b(kernel, mc, nc, kc, alpha, packed_a, b_block, beta_pc, c_block);
        } else {
          gemm::macro_kernel(kernel, mc, nc, kc, alpha, packed_a, packed_b, int64_t{bs.nr} * kc, bs.nr, beta_pc,
                             c_block.data, c_block.rs, c_block.cs);
        }
      }
    }
  }
}

// Splits C into column strips (or row strips when C is taller than wide), each run by
// gemm_serial on its own thread with its own packed blocks; small products stay on one thread.
void gemm_threaded(const GemmKernel& kernel, int64_t m, int64_t n, int64_t k, float alpha, Operand a, Operand b,
                   float beta, Output c) {
  const bool split_columns = n >= m;
  const int64_t unit = split_columns ? kernel.blocks.nr : kernel.blocks.mr;
  const int64_t extent = split_columns ? n : m;
  const double unit_flops = 2.0 * static_cast<double>(unit) * static_cast<double>(split_columns ? m : n) * k;
  const int64_t grain = std::max<int64_t>(1, static_cast<int64_t>(kMinFlopsPerThread / unit_flops));
  parallel_for(0, (extent + unit - 1) / unit, grain, [&](int64_t begin, int64_t end) {
    const int64_t from = begin * unit, to = std::min(extent, end * unit);
    if (split_columns) {
      gemm_serial(kernel, m, to - from, k, alpha, a, b.shifted(0, from), beta, c.shifted(0, from));
    } else {
      gemm_serial(kernel, to - from, n, k, alpha, a.shifted(from, 0), b, beta, c.shifted(from, 0));
    }
  });
}

// Whether C = A · B is better computed as Cᵀ = Bᵀ · Aᵀ: when C is narrower than one micro-tile
// (n < NR), most of every tile would be padding, while its transpose fills MR-row tiles.
bool swap_roles(const GemmKernel& kernel, int64_t m, int64_t n) { return n < kernel.blocks.nr && m > n; }

// The common entry: operands as views, after the trivial cases.
void gemm_views(const GemmKernel& kernel, int64_t m, int64_t n, int64_t k, float alpha, Operand a, Operand b,
                float beta, Output c, bool threaded) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {
    scale(m, n, beta, c);
    return;
  }
  if (swap_roles(kernel, m, n)) {
    std::swap(m, n);
    std::swap(a, b);
    a = a.transposed();
    b = b.transposed();
    c = c.transposed();
  }
  if (threaded) {
    gemm_threaded(kernel, m, n, k, alpha, a, b, beta, c);
  } else {
    gemm_serial(kernel, m, n, k, alpha, a, b, beta, c);
  }
}

Operand view_of(const float* data, int64_t ld, bool trans) { return trans ? Operand{data, 1, ld} : Operand{data, ld, 1}; }

}  // namespace

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  gemm_views(gemm::current_kernel(), m, n, k, alpha, view_of(a, lda, trans_a), view_of(b, ldb, trans_b), beta,
             Output{c, ldc, 1}, true);
}

void sgemm_batched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                   int64_t lda, int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b, float beta, float* c,
                   int64_t ldc, int64_t stride_c, int64_t batch) {
  sgemm_grid(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
             BatchGrid{1, batch, 0, stride_a, 0, stride_b, stride_c});
}

void sgemm_grid(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                const float* b, int64_t ldb, float beta, float* c, int64_t ldc, const BatchGrid& grid) {
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
  const bool split_batch = flops < 2.0 * kMinFlopsPerThread || batch % threads == 0 || batch >= 4 * threads;
  const int64_t grain = std::max<int64_t>(1, static_cast<int64_t>(kMinFlopsPerThread / std::max(flops, 1.0)));
  auto run = [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t o = p / grid.inner, i = p % grid.inner;
      const float* a_p = a + o * grid.a_outer + i * grid.a_inner;
      const float* b_p = b + o * grid.b_outer + i * grid.b_inner;
      gemm_views(kernel, m, n, k, alpha, view_of(a_p, lda, trans_a), view_of(b_p, ldb, trans_b), beta,
                 Output{c + p * grid.c_stride, ldc, 1}, !split_batch);
    }
  };
  if (split_batch) {
    parallel_for_balanced(0, batch, grain, run);
  } else {
    run(0, batch);
  }
}

}  // namespace kiln
