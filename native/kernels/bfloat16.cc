// Rounding to bfloat16 precision (see bfloat16.h): integer operations on the float32 bits,
// marked KILN_VECTORIZE so the compiler runs eight (AVX2) or sixteen (AVX-512) lanes a step.
#include "bfloat16.h"

#include <cstring>

#include "parallel.h"
#include "vectorize.h"

namespace kiln {
namespace {

KILN_VECTORIZE void round_run(const float* x, float* out, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &x[i], sizeof bits);
    const uint32_t magnitude = bits & 0x7fffffffu;
    const uint32_t nearest = (bits + 0x7fffu + ((bits >> 16) & 1u)) & 0xffff0000u;
    const uint32_t quiet_nan = (bits | 0x00400000u) & 0xffff0000u;
    const uint32_t rounded = magnitude > 0x7f800000u ? quiet_nan : nearest;
    std::memcpy(&out[i], &rounded, sizeof rounded);
  }
}

}  // namespace

void round_to_bfloat16_values(const float* x, float* out, int64_t n) {
  parallel_for(0, n, grain_for(1), [&](int64_t begin, int64_t end) { round_run(x, out, begin, end); });
}

}  // namespace kiln
