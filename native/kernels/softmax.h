// Softmax and log-softmax along n of a block seen as (outer, n, inner), forward and backward.
#pragma once

#include <cstdint>

namespace kiln {

// x, out: (outer, n, inner). Stable: the max along n is subtracted first.
// log ? out = x - max - log(Σ exp(x - max)) : out = exp(x - max) / Σ exp(x - max)
void softmax_forward(const float* x, float* out, int64_t outer, int64_t n, int64_t inner, bool log);

// y (the forward output), gy, gx: (outer, n, inner). Sums run along n.
// softmax: gx = y · (gy − Σ gy·y);  log-softmax: gx = gy − exp(y) · Σ gy
void softmax_backward(const float* y, const float* gy, float* gx, int64_t outer, int64_t n, int64_t inner,
                      bool log);

}  // namespace kiln
