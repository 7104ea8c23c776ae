// bfloat16 GEMM with FP32 accumulation, two ways (issue 20):
//   - AVX512-BF16 (where cpuid reports avx512_bf16 and sgemm runs its AVX-512 kernel): the
//     operands stay bfloat16 and are packed in pairs of adjacent depths, and vdpbf16ps adds
//     two products per FP32 lane, twice the multiply-adds of an FP32 FMA (micro_avx512_bf16.cc);
//   - everywhere else, "FP32 compute with BF16 storage": the operands are widened to float32
//     while they are packed, and the FP32 micro-kernels of every instruction set run unchanged.
//
// Error of one output element c = Σ_p a_p·b_p (a, b exact bfloat16 values, products exact in
// float32, K terms): FP32 accumulation adds at most γ_K·Σ|a_p·b_p| with γ_K ≈ K·2⁻²⁴ (in
// practice ≈ √K·2⁻²⁴), and rounding the result to bfloat16 adds at most 2⁻⁸·|c| (half an
// ulp of an 8-bit significand). vdpbf16ps rounds after each of its two additions (to nearest
// even), so the bound is the same; it also treats subnormal inputs and results as zero (as
// the BF16 kernels of PyTorch's oneDNN), which the widening path does not. test_gemm_bf16
// checks both bounds against an FP64 oracle, on both paths.
#pragma once

#include <cstdint>
#include <cstring>

#include "config.h"

namespace kiln {

// The float32 value of bfloat16 bits `h` (exact: a 16-bit shift).
inline float bf16_to_float(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// The bfloat16 nearest to `value`, ties to even (overflow to ±Inf); NaN gives 0xFFFF, the
// NaN lib/half.ts writes.
inline uint16_t float_to_bf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return 0xffff;
  return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

// dst[i] = float_to_bf16(src[i]) for i < count.
void round_to_bf16(const float* src, int64_t count, uint16_t* dst);

// C = op(A) · op(B), A and B bfloat16, FP32 accumulation, C float32 (overwritten, never read).
//   op(A): (m, k); A stored (m, k) with row stride lda, or (k, m) when trans_a
//   op(B): (k, n); B stored (k, n) with row stride ldb, or (n, k) when trans_b
//   C: (m, n) with row stride ldc
// threaded: split the product over the thread pool above 16 MFLOP (bf16_nest.h).
void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda,
               const uint16_t* b, int64_t ldb, float* c, int64_t ldc, bool threaded = true);

// How gemm_bf16 computes. kPairs: the AVX512-BF16 kernel when this CPU has avx512_bf16 and
// sgemm's instruction set is AVX-512 (set_gemm_isa, KILN_ISA), else widening; kWiden: always
// widening, the path of every other CPU. The default is kPairs, or kWiden when the
// environment has KILN_GEMM_BF16=widen.
enum class Bf16Path { kPairs, kWiden };

// Chooses the path of every later gemm_bf16 call (process-wide; for tests and benchmarks).
void set_gemm_bf16_path(Bf16Path path);

// The kernel gemm_bf16 runs now: "avx512_bf16", or the name of the FP32 kernel it widens for
// ("avx512", "avx2", …).
const char* gemm_bf16_kernel_name();

namespace gemm {

// Widens `count` bfloat16 values to float32: dst[i] = bf16_to_float(src[i]).
using WidenBf16 = void (*)(const uint16_t* src, int64_t count, float* dst);
#if defined(__x86_64__) || defined(_M_X64)
extern const WidenBf16 kWidenBf16Avx2;  // pack_bf16_avx2.cc
#endif

// Packs one panel of n <= width lanes of a bfloat16 strip in pairs of depths, the layout of the
// AVX512-BF16 kernel: element (l, p), at src[l * lane_stride + p * depth_stride], lands at
//   dst[(p / 2) · 2·width + 2·l + p % 2]
// (each step of the panel holds every lane's values at depths p, p+1 side by side), with zeros
// for lanes l >= n and, when the depth is odd, for the missing partner of the last value:
// ⌈depth / 2⌉ · 2·width values in all.
using PackPairs = void (*)(const uint16_t* src, int64_t lane_stride, int64_t depth_stride, int64_t n, int64_t depth,
                           int width, uint16_t* dst);

// The AVX512-BF16 micro-kernel: c[0:rows, 0:cols] = a · b, plus c[0:rows, 0:cols] when
// `accumulate` (else c is never read), where
//   a: an MR-row panel of PackPairs, `pairs` = ⌈kc / 2⌉ steps of 2·MR values
//   b: an NR-column panel of PackPairs, `pairs` steps of 2·NR values
//   c: (rows, cols) tile, row i at c + i * ldc; 1 <= rows <= MR, 1 <= cols <= NR.
using PairMicroKernel = void (*)(int64_t pairs, const uint16_t* a, const uint16_t* b, float* c, int64_t ldc, int rows,
                                 int cols, bool accumulate);

struct Bf16PairKernel {
  const char* name;
  BlockRule rule;  // rule.element_bytes = 2
  PairMicroKernel micro;
  PackPairs pack_pairs;
  BlockSizes blocks{};  // derive_blocks(rule, this CPU's caches): set where it is chosen
};

#if defined(__x86_64__) || defined(_M_X64)
extern const PackPairs kPackPairsAvx512;          // pack_bf16_avx512.cc
extern const Bf16PairKernel kAvx512Bf16Kernel;  // micro_avx512_bf16.cc
#endif

// The AVX512-BF16 kernel sized for this CPU's caches, or nullptr where gemm_bf16 widens (no
// avx512_bf16, KILN_GEMM_BF16=widen or set_gemm_bf16_path(kWiden), sgemm below AVX-512).
const Bf16PairKernel* bf16_pair_kernel();

// pack_panels (internal.h) of a bfloat16 strip, widened to float32 on the way: element (l, p)
// at src[l * lane_stride + p * depth_stride] lands at dst[(l / width) * width * depth +
// p * width + l % width], zeros past `lanes`. staging: width · depth floats of scratch.
void pack_panels_bf16(const GemmKernel& kernel, const uint16_t* src, int64_t lane_stride, int64_t depth_stride,
                      int64_t lanes, int64_t depth, int width, float* dst, float* staging);

}  // namespace gemm
}  // namespace kiln
