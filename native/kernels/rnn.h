// Recurrent layers — Elman RNN (tanh or relu), LSTM and GRU — one layer and one direction
// over a whole sequence, forward and backward through time, with PyTorch's equations and
// weight layouts. G is the number of gate blocks: 1 (RNN), 4 (LSTM: i, f, g, o), 3 (GRU:
// r, z, n).
//
// Forward: the input projection of all T steps is one GEMM (per part, see below); each step
// is then one recurrent product, against W_hh packed once per call, plus one fused pass for
// the gate nonlinearities and the state update. It saves what the backward needs in a
// caller-owned workspace (see rnn_workspace_size).
// Backward: steps in reverse order, each one fused pass for the gate derivatives and the bias
// gradients plus one product for the gradient flowing to the previous hidden state; the
// weight and input gradients are then GEMMs over all steps at once.
// Threads: when a step is large enough, its gate columns are split into parts (by size only)
// and the whole time loop runs in one parallel region, each thread keeping its part
// (parallel.h's pool; never OpenMP); results do not depend on the thread count.
#pragma once

#include <cstdint>

namespace kiln {

// Codes shared with lib/backend/backend.ts (RnnMode).
enum class RnnMode : int32_t { kTanh = 0, kRelu = 1, kLstm = 2, kGru = 3 };

// One layer and direction. `reverse` walks time from T - 1 down to 0 (the backward half of
// a bidirectional layer); outputs stay indexed by time.
struct RnnShape {
  RnnMode mode;
  bool reverse;
  int64_t steps;   // T ≥ 1
  int64_t batch;   // B
  int64_t input;   // I
  int64_t hidden;  // H
};

// G: 1, 1, 4 or 3.
int64_t rnn_gate_count(RnnMode mode);

// Floats of the workspace rnn_forward fills and rnn_backward reads: T·B·G·H activated gates
// (for tanh/relu RNNs: the hidden states) in the kernel's own gate-blocked, part-major order (see
// rnn.cc), then for the LSTM the T·B·H cell states and for the GRU the T·B·H recurrent parts
// of n, W_hn·h + b_hn.
int64_t rnn_workspace_size(const RnnShape& s);

// PyTorch's parameters of one layer and direction.
//   w_ih: (G·H, I)   w_hh: (G·H, H)   b_ih, b_hh: (G·H)
struct RnnWeights {
  const float* w_ih;
  const float* w_hh;
  const float* b_ih;
  const float* b_hh;
};

// Their gradients, same shapes, overwritten.
struct RnnWeightGrads {
  float* w_ih;
  float* w_hh;
  float* b_ih;
  float* b_hh;
};

// x: (T, B, I)  h0: (B, H)  c0: (B, H), LSTM only (else ignored, may be null)
// y: (T, B, H) hidden state at every time   h_n, c_n: (B, H) the last step's states (c_n LSTM only)
// workspace: rnn_workspace_size(s) floats, overwritten.
void rnn_forward(const RnnShape& s, const RnnWeights& w, const float* x, const float* h0, const float* c0, float* y,
                 float* h_n, float* c_n, float* workspace);

// The gradients of rnn_forward given gy: (T, B, H), gh_n, gc_n: (B, H) (gc_n LSTM only).
// x, h0, c0, y and workspace are rnn_forward's. Outputs, overwritten: gx (T, B, I),
// gh0 (B, H), gc0 (B, H, LSTM only, else ignored) and the weight gradients.
void rnn_backward(const RnnShape& s, const RnnWeights& w, const float* x, const float* h0, const float* c0,
                  const float* y, const float* workspace, const float* gy, const float* gh_n, const float* gc_n,
                  float* gx, float* gh0, float* gc0, const RnnWeightGrads& g);

// One LSTM step's cell update for `batch` rows, from the two halves of the gate
// pre-activations (the dynamic-quantized LSTM computes them with int8 GEMMs):
//   gates: (B, 4H) W_hh h + b_hh in, [i f g o] activations out (scratch)
//   input_gates: (B, 4H) W_ih x + b_ih   c_prev: (B, H)
//   c, h: (B, H) out: c = σ(f) ⊙ c_prev + σ(i) ⊙ tanh(g), h = σ(o) ⊙ tanh(c)
// with the same fused cell as rnn_forward. No two arrays may overlap.
void lstm_cells_forward(int64_t batch, int64_t hidden, float* gates, const float* input_gates, const float* c_prev,
                        float* c, float* h);

}  // namespace kiln
