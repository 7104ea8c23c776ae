// Cumulative sums and products along one axis of a block seen as (outer, n, inner).
#pragma once

#include <cstdint>

namespace kiln {

// Op codes: the numeric values must match ScanOp in lib/backend/backend.ts.
enum class ScanOp : int32_t { Sum = 0, Prod = 1 };
constexpr int32_t kScanOpCount = 2;

// x, out: (outer, n, inner); out[o, j, i] = x[o, 0, i] op … op x[o, j, i], accumulated in
// double (as PyTorch's CPU cumsum / cumprod) and rounded once per output.
void scan(ScanOp op, const float* x, float* out, int64_t outer, int64_t n, int64_t inner);

}  // namespace kiln
