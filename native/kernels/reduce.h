// Reductions along one axis of a block seen as (outer, n, inner).
#pragma once

#include <cstdint>

namespace kiln {

// Op codes: the numeric values must match ReduceOp in lib/backend/backend.ts.
// Max and Min propagate NaN.
enum class ReduceOp : int32_t { Sum = 0, Max = 1, Min = 2 };
constexpr int32_t kReduceOpCount = 3;

// x: (outer, n, inner), out: (outer, inner)
// For n = 0: sum gives 0, max -Infinity, min +Infinity.
void reduce(ReduceOp op, const float* x, float* out, int64_t outer, int64_t n, int64_t inner);

// x: (outer, n, inner), values and indices: (outer, inner); op is Max or Min, n >= 1.
// Ties give the first index; a NaN counts as the extreme and its first occurrence wins.
void arg_reduce(ReduceOp op, const float* x, float* values, int32_t* indices, int64_t outer, int64_t n,
                int64_t inner);

}  // namespace kiln
