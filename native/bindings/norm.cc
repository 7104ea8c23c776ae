// layerNorm, layerNormBackward: see Backend in lib/backend/backend.ts.
#include "../kernels/norm.h"

#include <utility>

#include "args.h"
#include "queue.h"
#include "bindings.h"

namespace kiln::bindings {
namespace {

// An optional per-feature vector (weight, bias, or their gradients): empty = absent, else n
// elements. Returns its data or null.
template <typename T>
T* optional_vector(Args& args, const char* name, const Array<T>& v, int64_t n) {
  if (v.length == 0 && n > 0) return nullptr;
  args.require_elements(name, v.length, {{"n", n}});
  return v.data;
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
  const std::pair<const char*, Array<float>> read[] = {{"gy", gy}, {"x", x}, {"weight", weight}, {"mean", mean}, {"rstd", rstd}};
  for (const auto& [name, written] : {std::pair{"gx", gx}, std::pair{"gw", gw}, std::pair{"gb", gb}}) {
    for (const auto& [read_name, input] : read) args.require_disjoint(name, written, read_name, input);
  }
  args.require_disjoint("gw", gw, "gx", gx);
  args.require_disjoint("gb", gb, "gx", gx);
  args.require_disjoint("gb", gb, "gw", gw);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] { kiln::layer_norm_backward(gy.data, x.data, w, mean.data, rstd.data, gx.data, w_grad, b_grad, rows, n); });
}

}  // namespace

void register_norm(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "layerNorm", layer_norm);
  export_function(env, exports, "layerNormBackward", layer_norm_backward);
}

}  // namespace kiln::bindings
