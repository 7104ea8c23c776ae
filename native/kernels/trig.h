// Vectorized float32 sin, cos and tan: the argument is reduced by multiples of π/2 and the
// polynomials are evaluated in double, so results are within about half an ulp of the exact
// value. Arguments beyond kTrigReductionLimit (and ±Infinity, NaN) take the scalar libm path.
#pragma once

#include <cstdint>

namespace kiln {

enum class TrigFunction : int32_t { Sin = 0, Cos = 1, Tan = 2 };

// x, out: (n)
void trig(TrigFunction function, const float* x, float* out, int64_t n);

}  // namespace kiln
