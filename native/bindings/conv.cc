// conv2d, conv2dFused, conv2dBackwardInput, conv2dBackwardWeight: see Backend in
// lib/backend/backend.ts.
// The geometry travels as one Int32Array, checked by conv_shape_from_geometry (conv_geometry.h):
// every entry is range-checked and the output size must follow from the others, so no call can
// index outside its arrays.
#include "../kernels/conv/conv.h"

#include "args.h"
#include "bindings.h"
#include "conv_geometry.h"
#include "gemm_precision.h"
#include "queue.h"

namespace kiln::bindings {
namespace {

// Reads and checks the geometry argument `index`; on failure has thrown (args.ok() is false).
Conv2dShape read_conv_shape(Args& args, size_t index) {
  const Array<int32_t> g = args.int32(index, "geometry");
  Conv2dShape s{};
  s.groups = 1;  // so callers may divide by groups even after a failed check
  if (!args.ok()) return s;
  Problem problem;
  conv_shape_from_geometry(g.data, g.length, s, problem);
  args.report(problem);
  return s;
}

void require_x(Args& args, const char* name, const Array<float>& x, const Conv2dShape& s) {
  args.require_elements(name, x.length, {{"n", s.n}, {"c", s.c}, {"h", s.h}, {"w", s.w}});
}
void require_y(Args& args, const char* name, const Array<float>& y, const Conv2dShape& s) {
  args.require_elements(name, y.length, {{"n", s.n}, {"k", s.k}, {"outH", s.out_h}, {"outW", s.out_w}});
}
void require_weight(Args& args, const char* name, const Array<float>& weight, const Conv2dShape& s) {
  args.require_elements(name, weight.length,
                        {{"k", s.k}, {"c / groups", s.c / s.groups}, {"kernelH", s.kernel_h}, {"kernelW", s.kernel_w}});
}

// A Float32Array of k elements, or null (nullptr).
float* optional_per_channel(Args& args, size_t index, const char* name, const Conv2dShape& s) {
  if (args.is_null(index)) return nullptr;
  const Array<float> bias = args.float32(index, name);
  args.require_elements(name, bias.length, {{"k", s.k}});
  return bias.data;
}

// The arguments conv2d and conv2dFused share: (x, weight, bias: Float32Array | null, y, geometry),
// with x, weight and bias checked against the geometry (y's size depends on the epilogue).
struct ConvForwardArgs {
  Array<float> x, weight, y;
  Conv2dShape s;
  const float* bias;
};
ConvForwardArgs read_forward_args(Args& args) {
  ConvForwardArgs a{args.float32(0, "x"), args.float32(1, "weight"), args.float32(3, "y"), {}, nullptr};
  a.s = read_conv_shape(args, 4);
  a.bias = optional_per_channel(args, 2, "bias", a.s);
  require_x(args, "x", a.x, a.s);
  require_weight(args, "weight", a.weight, a.s);
  return a;
}

// conv2d(x, weight, bias: Float32Array | null, y, geometry: Int32Array, gemmPrecision: 'float32' | 'bfloat16')
napi_value conv2d(napi_env env, napi_callback_info info) {
  Args args(env, info, "conv2d", 6);
  ConvForwardArgs a = read_forward_args(args);
  a.s.gemm_precision = read_gemm_precision(args, 5);
  require_y(args, "y", a.y, a.s);
  if (!args.ok()) return nullptr;
  if (a.s.n == 0) return nullptr;
  return run_kernel(args, [=] { kiln::conv2d_forward(a.x.data, a.weight.data, a.bias, a.y.data, a.s); });
}

// conv2dFused(x, weight, bias: Float32Array | null, y, geometry: Int32Array, relu: boolean, maxPool2x2: boolean,
//             relu6: boolean, scale: Float32Array | null, shift: Float32Array | null):
// conv2d, then scale·v + shift per output channel (both or neither, k each), then ReLU (ReLU6
// with relu6), then 2×2 max pooling at stride 2 (which needs an even outH and outW and makes y
// (n, k, outH / 2, outW / 2)).
napi_value conv2d_fused(napi_env env, napi_callback_info info) {
  Args args(env, info, "conv2dFused", 10);
  const ConvForwardArgs a = read_forward_args(args);
  const Conv2dShape& s = a.s;
  ConvEpilogue e;
  e.relu = args.boolean(5, "relu");
  e.max_pool_2x2 = args.boolean(6, "maxPool2x2");
  e.relu6 = args.boolean(7, "relu6");
  e.relu = e.relu || e.relu6;
  if (args.is_null(8) != args.is_null(9)) {
    args.range_error("scale and shift must both be Float32Arrays of k = %lld values or both null", static_cast<long long>(s.k));
    return nullptr;
  }
  e.scale = optional_per_channel(args, 8, "scale", s);
  e.shift = optional_per_channel(args, 9, "shift", s);
  if (!args.ok()) return nullptr;
  if (e.max_pool_2x2 && (s.out_h % 2 != 0 || s.out_w % 2 != 0)) {
    args.range_error("maxPool2x2 needs an even outH and outW, got %lldx%lld", static_cast<long long>(s.out_h),
                     static_cast<long long>(s.out_w));
    return nullptr;
  }
  const int64_t pool = e.max_pool_2x2 ? 2 : 1;
  args.require_elements("y", a.y.length, {{"n", s.n}, {"k", s.k}, {"outH / pool", s.out_h / pool}, {"outW / pool", s.out_w / pool}});
  if (!args.ok()) return nullptr;
  if (s.n == 0) return nullptr;
  return run_kernel(args, [=] { kiln::conv2d_forward_fused(a.x.data, a.weight.data, a.bias, a.y.data, s, e); });
}

// conv2dBackwardInput(gy, weight, gx, geometry: Int32Array, gemmPrecision: 'float32' | 'bfloat16')
napi_value conv2d_backward_input(napi_env env, napi_callback_info info) {
  Args args(env, info, "conv2dBackwardInput", 5);
  const Array<float> gy = args.float32(0, "gy");
  const Array<float> weight = args.float32(1, "weight");
  const Array<float> gx = args.float32(2, "gx");
  Conv2dShape s = read_conv_shape(args, 3);
  s.gemm_precision = read_gemm_precision(args, 4);
  require_y(args, "gy", gy, s);
  require_weight(args, "weight", weight, s);
  require_x(args, "gx", gx, s);
  if (!args.ok()) return nullptr;
  if (s.n == 0) return nullptr;
  return run_kernel(args, [=] { kiln::conv2d_backward_input(gy.data, weight.data, gx.data, s); });
}

// conv2dBackwardWeight(x, gy, gweight, gbias: Float32Array | null, geometry: Int32Array,
//                      gemmPrecision: 'float32' | 'bfloat16')
napi_value conv2d_backward_weight(napi_env env, napi_callback_info info) {
  Args args(env, info, "conv2dBackwardWeight", 6);
  const Array<float> x = args.float32(0, "x");
  const Array<float> gy = args.float32(1, "gy");
  const Array<float> gweight = args.float32(2, "gweight");
  Conv2dShape s = read_conv_shape(args, 4);
  s.gemm_precision = read_gemm_precision(args, 5);
  float* gbias = optional_per_channel(args, 3, "gbias", s);
  require_x(args, "x", x, s);
  require_y(args, "gy", gy, s);
  require_weight(args, "gweight", gweight, s);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] { kiln::conv2d_backward_weight(x.data, gy.data, gweight.data, gbias, s); });
}

}  // namespace

void register_conv(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "conv2d", conv2d);
  export_function(env, exports, "conv2dFused", conv2d_fused);
  export_function(env, exports, "conv2dBackwardInput", conv2d_backward_input);
  export_function(env, exports, "conv2dBackwardWeight", conv2d_backward_weight);
}

}  // namespace kiln::bindings
