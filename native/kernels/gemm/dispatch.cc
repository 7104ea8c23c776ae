// Run-time choice of the micro-kernel: the best instruction set this CPU runs (cpu.h), unless
// KILN_ISA or set_gemm_isa() asks for another supported one; its block sizes come from the
// cache sizes this CPU reports (config.h, derive_blocks).
#include "internal.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include "../cpu.h"
#include "gemm.h"

namespace kiln {
namespace {

// `kernel` with the block sizes of its rule on this CPU's caches.
gemm::GemmKernel sized_for_this_cpu(const gemm::GemmKernel& kernel) {
  const CacheSizes& caches = cache_sizes();
  gemm::GemmKernel sized = kernel;
  sized.blocks = gemm::derive_blocks(kernel.rule, caches.l1d, caches.l2, caches.l3);
  return sized;
}

// The kernel of `isa`, or nullptr when this build or CPU cannot run it.
const gemm::GemmKernel* kernel_for(GemmIsa isa) {
  const CpuFeatures& cpu = cpu_features();
  switch (isa) {
    case GemmIsa::kScalar: {
      static const gemm::GemmKernel scalar = sized_for_this_cpu(gemm::kScalarKernel);
      return &scalar;
    }
#if defined(__x86_64__) || defined(_M_X64)
    case GemmIsa::kAvx2: {
      if (!cpu.avx2_fma) return nullptr;
      static const gemm::GemmKernel avx2 = sized_for_this_cpu(gemm::kAvx2Kernel);
      return &avx2;
    }
    case GemmIsa::kAvx512: {
      if (!cpu.avx512) return nullptr;
      static const gemm::GemmKernel avx512 = sized_for_this_cpu(gemm::kAvx512Kernel);
      return &avx512;
    }
#endif
#if defined(__aarch64__) || defined(_M_ARM64)
    case GemmIsa::kNeon: {
      if (!cpu.neon) return nullptr;
      static const gemm::GemmKernel neon = sized_for_this_cpu(gemm::kNeonKernel);
      return &neon;
    }
#endif
    default:
      return nullptr;
  }
}

const gemm::GemmKernel* best_kernel() {
  for (GemmIsa isa : {GemmIsa::kAvx512, GemmIsa::kAvx2, GemmIsa::kNeon}) {
    if (const gemm::GemmKernel* kernel = kernel_for(isa)) return kernel;
  }
  return kernel_for(GemmIsa::kScalar);
}

// KILN_ISA's kernel when it names a supported one, else the best (with a warning if it named
// something else).
const gemm::GemmKernel* initial_kernel() {
  const char* requested = std::getenv("KILN_ISA");
  if (requested == nullptr || *requested == '\0') return best_kernel();
  const struct {
    const char* name;
    GemmIsa isa;
  } names[] = {{"avx512", GemmIsa::kAvx512}, {"avx2", GemmIsa::kAvx2}, {"neon", GemmIsa::kNeon}, {"scalar", GemmIsa::kScalar}};
  for (const auto& entry : names) {
    if (std::strcmp(requested, entry.name) != 0) continue;
    if (const gemm::GemmKernel* kernel = kernel_for(entry.isa)) return kernel;
  }
  const gemm::GemmKernel* fallback = best_kernel();
  std::fprintf(stderr, "kiln: KILN_ISA=%s is not available on this CPU or build; using %s\n", requested,
               fallback->name);
  return fallback;
}

std::atomic<const gemm::GemmKernel*>& active_kernel() {
  static std::atomic<const gemm::GemmKernel*> kernel{initial_kernel()};
  return kernel;
}

}  // namespace

namespace gemm {
const GemmKernel& current_kernel() { return *active_kernel().load(std::memory_order_relaxed); }
}  // namespace gemm

bool gemm_isa_supported(GemmIsa isa) { return kernel_for(isa) != nullptr; }

bool set_gemm_isa(GemmIsa isa) {
  const gemm::GemmKernel* kernel = kernel_for(isa);
  if (kernel == nullptr) return false;
  active_kernel().store(kernel, std::memory_order_relaxed);
  return true;
}

const char* gemm_isa_name() { return gemm::current_kernel().name; }

}  // namespace kiln
