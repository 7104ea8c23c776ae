// attentionForward, attentionBackward: see Backend in lib/backend/backend.ts.
#include "../kernels/attention.h"

#include "args.h"
#include "bindings.h"
#include "queue.h"

namespace kiln::bindings {
namespace {

// The trailing geometry (batch, L, S, E, Ev, scale, maskKind, floatMask, boolMask,
// maskOffsets, maskRowStride, maskColStride) from argument `first` on, with the mask checked:
// every element (b, i, j) the kernel reads must lie inside the mask array.
AttentionShape read_shape(Args& args, size_t first, Array<int32_t>& offsets) {
  AttentionShape s{};
  s.batch = args.size(first, "batch");
  s.L = args.size(first + 1, "L");
  s.S = args.integer(first + 2, "S", 1, kMaxSafeInteger);
  s.E = args.size(first + 3, "E");
  s.Ev = args.size(first + 4, "Ev");
  s.scale = static_cast<float>(args.number(first + 5, "scale"));
  s.mask_kind = static_cast<AttentionMask>(args.integer(first + 6, "maskKind", 0, 3));
  const Array<float> float_mask = args.float32(first + 7, "floatMask");
  const Array<uint8_t> bool_mask = args.uint8(first + 8, "boolMask");
  offsets = args.int32(first + 9, "maskOffsets");
  s.mask_row_stride = args.size(first + 10, "maskRowStride");
  s.mask_col_stride = args.size(first + 11, "maskColStride");
  args.product({{"batch", s.batch}, {"L", s.L}, {"S", s.S}, {"E + Ev", s.E + s.Ev}});
  if (!args.ok()) return s;
  s.float_mask = float_mask.data;
  s.bool_mask = bool_mask.data;
  s.mask_offsets = offsets.data;
  if (s.mask_kind != AttentionMask::kFloat && s.mask_kind != AttentionMask::kBool) return s;
  const int64_t mask_length = s.mask_kind == AttentionMask::kFloat ? float_mask.length : bool_mask.length;
  if (offsets.length != s.batch) {
    args.range_error("maskOffsets has %lld entries, expected batch=%lld", static_cast<long long>(offsets.length),
                     static_cast<long long>(s.batch));
    return s;
  }
  const int64_t last = (s.L == 0 ? 0 : s.L - 1) * s.mask_row_stride + (s.S - 1) * s.mask_col_stride;
  for (int64_t b = 0; b < s.batch && s.L > 0; ++b) {
    if (offsets.data[b] < 0 || offsets.data[b] + last >= mask_length) {
      args.range_error("mask slice %lld (offset %d, row stride %lld, column stride %lld, L=%lld, S=%lld) reaches past "
                       "the mask's %lld elements",
                       static_cast<long long>(b), offsets.data[b], static_cast<long long>(s.mask_row_stride),
                       static_cast<long long>(s.mask_col_stride), static_cast<long long>(s.L),
                       static_cast<long long>(s.S), static_cast<long long>(mask_length));
      return s;
    }
  }
  return s;
}

void check_inputs(Args& args, const AttentionShape& s, const Array<float>& q, const Array<float>& k,
                  const Array<float>& v, const Array<float>& out, const Array<float>& lse) {
  args.require_elements("q", q.length, {{"batch", s.batch}, {"L", s.L}, {"E", s.E}});
  args.require_elements("k", k.length, {{"batch", s.batch}, {"S", s.S}, {"E", s.E}});
  args.require_elements("v", v.length, {{"batch", s.batch}, {"S", s.S}, {"Ev", s.Ev}});
  args.require_elements("out", out.length, {{"batch", s.batch}, {"L", s.L}, {"Ev", s.Ev}});
  args.require_elements("lse", lse.length, {{"batch", s.batch}, {"L", s.L}});
}

// attentionForward(q, k, v, out, lse, batch, L, S, E, Ev, scale, maskKind, floatMask, boolMask, maskOffsets,
//                  maskRowStride, maskColStride)
napi_value attention_forward(napi_env env, napi_callback_info info) {
  Args args(env, info, "attentionForward", 17);
  const Array<float> q = args.float32(0, "q");
  const Array<float> k = args.float32(1, "k");
  const Array<float> v = args.float32(2, "v");
  const Array<float> out = args.float32(3, "out");
  const Array<float> lse = args.float32(4, "lse");
  Array<int32_t> offsets;
  const AttentionShape s = read_shape(args, 5, offsets);
  check_inputs(args, s, q, k, v, out, lse);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] { kiln::attention_forward(q.data, k.data, v.data, out.data, lse.data, s); });
}

// attentionBackward(q, k, v, out, lse, dout, dq, dk, dv, batch, L, S, E, Ev, scale, maskKind, floatMask, boolMask,
//                   maskOffsets, maskRowStride, maskColStride)
napi_value attention_backward(napi_env env, napi_callback_info info) {
  Args args(env, info, "attentionBackward", 21);
  const Array<float> q = args.float32(0, "q");
  const Array<float> k = args.float32(1, "k");
  const Array<float> v = args.float32(2, "v");
  const Array<float> out = args.float32(3, "out");
  const Array<float> lse = args.float32(4, "lse");
  const Array<float> dout = args.float32(5, "dout");
  const Array<float> dq = args.float32(6, "dq");
  const Array<float> dk = args.float32(7, "dk");
  const Array<float> dv = args.float32(8, "dv");
  Array<int32_t> offsets;
  const AttentionShape s = read_shape(args, 9, offsets);
  check_inputs(args, s, q, k, v, out, lse);
  args.require_same_length("dout", dout.length, "out", out.length);
  args.require_same_length("dq", dq.length, "q", q.length);
  args.require_same_length("dk", dk.length, "k", k.length);
  args.require_same_length("dv", dv.length, "v", v.length);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    kiln::attention_backward(q.data, k.data, v.data, out.data, lse.data, dout.data, dq.data, dk.data, dv.data, s);
  });
}

}  // namespace

void register_attention(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "attentionForward", attention_forward);
  export_function(env, exports, "attentionBackward", attention_backward);
}

}  // namespace kiln::bindings
