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
// Vec8 and Vec16 as template arguments (kernels written for both widths) lose their aligned(4)
// attribute: inside those templates vectors are only locals, filled and spilled through
// load_vec / store_vec (memcpy), so the attribute would change nothing there.
#pragma GCC diagnostic ignored "-Wignored-attributes"
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

// Vec8: 8 floats, one ymm register on AVX2 (two xmm on the baseline). Kernels that keep many
// accumulators take Vec8 where AVX-512 is missing: there a Vec16 is a pair of ymm registers,
// GCC moves its halves through the stack, and 16 of them no longer fit in 16 ymm registers.
typedef float Vec8 __attribute__((vector_size(32), aligned(4)));
KILN_VEC_INLINE Vec8 keep_first(Vec8 v, int64_t n) {
  typedef int32_t Int8 __attribute__((vector_size(32), aligned(4)));
  const Int8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
  const Int8 keep = lane < static_cast<int32_t>(n);
  return (Vec8)((Int8)v & keep);
}

// The same helpers for kernels written once for either width (V = Vec8 or Vec16).
template <typename V>
constexpr int kLanes = static_cast<int>(sizeof(V) / sizeof(float));
template <typename V>
KILN_VEC_INLINE V load_vec(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename V>
KILN_VEC_INLINE void store_vec(float* p, V v) {
  std::memcpy(p, &v, sizeof v);
}
// Lanes summed in order (sum_lanes<Vec16> is sum16).
template <typename V>
KILN_VEC_INLINE float sum_lanes(V v) {
  float sum = 0.0f;
  for (int l = 0; l < kLanes<V>; ++l) sum += v[l];
  return sum;
}
}  // namespace kiln
#else
#define KILN_HAS_VEC16 0
#endif

// GCC 12+ and Clang have __builtin_shufflevector: in-register transposes and lane permutes.
#if KILN_HAS_VEC16 && (defined(__clang__) || __GNUC__ >= 12)
#define KILN_HAS_SHUFFLE 1
namespace kiln {
// The interleave of a's and b's lanes, a[0], b[0], a[1], b[1], ...: its first half, then its
// second.
KILN_VEC_INLINE Vec16 interleave_low(Vec16 a, Vec16 b) {
  return __builtin_shufflevector(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
}
KILN_VEC_INLINE Vec16 interleave_high(Vec16 a, Vec16 b) {
  return __builtin_shufflevector(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
}
KILN_VEC_INLINE Vec8 interleave_low(Vec8 a, Vec8 b) { return __builtin_shufflevector(a, b, 0, 8, 1, 9, 2, 10, 3, 11); }
KILN_VEC_INLINE Vec8 interleave_high(Vec8 a, Vec8 b) { return __builtin_shufflevector(a, b, 4, 12, 5, 13, 6, 14, 7, 15); }

// Lanes l of even and odd = p[2l] and p[2l + 1], from 2 · lanes consecutive floats.
KILN_VEC_INLINE void split_pairs(const float* p, Vec16* even, Vec16* odd) {
  const Vec16 a = load16(p), b = load16(p + 16);
  *even = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  *odd = __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
}
KILN_VEC_INLINE void split_pairs(const float* p, Vec8* even, Vec8* odd) {
  const Vec8 a = load_vec<Vec8>(p), b = load_vec<Vec8>(p + 8);
  *even = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
  *odd = __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
}
}  // namespace kiln
#else
#define KILN_HAS_SHUFFLE 0
#endif
