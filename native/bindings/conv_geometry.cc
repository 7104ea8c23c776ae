#include "conv_geometry.h"

namespace kiln::bindings {

namespace {

// The entries of the geometry array, in order (lib/backend/native.ts packs them).
const char* const kConvGeometry[kConvGeometrySize] = {
    "n",       "c",        "h",         "w",      "k",         "kernelH",   "kernelW",   "strideH",  "strideW",
    "padTop",  "padBottom", "padLeft",  "padRight", "dilationH", "dilationW", "groups",  "outH",     "outW"};

int64_t conv_out_size(int64_t size, int64_t pad_before, int64_t pad_after, int64_t kernel, int64_t stride,
                      int64_t dilation) {
  const int64_t span = size + pad_before + pad_after - dilation * (kernel - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}


// Whether every loop of the three passes stays within kMaxWork steps.
bool work_within_limits(const Conv2dShape& s, Problem& problem) {
  const NamedSize taps[] = {{"n", s.n},           {"k", s.k},           {"c / groups", s.c / s.groups},
                            {"outH", s.out_h},     {"outW", s.out_w},     {"kernelH", s.kernel_h},
                            {"kernelW", s.kernel_w}};
  const NamedSize padded[] = {{"n", s.n},
                              {"c", s.c},
                              {"h + padTop + padBottom", s.h + s.pad_top + s.pad_bottom},
                              {"w + padLeft + padRight", s.w + s.pad_left + s.pad_right}};
  const NamedSize dilated[] = {{"n", s.n},
                               {"c", s.c},
                               {"dilated kernelH", s.dilation_h * (s.kernel_h - 1) + 1},
                               {"dilated kernelW", s.dilation_w * (s.kernel_w - 1) + 1}};
  return work_within_limit("conv2d", taps, 7, problem) && work_within_limit("conv2d", padded, 4, problem) &&
         work_within_limit("conv2d", dilated, 4, problem);
}

}  // namespace

bool conv_shape_from_geometry(const int32_t* geometry, int64_t length, Conv2dShape& s, Problem& problem) {
  s = Conv2dShape{};
  s.groups = 1;  // so callers may divide by groups even after a failed check
  if (length != kConvGeometrySize) {
    problem.describe("geometry must have %d entries, got %lld", kConvGeometrySize, static_cast<long long>(length));
    return false;
  }
  for (int i = 0; i < kConvGeometrySize; ++i) {
    const bool may_be_zero = i == 0 || (i >= 9 && i <= 12);  // n and the paddings
    if (geometry[i] < (may_be_zero ? 0 : 1)) {
      problem.describe("geometry %s must be >= %d, got %d", kConvGeometry[i], may_be_zero ? 0 : 1, geometry[i]);
      return false;
    }
  }
  int64_t* fields[] = {&s.n,        &s.c,          &s.h,        &s.w,         &s.k,          &s.kernel_h,
                       &s.kernel_w, &s.stride_h,   &s.stride_w, &s.pad_top,   &s.pad_bottom, &s.pad_left,
                       &s.pad_right, &s.dilation_h, &s.dilation_w, &s.groups,  &s.out_h,      &s.out_w};
  for (int i = 0; i < kConvGeometrySize; ++i) *fields[i] = geometry[i];
  if (s.c % s.groups != 0 || s.k % s.groups != 0) {
    problem.describe("groups=%lld must divide c=%lld and k=%lld", static_cast<long long>(s.groups),
                     static_cast<long long>(s.c), static_cast<long long>(s.k));
    return false;
  }
  if (!work_within_limits(s, problem)) return false;
  const int64_t out_h = conv_out_size(s.h, s.pad_top, s.pad_bottom, s.kernel_h, s.stride_h, s.dilation_h);
  const int64_t out_w = conv_out_size(s.w, s.pad_left, s.pad_right, s.kernel_w, s.stride_w, s.dilation_w);
  if (out_h != s.out_h || out_w != s.out_w) {
    problem.describe("outH=%lld, outW=%lld do not match the input %lldx%lld, kernel, stride, padding and dilation "
                     "(expected %lldx%lld)",
                     static_cast<long long>(s.out_h), static_cast<long long>(s.out_w), static_cast<long long>(s.h),
                     static_cast<long long>(s.w), static_cast<long long>(out_h), static_cast<long long>(out_w));
    return false;
  }
  return true;
}

}  // namespace kiln::bindings
