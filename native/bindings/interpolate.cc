// upsample2d, upsample2dBackward: see Backend in lib/backend/backend.ts.
// Arguments: (x | gy, y | gx, planes, h, w, outH, outW, mode 0 bilinear | 1 bicubic,
// alignCorners, scaleH, scaleW), sizes and lengths fully checked.
#include "../kernels/interpolate.h"

#include "args.h"
#include "bindings.h"
#include "queue.h"

#include <cmath>
#include <cstdint>

namespace kiln::bindings {
namespace {

Upsample2dShape read_upsample_shape(Args& args) {
  Upsample2dShape s{};
  s.planes = args.size(2, "planes");
  s.h = args.integer(3, "h", 1, INT32_MAX);
  s.w = args.integer(4, "w", 1, INT32_MAX);
  s.out_h = args.integer(5, "outH", 1, INT32_MAX);
  s.out_w = args.integer(6, "outW", 1, INT32_MAX);
  s.cubic = args.integer(7, "mode", 0, 1) == 1;
  s.align_corners = args.boolean(8, "alignCorners");
  s.scale_h = args.number(9, "scaleH");
  s.scale_w = args.number(10, "scaleW");
  if (args.ok() && (!(s.scale_h >= 0) || !(s.scale_w >= 0) || std::isinf(s.scale_h) || std::isinf(s.scale_w))) {
    args.range_error("scaleH, scaleW must be finite and >= 0 (0: use in/out), got %g, %g", s.scale_h, s.scale_w);
  }
  return s;
}

// upsample2d(x, y, planes, h, w, outH, outW, mode, alignCorners, scaleH, scaleW)
napi_value upsample2d(napi_env env, napi_callback_info info) {
  Args args(env, info, "upsample2d", 11);
  const Array<float> x = args.float32(0, "x");
  const Array<float> y = args.float32(1, "y");
  const Upsample2dShape s = read_upsample_shape(args);
  args.require_elements("x", x.length, {{"planes", s.planes}, {"h", s.h}, {"w", s.w}});
  args.require_elements("y", y.length, {{"planes", s.planes}, {"outH", s.out_h}, {"outW", s.out_w}});
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] { kiln::upsample2d_forward(x.data, y.data, s); });
}

// upsample2dBackward(gy, gx, planes, h, w, outH, outW, mode, alignCorners, scaleH, scaleW)
napi_value upsample2d_backward(napi_env env, napi_callback_info info) {
  Args args(env, info, "upsample2dBackward", 11);
  const Array<float> gy = args.float32(0, "gy");
  const Array<float> gx = args.float32(1, "gx");
  const Upsample2dShape s = read_upsample_shape(args);
  args.require_elements("gy", gy.length, {{"planes", s.planes}, {"outH", s.out_h}, {"outW", s.out_w}});
  args.require_elements("gx", gx.length, {{"planes", s.planes}, {"h", s.h}, {"w", s.w}});
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] { kiln::upsample2d_backward(gy.data, gx.data, s); });
}

}  // namespace

void register_interpolate(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "upsample2d", upsample2d);
  export_function(env, exports, "upsample2dBackward", upsample2d_backward);
}

}  // namespace kiln::bindings
