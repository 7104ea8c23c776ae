// unary, binary, compare, where, reluBackward, clamp: see Backend in lib/backend/backend.ts.
#include "../kernels/elementwise.h"
#include "../kernels/strided_rows.h"

#include "args.h"
#include "bindings.h"
#include "queue.h"

namespace kiln::bindings {
namespace {

// The operand layout of a binary or compare call: (a, b) into an output of out_length elements.
// The plan's arrays are copies (plan points into them): a copied layout rebuilds its plan.
struct BinaryLayout {
  bool has_plan = false;
  BroadcastPlan plan{};
  int32_t shape[kMaxDims];
  int32_t a_strides[kMaxDims];
  int32_t b_strides[kMaxDims];
  int64_t a_strides_length = 0;  // checked against plan.ndim by check_layout
  int64_t b_strides_length = 0;
  bool a_is_scalar = false;
  bool b_is_scalar = false;
};

// Reads argument 4, the plan (a BroadcastPlan or null), copying its arrays. Its getters run JS,
// which may detach any array: so this runs before the typed-array arguments are read.
void read_plan(Args& args, BinaryLayout& layout) {
  if (!args.ok() || args.is_null(4)) return;
  const Array<int32_t> shape = args.int32_property(4, "shape", "plan.shape", layout.shape, kMaxDims);
  const Array<int32_t> a_strides = args.int32_property(4, "aStrides", "plan.aStrides", layout.a_strides, kMaxDims);
  const Array<int32_t> b_strides = args.int32_property(4, "bStrides", "plan.bStrides", layout.b_strides, kMaxDims);
  layout.has_plan = true;
  layout.plan = {shape.length, layout.shape, layout.a_strides, layout.b_strides};
  layout.a_strides_length = a_strides.length;
  layout.b_strides_length = b_strides.length;
}

// Checks a and b against the layout's plan (read by read_plan). With a plan, plan.shape has
// out_length elements in all and a, b contain every element their strides reach. Without a
// plan each of a, b has out_length elements or is a scalar (1 element).
void check_layout(Args& args, BinaryLayout& layout, const Array<float>& a, const Array<float>& b, int64_t out_length) {
  if (!args.ok()) return;
  if (!layout.has_plan) {
    layout.a_is_scalar = a.length == 1 && out_length != 1;
    layout.b_is_scalar = b.length == 1 && out_length != 1;
    if (!layout.a_is_scalar) args.require_same_length("a", a.length, "out", out_length);
    if (!layout.b_is_scalar) args.require_same_length("b", b.length, "out", out_length);
    return;
  }
  const Array<int32_t> shape{layout.shape, layout.plan.ndim};
  const int64_t count = args.check_view("a", a.length, 0, shape, {layout.a_strides, layout.a_strides_length});
  args.check_view("b", b.length, 0, shape, {layout.b_strides, layout.b_strides_length});
  if (args.ok() && count != out_length) {
    args.range_error("plan.shape has %lld elements but out has %lld", static_cast<long long>(count),
                     static_cast<long long>(out_length));
  }
}

// unary(op, x: Float32Array, out: Float32Array)
napi_value unary(napi_env env, napi_callback_info info) {
  Args args(env, info, "unary", 3);
  const int32_t op = args.op_code(0, kUnaryOpCount);
  const Array<float> x = args.float32(1, "x");
  const Array<float> out = args.float32(2, "out");
  args.require_same_length("x", x.length, "out", out.length);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] { kiln::unary(static_cast<UnaryOp>(op), x.data, out.data, x.length); });
}

// binary(op, a: Float32Array, b: Float32Array, out: Float32Array, plan: BroadcastPlan | null)
napi_value binary(napi_env env, napi_callback_info info) {
  Args args(env, info, "binary", 5);
  const int32_t op = args.op_code(0, kBinaryOpCount);
  BinaryLayout layout;
  read_plan(args, layout);
  const Array<float> a = args.float32(1, "a");
  const Array<float> b = args.float32(2, "b");
  const Array<float> out = args.float32(3, "out");
  check_layout(args, layout, a, b, out.length);
  if (!args.ok()) return nullptr;
  // The lambda owns a copy of the layout (a queued call outlives this frame); its plan is
  // rebuilt over the copy's arrays.
  return run_kernel(args, [=] {
    if (layout.has_plan) {
      const BroadcastPlan plan{layout.plan.ndim, layout.shape, layout.a_strides, layout.b_strides};
      kiln::binary_broadcast(static_cast<BinaryOp>(op), a.data, b.data, out.data, plan);
    } else {
      kiln::binary(static_cast<BinaryOp>(op), a.data, layout.a_is_scalar, b.data, layout.b_is_scalar, out.data,
                 out.length);
    }
  });
}

// compare(op, a: Float32Array, b: Float32Array, out: Uint8Array, plan: BroadcastPlan | null)
napi_value compare(napi_env env, napi_callback_info info) {
  Args args(env, info, "compare", 5);
  const int32_t op = args.op_code(0, kCompareOpCount);
  BinaryLayout layout;
  read_plan(args, layout);
  const Array<float> a = args.float32(1, "a");
  const Array<float> b = args.float32(2, "b");
  const Array<uint8_t> out = args.uint8(3, "out");
  check_layout(args, layout, a, b, out.length);
  if (!args.ok()) return nullptr;
  // The lambda owns a copy of the layout (a queued call outlives this frame); its plan is
  // rebuilt over the copy's arrays.
  return run_kernel(args, [=] {
    if (layout.has_plan) {
      const BroadcastPlan plan{layout.plan.ndim, layout.shape, layout.a_strides, layout.b_strides};
      kiln::compare_broadcast(static_cast<CompareOp>(op), a.data, b.data, out.data, plan);
    } else {
      kiln::compare(static_cast<CompareOp>(op), a.data, layout.a_is_scalar, b.data, layout.b_is_scalar, out.data,
                  out.length);
    }
  });
}

// where(cond: Uint8Array, a: Float32Array, b: Float32Array, out: Float32Array)
napi_value where(napi_env env, napi_callback_info info) {
  Args args(env, info, "where", 4);
  const Array<uint8_t> cond = args.uint8(0, "cond");
  const Array<float> a = args.float32(1, "a");
  const Array<float> b = args.float32(2, "b");
  const Array<float> out = args.float32(3, "out");
  args.require_same_length("cond", cond.length, "out", out.length);
  args.require_same_length("a", a.length, "out", out.length);
  args.require_same_length("b", b.length, "out", out.length);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] { kiln::where(cond.data, a.data, b.data, out.data, out.length); });
}

// reluBackward(g: Float32Array, x: Float32Array, out: Float32Array)
napi_value relu_backward(napi_env env, napi_callback_info info) {
  Args args(env, info, "reluBackward", 3);
  const Array<float> g = args.float32(0, "g");
  const Array<float> x = args.float32(1, "x");
  const Array<float> out = args.float32(2, "out");
  args.require_same_length("g", g.length, "out", out.length);
  args.require_same_length("x", x.length, "out", out.length);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] { kiln::relu_backward(g.data, x.data, out.data, out.length); });
}

// clamp(x: Float32Array, lo: number, hi: number, out: Float32Array)
napi_value clamp(napi_env env, napi_callback_info info) {
  Args args(env, info, "clamp", 4);
  const Array<float> x = args.float32(0, "x");
  const double lo = args.number(1, "lo");
  const double hi = args.number(2, "hi");
  const Array<float> out = args.float32(3, "out");
  args.require_same_length("x", x.length, "out", out.length);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    kiln::clamp(x.data, static_cast<float>(lo), static_cast<float>(hi), out.data, out.length);
  });
}

}  // namespace

void register_elementwise(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "unary", unary);
  export_function(env, exports, "binary", binary);
  export_function(env, exports, "compare", compare);
  export_function(env, exports, "where", where);
  export_function(env, exports, "reluBackward", relu_backward);
  export_function(env, exports, "clamp", clamp);
}

}  // namespace kiln::bindings
