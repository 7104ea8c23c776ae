// matmul: see Backend in lib/backend/backend.ts.
#include "../kernels/matmul.h"

#include "args.h"
#include "bindings.h"

namespace kiln::bindings {
namespace {

// Checks that operand `name` (length elements) holds `batch` matrices of rows × cols
// elements, the p-th starting at p * batch_stride. The start offsets are checked to stay below
// 2^53 even when the matrices are empty, so the kernel's pointer arithmetic cannot overflow.
void require_batched_operand(Args& args, const char* name, int64_t length, int64_t batch, NamedSize rows,
                             NamedSize cols, NamedSize batch_stride) {
  const int64_t matrix_size = args.product({rows, cols});
  if (!args.ok() || batch == 0) return;
  const int64_t last_start = args.product({{"batch - 1", batch - 1}, batch_stride});
  if (!args.ok() || matrix_size == 0) return;
  const int64_t needed = last_start + matrix_size;
  if (length < needed) {
    args.range_error("%s has %lld elements but batch=%lld, %s=%lld, %s=%lld, %s=%lld needs %lld", name,
                     static_cast<long long>(length), static_cast<long long>(batch), rows.name,
                     static_cast<long long>(rows.value), cols.name, static_cast<long long>(cols.value),
                     batch_stride.name, static_cast<long long>(batch_stride.value), static_cast<long long>(needed));
  }
}

// matmul(a, b, out: Float32Array, batch, m, k, n, aBatchStride, bBatchStride, transA, transB: boolean)
napi_value matmul(napi_env env, napi_callback_info info) {
  Args args(env, info, "matmul", 11);
  const Array<float> a = args.float32(0, "a");
  const Array<float> b = args.float32(1, "b");
  const Array<float> out = args.float32(2, "out");
  MatmulShape shape;
  shape.batch = args.size(3, "batch");
  shape.m = args.size(4, "m");
  shape.k = args.size(5, "k");
  shape.n = args.size(6, "n");
  shape.a_batch_stride = args.size(7, "aBatchStride");
  shape.b_batch_stride = args.size(8, "bBatchStride");
  shape.trans_a = args.boolean(9, "transA");
  shape.trans_b = args.boolean(10, "transB");
  require_batched_operand(args, "a", a.length, shape.batch, {"m", shape.m}, {"k", shape.k},
                          {"aBatchStride", shape.a_batch_stride});
  require_batched_operand(args, "b", b.length, shape.batch, {"k", shape.k}, {"n", shape.n},
                          {"bBatchStride", shape.b_batch_stride});
  args.require_elements("out", out.length, {{"batch", shape.batch}, {"m", shape.m}, {"n", shape.n}});
  if (!args.ok()) return nullptr;
  kiln::matmul(a.data, b.data, out.data, shape);
  return nullptr;
}

}  // namespace

void register_matmul(Napi::Env env, Napi::Object exports) { export_function(env, exports, "matmul", matmul); }

}  // namespace kiln::bindings
