// sgemm: the raw GEMM entry point (gemm/gemm.h) on Float32Arrays, for benchmarks and for
// callers that need leading dimensions, alpha and beta. Every size is checked against the
// arrays, so a wrong call throws instead of reading or writing out of bounds.
#include "../kernels/gemm/gemm.h"

#include "args.h"
#include "bindings.h"
#include "queue.h"

namespace kiln::bindings {
namespace {

// Checks a row-major matrix operand `name`: rows × cols elements, rows `ld` apart, with
// ld >= cols, inside an array of `length` elements.
void require_matrix(Args& args, const char* name, int64_t length, NamedSize rows, NamedSize cols, NamedSize ld) {
  if (!args.ok()) return;
  if (ld.value < cols.value || ld.value < 1) {
    args.range_error("%s=%lld must be at least max(1, %s=%lld)", ld.name, static_cast<long long>(ld.value), cols.name,
                     static_cast<long long>(cols.value));
    return;
  }
  if (rows.value == 0 || cols.value == 0) return;
  const int64_t last_row_start = args.product({{"rows - 1", rows.value - 1}, ld});
  if (!args.ok()) return;
  const int64_t needed = last_row_start + cols.value;
  if (length < needed) {
    args.range_error("%s has %lld elements but %s=%lld, %s=%lld, %s=%lld needs %lld", name,
                     static_cast<long long>(length), rows.name, static_cast<long long>(rows.value), cols.name,
                     static_cast<long long>(cols.value), ld.name, static_cast<long long>(ld.value),
                     static_cast<long long>(needed));
  }
}

// sgemm(transA, transB: boolean, m, n, k, alpha, a: Float32Array, lda, b: Float32Array, ldb,
//       beta, c: Float32Array, ldc): c = alpha · op(a) · op(b) + beta · c, row-major.
napi_value sgemm(napi_env env, napi_callback_info info) {
  Args args(env, info, "sgemm", 13);
  const bool trans_a = args.boolean(0, "transA");
  const bool trans_b = args.boolean(1, "transB");
  const int64_t m = args.size(2, "m");
  const int64_t n = args.size(3, "n");
  const int64_t k = args.size(4, "k");
  const float alpha = static_cast<float>(args.number(5, "alpha"));
  const Array<float> a = args.float32(6, "a");
  const int64_t lda = args.size(7, "lda");
  const Array<float> b = args.float32(8, "b");
  const int64_t ldb = args.size(9, "ldb");
  const float beta = static_cast<float>(args.number(10, "beta"));
  const Array<float> c = args.float32(11, "c");
  const int64_t ldc = args.size(12, "ldc");
  require_matrix(args, "a", a.length, {trans_a ? "k" : "m", trans_a ? k : m}, {trans_a ? "m" : "k", trans_a ? m : k},
                 {"lda", lda});
  require_matrix(args, "b", b.length, {trans_b ? "n" : "k", trans_b ? n : k}, {trans_b ? "k" : "n", trans_b ? k : n},
                 {"ldb", ldb});
  require_matrix(args, "c", c.length, {"m", m}, {"n", n}, {"ldc", ldc});
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    kiln::sgemm(trans_a, trans_b, m, n, k, alpha, a.data, lda, b.data, ldb, beta, c.data, ldc);
  });
}

// gemmIsa(): the name of the micro-kernel family GEMM dispatches to on this CPU ("avx512", …).
napi_value gemm_isa(napi_env env, napi_callback_info info) {
  Args args(env, info, "gemmIsa", 0);
  if (!args.ok()) return nullptr;
  napi_value result;
  if (napi_create_string_utf8(env, kiln::gemm_isa_name(), NAPI_AUTO_LENGTH, &result) != napi_ok) return nullptr;
  return result;
}

}  // namespace

void register_sgemm(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "sgemm", sgemm);
  export_function(env, exports, "gemmIsa", gemm_isa);
}

}  // namespace kiln::bindings
