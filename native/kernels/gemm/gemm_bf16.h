// bfloat16 GEMM with FP32 compute: bfloat16 operands (bit patterns, the top half of a
// float32) are widened to float32 while they are packed, so the FP32 micro-kernels of every
// instruction set run unchanged and accumulate in FP32. This is the "FP32 compute with BF16
// storage" path of issue 20; a vdpbf16ps (AVX512-BF16) kernel is not built (no CPU here runs it).
//
// Error of one output element c = Σ_p a_p·b_p (a, b exact bfloat16 values, products exact in
// float32, K terms): FP32 accumulation adds at most γ_K·Σ|a_p·b_p| with γ_K ≈ K·2⁻²⁴ (in
// practice ≈ √K·2⁻²⁴), and rounding the result to bfloat16 adds at most 2⁻⁸·|c| (half an
// ulp of an 8-bit significand). test_gemm_bf16 checks both bounds against an FP64 oracle.
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
// threaded: split the product over the thread pool above 2 MFLOP.
void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda,
               const uint16_t* b, int64_t ldb, float* c, int64_t ldc, bool threaded = true);

namespace gemm {

// Widens `count` bfloat16 values to float32: dst[i] = bf16_to_float(src[i]).
using WidenBf16 = void (*)(const uint16_t* src, int64_t count, float* dst);
#if defined(__x86_64__) || defined(_M_X64)
extern const WidenBf16 kWidenBf16Avx2;  // pack_bf16_avx2.cc
#endif

// pack_panels (internal.h) of a bfloat16 strip, widened to float32 on the way: element (l, p)
// at src[l * lane_stride + p * depth_stride] lands at dst[(l / width) * width * depth +
// p * width + l % width], zeros past `lanes`. staging: width · depth floats of scratch.
void pack_panels_bf16(const GemmKernel& kernel, const uint16_t* src, int64_t lane_stride, int64_t depth_stride,
                      int64_t lanes, int64_t depth, int width, float* dst, float* staging);

}  // namespace gemm
}  // namespace kiln
