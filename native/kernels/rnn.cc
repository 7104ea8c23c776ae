// Recurrent layers: see rnn.h. The file reads top-down: fast nonlinearities; the fused cells
// (forward and backward side by side); the small-batch matrix-vector products; the
// gate-blocked layout and the row kernels over it; the scheduler that runs a recurrence on
// several threads; then rnn_forward and rnn_backward.
//
// Equations (PyTorch's), with x_t the input and h the previous hidden state:
//   RNN:  h' = act(W_ih x + b_ih + W_hh h + b_hh),  act = tanh or relu
//   LSTM: i, f, g, o = σ, σ, tanh, σ of (W_ih x + b_ih + W_hh h + b_hh) split in 4 blocks
//         c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')
//   GRU:  r, z = σ of the first two blocks of (W_ih x + b_ih + W_hh h + b_hh)
//         n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),   h' = (1 − z) ⊙ n + z ⊙ h
#include "rnn.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "gemm/gemm.h"
#include "parallel.h"

namespace kiln {
namespace {

// KILN_VECTORIZE marks the row kernels (cells_forward, cells_backward, the streaming
// products): on x86-64 Linux with GCC they are compiled for AVX-512, AVX2 + FMA and baseline
// x86-64, and the loader picks the best this CPU runs (plain loops then vectorize to the
// machine's width; the binary stays portable). Elsewhere: baseline. (The same macro as
// conv/internal.h's.)
#ifndef KILN_VECTORIZE
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define KILN_VECTORIZE __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define KILN_VECTORIZE
#endif
#endif

// ---- nonlinearities -----------------------------------------------------------------------
// Branch-free and free of library calls, so the loops using them vectorize.

// e^x with relative error below 2e-7 (x clamped to [-87, 88], the float range).
inline float fast_exp(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  // x = n·ln2 + r with n an integer (rounded via the 1.5·2^23 trick) and |r| ≤ ln2 / 2.
  const float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
  const float r = (x - n * 0.693145752f) - n * 1.42860677e-6f;
  // e^r by its Taylor series to degree 6 (error r^7 / 7! < 1.3e-7).
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // 2^n from its exponent bits.
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline float sigmoid(float x) { return 1.0f / (1.0f + fast_exp(-x)); }

inline float tanh_fast(float x) { return 1.0f - 2.0f / (fast_exp(2.0f * x) + 1.0f); }

// v[0:n] = σ(v + bias) and v[0:n] = tanh(v + bias), one simple loop each (they vectorize).
inline void sigmoid_in_place(float* __restrict v, const float* __restrict bias, int64_t n) {
  for (int64_t j = 0; j < n; ++j) v[j] = sigmoid(v[j] + bias[j]);
}
inline void tanh_in_place(float* __restrict v, const float* __restrict bias, int64_t n) {
  for (int64_t j = 0; j < n; ++j) v[j] = tanh_fast(v[j] + bias[j]);
}

// ---- fused cells: H units of one batch row ------------------------------------------------
// Inlined into cells_forward / cells_backward, which run them on one gate block at a time.

// The forward cells take the pre-activations without bias in `gates` and add `bias` (G·H,
// b_ih + b_hh; for the GRU's n gate b_in only) themselves.

// Elman RNN. gates: (H) pre-activations in, h' out; y: (H) h' again (the layer output).
inline void rnn_cell_forward(int64_t H, bool relu, float* __restrict gates, const float* __restrict bias,
                             float* __restrict y) {
  for (int64_t j = 0; j < H; ++j) {
    const float pre = gates[j] + bias[j];
    const float h = relu ? std::max(pre, 0.0f) : tanh_fast(pre);
    gates[j] = h;
    y[j] = h;
  }
}

// h: (H) the step's output h'; gy: (H) its gradient from the layer output; dh: (H) its
// gradient from later steps; dpre: (H) out, the gradient of the pre-activation.
inline void rnn_cell_backward(int64_t H, bool relu, const float* __restrict h, const float* __restrict gy,
                              const float* __restrict dh, float* __restrict dpre) {
  for (int64_t j = 0; j < H; ++j) {
    const float grad = dh[j] + gy[j];
    dpre[j] = relu ? (h[j] > 0.0f ? grad : 0.0f) : grad * (1.0f - h[j] * h[j]);
  }
}

// LSTM. gates: (4H) pre-activations [i f g o] in, activations out; c_prev: (H);
// c, h: (H) out, the new cell and hidden states.
inline void lstm_cell_forward(int64_t H, float* __restrict gates, const float* __restrict bias,
                              const float* __restrict c_prev, float* __restrict c, float* __restrict h) {
  sigmoid_in_place(gates, bias, 2 * H);                  // i, f
  tanh_in_place(gates + 2 * H, bias + 2 * H, H);         // g
  sigmoid_in_place(gates + 3 * H, bias + 3 * H, H);      // o
  const float* i = gates;
  const float* f = gates + H;
  const float* g = gates + 2 * H;
  const float* o = gates + 3 * H;
  for (int64_t j = 0; j < H; ++j) {
    c[j] = f[j] * c_prev[j] + i[j] * g[j];
    h[j] = o[j] * tanh_fast(c[j]);
  }
}

// gates: (4H) activations; c, c_prev: (H); gy: (H) gradient of h from the layer output;
// dh: (H) gradient of h from later steps; dc: (H) gradient of c in, of c_prev out;
// dgates: (4H) out, gradients of the 4 pre-activations.
inline void lstm_cell_backward(int64_t H, const float* __restrict gates, const float* __restrict c,
                               const float* __restrict c_prev, const float* __restrict gy, const float* __restrict dh,
                               float* __restrict dc, float* __restrict dgates) {
  const float* gi = gates;
  const float* gf = gates + H;
  const float* gg = gates + 2 * H;
  const float* go = gates + 3 * H;
  for (int64_t j = 0; j < H; ++j) {
    const float i = gi[j], f = gf[j], g = gg[j], o = go[j];
    const float grad_h = dh[j] + gy[j];
    const float tc = tanh_fast(c[j]);
    const float grad_c = dc[j] + grad_h * o * (1.0f - tc * tc);
    dgates[j] = grad_c * g * i * (1.0f - i);
    dgates[H + j] = grad_c * c_prev[j] * f * (1.0f - f);
    dgates[2 * H + j] = grad_c * i * (1.0f - g * g);
    dgates[3 * H + j] = grad_h * tc * o * (1.0f - o);
    dc[j] = grad_c * f;
  }
}

// GRU. gates: (3H) input parts [r z n] in, activations out; rec: (3H) W_hh·h without bias;
// b_hn: (H); h_prev: (H); hn: (H) out, W_hn·h + b_hn; h: (H) out.
inline void gru_cell_forward(int64_t H, float* __restrict gates, const float* __restrict bias,
                             const float* __restrict rec, const float* __restrict b_hn,
                             const float* __restrict h_prev, float* __restrict hn, float* __restrict h) {
  float* gr = gates;
  float* gz = gates + H;
  float* gn = gates + 2 * H;
  for (int64_t j = 0; j < H; ++j) {
    const float r = sigmoid(gr[j] + bias[j] + rec[j]);
    const float z = sigmoid(gz[j] + bias[H + j] + rec[H + j]);
    const float hn_j = rec[2 * H + j] + b_hn[j];
    const float n = tanh_fast(gn[j] + bias[2 * H + j] + r * hn_j);
    gr[j] = r;
    gz[j] = z;
    gn[j] = n;
    hn[j] = hn_j;
    h[j] = (1.0f - z) * n + z * h_prev[j];
  }
}

// gates: (3H) activations [r z n]; hn, h_prev, gy: (H); dh: (H) gradient of h from later
// steps in, its direct part z ⊙ grad toward h_prev out. Out: dgi (3H) the gradients of the
// input-side pre-activations, dgh (3H) those of the hidden side (n's is scaled by r).
inline void gru_cell_backward(int64_t H, const float* __restrict gates, const float* __restrict hn,
                              const float* __restrict h_prev, const float* __restrict gy, float* __restrict dh,
                              float* __restrict dgi, float* __restrict dgh) {
  const float* gr = gates;
  const float* gz = gates + H;
  const float* gn = gates + 2 * H;
  for (int64_t j = 0; j < H; ++j) {
    const float r = gr[j], z = gz[j], n = gn[j];
    const float grad_h = dh[j] + gy[j];
    const float dn = grad_h * (1.0f - z) * (1.0f - n * n);
    const float dz = grad_h * (h_prev[j] - n) * z * (1.0f - z);
    const float dr = dn * hn[j] * r * (1.0f - r);
    dgi[j] = dgh[j] = dr;
    dgi[H + j] = dgh[H + j] = dz;
    dgi[2 * H + j] = dn;
    dgh[2 * H + j] = dn * r;
    dh[j] = grad_h * z;
  }
}

// ---- matrix-vector products for small batches ----------------------------------------------

// Up to this many batch rows, a step's recurrent product skips the GEMM for loops that
// stream the weight rows front to back: with so few rows it is a matrix-vector product,
// bound by reading the weights once per step.
constexpr int64_t kStreamingRows = 4;

// x · y over n, in 16 interleaved partial sums (vectorizes; the order is fixed).
inline float dot(int64_t n, const float* x, const float* y) {
  float lanes[16] = {};
  int64_t l = 0;
  for (; l + 16 <= n; l += 16) {
    for (int q = 0; q < 16; ++q) lanes[q] += x[l + q] * y[l + q];
  }
  float sum = 0.0f;
  for (; l < n; ++l) sum += x[l] * y[l];
  for (int q = 0; q < 16; ++q) sum += lanes[q];
  return sum;
}

// y[0:n] += alpha · x[0:n]
inline void axpy(int64_t n, float alpha, const float* __restrict x, float* __restrict y) {
  for (int64_t j = 0; j < n; ++j) y[j] += alpha * x[j];
}

// Columns [begin, end) of out (B, n) = a (B, k) · wᵀ + beta · out, for w (n, k).
KILN_VECTORIZE void streaming_nt_columns(int64_t B, int64_t n, int64_t k, const float* a, const float* w, float beta,
                                         float* out, int64_t begin, int64_t end) {
  for (int64_t j = begin; j < end; ++j) {
    for (int64_t b = 0; b < B; ++b) {
      const float prior = beta == 0.0f ? 0.0f : beta * out[b * n + j];
      out[b * n + j] = prior + dot(k, a + b * k, w + j * k);
    }
  }
}

// Columns [begin, end) of out (B, n) = a (B, k) · w + beta · out, for w (k, n).
KILN_VECTORIZE void streaming_nn_columns(int64_t B, int64_t n, int64_t k, const float* a, const float* w, float beta,
                                         float* out, int64_t begin, int64_t end) {
  for (int64_t b = 0; b < B; ++b) {
    float* row = out + b * n;
    for (int64_t j = begin; j < end; ++j) row[j] = beta == 0.0f ? 0.0f : beta * row[j];
  }
  for (int64_t l = 0; l < k; ++l) {
    for (int64_t b = 0; b < B; ++b) axpy(end - begin, a[b * k + l], w + l * n + begin, out + b * n + begin);
  }
}

// ---- gate-blocked layout ----------------------------------------------------------------------
// Inside these kernels the G·H gate columns are regrouped into blocks of up to kUnits hidden
// units, each holding its units' G gates side by side:
//   PyTorch order: [i_0 … i_H-1 | f_0 … f_H-1 | g_0 … | o_0 …]
//   blocked order: [i_0…i_15 f_0…f_15 g_0…g_15 o_0…o_15 | i_16…i_31 f_16…f_31 … | …]
// A thread owning a range of blocks then computes the recurrent product and the cell update
// of its units with no barrier in between (one parallel region per forward step), and a cell
// runs on a block exactly as on a whole row, with H = the block's width. The workspace holds
// the gates in this order; weights are permuted on the way in, their gradients on the way out.
constexpr int64_t kUnits = 16;

struct GateBlocks {
  int64_t H, G, count;
  GateBlocks(int64_t hidden, int64_t gates) : H(hidden), G(gates), count((hidden + kUnits - 1) / kUnits) {}
  // First unit and width of block b; its first column (col0(count) = G·H, the end).
  int64_t unit0(int64_t b) const { return b * kUnits; }
  int64_t width(int64_t b) const { return std::min(kUnits, H - b * kUnits); }
  int64_t col0(int64_t b) const { return G * std::min(b * kUnits, H); }
  // The blocked position of PyTorch's gate row k·H + j.
  int64_t position(int64_t row) const {
    const int64_t k = row / H, j = row % H, b = j / kUnits;
    return col0(b) + k * width(b) + (j - unit0(b));
  }
};

// src (G·H, n) with its rows in blocked order.
std::vector<float> blocked_rows(const GateBlocks& gb, const float* src, int64_t n) {
  std::vector<float> dst(static_cast<size_t>(gb.G * gb.H * n));
  for (int64_t row = 0; row < gb.G * gb.H; ++row) {
    std::memcpy(&dst[gb.position(row) * n], src + row * n, n * sizeof(float));
  }
  return dst;
}

// srcᵀ (n, G·H) for src (G·H, n), its columns in blocked order (rows blocked first, then a
// tiled transpose).
std::vector<float> blocked_columns_transposed(const GateBlocks& gb, const float* src, int64_t n) {
  const int64_t GH = gb.G * gb.H;
  const std::vector<float> rows = blocked_rows(gb, src, n);
  std::vector<float> dst(rows.size());
  constexpr int64_t kTile = 32;
  for (int64_t r0 = 0; r0 < GH; r0 += kTile) {
    for (int64_t l0 = 0; l0 < n; l0 += kTile) {
      for (int64_t r = r0; r < std::min(GH, r0 + kTile); ++r) {
        for (int64_t l = l0; l < std::min(n, l0 + kTile); ++l) dst[l * GH + r] = rows[r * n + l];
      }
    }
  }
  return dst;
}

// dst (G·H, n) in PyTorch row order = srcᵀ for src (n, G·H) with its columns blocked (tiled).
void unblock_transposed(const GateBlocks& gb, const float* src, int64_t n, float* dst) {
  const int64_t GH = gb.G * gb.H;
  constexpr int64_t kTile = 32;
  for (int64_t r0 = 0; r0 < GH; r0 += kTile) {
    for (int64_t l0 = 0; l0 < n; l0 += kTile) {
      for (int64_t row = r0; row < std::min(GH, r0 + kTile); ++row) {
        const int64_t col = gb.position(row);
        for (int64_t l = l0; l < std::min(n, l0 + kTile); ++l) dst[row * n + l] = src[l * GH + col];
      }
    }
  }
}

// dst (G·H, n) in PyTorch row order from src in blocked order.
void unblock_rows(const GateBlocks& gb, const float* src, int64_t n, float* dst) {
  for (int64_t row = 0; row < gb.G * gb.H; ++row) {
    std::memcpy(dst + row * n, src + gb.position(row) * n, n * sizeof(float));
  }
}

// ---- sequence loops -------------------------------------------------------------------------

// Per-thread scratch reused from call to call (grown on demand, never shrunk), so the large
// per-call buffers do not page-fault on every call.
class Scratch {
 public:
  float* get(int64_t n) {
    if (static_cast<size_t>(n) > buffer_.size()) buffer_.resize(static_cast<size_t>(n));
    return buffer_.data();
  }

 private:
  std::vector<float> buffer_;
};
thread_local Scratch t_input_grads;   // backward: dgi, the input-side gate gradients of every step
thread_local Scratch t_hidden_grads;  // backward (GRU): dgh, the hidden-side ones

// Sizes every loop below derives from RnnShape.
struct Dims {
  int64_t T, B, I, H, G, GH;
  explicit Dims(const RnnShape& s)
      : T(s.steps), B(s.batch), I(s.input), H(s.hidden), G(rnn_gate_count(s.mode)), GH(G * s.hidden) {}
};

// The time index of processing step `step`.
int64_t time_of(const RnnShape& s, int64_t step) { return s.reverse ? s.steps - 1 - step : step; }

// ---- the recurrence on several threads ----------------------------------------------------
// A recurrence is a chain of stages (one per forward step; two per backward step) that must
// run in order, each split into independent work items (ranges of gate blocks or of hidden
// units). Instead of one parallel loop per stage, which would wake the pool twice per step,
// the whole chain runs in one parallel region: every thread that joins walks the stages,
// claims a stage's items one at a time through an atomic counter, and when none is left
// waits (spinning, then yielding) until the items claimed by others are finished. A thread
// never waits for an item nobody has claimed, so one thread alone finishes everything: it is
// safe whether the pool lends no helper (busy, or a single thread allowed) or several.
class StageChain {
 public:
  StageChain(int64_t stages, int64_t items) : items_(items), claimed_(stages), finished_(stages) {}

  // Runs work(stage, item) for every stage in order and every item, on the calling thread
  // and on whichever threads call run() at the same time.
  template <typename Work>
  void run(const Work& work) {
    for (size_t stage = 0; stage < claimed_.size(); ++stage) {
      for (int64_t item = claimed_[stage].fetch_add(1); item < items_; item = claimed_[stage].fetch_add(1)) {
        work(static_cast<int64_t>(stage), item);
        finished_[stage].fetch_add(1, std::memory_order_release);
      }
      for (int spins = 0; finished_[stage].load(std::memory_order_acquire) < items_; ++spins) {
        if (spins > 64) std::this_thread::yield();
      }
    }
  }

 private:
  int64_t items_;
  std::vector<std::atomic<int64_t>> claimed_;
  std::vector<std::atomic<int64_t>> finished_;
};

// Below this many multiply-adds per step, the recurrence runs on the calling thread alone.
constexpr int64_t kThreadedStepWork = 1 << 20;

// Runs work(stage, item, items) for `stages` stages in order, each over `items` items: two
// per thread used (all available threads when a step costs at least kThreadedStepWork
// multiply-adds, else just the caller).
template <typename Work>
void run_stages(int64_t stages, int64_t step_work, const Work& work) {
  const int64_t threads = step_work >= kThreadedStepWork ? get_num_threads() : 1;
  const int64_t items = 1 * threads;
  StageChain chain(stages, items);
  const auto item_work = [&](int64_t stage, int64_t item) { work(stage, item, items); };
  if (threads == 1) {
    chain.run(item_work);
  } else {
    parallel_for(0, threads, 1, [&](int64_t, int64_t) { chain.run(item_work); });
  }
}

// Item `item` of `items` near-equal ranges of [0, count): [first, last).
struct Range {
  int64_t first, last;
};
Range range_of(int64_t item, int64_t items, int64_t count) {
  return {count * item / items, count * (item + 1) / items};
}

// The biases the forward cells add, blocked: b_ih + b_hh, except that the GRU's n gates get
// b_in only (b_hn belongs inside r ⊙ (W_hn h + b_hn)).
std::vector<float> blocked_bias(const RnnShape& s, const GateBlocks& gb, const RnnWeights& w) {
  const Dims d(s);
  std::vector<float> bias(w.b_ih, w.b_ih + d.GH);
  const int64_t shared = s.mode == RnnMode::kGru ? 2 * d.H : d.GH;
  for (int64_t j = 0; j < shared; ++j) bias[j] += w.b_hh[j];
  return blocked_rows(gb, bias.data(), 1);
}

// gates (T·B, GH), blocked = x · W_ihᵀ: the input part of every step in one GEMM.
void input_projection(const RnnShape& s, const GateBlocks& gb, const RnnWeights& w, const float* x, float* gates) {
  const Dims d(s);
  const std::vector<float> w_ih_b = blocked_rows(gb, w.w_ih, d.I);
  sgemm(false, true, d.T * d.B, d.GH, d.I, 1.0f, x, d.I, w_ih_b.data(), d.I, 0.0f, gates, d.GH);
}

// What one forward step reads and writes (this time step's slices).
struct ForwardStep {
  float* gates;          // (B, GH) blocked: input part in, activations out
  const float* bias;     // (GH) blocked_bias
  const float* rec;      // (B, GH) blocked: GRU W_hh·h (else the recurrent part is in gates)
  const float* h_prev;   // (B, H)
  const float* c_prev;   // (B, H), LSTM
  float* states;         // (B, H): LSTM c', GRU W_hn·h + b_hn
  float* y;              // (B, H): h'
  const float* b_hn;     // (H), GRU
};

// The cells of batch row b on the gate blocks of r.
KILN_VECTORIZE void cells_forward(RnnMode mode, const Dims& d, const GateBlocks& gb, const ForwardStep& p, int64_t b,
                                  Range r) {
  for (int64_t blk = r.first; blk < r.last; ++blk) {
    const int64_t u = gb.width(blk), col0 = gb.col0(blk), unit0 = gb.unit0(blk);
    float* gates = p.gates + b * d.GH + col0;
    const float* bias = p.bias + col0;
    const int64_t h = b * d.H + unit0;
    switch (mode) {
      case RnnMode::kLstm:
        lstm_cell_forward(u, gates, bias, p.c_prev + h, p.states + h, p.y + h);
        break;
      case RnnMode::kGru:
        gru_cell_forward(u, gates, bias, p.rec + b * d.GH + col0, p.b_hn + unit0, p.h_prev + h, p.states + h, p.y + h);
        break;
      default:
        rnn_cell_forward(u, mode == RnnMode::kRelu, gates, bias, p.y + h);
    }
  }
}

// Columns [begin, end) of out (B, GH) = h (B, H) · W_hhᵀ + beta · out, with W_hh as given:
// blocked rows (GH, H) for a streaming batch, else blocked transposed columns (H, GH).
void hidden_forward_columns(const Dims& d, const float* h, const float* w_hh_b, float beta, float* out, int64_t begin,
                            int64_t end) {
  if (d.B <= kStreamingRows) {
    streaming_nt_columns(d.B, d.GH, d.H, h, w_hh_b, beta, out, begin, end);
  } else {
    sgemm(false, false, d.B, end - begin, d.H, 1.0f, h, d.H, w_hh_b + begin, d.GH, beta, out + begin, d.GH);
  }
}

}  // namespace

int64_t rnn_gate_count(RnnMode mode) {
  switch (mode) {
    case RnnMode::kLstm:
      return 4;
    case RnnMode::kGru:
      return 3;
    default:
      return 1;
  }
}

int64_t rnn_workspace_size(const RnnShape& s) {
  const int64_t extra = s.mode == RnnMode::kLstm || s.mode == RnnMode::kGru ? 1 : 0;
  return s.steps * s.batch * (rnn_gate_count(s.mode) + extra) * s.hidden;
}

void rnn_forward(const RnnShape& s, const RnnWeights& w, const float* x, const float* h0, const float* c0, float* y,
                 float* h_n, float* c_n, float* workspace) {
  const Dims d(s);
  const GateBlocks gb(d.H, d.G);
  const bool gru = s.mode == RnnMode::kGru;
  float* gates = workspace;                      // (T, B, GH) blocked
  float* states = workspace + d.T * d.B * d.GH;  // (T, B, H): LSTM c, GRU W_hn·h + b_hn
  input_projection(s, gb, w, x, gates);
  const std::vector<float> bias = blocked_bias(s, gb, w);
  const std::vector<float> w_hh_b =
      d.B <= kStreamingRows ? blocked_rows(gb, w.w_hh, d.H) : blocked_columns_transposed(gb, w.w_hh, d.H);
  std::vector<float> rec(gru ? static_cast<size_t>(d.B * d.GH) : 0);
  // Stage = step; item = a range of gate blocks: its recurrent product (added onto the gates;
  // the GRU keeps it apart for r ⊙ (W_hn h + b_hn)), then its cells for every batch row.
  const auto step_of = [&](int64_t step) {
    const int64_t t = time_of(s, step), t_prev = time_of(s, step - 1);
    ForwardStep p{gates + t * d.B * d.GH, bias.data(), rec.data(),
                  step == 0 ? h0 : y + t_prev * d.B * d.H, step == 0 ? c0 : states + t_prev * d.B * d.H,
                  states + t * d.B * d.H, y + t * d.B * d.H, w.b_hh + 2 * d.H};
    return p;
  };
  run_stages(d.T, d.B * d.GH * d.H, [&](int64_t step, int64_t item, int64_t items) {
    const ForwardStep p = step_of(step);
    const Range r = range_of(item, items, gb.count);
    hidden_forward_columns(d, p.h_prev, w_hh_b.data(), gru ? 0.0f : 1.0f, gru ? rec.data() : p.gates, gb.col0(r.first),
                           gb.col0(r.last));
    for (int64_t b = 0; b < d.B; ++b) cells_forward(s.mode, d, gb, p, b, r);
  });
  const ForwardStep last = step_of(d.T - 1);
  std::memcpy(h_n, last.y, static_cast<size_t>(d.B * d.H) * sizeof(float));
  if (s.mode == RnnMode::kLstm) std::memcpy(c_n, last.states, static_cast<size_t>(d.B * d.H) * sizeof(float));
}

namespace {

// What one backward step reads and writes (this time step's slices).
struct BackwardStep {
  const float* gates;   // (B, GH) blocked activations
  const float* states;  // (B, H): LSTM c', GRU W_hn·h + b_hn
  const float* h_prev;  // (B, H)
  const float* c_prev;  // (B, H), LSTM
  const float* gy;      // (B, H)
  float* dh;            // (B, H) gradient of h' from later steps (GRU out: z ⊙ grad)
  float* dc;            // (B, H) LSTM: gradient of c' in, of c out
  float* dgi;           // (B, GH) blocked, out
  float* dgh;           // (B, GH) blocked, out (GRU; the others use dgi)
};

// The cell backward of batch row b on the gate blocks of r.
KILN_VECTORIZE void cells_backward(RnnMode mode, const Dims& d, const GateBlocks& gb, const BackwardStep& p, int64_t b,
                                   Range r) {
  for (int64_t blk = r.first; blk < r.last; ++blk) {
    const int64_t u = gb.width(blk), g = b * d.GH + gb.col0(blk), h = b * d.H + gb.unit0(blk);
    switch (mode) {
      case RnnMode::kLstm:
        lstm_cell_backward(u, p.gates + g, p.states + h, p.c_prev + h, p.gy + h, p.dh + h, p.dc + h, p.dgi + g);
        break;
      case RnnMode::kGru:
        gru_cell_backward(u, p.gates + g, p.states + h, p.h_prev + h, p.gy + h, p.dh + h, p.dgi + g, p.dgh + g);
        break;
      default:
        rnn_cell_backward(u, mode == RnnMode::kRelu, p.gates + g, p.gy + h, p.dh + h, p.dgi + g);
    }
  }
}

// Columns [begin, end) of out (B, H) = dg (B, GH) · W_hh + beta · out, with dg's columns and
// W_hh's rows blocked: the gradient a backward step passes to h_prev.
void hidden_backward_columns(const Dims& d, const float* dg, const float* w_hh_b, float beta, float* out, int64_t begin,
                             int64_t end) {
  if (d.B <= kStreamingRows) {
    streaming_nn_columns(d.B, d.H, d.GH, dg, w_hh_b, beta, out, begin, end);
  } else {
    sgemm(false, false, d.B, end - begin, d.GH, 1.0f, dg, d.GH, w_hh_b + begin, d.H, beta, out + begin, d.H);
  }
}

// The gradients of the weights, biases and input from the pre-activation gradients of all
// steps, as GEMMs over T·B rows. dgi, dgh: (T, B, GH) blocked, input- and hidden-side (the
// same array except for the GRU).
void weight_gradients(const RnnShape& s, const GateBlocks& gb, const RnnWeights& w, const float* x, const float* h0,
                      const float* y, const float* dgi, const float* dgh, float* gx, const RnnWeightGrads& g) {
  const Dims d(s);
  const int64_t rows = d.T * d.B;
  // gx (T·B, I) = dgi · W_ih (rows blocked like dgi's columns)
  const std::vector<float> w_ih_b = blocked_rows(gb, w.w_ih, d.I);
  sgemm(false, false, rows, d.I, d.GH, 1.0f, dgi, d.GH, w_ih_b.data(), d.I, 0.0f, gx, d.I);
  // The weight gradients are computed transposed, gW_ihᵀ (I, GH) = xᵀ · dgi and
  // gW_hhᵀ (H, GH) = Σ_t h_prev[t]ᵀ · dgh[t], so that the operand the GEMM reads transposed
  // is the narrow x or h (I or H columns), not the G·H-wide gate gradients; then they are put
  // back as (GH, ·) in PyTorch's row order.
  std::vector<float> blocked(static_cast<size_t>(d.GH * std::max(d.I, d.H)));
  sgemm(true, false, d.I, d.GH, rows, 1.0f, x, d.I, dgi, d.GH, 0.0f, blocked.data(), d.GH);
  unblock_transposed(gb, blocked.data(), d.I, g.w_ih);
  // The previous states of all steps but the first are y shifted by one time step (forward:
  // dgh[1..] with y[..T-1]; reverse: dgh[..T-1] with y[1..]); the first step's is h0.
  const int64_t later = (d.T - 1) * d.B;
  const float* dgh_later = dgh + (s.reverse ? 0 : d.B * d.GH);
  const float* y_earlier = y + (s.reverse ? d.B * d.H : 0);
  sgemm(true, false, d.H, d.GH, later, 1.0f, y_earlier, d.H, dgh_later, d.GH, 0.0f, blocked.data(), d.GH);
  const float* dgh_first = dgh + time_of(s, 0) * d.B * d.GH;
  sgemm(true, false, d.H, d.GH, d.B, 1.0f, h0, d.H, dgh_first, d.GH, 1.0f, blocked.data(), d.GH);
  unblock_transposed(gb, blocked.data(), d.H, g.w_hh);
  // Biases: column sums, as (1, T·B) · (T·B, GH).
  const std::vector<float> ones(static_cast<size_t>(rows), 1.0f);
  sgemm(false, false, 1, d.GH, rows, 1.0f, ones.data(), rows, dgi, d.GH, 0.0f, blocked.data(), d.GH);
  unblock_rows(gb, blocked.data(), 1, g.b_ih);
  sgemm(false, false, 1, d.GH, rows, 1.0f, ones.data(), rows, dgh, d.GH, 0.0f, blocked.data(), d.GH);
  unblock_rows(gb, blocked.data(), 1, g.b_hh);
}

}  // namespace

void rnn_backward(const RnnShape& s, const RnnWeights& w, const float* x, const float* h0, const float* c0,
                  const float* y, const float* workspace, const float* gy, const float* gh_n, const float* gc_n,
                  float* gx, float* gh0, float* gc0, const RnnWeightGrads& g) {
  const Dims d(s);
  const GateBlocks gb(d.H, d.G);
  const bool lstm = s.mode == RnnMode::kLstm, gru = s.mode == RnnMode::kGru;
  const float* gates = workspace;
  const float* states = workspace + d.T * d.B * d.GH;
  const std::vector<float> w_hh_b = blocked_rows(gb, w.w_hh, d.H);
  float* dgi = t_input_grads.get(d.T * d.B * d.GH);  // (T, B, GH) blocked
  float* dgh = gru ? t_hidden_grads.get(d.T * d.B * d.GH) : dgi;
  // The gradients of the states carried from step to step, starting at the last one.
  std::vector<float> dh(gh_n, gh_n + d.B * d.H);
  std::vector<float> dc(lstm ? gc_n : nullptr, lstm ? gc_n + d.B * d.H : nullptr);
  const auto step_of = [&](int64_t step) {
    const int64_t t = time_of(s, step), t_prev = time_of(s, step - 1);
    return BackwardStep{gates + t * d.B * d.GH,
                        states + t * d.B * d.H,
                        step == 0 ? h0 : y + t_prev * d.B * d.H,
                        step == 0 ? c0 : states + t_prev * d.B * d.H,
                        gy + t * d.B * d.H,
                        dh.data(),
                        dc.data(),
                        dgi + t * d.B * d.GH,
                        dgh + t * d.B * d.GH};
  };
  // Two stages per step, last step first: the cells of every range of gate blocks; then,
  // once all are done, dh_prev = dgh[t] · W_hh for every range of hidden units (the GRU adds
  // it to the direct part z ⊙ grad its cell left in dh).
  run_stages(2 * d.T, d.B * d.GH * d.H, [&](int64_t stage, int64_t item, int64_t items) {
    const BackwardStep p = step_of(d.T - 1 - stage / 2);
    const Range r = range_of(item, items, gb.count);
    if (stage % 2 == 0) {
      for (int64_t b = 0; b < d.B; ++b) cells_backward(s.mode, d, gb, p, b, r);
    } else {
      hidden_backward_columns(d, p.dgh, w_hh_b.data(), gru ? 1.0f : 0.0f, dh.data(), gb.unit0(r.first),
                              std::min(d.H, gb.unit0(r.last)));
    }
  });
  std::memcpy(gh0, dh.data(), dh.size() * sizeof(float));
  if (lstm) std::memcpy(gc0, dc.data(), dc.size() * sizeof(float));
  weight_gradients(s, gb, w, x, h0, y, dgi, dgh, gx, g);
}

}  // namespace kiln
