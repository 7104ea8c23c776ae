// Recurrent layers: see rnn.h. The file reads top-down: fast nonlinearities; the fused cells
// (forward and backward side by side); the small-batch matrix-vector products; the
// gate-blocked layout; the parts a step is split into and the scheduler that runs them on
// several threads; the recurrent weights (packed once per call, rnn_packed.h); then the
// forward and the backward with their row kernels.
//
// Equations (PyTorch's), with x_t the input and h the previous hidden state:
//   RNN:  h' = act(W_ih x + b_ih + W_hh h + b_hh),  act = tanh or relu
//   LSTM: i, f, g, o = σ, σ, tanh, σ of (W_ih x + b_ih + W_hh h + b_hh) split in 4 blocks
//         c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')
//   GRU:  r, z = σ of the first two blocks of (W_ih x + b_ih + W_hh h + b_hh)
//         n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),   h' = (1 − z) ⊙ n + z ⊙ h

// Floating-point operations in this file never trap (kiln runs with exceptions masked).
// Telling GCC so lets it if-convert fast_exp's clamp and float → int conversion, so the AVX2 and baseline
// clones of the cell loops vectorize too (with trapping math only the AVX-512 clone did, by
// masking; the AVX2 cells ran scalar). Values are unchanged: this permits no reassociation.
// Before the includes, so the std:: helpers inlined into the cells carry the same options.
#pragma GCC optimize("no-trapping-math")
#include "rnn.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "gemm/gemm.h"
#include "parallel.h"
#include "rnn_packed.h"

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

// out (B, n) = a (B, k) · wᵀ + beta · out, for w (n, k).
KILN_VECTORIZE void streaming_nt(int64_t B, int64_t n, int64_t k, const float* a, const float* w, float beta,
                                 float* out) {
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t b = 0; b < B; ++b) {
      const float prior = beta == 0.0f ? 0.0f : beta * out[b * n + j];
      out[b * n + j] = prior + dot(k, a + b * k, w + j * k);
    }
  }
}

// out (B, n) = a (B, k) · w for w (k, n), a with row stride lda.
KILN_VECTORIZE void streaming_nn(int64_t B, int64_t n, int64_t k, const float* a, int64_t lda, const float* w,
                                 float* out) {
  std::fill(out, out + B * n, 0.0f);
  for (int64_t l = 0; l < k; ++l) {
    for (int64_t b = 0; b < B; ++b) axpy(n, a[b * lda + l], w + l * n, out + b * n);
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
thread_local Scratch t_input_rows;      // W_ih in blocked row order
thread_local Scratch t_recurrent_rows;  // W_hh in blocked row order
thread_local Scratch t_input_grads;     // backward: dgi, the input-side gate gradients of every step
thread_local Scratch t_hidden_grads;    // backward (GRU): dgh, the hidden-side ones
thread_local Scratch t_weight_grads;    // backward: the weight gradients, transposed and blocked

// dst (G·H, n) = src (G·H, n) with its rows in blocked order.
void blocked_rows(const GateBlocks& gb, const float* src, int64_t n, float* dst) {
  if (n == 0) return;  // (src and dst may then be null)
  parallel_for(0, gb.G * gb.H, grain_for(n), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      std::memcpy(dst + gb.position(row) * n, src + row * n, n * sizeof(float));
    }
  });
}

// dst (G·H, n) in PyTorch row order = srcᵀ for src (n, G·H) with its columns blocked (tiled).
void unblock_transposed(const GateBlocks& gb, const float* src, int64_t n, float* dst) {
  const int64_t GH = gb.G * gb.H;
  constexpr int64_t kTile = 32;
  parallel_for(0, (GH + kTile - 1) / kTile, grain_for(kTile * n), [&](int64_t tile_begin, int64_t tile_end) {
    for (int64_t r0 = tile_begin * kTile; r0 < std::min(GH, tile_end * kTile); r0 += kTile) {
      for (int64_t l0 = 0; l0 < n; l0 += kTile) {
        for (int64_t row = r0; row < std::min(GH, r0 + kTile); ++row) {
          const int64_t col = gb.position(row);
          for (int64_t l = l0; l < std::min(n, l0 + kTile); ++l) dst[row * n + l] = src[l * GH + col];
        }
      }
    }
  });
}

// dst (G·H, n) in PyTorch row order from src in blocked order.
void unblock_rows(const GateBlocks& gb, const float* src, int64_t n, float* dst) {
  if (n == 0) return;  // (src and dst may then be null)
  for (int64_t row = 0; row < gb.G * gb.H; ++row) {
    std::memcpy(dst + row * n, src + gb.position(row) * n, n * sizeof(float));
  }
}

// ---- sequence loops -------------------------------------------------------------------------

// Sizes every loop below derives from RnnShape.
struct Dims {
  int64_t T, B, I, H, G, GH;
  explicit Dims(const RnnShape& s)
      : T(s.steps), B(s.batch), I(s.input), H(s.hidden), G(rnn_gate_count(s.mode)), GH(G * s.hidden) {}
};

// The time index of processing step `step`.
int64_t time_of(const RnnShape& s, int64_t step) { return s.reverse ? s.steps - 1 - step : step; }

// Item `item` of `items` near-equal ranges of [0, count): [first, last).
struct Range {
  int64_t first, last;
};
Range range_of(int64_t item, int64_t items, int64_t count) {
  return {count * item / items, count * (item + 1) / items};
}

// ---- parts: the work items of a step --------------------------------------------------------
// Where a step is worth threads (at least kThreadedStepWork multiply-adds), its gate blocks
// are split into kParts parts (fewer if there are fewer blocks). A part is a work item of
// every step: its columns of the recurrent product, its cells, its bias gradients, and its
// share of the backward's product toward h_prev (the sum over its gate columns, added up by
// the next step). The split depends on the sizes only, never on the thread count, so the
// results do not either. Two parts, one per core of the machines kiln is tuned on: more would
// let more threads share a step but pack the weight gradients' shared operand more often.
//
// Every per-step array of gate columns (the gates the forward saves, the gradients the
// backward computes) is stored part-major: part p's columns of all T steps together,
// (T, B, width(p)), so the thread owning a part streams through contiguous memory at every
// step (short runs in every batch row would defeat the hardware prefetchers).
constexpr int64_t kThreadedStepWork = 1 << 20;
constexpr int64_t kParts = 2;

class Parts {
 public:
  Parts(const Dims& d, const GateBlocks& gb)
      : count(d.B * d.GH * d.H >= kThreadedStepWork ? std::min(kParts, gb.count) : 1), d_(d), gb_(gb) {}

  const int64_t count;

  Range blocks(int64_t p) const { return range_of(p, count, gb_.count); }
  int64_t col_begin(int64_t p) const { return gb_.col0(blocks(p).first); }
  int64_t width(int64_t p) const { return gb_.col0(blocks(p).last) - col_begin(p); }
  int64_t unit_begin(int64_t p) const { return gb_.unit0(blocks(p).first); }
  int64_t unit_end(int64_t p) const { return std::min(gb_.H, gb_.unit0(blocks(p).last)); }
  // Where part p's (B, width(p)) slice of time t starts in a part-major (T, B, G·H) array.
  int64_t offset(int64_t p, int64_t t) const { return d_.T * d_.B * col_begin(p) + t * d_.B * width(p); }

 private:
  Dims d_;
  GateBlocks gb_;
};

// ---- the recurrence on several threads ----------------------------------------------------
// A recurrence is a chain of stages (one per step) that must run in order, each split into
// parts. Instead of one parallel loop per stage, which would wake the pool at every step, the
// whole chain runs in one parallel region: every thread that joins walks the stages and claims
// parts through atomic flags, its own share first (so each thread keeps working on the same
// weight slice, which stays in its cache), then any part still unclaimed (so a thread that is
// late, descheduled on a busy machine, does not hold the others up); then it waits (spinning,
// then yielding) until the parts claimed by others are finished. A thread never waits for a
// part nobody has claimed, so one thread alone finishes everything: it is safe whether the
// pool lends no helper (busy, or a single thread allowed) or several.
class StageChain {
 public:
  StageChain(int64_t stages, int64_t items) : items_(items), claimed_(stages * items), finished_(stages) {}

  // Runs work(stage, item) for every stage in order and every item, on the calling thread
  // and on whichever threads call run() at the same time; `share` of `shares` names this
  // thread's own items.
  template <typename Work>
  void run(int64_t share, int64_t shares, const Work& work) {
    const int64_t own = range_of(share, shares, items_).first;
    for (size_t stage = 0; stage < finished_.size(); ++stage) {
      for (int64_t k = 0; k < items_; ++k) {
        const int64_t item = (own + k) % items_;
        if (claimed_[stage * items_ + item].exchange(true, std::memory_order_relaxed)) continue;
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
  std::vector<std::atomic<bool>> claimed_;
  std::vector<std::atomic<int64_t>> finished_;
};

// Runs work(stage, part) for `stages` stages in order, each over every part, on up to one
// thread per part.
template <typename Work>
void run_stages(int64_t stages, const Parts& parts, const Work& work) {
  const int64_t threads = std::min<int64_t>(get_num_threads(), parts.count);
  StageChain chain(stages, parts.count);
  if (threads == 1) {
    chain.run(0, 1, work);
  } else {
    parallel_for(0, threads, 1, [&](int64_t begin, int64_t) { chain.run(begin, threads, work); });
  }
}

// Runs work(part) for every part: each on its own thread when there are no more threads than
// parts (each part's GEMMs then run whole, packing their shared operand once per part, not
// once per thread), else one after another (each GEMM then splits across the threads).
template <typename Work>
void for_each_part(const Parts& parts, const Work& work) {
  if (get_num_threads() <= parts.count) {
    parallel_for(0, parts.count, 1, [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) work(p);
    });
  } else {
    for (int64_t p = 0; p < parts.count; ++p) work(p);
  }
}

// ---- the recurrent weights ------------------------------------------------------------------

// W_hh for the products of one call's steps: its rows in blocked order (G·H, H), read as
// they are by the streaming products of small batches; for larger batches each part's slice
// (its gate rows) packed into GEMM panels at the first step by the thread that runs it, which
// then usually keeps it in its cache for all the steps.
class RecurrentWeights {
 public:
  RecurrentWeights(const Dims& d, const GateBlocks& gb, const Parts& parts, const float* w_hh,
                   std::vector<PackedPanels>& panels)
      : d_(d), parts_(parts), rows_(t_recurrent_rows.get(d.GH * d.H)), panels_(panels) {
    blocked_rows(gb, w_hh, d.H, rows_);
    if (panels_.size() < static_cast<size_t>(parts.count)) panels_.resize(static_cast<size_t>(parts.count));
  }

  // Packs part p's slice for forward(): W_hh[part rows]ᵀ, (H, width).
  void pack_forward(int64_t p) {
    if (!streaming()) panels_[p].pack(part_rows(p), 1, d_.H, d_.H, parts_.width(p));
  }

  // Part p's columns of the recurrent product: out (B, width) = h (B, H) · W_hh[part rows]ᵀ
  // + beta · out.
  void forward(int64_t p, const float* h, float beta, float* out) const {
    const int64_t width = parts_.width(p);
    if (streaming()) {
      streaming_nt(d_.B, width, d_.H, h, part_rows(p), beta, out);
    } else {
      panels_[p].multiply(d_.B, h, d_.H, beta, out, width);
    }
  }

  // Packs part p's slice for backward(): W_hh[part rows], (width, H).
  void pack_backward(int64_t p) {
    if (!streaming()) panels_[p].pack(part_rows(p), d_.H, 1, parts_.width(p), d_.H);
  }

  // Part p's share of the gradient toward h_prev: out (B, H) = dg (B, width) · W_hh[part rows].
  void backward(int64_t p, const float* dg, float* out) const {
    const int64_t width = parts_.width(p);
    if (streaming()) {
      streaming_nn(d_.B, d_.H, width, dg, width, part_rows(p), out);
    } else {
      panels_[p].multiply(d_.B, dg, width, 0.0f, out, d_.H);
    }
  }

 private:
  bool streaming() const { return d_.B <= kStreamingRows; }
  const float* part_rows(int64_t p) const { return rows_ + parts_.col_begin(p) * d_.H; }

  Dims d_;
  const Parts& parts_;
  float* rows_;  // (G·H, H) blocked
  std::vector<PackedPanels>& panels_;
};

// Each calling thread's packed weight slices, kept from call to call (no page faults).
thread_local std::vector<PackedPanels> t_panels;

// ---- forward --------------------------------------------------------------------------------

// The biases the forward cells add, blocked: b_ih + b_hh, except that the GRU's n gates get
// b_in only (b_hn belongs inside r ⊙ (W_hn h + b_hn)).
std::vector<float> blocked_bias(const RnnShape& s, const GateBlocks& gb, const RnnWeights& w) {
  const Dims d(s);
  std::vector<float> bias(w.b_ih, w.b_ih + d.GH);
  const int64_t shared = s.mode == RnnMode::kGru ? 2 * d.H : d.GH;
  for (int64_t j = 0; j < shared; ++j) bias[j] += w.b_hh[j];
  std::vector<float> blocked(bias.size());
  blocked_rows(gb, bias.data(), 1, blocked.data());
  return blocked;
}

// gates (T, B, GH), blocked and part-major, = x · W_ihᵀ: the input part of every step, one
// GEMM over all T·B rows per part.
void input_projection(const Dims& d, const GateBlocks& gb, const Parts& parts, const RnnWeights& w, const float* x,
                      float* gates) {
  float* w_ih_b = t_input_rows.get(d.GH * d.I);
  blocked_rows(gb, w.w_ih, d.I, w_ih_b);
  for_each_part(parts, [&](int64_t p) {
    sgemm(false, true, d.T * d.B, parts.width(p), d.I, 1.0f, x, d.I, w_ih_b + parts.col_begin(p) * d.I, d.I,
          0.0f, gates + parts.offset(p, 0), parts.width(p));
  });
}

// What one part of one forward step reads and writes.
struct ForwardStep {
  float* gates;         // (B, width): the part's input part in, activations out
  float* rec;           // (B, width), GRU: W_hh·h of the part's columns (else added onto gates)
  int64_t width;        // the part's columns (the row stride of gates and rec)
  int64_t col_begin;    // its first blocked column
  const float* bias;    // (GH) blocked_bias
  const float* h_prev;  // (B, H)
  const float* c_prev;  // (B, H), LSTM
  float* states;        // (B, H): LSTM c', GRU W_hn·h + b_hn
  float* y;             // (B, H): h'
  const float* b_hn;    // (H), GRU
};

// The cells of every batch row on the gate blocks of r (the part's).
KILN_VECTORIZE void cells_forward(RnnMode mode, const Dims& d, const GateBlocks& gb, const ForwardStep& p, Range r) {
  for (int64_t b = 0; b < d.B; ++b) {
    for (int64_t blk = r.first; blk < r.last; ++blk) {
      const int64_t u = gb.width(blk), col0 = gb.col0(blk), unit0 = gb.unit0(blk);
      const int64_t g = b * p.width + col0 - p.col_begin, h = b * d.H + unit0;
      switch (mode) {
        case RnnMode::kLstm:
          lstm_cell_forward(u, p.gates + g, p.bias + col0, p.c_prev + h, p.states + h, p.y + h);
          break;
        case RnnMode::kGru:
          gru_cell_forward(u, p.gates + g, p.bias + col0, p.rec + g, p.b_hn + unit0, p.h_prev + h, p.states + h,
                           p.y + h);
          break;
        default:
          rnn_cell_forward(u, mode == RnnMode::kRelu, p.gates + g, p.bias + col0, p.y + h);
      }
    }
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

KILN_VECTORIZE void lstm_cells_forward(int64_t batch, int64_t hidden, float* gates, const float* input_gates,
                                       const float* c_prev, float* c, float* h) {
  const int64_t G = 4 * hidden;
  for (int64_t b = 0; b < batch; ++b) {
    lstm_cell_forward(hidden, gates + b * G, input_gates + b * G, c_prev + b * hidden, c + b * hidden, h + b * hidden);
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
  const Parts parts(d, gb);
  const bool gru = s.mode == RnnMode::kGru;
  float* gates = workspace;                      // (T, B, GH) blocked, part-major
  float* states = workspace + d.T * d.B * d.GH;  // (T, B, H): LSTM c, GRU W_hn·h + b_hn
  input_projection(d, gb, parts, w, x, gates);
  const std::vector<float> bias = blocked_bias(s, gb, w);
  RecurrentWeights w_hh(d, gb, parts, w.w_hh, t_panels);
  std::vector<float> rec(gru ? static_cast<size_t>(d.B * d.GH) : 0);  // (B, GH) part-major
  const auto step_of = [&](int64_t step, int64_t part) {
    const int64_t t = time_of(s, step), t_prev = time_of(s, step - 1);
    return ForwardStep{gates + parts.offset(part, t),
                       rec.data() + d.B * parts.col_begin(part),
                       parts.width(part),
                       parts.col_begin(part),
                       bias.data(),
                       step == 0 ? h0 : y + t_prev * d.B * d.H,
                       step == 0 ? c0 : states + t_prev * d.B * d.H,
                       states + t * d.B * d.H,
                       y + t * d.B * d.H,
                       w.b_hh + 2 * d.H};
  };
  // Stage = step: each part's recurrent product (added onto its gates; the GRU keeps it
  // apart for r ⊙ (W_hn h + b_hn)), then its cells for every batch row.
  run_stages(d.T, parts, [&](int64_t step, int64_t part) {
    const ForwardStep p = step_of(step, part);
    if (step == 0) w_hh.pack_forward(part);
    w_hh.forward(part, p.h_prev, gru ? 0.0f : 1.0f, gru ? p.rec : p.gates);
    cells_forward(s.mode, d, gb, p, parts.blocks(part));
  });
  const ForwardStep last = step_of(d.T - 1, 0);
  std::memcpy(h_n, last.y, static_cast<size_t>(d.B * d.H) * sizeof(float));
  if (s.mode == RnnMode::kLstm) std::memcpy(c_n, last.states, static_cast<size_t>(d.B * d.H) * sizeof(float));
}

namespace {

// ---- backward -------------------------------------------------------------------------------

// What one part of one backward step reads and writes.
struct BackwardStep {
  const float* gates;   // (B, width): the part's activations
  float* dgi;           // (B, width): the gradients of its input-side pre-activations, out
  float* dgh;           // (B, width): those of the hidden side, out (GRU; the others use dgi)
  int64_t width;        // the part's columns (the row stride of the three above)
  int64_t col_begin;    // its first blocked column
  const float* states;  // (B, H): LSTM c', GRU W_hn·h + b_hn
  const float* h_prev;  // (B, H)
  const float* c_prev;  // (B, H), LSTM
  const float* gy;      // (B, H)
  float* dh;            // (B, H) gradient of h' from later steps (GRU out: z ⊙ grad)
  float* dc;            // (B, H) LSTM: gradient of c' in, of c out
};

// The cell backward of every batch row on the gate blocks of r (the part's).
KILN_VECTORIZE void cells_backward(RnnMode mode, const Dims& d, const GateBlocks& gb, const BackwardStep& p, Range r) {
  for (int64_t b = 0; b < d.B; ++b) {
    for (int64_t blk = r.first; blk < r.last; ++blk) {
      const int64_t u = gb.width(blk), g = b * p.width + gb.col0(blk) - p.col_begin, h = b * d.H + gb.unit0(blk);
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
}

// dh (B, H) at hidden units [u0, u1) = (keep ? dh : 0) + the sum of `count` shares (each
// (B, H), one after another): the gradient toward h_prev a backward step gathers from the
// parts' shares of its product (the GRU keeps the direct part z ⊙ grad its cell left in dh).
KILN_VECTORIZE void gather_hidden_grads(const Dims& d, bool keep, const float* shares, int64_t count, int64_t u0,
                                        int64_t u1, float* dh) {
  for (int64_t b = 0; b < d.B; ++b) {
    float* row = dh + b * d.H;
    if (!keep) std::fill(row + u0, row + u1, 0.0f);
    for (int64_t q = 0; q < count; ++q) {
      const float* share = shares + (q * d.B + b) * d.H;
      for (int64_t u = u0; u < u1; ++u) row[u] += share[u];
    }
  }
}

// sums[0:width] += the column sums of dg (B, width): a step's bias gradients.
KILN_VECTORIZE void add_column_sums(int64_t B, int64_t width, const float* dg, float* sums) {
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t c = 0; c < width; ++c) sums[c] += dg[b * width + c];
  }
}

// The gradients of the weights and input from the pre-activation gradients of all steps, as
// GEMMs over T·B rows, one per part. dgi, dgh: (T, B, GH) blocked and part-major, input- and
// hidden-side (the same array except for the GRU).
void weight_gradients(const RnnShape& s, const GateBlocks& gb, const Parts& parts, const RnnWeights& w, const float* x,
                      const float* h0, const float* y, const float* dgi, const float* dgh, float* gx,
                      const RnnWeightGrads& g) {
  const Dims d(s);
  const int64_t rows = d.T * d.B;
  // gx (T·B, I) = Σ over parts of dgi[part] · W_ih[part rows] (rows blocked like dgi's columns)
  float* w_ih_b = t_input_rows.get(d.GH * d.I);
  blocked_rows(gb, w.w_ih, d.I, w_ih_b);
  for (int64_t p = 0; p < parts.count; ++p) {
    sgemm(false, false, rows, d.I, parts.width(p), 1.0f, dgi + parts.offset(p, 0), parts.width(p),
          w_ih_b + parts.col_begin(p) * d.I, d.I, p == 0 ? 0.0f : 1.0f, gx, d.I);
  }
  // The weight gradients are computed transposed, gW_ihᵀ (I, GH) = xᵀ · dgi and
  // gW_hhᵀ (H, GH) = Σ_t h_prev[t]ᵀ · dgh[t], so that the operand the GEMM reads transposed
  // is the narrow x or h (I or H columns), not the G·H-wide gate gradients; then they are put
  // back as (GH, ·) in PyTorch's row order. The previous states of all steps but the first
  // are y shifted by one time step (forward: dgh[1..] with y[..T-1]; reverse: dgh[..T-1] with
  // y[1..]); the first step's is h0.
  float* w_ih_t = t_weight_grads.get(d.GH * (d.I + d.H));  // (I, GH) blocked
  float* w_hh_t = w_ih_t + d.GH * d.I;                     // (H, GH) blocked
  const int64_t later = (d.T - 1) * d.B;
  const float* y_earlier = y + (s.reverse ? d.B * d.H : 0);
  for_each_part(parts, [&](int64_t p) {
    const int64_t width = parts.width(p), col = parts.col_begin(p);
    sgemm(true, false, d.I, width, rows, 1.0f, x, d.I, dgi + parts.offset(p, 0), width, 0.0f, w_ih_t + col, d.GH);
    const float* dgh_later = dgh + parts.offset(p, s.reverse ? 0 : 1);
    const float* dgh_first = dgh + parts.offset(p, time_of(s, 0));
    sgemm(true, false, d.H, width, later, 1.0f, y_earlier, d.H, dgh_later, width, 0.0f, w_hh_t + col, d.GH);
    sgemm(true, false, d.H, width, d.B, 1.0f, h0, d.H, dgh_first, width, 1.0f, w_hh_t + col, d.GH);
  });
  unblock_transposed(gb, w_ih_t, d.I, g.w_ih);
  unblock_transposed(gb, w_hh_t, d.H, g.w_hh);
}

}  // namespace

void rnn_backward(const RnnShape& s, const RnnWeights& w, const float* x, const float* h0, const float* c0,
                  const float* y, const float* workspace, const float* gy, const float* gh_n, const float* gc_n,
                  float* gx, float* gh0, float* gc0, const RnnWeightGrads& g) {
  const Dims d(s);
  const GateBlocks gb(d.H, d.G);
  const Parts parts(d, gb);
  const bool lstm = s.mode == RnnMode::kLstm, gru = s.mode == RnnMode::kGru;
  const float* gates = workspace;  // (T, B, GH) blocked, part-major
  const float* states = workspace + d.T * d.B * d.GH;
  RecurrentWeights w_hh(d, gb, parts, w.w_hh, t_panels);
  float* dgi = t_input_grads.get(d.T * d.B * d.GH);  // (T, B, GH) blocked, part-major
  float* dgh = gru ? t_hidden_grads.get(d.T * d.B * d.GH) : dgi;
  // The gradients of the states carried from step to step, starting at the last one; the
  // parts' shares of the product toward h_prev (count × (B, H)) of the even and odd steps.
  std::vector<float> dh(gh_n, gh_n + d.B * d.H);
  std::vector<float> dc(lstm ? gc_n : nullptr, lstm ? gc_n + d.B * d.H : nullptr);
  std::vector<float> shares(static_cast<size_t>(2 * parts.count * d.B * d.H));
  const auto shares_of = [&](int64_t stage) { return shares.data() + (stage % 2) * parts.count * d.B * d.H; };
  // The bias gradients, blocked (for all but the GRU, those of b_hh are those of b_ih).
  std::vector<float> bias_i(static_cast<size_t>(d.GH)), bias_h(static_cast<size_t>(gru ? d.GH : 0));
  const auto step_of = [&](int64_t step, int64_t part) {
    const int64_t t = time_of(s, step), t_prev = time_of(s, step - 1);
    return BackwardStep{gates + parts.offset(part, t),
                        dgi + parts.offset(part, t),
                        dgh + parts.offset(part, t),
                        parts.width(part),
                        parts.col_begin(part),
                        states + t * d.B * d.H,
                        step == 0 ? h0 : y + t_prev * d.B * d.H,
                        step == 0 ? c0 : states + t_prev * d.B * d.H,
                        gy + t * d.B * d.H,
                        dh.data(),
                        dc.data()};
  };
  // Stage k runs step T − 1 − k. A part gathers the gradient toward its hidden units from the
  // previous stage's shares, runs its cells, adds its bias gradients and computes its share.
  run_stages(d.T, parts, [&](int64_t stage, int64_t part) {
    const BackwardStep p = step_of(d.T - 1 - stage, part);
    if (stage == 0) {
      w_hh.pack_backward(part);
    } else {
      gather_hidden_grads(d, gru, shares_of(stage - 1), parts.count, parts.unit_begin(part), parts.unit_end(part),
                          dh.data());
    }
    cells_backward(s.mode, d, gb, p, parts.blocks(part));
    add_column_sums(d.B, p.width, p.dgi, bias_i.data() + p.col_begin);
    if (gru) add_column_sums(d.B, p.width, p.dgh, bias_h.data() + p.col_begin);
    w_hh.backward(part, p.dgh, shares_of(stage) + part * d.B * d.H);
  });
  gather_hidden_grads(d, gru, shares_of(d.T - 1), parts.count, 0, d.H, dh.data());
  std::memcpy(gh0, dh.data(), dh.size() * sizeof(float));
  if (lstm) std::memcpy(gc0, dc.data(), dc.size() * sizeof(float));
  unblock_rows(gb, bias_i.data(), 1, g.b_ih);
  unblock_rows(gb, gru ? bias_h.data() : bias_i.data(), 1, g.b_hh);
  weight_gradients(s, gb, parts, w, x, h0, y, dgi, dgh, gx, g);
}

}  // namespace kiln
