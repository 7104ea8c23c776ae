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
  int mc;      // rows of A packed at once (multiple of MR): the MC × KC block stays in L2
  int nc;      // columns of B packed at once (multiple of NR): the KC × NC panel stays in L3
};

// Block sizes per instruction set, tuned on a 2-core AMD Zen 4 (32 KiB L1d, 1 MiB L2, 32 MiB
// L3). The AVX-512 ones were measured (KC 192..768, MC 96..288, NC 1024..4096); the others
// are first guesses, not tuned yet.
constexpr BlockSizes kAvx512Blocks{12, 32, 512, 144, 1024};
constexpr BlockSizes kAvx2Blocks{6, 16, 256, 144, 4096};
constexpr BlockSizes kNeonBlocks{8, 8, 256, 128, 4096};
constexpr BlockSizes kScalarBlocks{4, 8, 256, 128, 2048};

// The largest MR × NR of any kernel (for stack tiles).
constexpr int kMaxTile = 16 * 32;

struct GemmKernel {
  const char* name;  // "avx512", "avx2", "neon", "scalar"
  BlockSizes blocks;
  MicroKernel micro;
  PackLanes pack_lanes;  // a SIMD transposing pack, or nullptr for the portable one
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
