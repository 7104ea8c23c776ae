// indexSelect, indexAdd, gather, scatterAdd: see Backend in lib/backend/backend.ts.
#include "../kernels/index.h"

#include "args.h"
#include "bindings.h"
#include "queue.h"

#include <string>

namespace kiln::bindings {
namespace {

// The error for a kernel's bad-index report: "" when position < 0 (every index was in range).
std::string bad_index_error(const Array<int32_t>& idx, int64_t position, int64_t n) {
  if (position < 0) return std::string();
  return "index " + std::to_string(idx.data[position]) + " at position " + std::to_string(position) +
         " is out of range for n=" + std::to_string(n);
}

// indexSelect(x: Float32Array, idx: Int32Array, out: Float32Array, outer, n, inner); m = idx.length
napi_value index_select(napi_env env, napi_callback_info info) {
  Args args(env, info, "indexSelect", 6);
  const Array<float> x = args.float32(0, "x");
  const Array<int32_t> idx = args.int32(1, "idx");
  const Array<float> out = args.float32(2, "out");
  const int64_t outer = args.size(3, "outer");
  const int64_t n = args.size(4, "n");
  const int64_t inner = args.size(5, "inner");
  args.require_elements("x", x.length, {{"outer", outer}, {"n", n}, {"inner", inner}});
  args.require_elements("out", out.length, {{"outer", outer}, {"m = idx.length", idx.length}, {"inner", inner}});
  args.require_disjoint("out", out, "idx", idx);
  args.require_disjoint("out", out, "x", x);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    return bad_index_error(idx, kiln::index_select(x.data, idx.data, idx.length, out.data, outer, n, inner), n);
  });
}

// indexAdd(src: Float32Array, idx: Int32Array, dst: Float32Array, outer, n, inner); m = idx.length
napi_value index_add(napi_env env, napi_callback_info info) {
  Args args(env, info, "indexAdd", 6);
  const Array<float> src = args.float32(0, "src");
  const Array<int32_t> idx = args.int32(1, "idx");
  const Array<float> dst = args.float32(2, "dst");
  const int64_t outer = args.size(3, "outer");
  const int64_t n = args.size(4, "n");
  const int64_t inner = args.size(5, "inner");
  args.require_elements("src", src.length, {{"outer", outer}, {"m = idx.length", idx.length}, {"inner", inner}});
  args.require_elements("dst", dst.length, {{"outer", outer}, {"n", n}, {"inner", inner}});
  args.require_disjoint("dst", dst, "idx", idx);
  args.require_disjoint("dst", dst, "src", src);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    return bad_index_error(idx, kiln::index_add(src.data, idx.data, idx.length, dst.data, outer, n, inner), n);
  });
}

// gather(x: Float32Array, idx: Int32Array, out: Float32Array, outer, n, m, inner)
napi_value gather(napi_env env, napi_callback_info info) {
  Args args(env, info, "gather", 7);
  const Array<float> x = args.float32(0, "x");
  const Array<int32_t> idx = args.int32(1, "idx");
  const Array<float> out = args.float32(2, "out");
  const int64_t outer = args.size(3, "outer");
  const int64_t n = args.size(4, "n");
  const int64_t m = args.size(5, "m");
  const int64_t inner = args.size(6, "inner");
  args.require_elements("x", x.length, {{"outer", outer}, {"n", n}, {"inner", inner}});
  args.require_elements("idx", idx.length, {{"outer", outer}, {"m", m}, {"inner", inner}});
  args.require_same_length("out", out.length, "idx", idx.length);
  args.require_disjoint("out", out, "idx", idx);
  args.require_disjoint("out", out, "x", x);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    return bad_index_error(idx, kiln::gather(x.data, idx.data, out.data, outer, n, m, inner), n);
  });
}

// scatterAdd(src: Float32Array, idx: Int32Array, dst: Float32Array, outer, n, m, inner)
napi_value scatter_add(napi_env env, napi_callback_info info) {
  Args args(env, info, "scatterAdd", 7);
  const Array<float> src = args.float32(0, "src");
  const Array<int32_t> idx = args.int32(1, "idx");
  const Array<float> dst = args.float32(2, "dst");
  const int64_t outer = args.size(3, "outer");
  const int64_t n = args.size(4, "n");
  const int64_t m = args.size(5, "m");
  const int64_t inner = args.size(6, "inner");
  args.require_elements("src", src.length, {{"outer", outer}, {"m", m}, {"inner", inner}});
  args.require_same_length("idx", idx.length, "src", src.length);
  args.require_elements("dst", dst.length, {{"outer", outer}, {"n", n}, {"inner", inner}});
  args.require_disjoint("dst", dst, "idx", idx);
  args.require_disjoint("dst", dst, "src", src);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    return bad_index_error(idx, kiln::scatter_add(src.data, idx.data, dst.data, outer, n, m, inner), n);
  });
}

}  // namespace

void register_index(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "indexSelect", index_select);
  export_function(env, exports, "indexAdd", index_add);
  export_function(env, exports, "gather", gather);
  export_function(env, exports, "scatterAdd", scatter_add);
}

}  // namespace kiln::bindings
