// Fused attention kernels (see attention.h). The hot loops are plain loops marked
// KILN_VECTORIZE: one binary carries AVX-512, AVX2+FMA and baseline clones of them.
//
// Layout: k is first transposed per slice into kt (E, S) (and v into vt (Ev, S) for the
// backward's dout·vᵀ), so a query row's scores against a tile of keys are broadcast-FMA loops
// over contiguous keys; p·v is a broadcast-FMA loop over v's contiguous rows.
#include "attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "parallel.h"
#include "vectorize.h"

namespace kiln {
namespace {

// Keys per tile: one tile's scores (and kt's rows for it) stay in L1.
constexpr int64_t kKeyTile = 64;
// Queries per forward task: the kt and v tiles are reused across these rows from L1/L2.
constexpr int64_t kQueryTile = 32;

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
  return x < -87.0f ? 0.0f : p * scale;
}

// Keys [j0, j1) a query row i may see: all, or j ≤ i when causal.
inline int64_t key_end(const AttentionShape& s, int64_t i) {
  return s.mask_kind == AttentionMask::kCausal ? std::min(s.S, i + 1) : s.S;
}

// scores[j] = (q_row · kt[:, j0 + j])·scale (+ mask) for j < n; masked keys get −inf.
// q_row: (E); kt: (E, S).
KILN_VECTORIZE void tile_scores(const float* q_row, const float* kt, const AttentionShape& s, int64_t b, int64_t i,
                                int64_t j0, int64_t n, float* scores) {
  for (int64_t j = 0; j < n; ++j) scores[j] = 0.0f;
  for (int64_t e = 0; e < s.E; ++e) {
    const float qe = q_row[e];
    const float* kt_row = kt + e * s.S + j0;
    for (int64_t j = 0; j < n; ++j) scores[j] += qe * kt_row[j];
  }
  for (int64_t j = 0; j < n; ++j) scores[j] *= s.scale;
  if (s.mask_kind == AttentionMask::kFloat) {
    const float* m = s.float_mask + s.mask_offsets[b] + i * s.mask_row_stride + j0 * s.mask_col_stride;
    for (int64_t j = 0; j < n; ++j) scores[j] += m[j * s.mask_col_stride];
  } else if (s.mask_kind == AttentionMask::kBool) {
    const uint8_t* m = s.bool_mask + s.mask_offsets[b] + i * s.mask_row_stride + j0 * s.mask_col_stride;
    for (int64_t j = 0; j < n; ++j) scores[j] = m[j * s.mask_col_stride] ? scores[j] : -INFINITY;
  }
}

// acc[c] += Σ_j p[j]·v[j0 + j, c] for c < Ev. v: (S, Ev).
KILN_VECTORIZE void accumulate_values(const float* p, const float* v, const AttentionShape& s, int64_t j0, int64_t n,
                                      float* acc) {
  for (int64_t j = 0; j < n; ++j) {
    const float pj = p[j];
    const float* v_row = v + (j0 + j) * s.Ev;
    for (int64_t c = 0; c < s.Ev; ++c) acc[c] += pj * v_row[c];
  }
}

// Without -ffast-math a loop reduction does not vectorize: these keep kLanes partial results
// (one vector) and combine them at the end.
constexpr int64_t kLanes = 16;

// max_j x[j] for j < n (−inf when n = 0).
KILN_VECTORIZE float tile_max(const float* x, int64_t n) {
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

// p[j] = exp(scores[j] − max) for j < n; returns Σ p.
KILN_VECTORIZE float exp_shifted(const float* scores, float max, int64_t n, float* p) {
  for (int64_t j = 0; j < n; ++j) p[j] = fast_exp(scores[j] - max);
  float lanes[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) lanes[l] += p[j + l];
  }
  float sum = 0.0f;
  for (; j < n; ++j) sum += p[j];
  for (int64_t l = 0; l < kLanes; ++l) sum += lanes[l];
  return sum;
}

// x: (rows, cols) → xt: (cols, rows), one slice.
void transpose(const float* x, int64_t rows, int64_t cols, float* xt) {
  constexpr int64_t kBlock = 32;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
    for (int64_t c0 = 0; c0 < cols; c0 += kBlock) {
      for (int64_t c = c0; c < std::min(cols, c0 + kBlock); ++c) {
        for (int64_t r = r0; r < std::min(rows, r0 + kBlock); ++r) xt[c * rows + r] = x[r * cols + c];
      }
    }
  }
}

// xt (batch, cols, rows) from x (batch, rows, cols).
void transpose_slices(const float* x, int64_t batch, int64_t rows, int64_t cols, float* xt) {
  parallel_for_balanced(0, batch, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) transpose(x + b * rows * cols, rows, cols, xt + b * cols * rows);
  });
}

// One query row of one slice: online softmax over key tiles.
void forward_row(const float* q_row, const float* kt, const float* v, const AttentionShape& s, int64_t b, int64_t i,
                 float* out_row, float* lse) {
  float scores[kKeyTile];
  float p[kKeyTile];
  float running_max = -INFINITY;
  float running_sum = 0.0f;
  for (int64_t c = 0; c < s.Ev; ++c) out_row[c] = 0.0f;
  const int64_t end = key_end(s, i);
  for (int64_t j0 = 0; j0 < end; j0 += kKeyTile) {
    const int64_t n = std::min(kKeyTile, end - j0);
    tile_scores(q_row, kt, s, b, i, j0, n, scores);
    const float new_max = std::max(running_max, tile_max(scores, n));
    if (new_max == -INFINITY) continue;  // every key so far is masked out
    const float correction = fast_exp(running_max - new_max);
    const float tile_sum = exp_shifted(scores, new_max, n, p);
    if (correction != 1.0f) {
      for (int64_t c = 0; c < s.Ev; ++c) out_row[c] *= correction;
    }
    running_sum = running_sum * correction + tile_sum;
    accumulate_values(p, v, s, j0, n, out_row);
    running_max = new_max;
  }
  const float inverse = 1.0f / running_sum;  // inf for a fully masked row: 0·inf = NaN
  for (int64_t c = 0; c < s.Ev; ++c) out_row[c] *= inverse;
  *lse = running_max + std::log(running_sum);
}

}  // namespace

void attention_forward(const float* q, const float* k, const float* v, float* out, float* lse, const AttentionShape& s) {
  std::vector<float> kt(s.batch * s.E * s.S);
  transpose_slices(k, s.batch, s.S, s.E, kt.data());
  const int64_t tiles = (s.L + kQueryTile - 1) / kQueryTile;
  // Grain: about 64 rows × 64 keys of work per task at least.
  const int64_t work_per_tile = std::max<int64_t>(1, kQueryTile * s.S * (s.E + s.Ev));
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 18) / work_per_tile);
  parallel_for_balanced(0, s.batch * tiles, grain, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / tiles;
      const int64_t i0 = (task % tiles) * kQueryTile;
      const float* kt_b = kt.data() + b * s.E * s.S;
      const float* v_b = v + b * s.S * s.Ev;
      for (int64_t i = i0; i < std::min(s.L, i0 + kQueryTile); ++i) {
        const int64_t row = b * s.L + i;
        forward_row(q + row * s.E, kt_b, v_b, s, b, i, out + row * s.Ev, lse + row);
      }
    }
  });
}

namespace {

// dp[j] = dout_row · vt[:, j0 + j] for j < n.
KILN_VECTORIZE void tile_dot_values(const float* dout_row, const float* vt, const AttentionShape& s, int64_t j0,
                                    int64_t n, float* dp) {
  for (int64_t j = 0; j < n; ++j) dp[j] = 0.0f;
  for (int64_t c = 0; c < s.Ev; ++c) {
    const float d = dout_row[c];
    const float* vt_row = vt + c * s.S + j0;
    for (int64_t j = 0; j < n; ++j) dp[j] += d * vt_row[j];
  }
}

// The gradient contributions of one query row against one key tile:
// dv[j] += p[j]·dout_row; dk[j] += ds[j]·q_row; dq_row += Σ ds[j]·k[j0 + j].
KILN_VECTORIZE void tile_backward_update(const float* p, const float* ds, const float* q_row, const float* dout_row,
                                         const float* k, const AttentionShape& s, int64_t j0, int64_t n, float* dq_row,
                                         float* dk, float* dv) {
  for (int64_t j = 0; j < n; ++j) {
    const float pj = p[j];
    const float dsj = ds[j];
    float* dv_row = dv + (j0 + j) * s.Ev;
    for (int64_t c = 0; c < s.Ev; ++c) dv_row[c] += pj * dout_row[c];
    float* dk_row = dk + (j0 + j) * s.E;
    const float* k_row = k + (j0 + j) * s.E;
    for (int64_t e = 0; e < s.E; ++e) {
      dk_row[e] += dsj * q_row[e];
      dq_row[e] += dsj * k_row[e];
    }
  }
}

// p[j] = exp(scores[j] − lse); ds[j] = p[j]·(dp[j] − delta)·scale.
KILN_VECTORIZE void tile_probabilities(const float* scores, float lse, const float* dp, float delta, float scale,
                                       int64_t n, float* p, float* ds) {
  for (int64_t j = 0; j < n; ++j) {
    p[j] = fast_exp(scores[j] - lse);
    ds[j] = p[j] * (dp[j] - delta) * scale;
  }
}

// One slice b: all of its dq, dk, dv.
void backward_slice(const float* q, const float* k, const float* kt, const float* vt, const float* out,
                    const float* lse, const float* dout, const AttentionShape& s, int64_t b, float* dq, float* dk,
                    float* dv) {
  float scores[kKeyTile], p[kKeyTile], dp[kKeyTile], ds[kKeyTile];
  std::fill(dq, dq + s.L * s.E, 0.0f);
  std::fill(dk, dk + s.S * s.E, 0.0f);
  std::fill(dv, dv + s.S * s.Ev, 0.0f);
  for (int64_t i = 0; i < s.L; ++i) {
    const float* q_row = q + i * s.E;
    const float* dout_row = dout + i * s.Ev;
    float delta = 0.0f;
    for (int64_t c = 0; c < s.Ev; ++c) delta += dout_row[c] * out[i * s.Ev + c];
    const float row_lse = std::isinf(lse[i]) && lse[i] < 0 ? NAN : lse[i];  // fully masked: NaN, as forward
    const int64_t end = key_end(s, i);
    for (int64_t j0 = 0; j0 < end; j0 += kKeyTile) {
      const int64_t n = std::min(kKeyTile, end - j0);
      tile_scores(q_row, kt, s, b, i, j0, n, scores);
      tile_dot_values(dout_row, vt, s, j0, n, dp);
      tile_probabilities(scores, row_lse, dp, delta, s.scale, n, p, ds);
      tile_backward_update(p, ds, q_row, dout_row, k, s, j0, n, dq + i * s.E, dk, dv);
    }
  }
}

}  // namespace

void attention_backward(const float* q, const float* k, const float* v, const float* out, const float* lse,
                        const float* dout, float* dq, float* dk, float* dv, const AttentionShape& s) {
  std::vector<float> kt(s.batch * s.E * s.S), vt(s.batch * s.Ev * s.S);
  transpose_slices(k, s.batch, s.S, s.E, kt.data());
  transpose_slices(v, s.batch, s.S, s.Ev, vt.data());
  parallel_for_balanced(0, s.batch, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      backward_slice(q + b * s.L * s.E, k + b * s.S * s.E, kt.data() + b * s.E * s.S, vt.data() + b * s.Ev * s.S,
                     out + b * s.L * s.Ev, lse + b * s.L, dout + b * s.L * s.Ev, s, b, dq + b * s.L * s.E,
                     dk + b * s.S * s.E, dv + b * s.S * s.Ev);
    }
  });
}

}  // namespace kiln
