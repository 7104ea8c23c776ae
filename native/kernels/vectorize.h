// KILN_VECTORIZE marks the hot loops of a kernel: on x86-64 Linux with GCC they are compiled
// three times (AVX-512, AVX2 + FMA, baseline x86-64) and the loader picks the best the CPU
// runs, so plain loops vectorize to the machine's width while the binary stays portable.
// Elsewhere it is empty (baseline code). Mark functions that do a whole row or plane of work,
// never tiny helpers: a clone is not inlined into its caller.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define KILN_VECTORIZE __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define KILN_VECTORIZE
#endif

// Vec16: 16 floats as one value (a zmm register on AVX-512, two ymm on AVX2, four xmm on the
// baseline), for kernels that keep accumulators in registers. GCC and Clang only; elsewhere
// KILN_HAS_VEC16 is 0 and convolutions take the GEMM and row kernels.
#if defined(__GNUC__)
#define KILN_HAS_VEC16 1
#include <cstdint>
#include <cstring>
// Vec16 values cross no ABI boundary: the helpers below are always inlined (also at -O0,
// where a plain `inline` helper would be one out-of-line copy called from clones built for
// other ISAs, with a different calling convention for Vec16), so GCC's note that their
// passing convention differs between the AVX-512 and baseline clones does not apply.
#define KILN_VEC_INLINE __attribute__((always_inline)) inline
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
namespace kiln {
typedef float Vec16 __attribute__((vector_size(64), aligned(4)));
KILN_VEC_INLINE Vec16 load16(const float* p) {
  Vec16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
KILN_VEC_INLINE void store16(float* p, Vec16 v) { std::memcpy(p, &v, sizeof v); }
// v with lanes n and above set to 0 (a blend, not 0 · v, so Inf and NaN there vanish too).
KILN_VEC_INLINE Vec16 keep_first(Vec16 v, int64_t n) {
  typedef int32_t Int16 __attribute__((vector_size(64), aligned(4)));
  const Int16 lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const Int16 keep = lane < static_cast<int32_t>(n);  // all bits set in the lanes kept
  return (Vec16)((Int16)v & keep);
}
KILN_VEC_INLINE float sum16(Vec16 v) {
  float sum = 0.0f;
  for (int l = 0; l < 16; ++l) sum += v[l];
  return sum;
}
}  // namespace kiln
#else
#define KILN_HAS_VEC16 0
#endif

// GCC 12+ and Clang have __builtin_shufflevector: in-register transposes and lane permutes.
#if KILN_HAS_VEC16 && (defined(__clang__) || __GNUC__ >= 12)
#define KILN_HAS_SHUFFLE 1
#else
#define KILN_HAS_SHUFFLE 0
#endif
