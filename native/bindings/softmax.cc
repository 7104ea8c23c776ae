// softmax, softmaxBackward: see Backend in lib/backend/backend.ts.
#include "../kernels/softmax.h"

#include "args.h"
#include "bindings.h"
#include "queue.h"

namespace kiln::bindings {
namespace {

// softmax(x: Float32Array, out: Float32Array, outer, n, inner, log: boolean)
napi_value softmax(napi_env env, napi_callback_info info) {
  Args args(env, info, "softmax", 6);
  const Array<float> x = args.float32(0, "x");
  const Array<float> out = args.float32(1, "out");
  const int64_t outer = args.size(2, "outer");
  const int64_t n = args.size(3, "n");
  const int64_t inner = args.size(4, "inner");
  const bool log = args.boolean(5, "log");
  args.require_elements("x", x.length, {{"outer", outer}, {"n", n}, {"inner", inner}});
  args.require_same_length("out", out.length, "x", x.length);
  args.require_work("softmax", {{"outer", outer}, {"n", n}, {"inner", inner}});
  if (!args.ok() || x.length == 0) return nullptr;
  return run_kernel(args, [=] { kiln::softmax_forward(x.data, out.data, outer, n, inner, log); });
}

// softmaxBackward(y: Float32Array, gy: Float32Array, gx: Float32Array, outer, n, inner, log: boolean)
napi_value softmax_backward(napi_env env, napi_callback_info info) {
  Args args(env, info, "softmaxBackward", 7);
  const Array<float> y = args.float32(0, "y");
  const Array<float> gy = args.float32(1, "gy");
  const Array<float> gx = args.float32(2, "gx");
  const int64_t outer = args.size(3, "outer");
  const int64_t n = args.size(4, "n");
  const int64_t inner = args.size(5, "inner");
  const bool log = args.boolean(6, "log");
  args.require_elements("y", y.length, {{"outer", outer}, {"n", n}, {"inner", inner}});
  args.require_same_length("gy", gy.length, "y", y.length);
  args.require_same_length("gx", gx.length, "y", y.length);
  args.require_work("softmaxBackward", {{"outer", outer}, {"n", n}, {"inner", inner}});
  if (!args.ok() || y.length == 0) return nullptr;
  return run_kernel(args, [=] { kiln::softmax_backward(y.data, gy.data, gx.data, outer, n, inner, log); });
}

}  // namespace

void register_softmax(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "softmax", softmax);
  export_function(env, exports, "softmaxBackward", softmax_backward);
}

}  // namespace kiln::bindings
