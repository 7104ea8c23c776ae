// scan (cumsum, cumprod): see Backend in lib/backend/backend.ts.
#include "../kernels/scan.h"

#include "args.h"
#include "bindings.h"
#include "queue.h"

namespace kiln::bindings {
namespace {

// scan(op, x: Float32Array, out: Float32Array, outer, n, inner)
napi_value scan(napi_env env, napi_callback_info info) {
  Args args(env, info, "scan", 6);
  const int32_t op = args.op_code(0, kScanOpCount);
  const Array<float> x = args.float32(1, "x");
  const Array<float> out = args.float32(2, "out");
  const int64_t outer = args.size(3, "outer");
  const int64_t n = args.size(4, "n");
  const int64_t inner = args.size(5, "inner");
  args.require_elements("x", x.length, {{"outer", outer}, {"n", n}, {"inner", inner}});
  args.require_elements("out", out.length, {{"outer", outer}, {"n", n}, {"inner", inner}});
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] { kiln::scan(static_cast<ScanOp>(op), x.data, out.data, outer, n, inner); });
}

}  // namespace

void register_scan(Napi::Env env, Napi::Object exports) { export_function(env, exports, "scan", scan); }

}  // namespace kiln::bindings
