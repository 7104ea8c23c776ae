// dropout: see Backend in lib/backend/backend.ts.
#include "../kernels/dropout.h"

#include "args.h"
#include "queue.h"
#include "bindings.h"

namespace kiln::bindings {
namespace {

// dropout(x: Float32Array, out: Float32Array, threshold, seedHigh, seedLow, keepScale); out is x or apart from it
napi_value dropout(napi_env env, napi_callback_info info) {
  Args args(env, info, "dropout", 6);
  const Array<float> x = args.float32(0, "x");
  const Array<float> out = args.float32(1, "out");
  const auto threshold = static_cast<uint32_t>(args.integer(2, "threshold", 0, int64_t{1} << 24));
  const auto seed_high = static_cast<uint64_t>(args.integer(3, "seedHigh", 0, 0xffffffffLL));
  const auto seed_low = static_cast<uint64_t>(args.integer(4, "seedLow", 0, 0xffffffffLL));
  const auto keep_scale = static_cast<float>(args.number(5, "keepScale"));
  args.require_same_length("out", out.length, "x", x.length);
  if (out.data != x.data) args.require_disjoint("out", out, "x", x);  // in place, or apart
  if (!args.ok()) return nullptr;
  const int64_t length = x.length;
  const uint64_t seed = (seed_high << 32) | seed_low;
  return run_kernel(args, [=] { kiln::dropout_forward(x.data, out.data, length, threshold, keep_scale, seed); });
}

}  // namespace

void register_dropout(Napi::Env env, Napi::Object exports) { export_function(env, exports, "dropout", dropout); }

}  // namespace kiln::bindings
