// float32 values rounded to bfloat16 precision and kept as float32: the casts autocast inserts
// around its bfloat16 products (lib/autocast.ts). The bit-level conversions themselves
// (bf16_to_float, float_to_bf16) live with the bfloat16 GEMM in gemm/gemm_bf16.h.
#pragma once

#include <cstdint>

namespace kiln {

// out[i] = x[i] rounded to the nearest bfloat16, ties to even (a carry may reach ±Infinity),
// as a float32; NaN stays NaN (quiet). x: (n); out: (n), may be x.
void round_to_bfloat16_values(const float* x, float* out, int64_t n);

}  // namespace kiln
