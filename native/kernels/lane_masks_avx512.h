// Masks of the first lanes of a zmm register, for the AVX-512 kernels' partial loads and stores
// (GEMM micro-kernels and packs, the int8 kernels). Include it after the file's AVX-512 target
// pragma: its functions take that target. They have internal linkage (an unnamed namespace), so
// each file keeps its own copy, compiled for its own target.
#pragma once

#include <cstdint>
#include <immintrin.h>

namespace kiln {
namespace {

// The first `count` of 16 lanes of 32 bits; count may be <= 0 or >= 16.
inline __mmask16 first_lanes(int64_t count) {
  if (count <= 0) return 0;
  return count >= 16 ? __mmask16(0xffff) : __mmask16((1u << count) - 1);
}

// The first `count` of 32 lanes of 16 bits; count may be <= 0 or >= 32.
inline __mmask32 first_halves(int64_t count) {
  if (count <= 0) return 0;
  return count >= 32 ? __mmask32(0xffffffffu) : __mmask32((1u << count) - 1);
}

}  // namespace
}  // namespace kiln
