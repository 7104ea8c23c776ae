// Fused attention kernels (see attention.h). The products run through sgemm on blocks of
// kQueryBlock queries × kKeyBlock keys (q·kᵀ, p·v and the backward's four products), so they
// get GEMM's register-blocked micro-kernels; the row work between them (masks, online
// softmax, dropout, dS) is plain loops marked KILN_VECTORIZE (AVX-512, AVX2 + FMA and baseline
// clones in one binary). Operands are read and written in place through their layouts: a
// packed (N, L, 3E) projection is attended head by head without a copy.
#include "attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "counter_hash.h"
#include "gemm/gemm.h"
#include "parallel.h"
#include "vectorize.h"

namespace kiln {
namespace {

// A block of scores (kQueryBlock × kKeyBlock floats, 16 KiB) stays in L1 between the products.
constexpr int64_t kQueryBlock = 64;
constexpr int64_t kKeyBlock = 64;

// exp(x) for x ≤ 0 (scores minus their running max), vectorizable: x = n·ln2 + r, 2ⁿ from
// the exponent bits, a degree-6 polynomial for eʳ; 0 below −87 (and for −inf).
inline float fast_exp(float x) {
  const float clamped = std::max(x, -87.0f);
  constexpr float kRound = 12582912.0f;  // 1.5·2²³: adding and subtracting it rounds to an integer
  const float n = (clamped * 1.44269504f + kRound) - kRound;
  const float r = clamped - n * 0.693145752f - n * 1.42860677e-6f;
  float p = 1.38888889e-3f;
  p = p * r + 8.33333333e-3f;
  p = p * r + 4.16666667e-2f;
  p = p * r + 1.66666667e-1f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale * static_cast<float>(x >= -87.0f);  // 0 below −87; NaN x: NaN·0 = NaN
}

// Without -ffast-math a loop reduction does not vectorize: these keep kLanes partial results
// (one vector) and combine them at the end.
constexpr int64_t kLanes = 16;

// max_j x[j] for j < n (−inf when n = 0).
KILN_VECTORIZE float row_max(const float* x, int64_t n) {
  float lanes[kLanes];
  for (int64_t l = 0; l < kLanes; ++l) lanes[l] = -INFINITY;
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) lanes[l] = std::max(lanes[l], x[j + l]);
  }
  for (; j < n; ++j) lanes[0] = std::max(lanes[0], x[j]);
  float result = -INFINITY;
  for (int64_t l = 0; l < kLanes; ++l) result = std::max(result, lanes[l]);
  return result;
}

#if KILN_HAS_VEC16
// fast_exp on 8 lanes: one ymm register on AVX2, where a Vec16 is a register pair whose halves
// GCC moves through the stack. Vector compares are blends: as plain loops, fast_exp's compares
// stayed branches on AVX2 (GCC does not if-convert them under trapping math) and the loops scalar.
KILN_VEC_INLINE Vec8 fast_exp8(Vec8 x) {
  typedef int32_t Int8 __attribute__((vector_size(32), aligned(4)));
  const Vec8 zero{};
  const Vec8 clamped = x < -87.0f ? zero - 87.0f : x;
  constexpr float kRound = 12582912.0f;
  const Vec8 n = (clamped * 1.44269504f + kRound) - kRound;
  const Vec8 r = clamped - n * 0.693145752f - n * 1.42860677e-6f;
  Vec8 p = zero + 1.38888889e-3f;
  p = p * r + 8.33333333e-3f;
  p = p * r + 4.16666667e-2f;
  p = p * r + 1.66666667e-1f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const Int8 bits = (__builtin_convertvector(n, Int8) + 127) << 23;
  return x < -87.0f ? zero : p * (Vec8)bits;
}
#endif

// x[j] = exp(x[j] − shift) for j < n, in place; returns Σ x (summed as the exps are made).
KILN_VECTORIZE float exp_shifted_sum(float* x, float shift, int64_t n) {
  int64_t j = 0;
  float sum = 0.0f;
#if KILN_HAS_VEC16
  Vec8 lanes{};
  for (; j + 8 <= n; j += 8) {
    const Vec8 e = fast_exp8(load_vec<Vec8>(x + j) - shift);
    store_vec(x + j, e);
    lanes += e;
  }
  sum = sum_lanes(lanes);
#endif
  for (; j < n; ++j) sum += x[j] = fast_exp(x[j] - shift);
  return sum;
}

// Σ_c a[c]·b[c] for c < n.
KILN_VECTORIZE float dot(const float* a, const float* b, int64_t n) {
  float lanes[kLanes] = {};
  int64_t c = 0;
  for (; c + kLanes <= n; c += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) lanes[l] += a[c + l] * b[c + l];
  }
  float sum = 0.0f;
  for (; c < n; ++c) sum += a[c] * b[c];
  for (int64_t l = 0; l < kLanes; ++l) sum += lanes[l];
  return sum;
}

KILN_VECTORIZE void scale_row(float* x, float factor, int64_t n) {
  for (int64_t j = 0; j < n; ++j) x[j] *= factor;
}

// multiplier[j] = keep_scale where the weight (row, j0 + j) is kept, else 0, for j < n.
KILN_VECTORIZE void dropout_multipliers(uint32_t row_key, uint64_t seed, int64_t j0, int64_t n, uint32_t threshold,
                                        float keep_scale, float* multiplier) {
  for (int64_t j = 0; j < n; ++j) {
    multiplier[j] = counter_keeps(row_key, seed, static_cast<uint32_t>(j0 + j), threshold) ? keep_scale : 0.0f;
  }
}

KILN_VECTORIZE void multiply_rows(float* x, const float* y, int64_t n) {
  for (int64_t j = 0; j < n; ++j) x[j] *= y[j];
}

// The mask of query row i against keys [j0, j0 + n) of slice b, on its scores: float masks are
// added; bool-excluded and (causal) later keys become −inf.
KILN_VECTORIZE void mask_row(const AttentionShape& s, int64_t b, int64_t i, int64_t j0, int64_t n, float* scores) {
  if (s.mask_kind == AttentionMask::kFloat) {
    const float* m = s.float_mask + s.mask_offsets[b] + i * s.mask_row_stride + j0 * s.mask_col_stride;
    for (int64_t j = 0; j < n; ++j) scores[j] += m[j * s.mask_col_stride];
  } else if (s.mask_kind == AttentionMask::kBool) {
    const uint8_t* m = s.bool_mask + s.mask_offsets[b] + i * s.mask_row_stride + j0 * s.mask_col_stride;
    for (int64_t j = 0; j < n; ++j) scores[j] = m[j * s.mask_col_stride] ? scores[j] : -INFINITY;
  } else if (s.mask_kind == AttentionMask::kCausal) {
    for (int64_t j = std::max<int64_t>(0, i + 1 - j0); j < n; ++j) scores[j] = -INFINITY;
  }
}

// One slice's operands in place: element (row, col) of x is x.data[row·x.stride + col].
struct Rows {
  const float* data;
  int64_t stride;
  const float* row(int64_t i) const { return data + i * stride; }
};
struct MutableRows {
  float* data;
  int64_t stride;
  float* row(int64_t i) const { return data + i * stride; }
  void zero(int64_t rows, int64_t cols) const {
    for (int64_t i = 0; i < rows; ++i) std::fill(row(i), row(i) + cols, 0.0f);
  }
};

inline int64_t slice_offset(const AttentionLayout& layout, int64_t heads, int64_t b) {
  return (b / heads) * layout.batch_stride + (b % heads) * layout.head_stride;
}
inline Rows slice_rows(const float* x, const AttentionLayout& layout, const AttentionShape& s, int64_t b) {
  return {x + slice_offset(layout, s.heads, b), layout.row_stride};
}
inline MutableRows slice_rows(float* x, const AttentionLayout& layout, const AttentionShape& s, int64_t b) {
  return {x + slice_offset(layout, s.heads, b), layout.row_stride};
}

// Keys [0, end) that queries [0, i_end) may see: all, or up to i_end when causal.
inline int64_t key_end(const AttentionShape& s, int64_t i_end) {
  return s.mask_kind == AttentionMask::kCausal ? std::min(s.S, i_end) : s.S;
}

// Row stride of a transposed slice kt (E, ·) or vt (Ev, ·): S plus 16, so that the rows a block
// reads do not all fall into the same L1 sets when S is a large power of two.
inline int64_t transposed_stride(const AttentionShape& s) { return s.S + 16; }

// xt (cols, transposed_stride) = xᵀ for one slice's rows x (S, cols): products with kᵀ and vᵀ
// then read their right operand's rows in place (sgemm packs a transposed right operand
// element by element, which cost as much as the product on 64-key blocks).
void transpose_slice(const Rows& x, const AttentionShape& s, int64_t cols, float* xt) {
  constexpr int64_t kTile = 32;
  const int64_t stride = transposed_stride(s);
  for (int64_t r0 = 0; r0 < s.S; r0 += kTile) {
    for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
      for (int64_t c = c0; c < std::min(cols, c0 + kTile); ++c) {
        for (int64_t r = r0; r < std::min(s.S, r0 + kTile); ++r) xt[c * stride + r] = x.row(r)[c];
      }
    }
  }
}

inline float dropout_keep_scale(const AttentionShape& s) {
  const double p = s.dropout_threshold / 16777216.0;
  return p >= 1.0 ? 0.0f : static_cast<float>(1.0 / (1.0 - p));
}

// block (nq, kKeyBlock) = scale·q[i0 : i0 + nq]·kt[:, j0 : j0 + nk] + mask; kt = kᵀ (E, ·).
void block_scores(const Rows& q, const float* kt, const AttentionShape& s, int64_t b, int64_t i0, int64_t nq, int64_t j0,
                  int64_t nk, float* block) {
  sgemm(false, false, nq, nk, s.E, s.scale, q.row(i0), q.stride, kt + j0, transposed_stride(s), 0.0f, block, kKeyBlock);
  if (s.mask_kind == AttentionMask::kNone) return;
  for (int64_t r = 0; r < nq; ++r) mask_row(s, b, i0 + r, j0, nk, block + r * kKeyBlock);
}

// The running softmax state of one query row (online softmax).
struct RowState {
  float max = -INFINITY;
  float sum = 0.0f;
};

// Turns one row of scores against keys [j0, j0 + n) into weights exp(score − running max)
// (dropped where dropout says so), updating the row's state and rescaling its output so far.
void online_softmax_row(const AttentionShape& s, uint64_t row, int64_t j0, int64_t n, float* scores, RowState& state,
                        float* out_row, float* multiplier) {
  const float new_max = std::max(state.max, row_max(scores, n));
  if (new_max == -INFINITY) {  // every key so far is masked out
    std::fill(scores, scores + n, 0.0f);
    return;
  }
  const float correction = fast_exp(state.max - new_max);
  state.sum = state.sum * correction + exp_shifted_sum(scores, new_max, n);
  state.max = new_max;
  if (correction != 1.0f) scale_row(out_row, correction, s.Ev);
  if (s.dropout_threshold == 0) return;
  dropout_multipliers(counter_row_key(s.dropout_seed, row), s.dropout_seed, j0, n, s.dropout_threshold,
                      dropout_keep_scale(s), multiplier);
  multiply_rows(scores, multiplier, n);
}

// Queries [i0, i0 + nq) of slice b: their output rows and log-sum-exps.
// kt: slice b's kᵀ (E, transposed_stride).
void forward_block(const float* q, const float* kt, const float* v, float* out, float* lse, const AttentionShape& s,
                   int64_t b, int64_t i0, int64_t nq, float* block, float* multiplier) {
  const Rows q_rows = slice_rows(q, s.q_layout, s, b);
  const Rows v_rows = slice_rows(v, s.v_layout, s, b);
  const MutableRows out_rows = slice_rows(out, s.out_layout, s, b);
  RowState states[kQueryBlock];
  for (int64_t r = 0; r < nq; ++r) std::fill(out_rows.row(i0 + r), out_rows.row(i0 + r) + s.Ev, 0.0f);
  const int64_t end = key_end(s, i0 + nq);
  for (int64_t j0 = 0; j0 < end; j0 += kKeyBlock) {
    const int64_t nk = std::min(kKeyBlock, end - j0);
    block_scores(q_rows, kt, s, b, i0, nq, j0, nk, block);
    for (int64_t r = 0; r < nq; ++r) {
      online_softmax_row(s, b * s.L + i0 + r, j0, nk, block + r * kKeyBlock, states[r], out_rows.row(i0 + r), multiplier);
    }
    sgemm(false, false, nq, s.Ev, nk, 1.0f, block, kKeyBlock, v_rows.row(j0), v_rows.stride, 1.0f, out_rows.row(i0),
          out_rows.stride);
  }
  for (int64_t r = 0; r < nq; ++r) {
    scale_row(out_rows.row(i0 + r), 1.0f / states[r].sum, s.Ev);  // inf for a fully masked row: 0·inf = NaN
    lse[b * s.L + i0 + r] = states[r].max + std::log(states[r].sum);
  }
}

}  // namespace

void set_dense_layouts(AttentionShape& s) {
  s.heads = 1;
  s.q_layout = {s.L * s.E, 0, s.E};
  s.k_layout = {s.S * s.E, 0, s.E};
  s.v_layout = {s.S * s.Ev, 0, s.Ev};
  s.out_layout = {s.L * s.Ev, 0, s.Ev};
}

void attention_forward(const float* q, const float* k, const float* v, float* out, float* lse, const AttentionShape& s) {
  const int64_t blocks = (s.L + kQueryBlock - 1) / kQueryBlock;
  // Grain: at least ~2¹⁸ multiply-adds per chunk of tasks.
  const int64_t work_per_block = std::max<int64_t>(1, kQueryBlock * s.S * (s.E + s.Ev));
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 18) / work_per_block);
  parallel_for_balanced(0, s.batch * blocks, grain, [&](int64_t begin, int64_t end) {
    std::vector<float> block(kQueryBlock * kKeyBlock), multiplier(kKeyBlock), kt(s.E * transposed_stride(s));
    int64_t kt_slice = -1;  // the slice whose kᵀ kt holds (a chunk's tasks run slice by slice)
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / blocks;
      const int64_t i0 = (task % blocks) * kQueryBlock;
      if (b != kt_slice) transpose_slice(slice_rows(k, s.k_layout, s, b), s, s.E, kt.data());
      kt_slice = b;
      forward_block(q, kt.data(), v, out, lse, s, b, i0, std::min(kQueryBlock, s.L - i0), block.data(), multiplier.data());
    }
  });
}

namespace {

// Per-thread blocks of the backward: probabilities p (then the dropped weights z), dP (then
// dS), dropout multipliers, and D for the slice's rows.
struct BackwardScratch {
  std::vector<float> p, dp, multiplier, delta, kt, vt;  // kt, vt: the slice's kᵀ and vᵀ
  explicit BackwardScratch(const AttentionShape& s)
      : p(kQueryBlock * kKeyBlock),
        dp(kQueryBlock * kKeyBlock),
        multiplier(kKeyBlock),
        delta(s.L),
        kt(s.E * transposed_stride(s)),
        vt(s.Ev * transposed_stride(s)) {}
};

// p[j] = exp(scores[j] − lse) (NaN for a fully masked row, lse = −∞, as the forward's output).
void probabilities_row(float* scores, float lse, int64_t n) {
  if (std::isinf(lse) && lse < 0) {
    std::fill(scores, scores + n, NAN);
    return;
  }
  exp_shifted_sum(scores, lse, n);  // the sum is not needed here
}

// dp[j] ← dS = p[j]·(dp[j] − delta)·scale.
KILN_VECTORIZE void score_gradient_row(const float* p, float delta, float scale, int64_t n, float* dp) {
  for (int64_t j = 0; j < n; ++j) dp[j] = p[j] * (dp[j] - delta) * scale;
}

// The four gradient products of queries [i0, i0 + nq) against keys [j0, j0 + nk).
struct SliceGradients {
  Rows q, k, v, dout;
  MutableRows dq, dk, dv;
};

void backward_block(const SliceGradients& g, const float* lse, const AttentionShape& s, int64_t b, int64_t i0,
                    int64_t nq, int64_t j0, int64_t nk, BackwardScratch& w) {
  float* p = w.p.data();
  float* dp = w.dp.data();
  block_scores(g.q, w.kt.data(), s, b, i0, nq, j0, nk, p);
  for (int64_t r = 0; r < nq; ++r) probabilities_row(p + r * kKeyBlock, lse[i0 + r], nk);
  // dP = dout·vᵀ (nq, nk)
  sgemm(false, false, nq, nk, s.Ev, 1.0f, g.dout.row(i0), g.dout.stride, w.vt.data() + j0, transposed_stride(s), 0.0f,
        dp, kKeyBlock);
  for (int64_t r = 0; r < nq; ++r) {
    float* p_row = p + r * kKeyBlock;
    float* dp_row = dp + r * kKeyBlock;
    if (s.dropout_threshold != 0) {  // dP of the undropped weights: dP·mask/(1 − p); p becomes the dropped z
      dropout_multipliers(counter_row_key(s.dropout_seed, b * s.L + i0 + r), s.dropout_seed, j0, nk,
                          s.dropout_threshold, dropout_keep_scale(s), w.multiplier.data());
      multiply_rows(dp_row, w.multiplier.data(), nk);
    }
    score_gradient_row(p_row, w.delta[i0 + r], s.scale, nk, dp_row);
    if (s.dropout_threshold != 0) multiply_rows(p_row, w.multiplier.data(), nk);
  }
  // dv += zᵀ·dout; dk += dSᵀ·q; dq += dS·k
  sgemm(true, false, nk, s.Ev, nq, 1.0f, p, kKeyBlock, g.dout.row(i0), g.dout.stride, 1.0f, g.dv.row(j0), g.dv.stride);
  sgemm(true, false, nk, s.E, nq, 1.0f, dp, kKeyBlock, g.q.row(i0), g.q.stride, 1.0f, g.dk.row(j0), g.dk.stride);
  sgemm(false, false, nq, s.E, nk, 1.0f, dp, kKeyBlock, g.k.row(j0), g.k.stride, 1.0f, g.dq.row(i0), g.dq.stride);
}

// One slice b: all of its dq, dk, dv. Key blocks outside, query blocks inside, so a key
// block's dk and dv rows stay in cache while every query block adds to them.
void backward_slice(const SliceGradients& g, const float* out, const float* slice_lse, const AttentionShape& s,
                    int64_t b, BackwardScratch& w) {
  const Rows out_rows = slice_rows(out, s.out_layout, s, b);
  for (int64_t i = 0; i < s.L; ++i) w.delta[i] = dot(g.dout.row(i), out_rows.row(i), s.Ev);  // D_i = dout_i · out_i
  transpose_slice(g.k, s, s.E, w.kt.data());
  transpose_slice(g.v, s, s.Ev, w.vt.data());
  g.dq.zero(s.L, s.E);
  g.dk.zero(s.S, s.E);
  g.dv.zero(s.S, s.Ev);
  for (int64_t j0 = 0; j0 < s.S; j0 += kKeyBlock) {
    const int64_t nk = std::min(kKeyBlock, s.S - j0);
    // Causal: queries before j0 see none of these keys.
    const int64_t first_query = s.mask_kind == AttentionMask::kCausal ? j0 : 0;
    for (int64_t i0 = first_query; i0 < s.L; i0 += kQueryBlock) {
      backward_block(g, slice_lse, s, b, i0, std::min(kQueryBlock, s.L - i0), j0, nk, w);
    }
  }
}

}  // namespace

void attention_backward(const float* q, const float* k, const float* v, const float* out, const float* lse,
                        const float* dout, float* dq, float* dk, float* dv, const AttentionShape& s) {
  parallel_for_balanced(0, s.batch, 1, [&](int64_t begin, int64_t end) {
    BackwardScratch scratch(s);
    for (int64_t b = begin; b < end; ++b) {
      const SliceGradients g{slice_rows(q, s.q_layout, s, b),    slice_rows(k, s.k_layout, s, b),
                             slice_rows(v, s.v_layout, s, b),    slice_rows(dout, s.out_layout, s, b),
                             slice_rows(dq, s.q_layout, s, b),   slice_rows(dk, s.k_layout, s, b),
                             slice_rows(dv, s.v_layout, s, b)};
      backward_slice(g, out, lse + b * s.L, s, b, scratch);
    }
  });
}

}  // namespace kiln
