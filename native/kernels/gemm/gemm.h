// Single-precision GEMM, the one matrix multiply behind matmul, Linear, convolution,
// attention and the RNN projections.
//
// Structure (BLIS): gemm.cc runs the loop nest NC → KC → pack B → MC → pack A → macro-kernel;
// pack.cc and macro.cc are shared by every instruction set (pack_{avx2,avx512}.cc speed up
// the transposing pack); micro_{ref,avx2,avx512,neon}.cc are the MR × NR micro-kernels;
// dispatch.cc picks one at run time; config.h holds the micro-kernel contract and block sizes.
#pragma once

#include <cstdint>
#include <vector>

namespace kiln {
namespace gemm {
struct GemmKernel;
}

// C = alpha · op(A) · op(B) + beta · C, all row-major.
//   op(A): (m, k); A is stored (m, k) with row stride lda, or (k, m) when trans_a
//   op(B): (k, n); B is stored (k, n) with row stride ldb, or (n, k) when trans_b
//   C: (m, n) with row stride ldc
// beta == 0 never reads C (whatever C holds, NaN included, is overwritten). Leading dimensions
// must be at least the stored row length. Threads: parallel_for_balanced (parallel.h) above
// a size threshold (see gemm.cc).
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// `batch` independent sgemm calls; product p uses a + p * stride_a, b + p * stride_b and
// c + p * stride_c (a stride of 0 reuses one matrix for every product).
void sgemm_batched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                   int64_t lda, int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b, float beta, float* c,
                   int64_t ldc, int64_t stride_c, int64_t batch);

// Products laid out on a two-level grid (batch dims of views that do not merge into one
// stride, such as the (batch, heads) of a permuted attention tensor): product (o, i), o < outer,
// i < inner, uses a + o * a_outer + i * a_inner, b + o * b_outer + i * b_inner and
// c + (o * inner + i) * c_stride. Strides of 0 reuse one matrix.
struct BatchGrid {
  int64_t outer, inner;
  int64_t a_outer, a_inner;
  int64_t b_outer, b_inner;
  int64_t c_stride;
};

// sgemm over every product of `grid` (sgemm_batched is the grid with outer = 1).
// column_bias: nullptr, or n floats added to every row of every product,
// C = alpha · op(A) · op(B) + beta · C + 1 · column_biasᵀ (a Linear layer's bias): each tile
// of C starts from the bias just before its micro-kernel runs, so the bias costs no pass of
// its own over C.
void sgemm_grid(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                const float* b, int64_t ldb, float beta, float* c, int64_t ldc, const BatchGrid& grid,
                const float* column_bias = nullptr);

// A left operand A (m, k) packed once for many products C = A · B (Winograd's transformed
// filters: one per tile entry, multiplied by every block of tiles), in the layout the
// micro-kernels read: KC-deep slices of MR-row micro-panels, for the instruction set in use
// when it was packed (packed.cc).
class PackedA {
 public:
  PackedA() = default;  // empty, to be assigned
  // A stored (m, k) with row stride lda.
  PackedA(int64_t m, int64_t k, const float* a, int64_t lda);
  int64_t rows() const { return m_; }
  int64_t depth() const { return k_; }

 private:
  friend void sgemm_packed_a(const PackedA& a, int64_t n, const float* b, int64_t ldb, float beta, float* c,
                             int64_t ldc);
  int64_t m_ = 0, k_ = 0;
  const gemm::GemmKernel* kernel_ = nullptr;  // the instruction set the panels were packed for
  std::vector<float> panels_;
};

// C (m, n) = A · B + beta · C for a packed A (m, k); B stored (k, n) with row stride ldb, C
// with row stride ldc. Full NR-column micro-panels of B are read in place (choose ldb so that
// rows_spread_over_l1 in gemm.cc holds: not a multiple of 32 floats), the last partial one
// packed. Columns are cut across threads (inline when nested in a parallel loop); each element
// of C is summed in the same order whatever the cut. beta == 0 never reads C.
void sgemm_packed_a(const PackedA& a, int64_t n, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// The width (NR) of the column micro-panels the current micro-kernel reads: sgemm_packed_b's
// B is laid out in panels of this many columns.
int64_t sgemm_panel_width();

// C (m, n) = A · B + beta · C for A stored (m, k) with row stride lda, and B written by the
// caller straight into the micro-kernels' layout (Winograd's weight gradient transforms its
// tiles into it): NR = sgemm_panel_width() columns per panel, element (p, j) at
// b[(j / NR) · panel_step + p · NR + j % NR], panel_step ≥ k · NR; the last panel's columns
// past n are read but never reach C. A is packed here, MC rows by KC deep at a time. Runs on
// the calling thread (for products inside a parallel loop); each element of C is summed over
// k in order, as sgemm. beta == 0 never reads C.
void sgemm_packed_b(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t panel_step,
                    float beta, float* c, int64_t ldc);

// Instruction sets of the micro-kernels. The default is the best this CPU runs, unless the
// environment variable KILN_ISA=avx512|avx2|neon|scalar names another one it can run.
enum class GemmIsa { kScalar, kAvx2, kAvx512, kNeon };

// Whether this build and CPU can run `isa`.
bool gemm_isa_supported(GemmIsa isa);

// Forces `isa` for every later sgemm call (process-wide; for tests and benchmarks). Returns
// false, changing nothing, when it is not supported.
bool set_gemm_isa(GemmIsa isa);

// The name of the instruction set sgemm uses now: "avx512", "avx2", "neon" or "scalar".
const char* gemm_isa_name();

}  // namespace kiln
