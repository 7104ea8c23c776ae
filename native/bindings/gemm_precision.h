// The gemmPrecision argument of the product bindings (matmul, conv2d and its gradients):
// 'float32' runs sgemm, 'bfloat16' sgemm_bf16 (gemm/gemm_bf16_compute.h), the GEMMs of
// autocast('bfloat16'). Read on the JS thread with the other arguments, so the choice travels
// with the kernel call to whichever thread runs it (kiln.async's libuv thread included).
#pragma once

#include "../kernels/gemm/gemm_bf16_compute.h"
#include "args.h"

namespace kiln::bindings {

inline GemmPrecision read_gemm_precision(Args& args, size_t index) {
  return args.choice(index, "gemmPrecision", {"float32", "bfloat16"}) == 1 ? GemmPrecision::kBFloat16
                                                                           : GemmPrecision::kFloat32;
}

}  // namespace kiln::bindings
