// Counter-based dropout (see dropout.h). The mask loop is plain code marked KILN_VECTORIZE:
// the hash is 32-bit multiplies and shifts, eight lanes at a time on AVX2.
#include "dropout.h"

#include <algorithm>
#include <cmath>

#include "counter_hash.h"
#include "parallel.h"
#include "vectorize.h"

namespace kiln {
namespace {

// Elements [begin, end) of one row (same i >> 32): out[i] = x[i]·keep_scale or 0.
KILN_VECTORIZE void dropout_run(const float* x, float* out, int64_t begin, int64_t end, uint32_t row_key, uint64_t seed,
                                uint32_t threshold, float keep_scale) {
  for (int64_t i = begin; i < end; ++i) {
    out[i] = counter_keeps(row_key, seed, static_cast<uint32_t>(i), threshold) ? x[i] * keep_scale : 0.0f;
  }
}

}  // namespace

uint32_t counter_threshold(double p) { return static_cast<uint32_t>(std::llround(std::clamp(p, 0.0, 1.0) * 16777216.0)); }

void dropout_forward(const float* x, float* out, int64_t n, uint32_t threshold, float keep_scale, uint64_t seed) {
  constexpr int64_t kRow = int64_t{1} << 32;
  parallel_for_balanced(0, n, grain_for(4), [&](int64_t begin, int64_t end) {
    for (int64_t start = begin; start < end;) {
      const int64_t stop = std::min(end, (start / kRow + 1) * kRow);
      dropout_run(x, out, start, stop, counter_row_key(seed, static_cast<uint64_t>(start / kRow)), seed, threshold,
                  keep_scale);
      start = stop;
    }
  });
}

}  // namespace kiln
