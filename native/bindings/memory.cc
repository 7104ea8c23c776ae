// adviseHugePages: asks the kernel to back a large Float32Array with transparent huge pages.
// Streaming kernels (optimizer steps, elementwise ops over millions of elements) spend much
// of their time on TLB misses with 4 KiB pages; PyTorch and numpy advise their large
// buffers the same way. Only whole 2 MiB-aligned stretches can become huge pages, and only
// pages not yet touched are affected, so it is called right after allocation.
#include <cstdint>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "args.h"
#include "bindings.h"

namespace kiln::bindings {
namespace {

constexpr std::uintptr_t kHugePage = std::uintptr_t{1} << 21;

// adviseHugePages(x: Float32Array): boolean (whether the kernel took the advice)
napi_value advise_huge_pages(napi_env env, napi_callback_info info) {
  Args args(env, info, "adviseHugePages", 1);
  const Array<float> x = args.float32(0, "x");
  if (!args.ok()) return nullptr;
  bool advised = false;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const std::uintptr_t begin = reinterpret_cast<std::uintptr_t>(x.data);
  const std::uintptr_t first = (begin + kHugePage - 1) & ~(kHugePage - 1);
  const std::uintptr_t last = (begin + static_cast<std::uintptr_t>(x.length) * sizeof(float)) & ~(kHugePage - 1);
  if (last > first) advised = madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE) == 0;
#endif
  napi_value result;
  if (napi_get_boolean(env, advised, &result) != napi_ok) return nullptr;
  return result;
}

}  // namespace

void register_memory(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "adviseHugePages", advise_huge_pages);
}

}  // namespace kiln::bindings
