// roundBFloat16: see Backend in lib/backend/backend.ts.
#include "../kernels/bfloat16.h"

#include "args.h"
#include "bindings.h"
#include "queue.h"

namespace kiln::bindings {
namespace {

// roundBFloat16(x: Float32Array, out: Float32Array); out is x or apart from it
napi_value round_bfloat16(napi_env env, napi_callback_info info) {
  Args args(env, info, "roundBFloat16", 2);
  const Array<float> x = args.float32(0, "x");
  const Array<float> out = args.float32(1, "out");
  args.require_same_length("out", out.length, "x", x.length);
  if (out.data != x.data) args.require_disjoint("out", out, "x", x);
  if (!args.ok()) return nullptr;
  const int64_t length = x.length;
  return run_kernel(args, [=] { kiln::round_to_bfloat16_values(x.data, out.data, length); });
}

}  // namespace

void register_bfloat16(Napi::Env env, Napi::Object exports) { export_function(env, exports, "roundBFloat16", round_bfloat16); }

}  // namespace kiln::bindings
