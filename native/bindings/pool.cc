// maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward, adaptiveAvgPool2d,
// adaptiveAvgPool2dBackward: see Backend in lib/backend/backend.ts. The pooling geometry
// travels as one Int32Array (kPoolGeometry below), fully checked.
#include "../kernels/pool.h"

#include "args.h"
#include "bindings.h"
#include "queue.h"

#include <algorithm>
#include <cstdint>
#include <string>

namespace kiln::bindings {
namespace {

constexpr const char* kPoolGeometry[] = {"planes",  "h",    "w",    "kernelH",   "kernelW",   "strideH", "strideW",
                                         "padH",    "padW", "dilationH", "dilationW", "outH",    "outW"};
constexpr int kPoolGeometrySize = 13;

// Whether `out` is the floor-mode or ceil-mode (PyTorch) output size along one axis.
bool valid_pool_out(int64_t out, int64_t size, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation) {
  const int64_t span = size + 2 * pad - dilation * (kernel - 1) - 1;
  if (span < 0) return false;
  int64_t ceil_out = (span + stride - 1) / stride + 1;
  if ((ceil_out - 1) * stride >= size + pad) --ceil_out;
  return out == span / stride + 1 || out == ceil_out;
}

Pool2dShape read_pool_shape(Args& args, size_t index) {
  const Array<int32_t> g = args.int32(index, "geometry");
  Pool2dShape s{};
  if (!args.ok()) return s;
  if (g.length != kPoolGeometrySize) {
    args.range_error("geometry must have %d entries, got %lld", kPoolGeometrySize, static_cast<long long>(g.length));
    return s;
  }
  for (int i = 0; i < kPoolGeometrySize; ++i) {
    const bool may_be_zero = i == 0 || i == 7 || i == 8;  // planes and the paddings
    if (g.data[i] < (may_be_zero ? 0 : 1)) {
      args.range_error("geometry %s must be >= %d, got %d", kPoolGeometry[i], may_be_zero ? 0 : 1, g.data[i]);
      return s;
    }
  }
  int64_t* fields[] = {&s.planes, &s.h,     &s.w,          &s.kernel_h,   &s.kernel_w, &s.stride_h, &s.stride_w,
                       &s.pad_h,  &s.pad_w, &s.dilation_h, &s.dilation_w, &s.out_h,    &s.out_w};
  for (int i = 0; i < kPoolGeometrySize; ++i) *fields[i] = g.data[i];
  if (2 * s.pad_h > s.kernel_h || 2 * s.pad_w > s.kernel_w) {
    args.range_error("padding %lldx%lld must be at most half the kernel %lldx%lld", static_cast<long long>(s.pad_h),
                     static_cast<long long>(s.pad_w), static_cast<long long>(s.kernel_h),
                     static_cast<long long>(s.kernel_w));
    return s;
  }
  args.require_work("pooling", {{"planes", s.planes}, {"outH", s.out_h}, {"outW", s.out_w}, {"kernelH", s.kernel_h},
                                {"kernelW", s.kernel_w}});
  args.require_work("pooling", {{"planes", s.planes}, {"h + 2 * padH", s.h + 2 * s.pad_h},
                                {"w + 2 * padW", s.w + 2 * s.pad_w}});
  if (!args.ok()) return s;
  if (!valid_pool_out(s.out_h, s.h, s.kernel_h, s.stride_h, s.pad_h, s.dilation_h) ||
      !valid_pool_out(s.out_w, s.w, s.kernel_w, s.stride_w, s.pad_w, s.dilation_w)) {
    args.range_error("outH=%lld, outW=%lld do not match the input %lldx%lld, kernel, stride, padding and dilation",
                     static_cast<long long>(s.out_h), static_cast<long long>(s.out_w), static_cast<long long>(s.h),
                     static_cast<long long>(s.w));
  }
  return s;
}

void require_input(Args& args, const char* name, int64_t length, const Pool2dShape& s) {
  args.require_elements(name, length, {{"planes", s.planes}, {"h", s.h}, {"w", s.w}});
}
void require_output(Args& args, const char* name, int64_t length, const Pool2dShape& s) {
  args.require_elements(name, length, {{"planes", s.planes}, {"outH", s.out_h}, {"outW", s.out_w}});
}

// Average pooling takes no dilation.
void check_no_dilation(Args& args, const Pool2dShape& s) {
  if (args.ok() && (s.dilation_h != 1 || s.dilation_w != 1)) {
    args.range_error("average pooling takes no dilation, got %lldx%lld", static_cast<long long>(s.dilation_h),
                     static_cast<long long>(s.dilation_w));
  }
}

// maxPool2d(x, y, indices: Int32Array, geometry: Int32Array)
napi_value max_pool2d(napi_env env, napi_callback_info info) {
  Args args(env, info, "maxPool2d", 4);
  const Array<float> x = args.float32(0, "x");
  const Array<float> y = args.float32(1, "y");
  const Array<int32_t> indices = args.int32(2, "indices");
  const Pool2dShape s = read_pool_shape(args, 3);
  require_input(args, "x", x.length, s);
  require_output(args, "y", y.length, s);
  require_output(args, "indices", indices.length, s);
  if (!args.ok()) return nullptr;
  if (s.h * s.w > INT32_MAX) {
    args.range_error("h=%lld, w=%lld: a plane is too large for int32 indices", static_cast<long long>(s.h),
                     static_cast<long long>(s.w));
    return nullptr;
  }
  return run_kernel(args, [=] { kiln::max_pool2d_forward(x.data, y.data, indices.data, s); });
}

// Whether every index is in [0, bound): one branch-free pass (it vectorizes), so checking
// costs little next to the kernel.
bool all_below(const Array<int32_t>& indices, int64_t bound) {
  uint32_t outside = 0;
  const uint32_t limit = static_cast<uint32_t>(std::min<int64_t>(bound, UINT32_MAX));
  for (int64_t i = 0; i < indices.length; ++i) outside |= static_cast<uint32_t>(indices.data[i]) >= limit;
  return outside == 0;
}

// The error for the first index outside [0, plane): "indices[i]=v is outside [0, h*w=plane)".
std::string index_outside_error(const Array<int32_t>& indices, int64_t plane) {
  int64_t i = 0;
  while (static_cast<uint32_t>(indices.data[i]) < static_cast<uint64_t>(plane)) ++i;
  return "indices[" + std::to_string(i) + "]=" + std::to_string(indices.data[i]) + " is outside [0, h*w=" +
         std::to_string(plane) + ")";
}

// maxPool2dBackward(gy, indices: Int32Array, gx, geometry: Int32Array); every index in [0, h·w).
napi_value max_pool2d_backward(napi_env env, napi_callback_info info) {
  Args args(env, info, "maxPool2dBackward", 4);
  const Array<float> gy = args.float32(0, "gy");
  const Array<int32_t> indices = args.int32(1, "indices");
  const Array<float> gx = args.float32(2, "gx");
  const Pool2dShape s = read_pool_shape(args, 3);
  require_output(args, "gy", gy.length, s);
  require_output(args, "indices", indices.length, s);
  require_input(args, "gx", gx.length, s);
  // The kernel reads the indices (and gy) while it scatters into gx: an index overwritten
  // mid-call would send a write out of range.
  args.require_disjoint("gx", gx, "indices", indices);
  args.require_disjoint("gx", gx, "gy", gy);
  if (!args.ok()) return nullptr;
  // The indices are checked when the kernel runs, not here: under kiln.async they may be the
  // output of a maxPool2d queued in the same scope, not computed yet.
  const int64_t plane = s.h * s.w;
  return run_kernel(args, [=]() -> std::string {
    if (!all_below(indices, plane)) return index_outside_error(indices, plane);
    kiln::max_pool2d_backward(gy.data, indices.data, gx.data, s);
    return std::string();
  });
}

// avgPool2d(x, y, geometry: Int32Array, countIncludePad: boolean, divisorOverride: 0 | positive)
napi_value avg_pool2d(napi_env env, napi_callback_info info) {
  Args args(env, info, "avgPool2d", 5);
  const Array<float> x = args.float32(0, "x");
  const Array<float> y = args.float32(1, "y");
  const Pool2dShape s = read_pool_shape(args, 2);
  const bool count_include_pad = args.boolean(3, "countIncludePad");
  const int64_t divisor_override = args.integer(4, "divisorOverride", 0, INT32_MAX);
  check_no_dilation(args, s);
  require_input(args, "x", x.length, s);
  require_output(args, "y", y.length, s);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] { kiln::avg_pool2d_forward(x.data, y.data, s, count_include_pad, divisor_override); });
}

// avgPool2dBackward(gy, gx, geometry: Int32Array, countIncludePad: boolean, divisorOverride)
napi_value avg_pool2d_backward(napi_env env, napi_callback_info info) {
  Args args(env, info, "avgPool2dBackward", 5);
  const Array<float> gy = args.float32(0, "gy");
  const Array<float> gx = args.float32(1, "gx");
  const Pool2dShape s = read_pool_shape(args, 2);
  const bool count_include_pad = args.boolean(3, "countIncludePad");
  const int64_t divisor_override = args.integer(4, "divisorOverride", 0, INT32_MAX);
  check_no_dilation(args, s);
  require_output(args, "gy", gy.length, s);
  require_input(args, "gx", gx.length, s);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    kiln::avg_pool2d_backward(gy.data, gx.data, s, count_include_pad, divisor_override);
  });
}

// Reads (planes, h, w, outH, outW) of the adaptive bindings at arguments 2..6; h, w, outH, outW >= 1.
struct AdaptiveSizes {
  int64_t planes, h, w, out_h, out_w;
};
AdaptiveSizes read_adaptive(Args& args) {
  AdaptiveSizes a{};
  a.planes = args.size(2, "planes");
  a.h = args.integer(3, "h", 1, INT32_MAX);
  a.w = args.integer(4, "w", 1, INT32_MAX);
  a.out_h = args.integer(5, "outH", 1, INT32_MAX);
  a.out_w = args.integer(6, "outW", 1, INT32_MAX);
  return a;
}

// adaptiveAvgPool2d(x, y, planes, h, w, outH, outW)
napi_value adaptive_avg_pool2d(napi_env env, napi_callback_info info) {
  Args args(env, info, "adaptiveAvgPool2d", 7);
  const Array<float> x = args.float32(0, "x");
  const Array<float> y = args.float32(1, "y");
  const AdaptiveSizes a = read_adaptive(args);
  args.require_elements("x", x.length, {{"planes", a.planes}, {"h", a.h}, {"w", a.w}});
  args.require_elements("y", y.length, {{"planes", a.planes}, {"outH", a.out_h}, {"outW", a.out_w}});
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    kiln::adaptive_avg_pool2d_forward(x.data, y.data, a.planes, a.h, a.w, a.out_h, a.out_w);
  });
}

// adaptiveAvgPool2dBackward(gy, gx, planes, h, w, outH, outW)
napi_value adaptive_avg_pool2d_backward(napi_env env, napi_callback_info info) {
  Args args(env, info, "adaptiveAvgPool2dBackward", 7);
  const Array<float> gy = args.float32(0, "gy");
  const Array<float> gx = args.float32(1, "gx");
  const AdaptiveSizes a = read_adaptive(args);
  args.require_elements("gy", gy.length, {{"planes", a.planes}, {"outH", a.out_h}, {"outW", a.out_w}});
  args.require_elements("gx", gx.length, {{"planes", a.planes}, {"h", a.h}, {"w", a.w}});
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    kiln::adaptive_avg_pool2d_backward(gy.data, gx.data, a.planes, a.h, a.w, a.out_h, a.out_w);
  });
}

}  // namespace

void register_pool(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "maxPool2d", max_pool2d);
  export_function(env, exports, "maxPool2dBackward", max_pool2d_backward);
  export_function(env, exports, "avgPool2d", avg_pool2d);
  export_function(env, exports, "avgPool2dBackward", avg_pool2d_backward);
  export_function(env, exports, "adaptiveAvgPool2d", adaptive_avg_pool2d);
  export_function(env, exports, "adaptiveAvgPool2dBackward", adaptive_avg_pool2d_backward);
}

}  // namespace kiln::bindings
