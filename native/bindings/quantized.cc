// int8 dynamic quantization (kernels/qgemm): packing int8 weights into the kernel's layout and
// the dynamic-quantized Linear. int8 arrays travel as Uint8Array views of the same bytes.
#include "../kernels/qgemm/qgemm.h"

#include "args.h"
#include "bindings.h"
#include "queue.h"

namespace kiln::bindings {
namespace {

// Checks k against the int32 accumulation limit of the kernel.
void require_depth(Args& args, int64_t k) {
  if (args.ok() && k > kQgemmMaxDepth) {
    args.range_error("k=%lld exceeds %lld, beyond which int32 accumulation could overflow", static_cast<long long>(k),
                     static_cast<long long>(kQgemmMaxDepth));
  }
}

// Checks that array `name` holds exactly `expected` elements (`what` says how they are counted).
void require_length(Args& args, const char* name, int64_t length, int64_t expected, const char* what) {
  if (args.ok() && length != expected) {
    args.range_error("%s has %lld elements but %s needs %lld", name, static_cast<long long>(length), what,
                     static_cast<long long>(expected));
  }
}

// qlinearPackWeights(weight: Uint8Array (int8 bytes, n × k), n, k, packed: Uint8Array,
//                    columnSums: Int32Array (n)).
napi_value qlinear_pack_weights(napi_env env, napi_callback_info info) {
  Args args(env, info, "qlinearPackWeights", 5);
  const Array<uint8_t> weight = args.uint8(0, "weight");
  const int64_t n = args.size(1, "n");
  const int64_t k = args.size(2, "k");
  const Array<uint8_t> packed = args.uint8(3, "packed");
  const Array<int32_t> column_sums = args.int32(4, "columnSums");
  require_depth(args, k);
  args.require_elements("weight", weight.length, {{"n", n}, {"k", k}});
  require_length(args, "packed", packed.length, args.ok() ? qgemm_packed_weight_bytes(n, k) : 0,
                 "the packed layout of n × k");
  require_length(args, "columnSums", column_sums.length, n, "n");
  args.require_disjoint("packed", packed, "weight", weight);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    qgemm_pack_weights(reinterpret_cast<const int8_t*>(weight.data), n, k, reinterpret_cast<int8_t*>(packed.data),
                       column_sums.data);
  });
}

// qlinearDynamic(x: Float32Array (m × k), m, k, packed: Uint8Array, n, columnSums: Int32Array (n),
//                weightScales: Float32Array (n), bias: Float32Array (n) | null, out: Float32Array (m × n)).
napi_value qlinear_dynamic(napi_env env, napi_callback_info info) {
  Args args(env, info, "qlinearDynamic", 9);
  const Array<float> x = args.float32(0, "x");
  const int64_t m = args.size(1, "m");
  const int64_t k = args.size(2, "k");
  const Array<uint8_t> packed = args.uint8(3, "packed");
  const int64_t n = args.size(4, "n");
  const Array<int32_t> column_sums = args.int32(5, "columnSums");
  const Array<float> scales = args.float32(6, "weightScales");
  const Array<float> bias = args.is_null(7) ? Array<float>() : args.float32(7, "bias");
  const Array<float> out = args.float32(8, "out");
  require_depth(args, k);
  args.require_elements("x", x.length, {{"m", m}, {"k", k}});
  args.product({{"n", n}, {"k", k}});  // bounds the packed size computed next
  require_length(args, "packed", packed.length, args.ok() ? qgemm_packed_weight_bytes(n, k) : 0,
                 "the packed layout of n × k");
  require_length(args, "columnSums", column_sums.length, n, "n");
  require_length(args, "weightScales", scales.length, n, "n");
  if (!args.is_null(7)) require_length(args, "bias", bias.length, n, "n");
  args.require_elements("out", out.length, {{"m", m}, {"n", n}});
  args.require_work("qlinearDynamic", {{"m", m}, {"n", n}, {"k", k}});
  args.require_disjoint("out", out, "packed", packed);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    return kiln::qlinear_dynamic(x.data, m, k, reinterpret_cast<const int8_t*>(packed.data), n, column_sums.data,
                                 scales.data, bias.data, out.data);
  });
}

// qgemmIsa(): the int8 GEMM's micro-kernel family on this CPU ("avx512vnni", "avx2" or "scalar").
napi_value qgemm_isa(napi_env env, napi_callback_info info) {
  Args args(env, info, "qgemmIsa", 0);
  if (!args.ok()) return nullptr;
  napi_value result;
  if (napi_create_string_utf8(env, kiln::qgemm_isa_name(), NAPI_AUTO_LENGTH, &result) != napi_ok) return nullptr;
  return result;
}

}  // namespace

void register_quantized(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "qlinearPackWeights", qlinear_pack_weights);
  export_function(env, exports, "qlinearDynamic", qlinear_dynamic);
  export_function(env, exports, "qgemmIsa", qgemm_isa);
}

}  // namespace kiln::bindings
