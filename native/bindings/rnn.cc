// rnnForward, rnnBackward, lstmCellsForward: see Backend in lib/backend/backend.ts and native/kernels/rnn.h.
// Every array's length is checked against the sizes, so a wrong call throws instead of
// reading or writing out of bounds.
#include "../kernels/rnn.h"

#include "args.h"
#include "bindings.h"
#include "queue.h"

namespace kiln::bindings {
namespace {

// The leading arguments of both functions: mode, reverse, steps, batch, inputSize, hiddenSize.
RnnShape read_shape(Args& args) {
  RnnShape s{};
  s.mode = static_cast<RnnMode>(args.op_code(0, 4));
  s.reverse = args.boolean(1, "reverse");
  s.steps = args.integer(2, "steps", 1, kMaxSafeInteger);
  s.batch = args.size(3, "batch");
  s.input = args.size(4, "inputSize");
  s.hidden = args.size(5, "hiddenSize");
  args.require_work("the recurrence", {{"steps", s.steps}, {"batch", s.batch}, {"4 * hiddenSize", 4 * s.hidden},
                                       {"inputSize + hiddenSize", s.input + s.hidden}});
  return s;
}

// Checks one (batch, hidden) state array; cell states (`cell`) exist for the LSTM only and
// must be empty otherwise.
void require_state(Args& args, const RnnShape& s, const char* name, int64_t length, bool cell) {
  if (cell && s.mode != RnnMode::kLstm) {
    if (args.ok() && length != 0) args.range_error("%s must be empty unless mode is LSTM (2), got %lld elements", name,
                                                   static_cast<long long>(length));
    return;
  }
  args.require_elements(name, length, {{"batch", s.batch}, {"hiddenSize", s.hidden}});
}

// Checks the weight-shaped arrays: (G·H, I), (G·H, H) and two of (G·H).
void require_weights(Args& args, const RnnShape& s, const char* names[4], const int64_t lengths[4]) {
  const NamedSize gates{"gates", rnn_gate_count(s.mode)}, hidden{"hiddenSize", s.hidden};
  args.require_elements(names[0], lengths[0], {gates, hidden, {"inputSize", s.input}});
  args.require_elements(names[1], lengths[1], {gates, hidden, hidden});
  args.require_elements(names[2], lengths[2], {gates, hidden});
  args.require_elements(names[3], lengths[3], {gates, hidden});
}

// Checks the workspace: T·B·(G + extra)·H floats (rnn_workspace_size).
void require_workspace(Args& args, const RnnShape& s, int64_t length) {
  const int64_t extra = s.mode == RnnMode::kLstm || s.mode == RnnMode::kGru ? 1 : 0;
  args.require_elements("workspace", length,
                        {{"steps", s.steps}, {"batch", s.batch}, {"gates + states", rnn_gate_count(s.mode) + extra},
                         {"hiddenSize", s.hidden}});
}

// rnnForward(mode, reverse, steps, batch, inputSize, hiddenSize, x, h0, c0, wIh, wHh, bIh,
//            bHh, y, hN, cN, workspace)
napi_value rnn_forward(napi_env env, napi_callback_info info) {
  Args args(env, info, "rnnForward", 17);
  const RnnShape s = read_shape(args);
  const Array<float> x = args.float32(6, "x");
  const Array<float> h0 = args.float32(7, "h0");
  const Array<float> c0 = args.float32(8, "c0");
  const Array<float> w_ih = args.float32(9, "wIh");
  const Array<float> w_hh = args.float32(10, "wHh");
  const Array<float> b_ih = args.float32(11, "bIh");
  const Array<float> b_hh = args.float32(12, "bHh");
  const Array<float> y = args.float32(13, "y");
  const Array<float> h_n = args.float32(14, "hN");
  const Array<float> c_n = args.float32(15, "cN");
  const Array<float> workspace = args.float32(16, "workspace");
  if (!args.ok()) return nullptr;
  args.require_elements("x", x.length, {{"steps", s.steps}, {"batch", s.batch}, {"inputSize", s.input}});
  require_state(args, s, "h0", h0.length, false);
  require_state(args, s, "c0", c0.length, true);
  const char* weight_names[4] = {"wIh", "wHh", "bIh", "bHh"};
  const int64_t weight_lengths[4] = {w_ih.length, w_hh.length, b_ih.length, b_hh.length};
  require_weights(args, s, weight_names, weight_lengths);
  args.require_elements("y", y.length, {{"steps", s.steps}, {"batch", s.batch}, {"hiddenSize", s.hidden}});
  require_state(args, s, "hN", h_n.length, false);
  require_state(args, s, "cN", c_n.length, true);
  require_workspace(args, s, workspace.length);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    kiln::rnn_forward(s, {w_ih.data, w_hh.data, b_ih.data, b_hh.data}, x.data, h0.data, c0.data, y.data, h_n.data,
                      c_n.data, workspace.data);
  });
}

// rnnBackward(mode, reverse, steps, batch, inputSize, hiddenSize, x, h0, c0, wIh, wHh, y,
//             workspace, gy, ghN, gcN, gx, gh0, gc0, gwIh, gwHh, gbIh, gbHh)
napi_value rnn_backward(napi_env env, napi_callback_info info) {
  Args args(env, info, "rnnBackward", 23);
  const RnnShape s = read_shape(args);
  const Array<float> x = args.float32(6, "x");
  const Array<float> h0 = args.float32(7, "h0");
  const Array<float> c0 = args.float32(8, "c0");
  const Array<float> w_ih = args.float32(9, "wIh");
  const Array<float> w_hh = args.float32(10, "wHh");
  const Array<float> y = args.float32(11, "y");
  const Array<float> workspace = args.float32(12, "workspace");
  const Array<float> gy = args.float32(13, "gy");
  const Array<float> gh_n = args.float32(14, "ghN");
  const Array<float> gc_n = args.float32(15, "gcN");
  const Array<float> gx = args.float32(16, "gx");
  const Array<float> gh0 = args.float32(17, "gh0");
  const Array<float> gc0 = args.float32(18, "gc0");
  const Array<float> gw_ih = args.float32(19, "gwIh");
  const Array<float> gw_hh = args.float32(20, "gwHh");
  const Array<float> gb_ih = args.float32(21, "gbIh");
  const Array<float> gb_hh = args.float32(22, "gbHh");
  if (!args.ok()) return nullptr;
  args.require_elements("x", x.length, {{"steps", s.steps}, {"batch", s.batch}, {"inputSize", s.input}});
  args.require_same_length("gx", gx.length, "x", x.length);
  require_state(args, s, "h0", h0.length, false);
  require_state(args, s, "c0", c0.length, true);
  const char* weight_names[4] = {"wIh", "wHh", "gbIh", "gbHh"};
  const int64_t weight_lengths[4] = {w_ih.length, w_hh.length, gb_ih.length, gb_hh.length};
  require_weights(args, s, weight_names, weight_lengths);
  args.require_same_length("gwIh", gw_ih.length, "wIh", w_ih.length);
  args.require_same_length("gwHh", gw_hh.length, "wHh", w_hh.length);
  args.require_elements("y", y.length, {{"steps", s.steps}, {"batch", s.batch}, {"hiddenSize", s.hidden}});
  args.require_same_length("gy", gy.length, "y", y.length);
  require_workspace(args, s, workspace.length);
  require_state(args, s, "ghN", gh_n.length, false);
  require_state(args, s, "gcN", gc_n.length, true);
  require_state(args, s, "gh0", gh0.length, false);
  require_state(args, s, "gc0", gc0.length, true);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    kiln::rnn_backward(s, {w_ih.data, w_hh.data, nullptr, nullptr}, x.data, h0.data, c0.data, y.data,
                       workspace.data, gy.data, gh_n.data, gc_n.data, gx.data, gh0.data, gc0.data,
                       {gw_ih.data, gw_hh.data, gb_ih.data, gb_hh.data});
  });
}

// lstmCellsForward(batch, hiddenSize, gates: Float32Array (batch × 4H, overwritten),
//                  inputGates (batch × 4H), cPrev (batch × H), c (batch × H), h (batch × H)).
napi_value lstm_cells_forward(napi_env env, napi_callback_info info) {
  Args args(env, info, "lstmCellsForward", 7);
  const int64_t batch = args.size(0, "batch");
  const int64_t hidden = args.size(1, "hiddenSize");
  const Array<float> gates = args.float32(2, "gates");
  const Array<float> input_gates = args.float32(3, "inputGates");
  const Array<float> c_prev = args.float32(4, "cPrev");
  const Array<float> c = args.float32(5, "c");
  const Array<float> h = args.float32(6, "h");
  if (!args.ok()) return nullptr;
  args.require_elements("gates", gates.length, {{"batch", batch}, {"4 * hiddenSize", 4 * hidden}});
  args.require_same_length("inputGates", input_gates.length, "gates", gates.length);
  args.require_elements("cPrev", c_prev.length, {{"batch", batch}, {"hiddenSize", hidden}});
  args.require_same_length("c", c.length, "cPrev", c_prev.length);
  args.require_same_length("h", h.length, "cPrev", c_prev.length);
  args.require_disjoint("gates", gates, "inputGates", input_gates);
  args.require_disjoint("c", c, "cPrev", c_prev);
  args.require_disjoint("h", h, "cPrev", c_prev);
  args.require_disjoint("h", h, "c", c);
  args.require_disjoint("h", h, "gates", gates);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] { kiln::lstm_cells_forward(batch, hidden, gates.data, input_gates.data, c_prev.data, c.data, h.data); });
}

}  // namespace

void register_rnn(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "rnnForward", rnn_forward);
  export_function(env, exports, "rnnBackward", rnn_backward);
  export_function(env, exports, "lstmCellsForward", lstm_cells_forward);
}

}  // namespace kiln::bindings
