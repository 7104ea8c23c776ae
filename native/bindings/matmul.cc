// matmul: see Backend in lib/backend/backend.ts.
#include "../kernels/matmul.h"
#include "../kernels/matmul_bf16.h"

#include "args.h"
#include "bindings.h"
#include "gemm_precision.h"
#include "queue.h"

namespace kiln::bindings {
namespace {

// Checks that operand `name` (length elements) holds outer × batch matrices stored rows × cols
// with rows `ld` elements apart (ld ≥ cols), matrix (o, p) starting at offset + o * outer_stride
// + p * batch_stride. Sizes are multiplied through args.product, which keeps every pointer
// offset below 2^53.
void require_batched_operand(Args& args, const char* name, int64_t length, int64_t outer, NamedSize outer_stride,
                             int64_t batch, NamedSize rows, NamedSize cols, NamedSize batch_stride, NamedSize offset,
                             NamedSize ld) {
  if (ld.value < cols.value && rows.value > 1) {
    args.range_error("%s: leading dimension %s=%lld is smaller than its %s=%lld", name, ld.name,
                     static_cast<long long>(ld.value), cols.name, static_cast<long long>(cols.value));
  }
  const int64_t matrix_size = args.product({rows, cols});
  if (!args.ok() || batch == 0 || outer == 0) return;
  const int64_t last_start =
      args.product({{"outer - 1", outer - 1}, outer_stride}) + args.product({{"batch - 1", batch - 1}, batch_stride});
  const int64_t last_row = args.product({{"rows - 1", rows.value > 0 ? rows.value - 1 : 0}, ld});
  if (!args.ok() || matrix_size == 0) return;
  const int64_t needed = offset.value + last_start + last_row + cols.value;
  if (length < needed) {
    args.range_error("%s has %lld elements but outer=%lld, %s=%lld, batch=%lld, %s=%lld, %s=%lld, %s=%lld, %s=%lld, %s=%lld needs %lld",
                     name, static_cast<long long>(length), static_cast<long long>(outer), outer_stride.name,
                     static_cast<long long>(outer_stride.value), static_cast<long long>(batch), rows.name,
                     static_cast<long long>(rows.value), cols.name, static_cast<long long>(cols.value),
                     batch_stride.name, static_cast<long long>(batch_stride.value), offset.name,
                     static_cast<long long>(offset.value), ld.name, static_cast<long long>(ld.value),
                     static_cast<long long>(needed));
  }
}

// The shape and layout arguments 3..17 shared by every matmul binding, checked against the
// operands' and the output's element counts. Returns false when a check threw.
struct MatmulCall {
  MatmulShape shape;
  int64_t a_offset, b_offset;
};

bool read_matmul_call(Args& args, int64_t a_length, int64_t b_length, int64_t out_length, MatmulCall& call) {
  MatmulShape& shape = call.shape;
  shape.batch = args.size(3, "batch");
  shape.m = args.size(4, "m");
  shape.k = args.size(5, "k");
  shape.n = args.size(6, "n");
  shape.a_batch_stride = args.size(7, "aBatchStride");
  shape.b_batch_stride = args.size(8, "bBatchStride");
  shape.trans_a = args.boolean(9, "transA");
  shape.trans_b = args.boolean(10, "transB");
  call.a_offset = args.size(11, "aOffset");
  call.b_offset = args.size(12, "bOffset");
  shape.lda = args.size(13, "lda");
  shape.ldb = args.size(14, "ldb");
  shape.outer = args.size(15, "outer");
  shape.a_outer_stride = args.size(16, "aOuterStride");
  shape.b_outer_stride = args.size(17, "bOuterStride");
  if (!args.ok()) return false;
  const NamedSize a_rows = shape.trans_a ? NamedSize{"k", shape.k} : NamedSize{"m", shape.m};
  const NamedSize a_cols = shape.trans_a ? NamedSize{"m", shape.m} : NamedSize{"k", shape.k};
  const NamedSize b_rows = shape.trans_b ? NamedSize{"n", shape.n} : NamedSize{"k", shape.k};
  const NamedSize b_cols = shape.trans_b ? NamedSize{"k", shape.k} : NamedSize{"n", shape.n};
  if (shape.lda == 0) shape.lda = a_cols.value;
  if (shape.ldb == 0) shape.ldb = b_cols.value;
  require_batched_operand(args, "a", a_length, shape.outer, {"aOuterStride", shape.a_outer_stride}, shape.batch, a_rows,
                          a_cols, {"aBatchStride", shape.a_batch_stride}, {"aOffset", call.a_offset}, {"lda", shape.lda});
  require_batched_operand(args, "b", b_length, shape.outer, {"bOuterStride", shape.b_outer_stride}, shape.batch, b_rows,
                          b_cols, {"bBatchStride", shape.b_batch_stride}, {"bOffset", call.b_offset}, {"ldb", shape.ldb});
  args.require_elements("out", out_length, {{"outer", shape.outer}, {"batch", shape.batch}, {"m", shape.m}, {"n", shape.n}});
  args.require_work(args.function(), {{"outer", shape.outer}, {"batch", shape.batch}, {"m", shape.m}, {"k", shape.k}, {"n", shape.n}});
  if (shape.lda == 0) shape.lda = 1;  // empty operand: any positive leading dimension
  if (shape.ldb == 0) shape.ldb = 1;
  return args.ok();
}

// matmul(a, b, out: Float32Array, batch, m, k, n, aBatchStride, bBatchStride, transA, transB: boolean,
//        aOffset, bOffset, lda, ldb, outer, aOuterStride, bOuterStride, bias: Float32Array,
//        gemmPrecision: 'float32' | 'bfloat16'): lda/ldb 0 mean dense rows; bias empty (none) or
//        (n), added to every row of every product; 'bfloat16' is autocast's sgemm_grid_bf16.
napi_value matmul(napi_env env, napi_callback_info info) {
  Args args(env, info, "matmul", 20);
  const Array<float> a = args.float32(0, "a");
  const Array<float> b = args.float32(1, "b");
  const Array<float> out = args.float32(2, "out");
  MatmulCall call{};
  if (!read_matmul_call(args, a.length, b.length, out.length, call)) return nullptr;
  const Array<float> bias = args.float32(18, "bias");
  const GemmPrecision precision = read_gemm_precision(args, 19);
  if (!args.ok()) return nullptr;
  if (bias.length != 0 && bias.length != call.shape.n) {
    args.range_error("bias has %lld elements but must be empty (no bias) or have n=%lld", static_cast<long long>(bias.length),
                     static_cast<long long>(call.shape.n));
  }
  if (!args.ok() || out.length == 0) return nullptr;
  MatmulShape shape = call.shape;
  shape.bias = bias.length != 0 ? bias.data : nullptr;
  shape.precision = precision;
  return run_kernel(args, [=] { kiln::matmul(a.data + call.a_offset, b.data + call.b_offset, out.data, shape); });
}

// The output of a bfloat16 product: rounded to bfloat16 (Uint16Array) or the FP32 sums.
Array<uint16_t> read_out(Args& args, uint16_t*) { return args.uint16(2, "out"); }
Array<float> read_out(Args& args, float*) { return args.float32(2, "out"); }

// matmulBFloat16 / matmulBFloat16ToFloat(a, b: Uint16Array (bfloat16 bits), out: Uint16Array /
//        Float32Array, batch, m, k, n, aBatchStride, bBatchStride, transA, transB, aOffset, bOffset,
//        lda, ldb, outer, aOuterStride, bOuterStride): matmul's layout, FP32 accumulation, no bias.
template <typename Out>
napi_value matmul_bf16(napi_env env, napi_callback_info info, const char* name) {
  Args args(env, info, name, 18);
  const Array<uint16_t> a = args.uint16(0, "a");
  const Array<uint16_t> b = args.uint16(1, "b");
  const Array<Out> out = read_out(args, static_cast<Out*>(nullptr));
  MatmulCall call{};
  if (!read_matmul_call(args, a.length, b.length, out.length, call) || out.length == 0) return nullptr;
  return run_kernel(args, [=] { kiln::matmul_bf16(a.data + call.a_offset, b.data + call.b_offset, out.data, call.shape); });
}

napi_value matmul_bf16_rounded(napi_env env, napi_callback_info info) {
  return matmul_bf16<uint16_t>(env, info, "matmulBFloat16");
}
napi_value matmul_bf16_to_float(napi_env env, napi_callback_info info) {
  return matmul_bf16<float>(env, info, "matmulBFloat16ToFloat");
}

}  // namespace

void register_matmul(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "matmul", matmul);
  export_function(env, exports, "matmulBFloat16", matmul_bf16_rounded);
  export_function(env, exports, "matmulBFloat16ToFloat", matmul_bf16_to_float);
}

}  // namespace kiln::bindings
