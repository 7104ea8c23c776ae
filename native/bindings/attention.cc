// attentionForward, attentionBackward: see Backend in lib/backend/backend.ts.
#include "../kernels/attention.h"

#include <utility>

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
  args.require_work("attention", {{"batch", s.batch}, {"L", s.L}, {"S", s.S}, {"E + Ev", s.E + s.Ev}});
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

// Per-slice sizes of one operand: rows × cols in its layout.
struct Operand {
  const char* name;
  int64_t length;  // elements of its array
  const AttentionLayout& layout;
  int64_t rows, cols;
};

// The layout and dropout arguments: layout = [heads, then batch, head and row strides of q, k,
// v and out]; dropout = [threshold, seed's high 32 bits, seed's low 32 bits] (int32 bit patterns).
void read_layouts(Args& args, size_t first, AttentionShape& s) {
  const Array<int32_t> layout = args.int32(first, "layout");
  const Array<int32_t> dropout = args.int32(first + 1, "dropout");
  if (!args.ok()) return;
  if (layout.length != 13 || dropout.length != 3) {
    args.range_error("layout must have 13 entries and dropout 3, got %lld and %lld", static_cast<long long>(layout.length),
                     static_cast<long long>(dropout.length));
    return;
  }
  s.heads = layout.data[0];
  AttentionLayout* layouts[] = {&s.q_layout, &s.k_layout, &s.v_layout, &s.out_layout};
  for (int t = 0; t < 4; ++t) *layouts[t] = {layout.data[1 + 3 * t], layout.data[2 + 3 * t], layout.data[3 + 3 * t]};
  s.dropout_threshold = static_cast<uint32_t>(dropout.data[0]);
  s.dropout_seed = (uint64_t{static_cast<uint32_t>(dropout.data[1])} << 32) | static_cast<uint32_t>(dropout.data[2]);
  if (s.heads < 1 || (s.batch > 0 && s.batch % s.heads != 0)) {
    args.range_error("heads (%lld) must be at least 1 and divide batch (%lld)", static_cast<long long>(s.heads),
                     static_cast<long long>(s.batch));
  } else if (s.dropout_threshold > (1u << 24)) {
    args.range_error("dropout threshold %u exceeds 2^24", s.dropout_threshold);
  }
}

// The columns one row of an operand touches over all heads: (heads − 1)·head_stride + cols.
int64_t band_width(const AttentionShape& s, const Operand& x) { return (s.heads - 1) * x.layout.head_stride + x.cols; }

// Every element the operand's layout reaches lies inside its array; strides are non-negative
// and a row holds at least its columns.
void check_reach(Args& args, const AttentionShape& s, const Operand& x) {
  const AttentionLayout& l = x.layout;
  if (!args.ok() || s.batch == 0 || x.rows == 0 || x.cols == 0) return;
  if (l.batch_stride < 0 || l.head_stride < 0 || l.row_stride < x.cols) {
    args.range_error("%s's layout (batch stride %lld, head stride %lld, row stride %lld) needs non-negative strides and "
                     "a row stride of at least its %lld columns",
                     x.name, static_cast<long long>(l.batch_stride), static_cast<long long>(l.head_stride),
                     static_cast<long long>(l.row_stride), static_cast<long long>(x.cols));
    return;
  }
  const int64_t last = (s.batch / s.heads - 1) * l.batch_stride + (x.rows - 1) * l.row_stride + band_width(s, x);
  if (last > x.length) {
    args.range_error("%s's layout reaches element %lld but %s has %lld elements", x.name, static_cast<long long>(last - 1),
                     x.name, static_cast<long long>(x.length));
  }
}

// An output's slices never overlap (slices are written by different threads): heads lie side
// by side in a row, rows of a slice do not meet the next sample's.
void check_written(Args& args, const AttentionShape& s, const Operand& x) {
  check_reach(args, s, x);
  const AttentionLayout& l = x.layout;
  if (!args.ok() || s.batch == 0 || x.rows == 0 || x.cols == 0) return;
  const bool heads_apart = s.heads == 1 || l.head_stride >= x.cols;
  const bool rows_apart = x.rows == 1 || l.row_stride >= band_width(s, x);
  const bool samples_apart = s.batch == s.heads || l.batch_stride >= x.rows * l.row_stride;
  if (!(heads_apart && rows_apart && samples_apart)) {
    args.range_error("%s's layout (batch stride %lld, head stride %lld, row stride %lld, %lld heads) makes slices "
                     "overlap; an output's slices must be disjoint",
                     x.name, static_cast<long long>(l.batch_stride), static_cast<long long>(l.head_stride),
                     static_cast<long long>(l.row_stride), static_cast<long long>(s.heads));
  }
}

void check_inputs(Args& args, const AttentionShape& s, const Array<float>& q, const Array<float>& k,
                  const Array<float>& v, const Array<float>& out, const Array<float>& lse) {
  check_reach(args, s, {"q", q.length, s.q_layout, s.L, s.E});
  check_reach(args, s, {"k", k.length, s.k_layout, s.S, s.E});
  check_reach(args, s, {"v", v.length, s.v_layout, s.S, s.Ev});
  check_reach(args, s, {"out", out.length, s.out_layout, s.L, s.Ev});
  args.require_elements("lse", lse.length, {{"batch", s.batch}, {"L", s.L}});
}

// Two outputs in one array (dq, dk, dv of a packed projection) must write disjoint column
// bands of the same rows: equal layouts, one band after the other within a row.
void check_outputs_apart(Args& args, const AttentionShape& s, const Operand& a, const float* a_data, const Operand& b,
                         const float* b_data) {
  if (!args.ok() || s.batch == 0 || a.rows == 0 || a.cols == 0 || b.rows == 0 || b.cols == 0) return;
  const int64_t a_end = (s.batch / s.heads - 1) * a.layout.batch_stride + (a.rows - 1) * a.layout.row_stride + band_width(s, a);
  const int64_t b_end = (s.batch / s.heads - 1) * b.layout.batch_stride + (b.rows - 1) * b.layout.row_stride + band_width(s, b);
  if (a_data + a_end <= b_data || b_data + b_end <= a_data) return;
  const bool first_a = a_data <= b_data;
  const int64_t delta = first_a ? b_data - a_data : a_data - b_data;
  const Operand& low = first_a ? a : b;
  const Operand& high = first_a ? b : a;
  const AttentionLayout& l = a.layout;
  const bool same_layout = l.batch_stride == b.layout.batch_stride && l.head_stride == b.layout.head_stride &&
                           l.row_stride == b.layout.row_stride && a.rows == b.rows;
  if (!(same_layout && delta >= band_width(s, low) && delta + band_width(s, high) <= l.row_stride)) {
    args.range_error("%s and %s overlap in memory; outputs sharing an array must have equal layouts and disjoint "
                     "column bands",
                     a.name, b.name);
  }
}

// attentionForward(q, k, v, out, lse, batch, L, S, E, Ev, scale, maskKind, floatMask, boolMask, maskOffsets,
//                  maskRowStride, maskColStride, layout, dropout)
napi_value attention_forward(napi_env env, napi_callback_info info) {
  Args args(env, info, "attentionForward", 19);
  const Array<float> q = args.float32(0, "q");
  const Array<float> k = args.float32(1, "k");
  const Array<float> v = args.float32(2, "v");
  const Array<float> out = args.float32(3, "out");
  const Array<float> lse = args.float32(4, "lse");
  Array<int32_t> offsets;
  AttentionShape s = read_shape(args, 5, offsets);
  read_layouts(args, 17, s);
  check_inputs(args, s, q, k, v, out, lse);
  check_written(args, s, {"out", out.length, s.out_layout, s.L, s.Ev});
  for (const auto& [name, input] : {std::pair{"q", q}, std::pair{"k", k}, std::pair{"v", v}}) {
    args.require_disjoint("out", out, name, input);
  }
  args.require_disjoint("lse", lse, "out", out);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] { kiln::attention_forward(q.data, k.data, v.data, out.data, lse.data, s); });
}

// attentionBackward(q, k, v, out, lse, dout, dq, dk, dv, batch, L, S, E, Ev, scale, maskKind, floatMask, boolMask,
//                   maskOffsets, maskRowStride, maskColStride, layout, dropout)
// dq, dk and dv may share one array (the gradient of a packed projection) in disjoint bands.
napi_value attention_backward(napi_env env, napi_callback_info info) {
  Args args(env, info, "attentionBackward", 23);
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
  AttentionShape s = read_shape(args, 9, offsets);
  read_layouts(args, 21, s);
  check_inputs(args, s, q, k, v, out, lse);
  check_reach(args, s, {"dout", dout.length, s.out_layout, s.L, s.Ev});
  const Operand gradients[] = {{"dq", dq.length, s.q_layout, s.L, s.E},
                               {"dk", dk.length, s.k_layout, s.S, s.E},
                               {"dv", dv.length, s.v_layout, s.S, s.Ev}};
  const Array<float> written[] = {dq, dk, dv};
  const std::pair<const char*, Array<float>> read[] = {{"q", q}, {"k", k}, {"v", v}, {"out", out}, {"lse", lse}, {"dout", dout}};
  for (int t = 0; t < 3; ++t) {
    check_written(args, s, gradients[t]);
    for (const auto& [name, input] : read) args.require_disjoint(gradients[t].name, written[t], name, input);
    for (int u = t + 1; u < 3; ++u) check_outputs_apart(args, s, gradients[t], written[t].data, gradients[u], written[u].data);
  }
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
