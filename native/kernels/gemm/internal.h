// Pieces of the GEMM loop nest shared between gemm.cc, pack.cc, macro.cc and dispatch.cc.
#pragma once

#include <cstdint>

#include "config.h"

namespace kiln::gemm {

// The micro-kernel and block sizes in use (dispatch.cc).
const GemmKernel& current_kernel();

// Copies a (lanes × depth) strip into panels of `width` lanes, the layout micro-kernels read:
//   element (l, p) of the strip is src[l * lane_stride + p * depth_stride];
//   it lands at dst[(l / width) * width * depth + p * width + l % width].
// Lanes past `lanes` in the last panel are zero. Packing A uses lanes = rows (width MR),
// packing B uses lanes = columns (width NR). kernel.pack_lanes, if any, does the transposing case.
void pack_panels(const GemmKernel& kernel, const float* src, int64_t lane_stride, int64_t depth_stride, int64_t lanes, int64_t depth, int width,
                 float* dst);

// A bias added to a block of C: element (i, j) of the block gets data[i * rs + j * cs]. A row
// vector added to every row of C has rs = 0, cs = 1 (rs = 1, cs = 0 once gemm.cc's role swap
// has transposed C).
struct Bias {
  const float* data;
  int64_t rs, cs;
  Bias shifted(int64_t i, int64_t j) const { return {data + i * rs + j * cs, rs, cs}; }
};

// One block of C: C[0:mc, 0:nc] = alpha · A · B + beta · C[0:mc, 0:nc] (+ bias, when not null), where
//   packed_a: (mc × kc) packed by pack_panels with width MR
//   b: (kc × nc) as NR-column micro-panels: panel q at b + q * b_panel_step, its row p at
//      + p * b_rs (packed: b_panel_step = NR * kc, b_rs = NR; read in place: NR and B's row stride)
//   c: element (i, j) at c[i * rs_c + j * cs_c]; cs_c != 1 goes through a stack tile
//   bias: written into each tile right before its micro-kernel runs (then with beta 1), so
//      the tile is in L1 when the micro-kernel reads it back
void macro_kernel(const GemmKernel& kernel, int64_t mc, int64_t nc, int64_t kc, float alpha, const float* packed_a,
                  const float* b, int64_t b_panel_step, int64_t b_rs, float beta, float* c, int64_t rs_c,
                  int64_t cs_c, const Bias* bias = nullptr);

// ⌈value / divisor⌉ for value ≥ 0, divisor > 0: blocks of `divisor` covering `value`.
inline int64_t ceil_div(int64_t value, int64_t divisor) { return (value + divisor - 1) / divisor; }

// value rounded up to a multiple of `multiple` (> 0).
inline int64_t round_up(int64_t value, int64_t multiple) { return ceil_div(value, multiple) * multiple; }

// Rows per row block of an m-row product: M in as few blocks of at most MC rows as it takes,
// of near-equal height (a multiple of MR), and an even count when there are several, so two
// threads get the same work. A function of M only: the tiles, and so the rounding, do not
// depend on the thread count.
inline int64_t row_block_height(const BlockSizes& blocks, int64_t m) {
  const int64_t count = ceil_div(m, blocks.mc);
  return round_up(ceil_div(m, count > 1 ? round_up(count, 2) : 1), blocks.mr);
}

// Row blocks per thread below which a threaded nest has too few row blocks to go round (load
// balance on a machine where a helper may be descheduled; see parallel_for_balanced) and cuts
// the columns into slabs too (gemm.cc, bf16_nest.h).
constexpr int64_t kRowBlocksPerThread = 4;

// Whether a threaded m × n product (row_blocks row blocks) is better cut into column parts,
// one per thread, each a whole 1-thread nest over its columns of B and C (packing its own B
// panels and all of A), than run as one nest whose threads share the packed B panel (and,
// with few row blocks, A). Threads that share no cache (this machine's two vCPUs sit on
// different core complexes: a cache line crosses between them in ~470 ns) pay for every
// packed block one packs and the other reads; column parts share nothing, at the price of A
// packed once per thread. That price is small when A is no larger than B (m <= n), and is
// paid anyway when there are too few row blocks to go round. Each part is at least NR wide.
// Measured (Zen 5 VM, 2 threads, C++ harness on sgemm, medians of two alternating runs,
// column parts vs shared nest, GF/s; 1 thread ~190): 192³ 337 vs 192, 256³ 351 vs 264, 512³
// 370 vs 313, 1024³ 365 vs 353, 2048³ 367 vs 357, 4096³ 373 vs 366, 128×2048×512 (m×n×k) 361
// vs 262, 256×4096×4096 333 vs 294, 32×256×1024 274 vs 201, 576×64×4096 277 vs 190; tall
// products lose (4096×256×4096 272 vs 330, 2048×128×2048 266 vs 323, 4096×64×1024 208 vs 290),
// so they keep the shared nest.
inline bool column_parts_pay(const BlockSizes& blocks, int64_t m, int64_t n, int64_t row_blocks, int64_t threads) {
  if (threads < 2 || n < threads * blocks.nr) return false;
  return m <= n || row_blocks < kRowBlocksPerThread * threads;
}

// Columns per part when n columns are cut into `parts` column parts: a multiple of NR, so the
// micro-tiles fall where one nest over all the columns puts them.
inline int64_t column_part_width(const BlockSizes& blocks, int64_t n, int64_t parts) {
  return round_up(ceil_div(n, parts), blocks.nr);
}

}  // namespace kiln::gemm
