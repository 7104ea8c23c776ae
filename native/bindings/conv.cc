// conv2d, conv2dFused, conv2dBackwardInput, conv2dBackwardWeight: see Backend in
// lib/backend/backend.ts.
// The geometry travels as one Int32Array (kConvGeometry below); every entry is range-checked
// and the output size must follow from the others, so no call can index outside its arrays.
#include "../kernels/conv/conv.h"

#include "args.h"
#include "bindings.h"
#include "queue.h"

namespace kiln::bindings {
namespace {

// The entries of the geometry array, in order (lib/backend/native.ts packs them).
constexpr const char* kConvGeometry[] = {"n",       "c",         "h",        "w",         "k",         "kernelH",
                                         "kernelW", "strideH",   "strideW",  "padTop",    "padBottom", "padLeft",
                                         "padRight", "dilationH", "dilationW", "groups",   "outH",      "outW"};
constexpr int kConvGeometrySize = 18;

// The output size along one axis, or 0 when the (dilated) kernel is larger than the padded input.
int64_t conv_out_size(int64_t size, int64_t pad_before, int64_t pad_after, int64_t kernel, int64_t stride,
                      int64_t dilation) {
  const int64_t span = size + pad_before + pad_after - dilation * (kernel - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

// Reads and checks the geometry argument `index`; on failure has thrown (args.ok() is false).
Conv2dShape read_conv_shape(Args& args, size_t index) {
  const Array<int32_t> g = args.int32(index, "geometry");
  Conv2dShape s{};
  s.groups = 1;  // so callers may divide by groups even after a failed check
  if (!args.ok()) return s;
  if (g.length != kConvGeometrySize) {
    args.range_error("geometry must have %d entries, got %lld", kConvGeometrySize, static_cast<long long>(g.length));
    return s;
  }
  for (int i = 0; i < kConvGeometrySize; ++i) {
    const bool may_be_zero = i == 0 || (i >= 9 && i <= 12);  // n and the paddings
    if (g.data[i] < (may_be_zero ? 0 : 1)) {
      args.range_error("geometry %s must be >= %d, got %d", kConvGeometry[i], may_be_zero ? 0 : 1, g.data[i]);
      return s;
    }
  }
  int64_t* fields[] = {&s.n,        &s.c,          &s.h,        &s.w,         &s.k,          &s.kernel_h,
                       &s.kernel_w, &s.stride_h,   &s.stride_w, &s.pad_top,   &s.pad_bottom, &s.pad_left,
                       &s.pad_right, &s.dilation_h, &s.dilation_w, &s.groups,  &s.out_h,      &s.out_w};
  for (int i = 0; i < kConvGeometrySize; ++i) *fields[i] = g.data[i];
  if (s.c % s.groups != 0 || s.k % s.groups != 0) {
    args.range_error("groups=%lld must divide c=%lld and k=%lld", static_cast<long long>(s.groups),
                     static_cast<long long>(s.c), static_cast<long long>(s.k));
    return s;
  }
  args.require_work("conv2d", {{"n", s.n}, {"k", s.k}, {"c / groups", s.c / s.groups}, {"outH", s.out_h},
                               {"outW", s.out_w}, {"kernelH", s.kernel_h}, {"kernelW", s.kernel_w}});
  args.require_work("conv2d", {{"n", s.n}, {"c", s.c}, {"h + padTop + padBottom", s.h + s.pad_top + s.pad_bottom},
                               {"w + padLeft + padRight", s.w + s.pad_left + s.pad_right}});
  args.require_work("conv2d", {{"n", s.n}, {"c", s.c}, {"dilated kernelH", s.dilation_h * (s.kernel_h - 1) + 1},
                               {"dilated kernelW", s.dilation_w * (s.kernel_w - 1) + 1}});
  if (!args.ok()) return s;
  const int64_t out_h = conv_out_size(s.h, s.pad_top, s.pad_bottom, s.kernel_h, s.stride_h, s.dilation_h);
  const int64_t out_w = conv_out_size(s.w, s.pad_left, s.pad_right, s.kernel_w, s.stride_w, s.dilation_w);
  if (out_h != s.out_h || out_w != s.out_w) {
    args.range_error("outH=%lld, outW=%lld do not match the input %lldx%lld, kernel, stride, padding and dilation "
                     "(expected %lldx%lld)",
                     static_cast<long long>(s.out_h), static_cast<long long>(s.out_w), static_cast<long long>(s.h),
                     static_cast<long long>(s.w), static_cast<long long>(out_h), static_cast<long long>(out_w));
  }
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
float* optional_bias(Args& args, size_t index, const char* name, const Conv2dShape& s) {
  if (args.is_null(index)) return nullptr;
  const Array<float> bias = args.float32(index, name);
  args.require_elements(name, bias.length, {{"k", s.k}});
  return bias.data;
}

// conv2d(x, weight, bias: Float32Array | null, y, geometry: Int32Array)
napi_value conv2d(napi_env env, napi_callback_info info) {
  Args args(env, info, "conv2d", 5);
  const Array<float> x = args.float32(0, "x");
  const Array<float> weight = args.float32(1, "weight");
  const Array<float> y = args.float32(3, "y");
  const Conv2dShape s = read_conv_shape(args, 4);
  const float* bias = optional_bias(args, 2, "bias", s);
  require_x(args, "x", x, s);
  require_weight(args, "weight", weight, s);
  require_y(args, "y", y, s);
  if (!args.ok()) return nullptr;
  if (s.n == 0) return nullptr;
  return run_kernel(args, [=] { kiln::conv2d_forward(x.data, weight.data, bias, y.data, s); });
}

// conv2dFused(x, weight, bias: Float32Array | null, y, geometry: Int32Array, relu: boolean, maxPool2x2: boolean):
// conv2d, then ReLU, then 2×2 max pooling at stride 2 (which needs an even outH and outW and
// makes y (n, k, outH / 2, outW / 2)).
napi_value conv2d_fused(napi_env env, napi_callback_info info) {
  Args args(env, info, "conv2dFused", 7);
  const Array<float> x = args.float32(0, "x");
  const Array<float> weight = args.float32(1, "weight");
  const Array<float> y = args.float32(3, "y");
  const Conv2dShape s = read_conv_shape(args, 4);
  ConvEpilogue e;
  e.relu = args.boolean(5, "relu");
  e.max_pool_2x2 = args.boolean(6, "maxPool2x2");
  const float* bias = optional_bias(args, 2, "bias", s);
  require_x(args, "x", x, s);
  require_weight(args, "weight", weight, s);
  if (!args.ok()) return nullptr;
  if (e.max_pool_2x2 && (s.out_h % 2 != 0 || s.out_w % 2 != 0)) {
    args.range_error("maxPool2x2 needs an even outH and outW, got %lldx%lld", static_cast<long long>(s.out_h),
                     static_cast<long long>(s.out_w));
    return nullptr;
  }
  const int64_t pool = e.max_pool_2x2 ? 2 : 1;
  args.require_elements("y", y.length, {{"n", s.n}, {"k", s.k}, {"outH / pool", s.out_h / pool}, {"outW / pool", s.out_w / pool}});
  if (!args.ok()) return nullptr;
  if (s.n == 0) return nullptr;
  return run_kernel(args, [=] { kiln::conv2d_forward_fused(x.data, weight.data, bias, y.data, s, e); });
}

// conv2dBackwardInput(gy, weight, gx, geometry: Int32Array)
napi_value conv2d_backward_input(napi_env env, napi_callback_info info) {
  Args args(env, info, "conv2dBackwardInput", 4);
  const Array<float> gy = args.float32(0, "gy");
  const Array<float> weight = args.float32(1, "weight");
  const Array<float> gx = args.float32(2, "gx");
  const Conv2dShape s = read_conv_shape(args, 3);
  require_y(args, "gy", gy, s);
  require_weight(args, "weight", weight, s);
  require_x(args, "gx", gx, s);
  if (!args.ok()) return nullptr;
  if (s.n == 0) return nullptr;
  return run_kernel(args, [=] { kiln::conv2d_backward_input(gy.data, weight.data, gx.data, s); });
}

// conv2dBackwardWeight(x, gy, gweight, gbias: Float32Array | null, geometry: Int32Array)
napi_value conv2d_backward_weight(napi_env env, napi_callback_info info) {
  Args args(env, info, "conv2dBackwardWeight", 5);
  const Array<float> x = args.float32(0, "x");
  const Array<float> gy = args.float32(1, "gy");
  const Array<float> gweight = args.float32(2, "gweight");
  const Conv2dShape s = read_conv_shape(args, 4);
  float* gbias = optional_bias(args, 3, "gbias", s);
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
