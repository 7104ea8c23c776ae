// GEMM internals shared by the loop nest and the micro-kernels: the micro-kernel contract and
// the block sizes of every instruction set, in one place.
//
// Naming follows BLIS: the micro-kernel computes an MR × NR tile of C; the macro-kernel an
// MC × NC block from a packed (MC × KC) block of A and a (KC × NC) panel of B.
#pragma once

#include <cstdint>

namespace kiln::gemm {

// The micro-kernel: c[0:rows, 0:cols] = alpha · (a · b) + beta · c[0:rows, 0:cols].
//   a: packed A micro-panel, kc steps of MR floats: A(i, p) = a[p * MR + i], i < MR
//   b: B micro-panel, kc rows of NR floats: B(p, j) = b[p * b_rs + j], j < NR
//      (b_rs = NR when packed; the row stride of B itself when read in place)
//   c: (rows, cols) tile, row i at c + i * ldc, unit column stride
//   1 <= rows <= MR, 1 <= cols <= NR; beta == 0 never reads c (NaN in c does not leak).
using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, int64_t b_rs, float* c, int64_t ldc,
                             int rows, int cols, float alpha, float beta);

// Packs one panel whose n <= width lanes are each contiguous along the depth (lane l at
// src + l * lane_stride): dst[p * width + l] = src[l * lane_stride + p], zeros for l >= n.
using PackLanes = void (*)(const float* src, int64_t lane_stride, int64_t n, int64_t depth, int width, float* dst);

struct BlockSizes {
  int mr, nr;  // micro-tile (registers)
  int kc;      // depth of one packed block: each C tile is read and written once per KC steps
  int mc;      // rows of A per block of the macro-kernel (multiple of MR): MC × KC stays in L2
  int nc;      // columns of B packed at once (multiple of NR): the KC × NC panel stays in L3
};

// How an instruction set sizes its blocks from the caches: its micro-tile, and the share of
// each cache level one packed operand may take (see derive_blocks).
struct BlockRule {
  int mr, nr;
  double l1_share;  // of L1d for one B micro-panel (KC × NR), streamed against A micro-panels
                    // (above 1 when the panel streams from L2, as on AVX-512)
  double l2_share;  // of L2 for one packed A block (MC × KC), reused by every B micro-panel
  double l3_share;  // of L3 for the packed B panel (KC × NC), shared by the threads
  int element_bytes = 4;  // of one packed operand element: 4 for float32, 2 for bfloat16
};

// `value` clamped to [low, high], then rounded down to a multiple of `multiple` (low is one).
constexpr int64_t round_down_clamped(double value, int multiple, int64_t low, int64_t high) {
  const int64_t clamped = value < low ? low : value > high ? high : static_cast<int64_t>(value);
  return clamped / multiple * multiple;
}

// The block sizes of `rule` on a CPU with these data caches (bytes: L1d and L2 per core, L3 as
// reported), E = rule.element_bytes (4 for float32):
//   KC = l1_share · L1d / (E · NR), a multiple of 16 in [64, 4096 / E] (1024 floats)
//   MC = l2_share · L2 / (E · KC),  a multiple of MR in [MR, 1024]
//   NC = l3_share · L3 / (E · KC),  a multiple of NR in [NR, 8192]
// so a rule's shares fix the bytes each packed operand takes, whatever its element size.
// The shares were measured (docs/ARCHITECTURE.md, "GEMM blocking"): on the Zen 5 VM
// (48 KiB L1d, 1 MiB L2, L3 capped at 64 MiB: cpu.h, kMaxL3) the AVX-512 rule gives KC 1024,
// MC 96, NC 1024, the sizes measured best there; on the Zen 3 VM (32 KiB, 512 KiB, 32 MiB) the AVX2 rule gives
// KC 256, MC 384, NC 4096.
constexpr BlockSizes derive_blocks(const BlockRule& rule, long long l1d, long long l2, long long l3) {
  const double bytes = rule.element_bytes;
  const int kc = static_cast<int>(round_down_clamped(rule.l1_share * l1d / (bytes * rule.nr), 16, 64, 4096 / rule.element_bytes));
  const int mc = static_cast<int>(round_down_clamped(rule.l2_share * l2 / (bytes * kc), rule.mr, rule.mr, 1024));
  const int nc = static_cast<int>(round_down_clamped(rule.l3_share * l3 / (bytes * kc), rule.nr, rule.nr, 8192));
  return {rule.mr, rule.nr, kc, mc, nc};
}

// The rules per instruction set. AVX-512 and AVX2 were measured (see derive_blocks); NEON and
// the portable kernel are first guesses that reproduce their former fixed sizes on the
// fallback caches (32 KiB, 512 KiB, 8 MiB), not tuned.
constexpr BlockRule kAvx512Rule{12, 32, 8.0 / 3, 3.0 / 8, 1.0 / 16};
constexpr BlockRule kAvx2Rule{6, 16, 0.5, 3.0 / 4, 1.0 / 8};
constexpr BlockRule kNeonRule{8, 8, 0.25, 0.25, 0.5};
constexpr BlockRule kScalarRule{4, 8, 0.25, 0.25, 0.25};
// The AVX512-BF16 kernel of gemm_bf16 (micro_avx512_bf16.cc): the AVX-512 tile and shares on
// bfloat16 panels, so each level holds the same bytes as the FP32 kernel's at twice the depth.
// Measured on the Zen 5 VM, 2048³ at 1 thread (medians of 3 alternating passes): KC 2048
// (MC 96 or 48, NC 1024-2048) ~410 GF/s against ~390 for KC 1024 or 1536, and 2 threads
// 765-785 against 725-732 for the former KC 1024, MC 72, NC 1024. With L3 capped at 64 MiB
// (NC 2048 → 1024, C++ harness, alternating in one process): 2048³ +4.6% and 4096³ +3.5% at
// 1 thread, 4096³ +3.6% at 2 (2048³ unchanged: each thread's column part is 1024 wide).
constexpr BlockRule kAvx512Bf16Rule{12, 32, 8.0 / 3, 3.0 / 8, 1.0 / 16, 2};

// The largest MR × NR of any kernel (for stack tiles).
constexpr int kMaxTile = 16 * 32;

// Merges a (rows × cols) tile the micro-kernel wrote (row stride NR) into C stored transposed:
// c[i + j · ldc] = alpha · tile(i, j) + beta · c[i + j · ldc] (+ row_bias[i] when not null),
// rounded as the micro-kernel rounds the same tile stored in place. beta == 0 never reads c.
using MergeTransposed = void (*)(const float* tile, int rows, int cols, float alpha, float beta,
                                 const float* row_bias, float* c, int64_t ldc);

struct GemmKernel {
  const char* name;  // "avx512", "avx2", "neon", "scalar"
  BlockRule rule;
  MicroKernel micro;
  PackLanes pack_lanes;  // a SIMD transposing pack, or nullptr for the portable one
  MergeTransposed merge_transposed = nullptr;  // a SIMD one, or nullptr for the portable merge
  BlockSizes blocks{};   // derive_blocks(rule, this CPU's caches): set by dispatch.cc
};

// One per instruction set; each is defined only in builds whose target can run it.
extern const GemmKernel kScalarKernel;  // micro_ref.cc
#if defined(__x86_64__) || defined(_M_X64)
extern const GemmKernel kAvx2Kernel;    // micro_avx2.cc
extern const PackLanes kPackLanesAvx2;  // pack_avx2.cc
extern const GemmKernel kAvx512Kernel;  // micro_avx512.cc
extern const PackLanes kPackLanesAvx512;  // pack_avx512.cc
#endif
#if defined(__aarch64__) || defined(_M_ARM64)
extern const GemmKernel kNeonKernel;  // micro_neon.cc
#endif

}  // namespace kiln::gemm
