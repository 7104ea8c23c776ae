// stridedCopy, stridedScatter: see Backend in lib/backend/backend.ts.
#include "../kernels/strided.h"

#include "args.h"
#include "bindings.h"
#include "queue.h"

namespace kiln::bindings {
namespace {

// stridedCopy(src: Float32Array, srcOffset, shape: Int32Array, srcStrides: Int32Array, dst: Float32Array)
napi_value strided_copy(napi_env env, napi_callback_info info) {
  Args args(env, info, "stridedCopy", 5);
  const Array<float> src = args.float32(0, "src");
  const int64_t src_offset = args.size(1, "srcOffset");
  const Array<int32_t> shape = args.int32(2, "shape");
  const Array<int32_t> src_strides = args.int32(3, "srcStrides");
  const Array<float> dst = args.float32(4, "dst");
  const int64_t count = args.check_view("src", src.length, src_offset, shape, src_strides);
  if (args.ok() && dst.length != count) {
    args.range_error("dst has %lld elements but the view's shape has %lld", static_cast<long long>(dst.length),
                     static_cast<long long>(count));
  }
  // The kernel reads src, shape and srcStrides while it writes dst.
  args.require_disjoint("dst", dst, "src", src);
  args.require_disjoint("dst", dst, "shape", shape);
  args.require_disjoint("dst", dst, "srcStrides", src_strides);
  if (!args.ok() || count == 0) return nullptr;
  return run_kernel(args, [=] {
    kiln::strided_copy(src.data, {shape.length, shape.data, src_strides.data, src_offset}, dst.data);
  });
}

// stridedScatter(src: Float32Array, dst: Float32Array, dstOffset, shape: Int32Array, dstStrides: Int32Array,
//                accumulate: boolean)
napi_value strided_scatter(napi_env env, napi_callback_info info) {
  Args args(env, info, "stridedScatter", 6);
  const Array<float> src = args.float32(0, "src");
  const Array<float> dst = args.float32(1, "dst");
  const int64_t dst_offset = args.size(2, "dstOffset");
  const Array<int32_t> shape = args.int32(3, "shape");
  const Array<int32_t> dst_strides = args.int32(4, "dstStrides");
  const bool accumulate = args.boolean(5, "accumulate");
  const int64_t count = args.check_view("dst", dst.length, dst_offset, shape, dst_strides);
  if (args.ok() && src.length != count) {
    args.range_error("src has %lld elements but the view's shape has %lld", static_cast<long long>(src.length),
                     static_cast<long long>(count));
  }
  // The kernel reads src, shape and dstStrides while it writes dst.
  args.require_disjoint("dst", dst, "src", src);
  args.require_disjoint("dst", dst, "shape", shape);
  args.require_disjoint("dst", dst, "dstStrides", dst_strides);
  if (!args.ok() || count == 0) return nullptr;
  return run_kernel(args, [=] {
    kiln::strided_scatter(src.data, dst.data, {shape.length, shape.data, dst_strides.data, dst_offset}, accumulate);
  });
}

}  // namespace

void register_strided(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "stridedCopy", strided_copy);
  export_function(env, exports, "stridedScatter", strided_scatter);
}

}  // namespace kiln::bindings
