// gemm_bf16: the BLIS loop nest of bf16_nest.h for bfloat16 operands, FP32 accumulation, on
// either path (gemm_bf16.h), which differ in their packing and kernel:
//   - PairPath: bfloat16 panels in pairs of depths (PackPairs), the AVX512-BF16 kernel;
//   - WidenPath: float32 panels widened from bfloat16 (one shift per element while packing,
//     which reads each element once per block anyway), the FP32 macro- and micro-kernels.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../cpu.h"
#include "../parallel.h"
#include "bf16_nest.h"
#include "gemm_bf16.h"
#include "internal.h"

namespace kiln {
namespace {

using gemm::BlockSizes;
using gemm::Bf16PairKernel;
using gemm::GemmKernel;

using Bf16Operand = gemm::bf16::StridedOperand<uint16_t>;
using gemm::bf16::grown;

// Widening to float32 for an FP32 kernel: panels of kc steps.
struct WidenPath {
  using Source = uint16_t;
  using Element = float;
  const GemmKernel& kernel;

  const BlockSizes& blocks() const { return kernel.blocks; }
  static int64_t padded_depth(int64_t kc) { return kc; }

  // Packs `lanes` lanes of `src` (lane l at src + l * lane_stride, depth step depth_stride)
  // into panels of `width`.
  void pack(const uint16_t* src, int64_t lane_stride, int64_t depth_stride, int64_t lanes, int64_t depth, int width,
            float* dst) const {
    static thread_local std::vector<float> t_staging;  // this thread's widening staging (width × KC)
    float* staging = grown(t_staging, int64_t{width} * depth);
    gemm::pack_panels_bf16(kernel, src, lane_stride, depth_stride, lanes, depth, width, dst, staging);
  }

  // C (mc × cols, row stride ldc) = A · B, or += when accumulate.
  void multiply(int64_t mc, int64_t cols, int64_t kc, const float* packed_a, const float* packed_b, float* c,
                int64_t ldc, bool accumulate) const {
    gemm::macro_kernel(kernel, mc, cols, kc, 1.0f, packed_a, packed_b, int64_t{kernel.blocks.nr} * kc, kernel.blocks.nr,
                       accumulate ? 1.0f : 0.0f, c, ldc, 1);
  }
};

// The path of gemm_bf16 (set_gemm_bf16_path), from KILN_GEMM_BF16 at first use.
std::atomic<Bf16Path>& chosen_path() {
  static std::atomic<Bf16Path> path{[] {
    const char* requested = std::getenv("KILN_GEMM_BF16");
    return requested != nullptr && std::strcmp(requested, "widen") == 0 ? Bf16Path::kWiden : Bf16Path::kPairs;
  }()};
  return path;
}

}  // namespace

namespace gemm {

// Needs avx512_bf16, and runs only beside sgemm's AVX-512 kernel, so that a narrower KILN_ISA
// or set_gemm_isa keeps AVX-512 out of gemm_bf16 too.
const Bf16PairKernel* bf16_pair_kernel() {
#if defined(__x86_64__) || defined(_M_X64)
  if (chosen_path().load(std::memory_order_relaxed) == Bf16Path::kWiden || !cpu_features().avx512_bf16) return nullptr;
  if (std::strcmp(gemm::current_kernel().name, gemm::kAvx512Kernel.name) != 0) return nullptr;
  static const Bf16PairKernel sized = [] {
    const CacheSizes& caches = cache_sizes();
    Bf16PairKernel kernel = gemm::kAvx512Bf16Kernel;
    kernel.blocks = gemm::derive_blocks(kernel.rule, caches.l1d, caches.l2, caches.l3);
    return kernel;
  }();
  return &sized;
#else
  return nullptr;
#endif
}

}  // namespace gemm

void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda,
               const uint16_t* b, int64_t ldb, float* c, int64_t ldc, bool threaded) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    return;
  }
  const Bf16Operand a_view = trans_a ? Bf16Operand{a, 1, lda} : Bf16Operand{a, lda, 1};
  const Bf16Operand b_view = trans_b ? Bf16Operand{b, 1, ldb} : Bf16Operand{b, ldb, 1};
  if (const Bf16PairKernel* kernel = gemm::bf16_pair_kernel()) {
    const gemm::bf16::PairPath<uint16_t> path{*kernel, kernel->pack_pairs};
    gemm::bf16::run_product(path, m, n, k, a_view, b_view, c, ldc, false, threaded);
  } else {
    const WidenPath path{gemm::current_kernel()};
    gemm::bf16::run_product(path, m, n, k, a_view, b_view, c, ldc, false, threaded);
  }
}

void set_gemm_bf16_path(Bf16Path path) { chosen_path().store(path, std::memory_order_relaxed); }

const char* gemm_bf16_kernel_name() {
  const Bf16PairKernel* kernel = gemm::bf16_pair_kernel();
  return kernel != nullptr ? kernel->name : gemm::current_kernel().name;
}

}  // namespace kiln
