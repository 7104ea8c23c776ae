// Batched matrix product of bfloat16 operands with FP32 accumulation (gemm/gemm_bf16.h), the
// native path of matmul on bfloat16 tensors and of autocast's products.
#pragma once

#include <cstdint>

#include "matmul.h"

namespace kiln {

// out[o, p] = op(a[o, p]) · op(b[o, p]) for o < s.outer, p < s.batch, overwriting out; the
// operand layout is matmul's (matmul.h; s.bias must be nullptr).
//   a, b: bfloat16 bit patterns
//   out: (outer, batch, m, n) contiguous, float32 (the FP32 sums) or bfloat16 (the sums
//        rounded to nearest, ties to even, as PyTorch's bfloat16 matmul)
void matmul_bf16(const uint16_t* a, const uint16_t* b, float* out, const MatmulShape& s);
void matmul_bf16(const uint16_t* a, const uint16_t* b, uint16_t* out, const MatmulShape& s);

}  // namespace kiln
