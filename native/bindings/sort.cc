// sort, topk: see Backend in lib/backend/backend.ts.
#include "../kernels/sort.h"

#include "args.h"
#include "bindings.h"
#include "queue.h"

namespace kiln::bindings {
namespace {

// Rows longer than this cannot be indexed by an Int32Array.
constexpr int64_t kMaxRowLength = INT32_MAX;

// sort(x: Float32Array, values: Float32Array, indices: Int32Array, rows, n, descending)
napi_value sort(napi_env env, napi_callback_info info) {
  Args args(env, info, "sort", 6);
  const Array<float> x = args.float32(0, "x");
  const Array<float> values = args.float32(1, "values");
  const Array<int32_t> indices = args.int32(2, "indices");
  const int64_t rows = args.size(3, "rows");
  const int64_t n = args.integer(4, "n", 0, kMaxRowLength);
  const bool descending = args.boolean(5, "descending");
  args.require_elements("x", x.length, {{"rows", rows}, {"n", n}});
  args.require_elements("values", values.length, {{"rows", rows}, {"n", n}});
  args.require_elements("indices", indices.length, {{"rows", rows}, {"n", n}});
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] { kiln::sort_rows(x.data, values.data, indices.data, rows, n, descending); });
}

// topk(x: Float32Array, values: Float32Array, indices: Int32Array, rows, n, k, largest), k <= n
napi_value topk(napi_env env, napi_callback_info info) {
  Args args(env, info, "topk", 7);
  const Array<float> x = args.float32(0, "x");
  const Array<float> values = args.float32(1, "values");
  const Array<int32_t> indices = args.int32(2, "indices");
  const int64_t rows = args.size(3, "rows");
  const int64_t n = args.integer(4, "n", 0, kMaxRowLength);
  const int64_t k = args.integer(5, "k", 0, n);
  const bool largest = args.boolean(6, "largest");
  args.require_elements("x", x.length, {{"rows", rows}, {"n", n}});
  args.require_elements("values", values.length, {{"rows", rows}, {"k", k}});
  args.require_elements("indices", indices.length, {{"rows", rows}, {"k", k}});
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] { kiln::topk_rows(x.data, values.data, indices.data, rows, n, k, largest); });
}

}  // namespace

void register_sort(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "sort", sort);
  export_function(env, exports, "topk", topk);
}

}  // namespace kiln::bindings
