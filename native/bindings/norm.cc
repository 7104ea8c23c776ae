// layerNorm, layerNormBackward, batchNorm, batchNormBackward: see Backend in lib/backend/backend.ts.
#include "../kernels/norm.h"

#include <array>
#include <utility>

#include "args.h"
#include "queue.h"
#include "bindings.h"

namespace kiln::bindings {
namespace {

// An optional per-feature vector (weight, bias, or their gradients): empty = absent, else n
// elements (n named size_name in errors). Returns its data or null.
template <typename T>
T* optional_vector(Args& args, const char* name, const Array<T>& v, int64_t n, const char* size_name = "n") {
  if (v.length == 0 && n > 0) return nullptr;
  args.require_elements(name, v.length, {{size_name, n}});
  return v.data;
}

// The backward bindings' overlap checks: no gradient (gx, gw, gb) overlaps an input (gy, x,
// weight, mean, rstd) or another gradient.
void require_gradients_disjoint(Args& args, const std::array<Array<float>, 5>& inputs, const std::array<Array<float>, 3>& grads) {
  static constexpr const char* kInputNames[] = {"gy", "x", "weight", "mean", "rstd"};
  static constexpr const char* kGradNames[] = {"gx", "gw", "gb"};
  for (size_t g = 0; g < grads.size(); ++g) {
    for (size_t i = 0; i < inputs.size(); ++i) args.require_disjoint(kGradNames[g], grads[g], kInputNames[i], inputs[i]);
    for (size_t h = 0; h < g; ++h) args.require_disjoint(kGradNames[g], grads[g], kGradNames[h], grads[h]);
  }
}

// layerNorm(x, weight, bias, out, mean, rstd, rows, n, eps); weight, bias empty when absent.
napi_value layer_norm(napi_env env, napi_callback_info info) {
  Args args(env, info, "layerNorm", 9);
  const Array<float> x = args.float32(0, "x");
  const Array<float> weight = args.float32(1, "weight");
  const Array<float> bias = args.float32(2, "bias");
  const Array<float> out = args.float32(3, "out");
  const Array<float> mean = args.float32(4, "mean");
  const Array<float> rstd = args.float32(5, "rstd");
  const int64_t rows = args.size(6, "rows");
  const int64_t n = args.integer(7, "n", 1, kMaxSafeInteger);
  const auto eps = static_cast<float>(args.number(8, "eps"));
  args.require_elements("x", x.length, {{"rows", rows}, {"n", n}});
  args.require_same_length("out", out.length, "x", x.length);
  args.require_elements("mean", mean.length, {{"rows", rows}});
  args.require_elements("rstd", rstd.length, {{"rows", rows}});
  const float* w = optional_vector(args, "weight", weight, n);
  const float* b = optional_vector(args, "bias", bias, n);
  for (const auto& [name, written] : {std::pair{"out", out}, std::pair{"mean", mean}, std::pair{"rstd", rstd}}) {
    args.require_disjoint(name, written, "x", x);
  }
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] { kiln::layer_norm_forward(x.data, w, b, out.data, mean.data, rstd.data, rows, n, eps); });
}

// layerNormBackward(gy, x, weight, mean, rstd, gx, gw, gb, rows, n); weight, gw, gb empty when absent.
napi_value layer_norm_backward(napi_env env, napi_callback_info info) {
  Args args(env, info, "layerNormBackward", 10);
  const Array<float> gy = args.float32(0, "gy");
  const Array<float> x = args.float32(1, "x");
  const Array<float> weight = args.float32(2, "weight");
  const Array<float> mean = args.float32(3, "mean");
  const Array<float> rstd = args.float32(4, "rstd");
  const Array<float> gx = args.float32(5, "gx");
  const Array<float> gw = args.float32(6, "gw");
  const Array<float> gb = args.float32(7, "gb");
  const int64_t rows = args.size(8, "rows");
  const int64_t n = args.integer(9, "n", 1, kMaxSafeInteger);
  args.require_elements("x", x.length, {{"rows", rows}, {"n", n}});
  args.require_same_length("gy", gy.length, "x", x.length);
  args.require_same_length("gx", gx.length, "x", x.length);
  args.require_elements("mean", mean.length, {{"rows", rows}});
  args.require_elements("rstd", rstd.length, {{"rows", rows}});
  const float* w = optional_vector(args, "weight", weight, n);
  float* w_grad = optional_vector(args, "gw", gw, n);
  float* b_grad = optional_vector(args, "gb", gb, n);
  require_gradients_disjoint(args, {gy, x, weight, mean, rstd}, {gx, gw, gb});
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] { kiln::layer_norm_backward(gy.data, x.data, w, mean.data, rstd.data, gx.data, w_grad, b_grad, rows, n); });
}

// The (n, c, inner) geometry of a batch norm call, arguments first..first+2, checked against x's length.
struct BatchGeometry {
  int64_t n, c, inner;
};

BatchGeometry batch_geometry(Args& args, int first, const Array<float>& x) {
  const BatchGeometry g{args.size(first, "n"), args.integer(first + 1, "c", 1, kMaxSafeInteger), args.size(first + 2, "inner")};
  args.require_elements("x", x.length, {{"n", g.n}, {"c", g.c}, {"inner", g.inner}});
  return g;
}

// batchNorm(x, weight, bias, out, mean, variance, rstd, n, c, inner, eps); weight, bias empty when absent.
napi_value batch_norm(napi_env env, napi_callback_info info) {
  Args args(env, info, "batchNorm", 11);
  const Array<float> x = args.float32(0, "x");
  const Array<float> weight = args.float32(1, "weight");
  const Array<float> bias = args.float32(2, "bias");
  const Array<float> out = args.float32(3, "out");
  const Array<float> mean = args.float32(4, "mean");
  const Array<float> variance = args.float32(5, "variance");
  const Array<float> rstd = args.float32(6, "rstd");
  const BatchGeometry g = batch_geometry(args, 7, x);
  const auto eps = static_cast<float>(args.number(10, "eps"));
  args.require_same_length("out", out.length, "x", x.length);
  for (const auto& [name, stat] : {std::pair{"mean", mean}, std::pair{"variance", variance}, std::pair{"rstd", rstd}}) {
    args.require_elements(name, stat.length, {{"c", g.c}});
  }
  const float* w = optional_vector(args, "weight", weight, g.c, "c");
  const float* b = optional_vector(args, "bias", bias, g.c, "c");
  const std::pair<const char*, Array<float>> written[] = {{"out", out}, {"mean", mean}, {"variance", variance}, {"rstd", rstd}};
  for (const auto& [name, array] : written) {
    for (const auto& [read_name, input] : {std::pair{"x", x}, std::pair{"weight", weight}, std::pair{"bias", bias}}) {
      args.require_disjoint(name, array, read_name, input);
    }
  }
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    kiln::batch_norm_forward(x.data, w, b, out.data, mean.data, variance.data, rstd.data, g.n, g.c, g.inner, eps);
  });
}

// batchNormBackward(gy, x, weight, mean, rstd, gx, gw, gb, n, c, inner); weight, gw, gb empty when absent.
napi_value batch_norm_backward(napi_env env, napi_callback_info info) {
  Args args(env, info, "batchNormBackward", 11);
  const Array<float> gy = args.float32(0, "gy");
  const Array<float> x = args.float32(1, "x");
  const Array<float> weight = args.float32(2, "weight");
  const Array<float> mean = args.float32(3, "mean");
  const Array<float> rstd = args.float32(4, "rstd");
  const Array<float> gx = args.float32(5, "gx");
  const Array<float> gw = args.float32(6, "gw");
  const Array<float> gb = args.float32(7, "gb");
  const BatchGeometry g = batch_geometry(args, 8, x);
  args.require_same_length("gy", gy.length, "x", x.length);
  args.require_same_length("gx", gx.length, "x", x.length);
  args.require_elements("mean", mean.length, {{"c", g.c}});
  args.require_elements("rstd", rstd.length, {{"c", g.c}});
  const float* w = optional_vector(args, "weight", weight, g.c, "c");
  float* w_grad = optional_vector(args, "gw", gw, g.c, "c");
  float* b_grad = optional_vector(args, "gb", gb, g.c, "c");
  require_gradients_disjoint(args, {gy, x, weight, mean, rstd}, {gx, gw, gb});
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    kiln::batch_norm_backward(gy.data, x.data, w, mean.data, rstd.data, gx.data, w_grad, b_grad, g.n, g.c, g.inner);
  });
}

}  // namespace

void register_norm(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "layerNorm", layer_norm);
  export_function(env, exports, "layerNormBackward", layer_norm_backward);
  export_function(env, exports, "batchNorm", batch_norm);
  export_function(env, exports, "batchNormBackward", batch_norm_backward);
}

}  // namespace kiln::bindings
