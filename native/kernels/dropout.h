// Elementwise dropout with a counter-based mask (counter_hash.h): element i of a tensor is kept
// when counter_keeps(seed, row = i >> 32, col = i mod 2³²), so its backward is the same call on
// the gradient with the same seed.
#pragma once

#include <cstdint>

namespace kiln {

// x, out: (n); out[i] = x[i]·keep_scale where element i is kept, else 0. out may equal x.
// Parallel over blocks of elements.
void dropout_forward(const float* x, float* out, int64_t n, uint32_t threshold, float keep_scale, uint64_t seed);

}  // namespace kiln
