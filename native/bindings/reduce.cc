// reduce, argReduce: see Backend in lib/backend/backend.ts.
#include "../kernels/reduce.h"

#include "args.h"
#include "bindings.h"
#include "queue.h"

namespace kiln::bindings {
namespace {

// reduce(op, x: Float32Array, out: Float32Array, outer, n, inner)
napi_value reduce(napi_env env, napi_callback_info info) {
  Args args(env, info, "reduce", 6);
  const int32_t op = args.op_code(0, kReduceOpCount);
  const Array<float> x = args.float32(1, "x");
  const Array<float> out = args.float32(2, "out");
  const int64_t outer = args.size(3, "outer");
  const int64_t n = args.size(4, "n");
  const int64_t inner = args.size(5, "inner");
  args.require_elements("x", x.length, {{"outer", outer}, {"n", n}, {"inner", inner}});
  args.require_elements("out", out.length, {{"outer", outer}, {"inner", inner}});
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] { kiln::reduce(static_cast<ReduceOp>(op), x.data, out.data, outer, n, inner); });
}

// argReduce(op: 1 (max) | 2 (min), x: Float32Array, values: Float32Array, indices: Int32Array,
//           outer, n ≥ 1, inner)
napi_value arg_reduce(napi_env env, napi_callback_info info) {
  Args args(env, info, "argReduce", 7);
  const int32_t op = static_cast<int32_t>(args.integer(0, "op (max=1 or min=2)", 1, 2));
  const Array<float> x = args.float32(1, "x");
  const Array<float> values = args.float32(2, "values");
  const Array<int32_t> indices = args.int32(3, "indices");
  const int64_t outer = args.size(4, "outer");
  const int64_t n = args.integer(5, "n", 1, kMaxSafeInteger);
  const int64_t inner = args.size(6, "inner");
  args.require_elements("x", x.length, {{"outer", outer}, {"n", n}, {"inner", inner}});
  args.require_elements("values", values.length, {{"outer", outer}, {"inner", inner}});
  args.require_elements("indices", indices.length, {{"outer", outer}, {"inner", inner}});
  if (args.ok() && n > INT32_MAX) args.range_error("n=%lld does not fit an Int32Array index", static_cast<long long>(n));
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    kiln::arg_reduce(static_cast<ReduceOp>(op), x.data, values.data, indices.data, outer, n, inner);
  });
}

}  // namespace

void register_reduce(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "reduce", reduce);
  export_function(env, exports, "argReduce", arg_reduce);
}

}  // namespace kiln::bindings
