// AVX2 widening of bfloat16 to float32 (8 values per step: zero-extend to 32 bits, shift left
// by 16), used by the bfloat16 packs (pack_bf16.cc).
#include "gemm_bf16.h"

#if defined(__x86_64__) || defined(_M_X64)

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx2,fma")
#endif

#include <immintrin.h>

namespace kiln::gemm {
namespace {

void widen_bf16_avx2(const uint16_t* src, int64_t count, float* dst) {
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m128i halves = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    const __m256i words = _mm256_slli_epi32(_mm256_cvtepu16_epi32(halves), 16);
    _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(words));
  }
  for (; i < count; ++i) dst[i] = bf16_to_float(src[i]);
}

}  // namespace

const WidenBf16 kWidenBf16Avx2 = widen_bf16_avx2;

}  // namespace kiln::gemm

#if defined(__clang__)
#pragma clang attribute pop
#endif

#endif  // x86-64
