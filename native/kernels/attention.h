// Fused scaled dot-product attention: dropout(softmax(q·kᵀ·scale + mask))·v, forward and
// backward, flash-attention style (blocks of queries × keys through sgemm, online softmax; the
// L×S scores are never stored).
#pragma once

#include <cstdint>

namespace kiln {

enum class AttentionMask : int32_t { kNone = 0, kFloat = 1, kBool = 2, kCausal = 3 };

// Where the rows of one operand sit: slice b = (outer, head) = (b / heads, b % heads); its
// element (row, col) is at (b / heads)·batch_stride + (b % heads)·head_stride + row·row_stride
// + col. Dense (batch, rows, cols) is {rows·cols, 0, cols} with heads 1; the heads of a packed
// (N, L, 3·E) projection are {L·3E, d, 3E} (q at offset 0, k at E, v at 2E).
struct AttentionLayout {
  int64_t batch_stride;
  int64_t head_stride;
  int64_t row_stride;
};

// One attention call over `batch` independent (batch × heads) slices.
struct AttentionShape {
  int64_t batch;  // batch × heads, the slices of q, k, v, out
  int64_t L;      // queries
  int64_t S;      // keys / values
  int64_t E;      // q and k features
  int64_t Ev;     // v features
  float scale;    // factor on q·kᵀ
  AttentionMask mask_kind;
  // kFloat / kBool: element (b, i, j) of the mask is mask[mask_offsets[b] + i·mask_row_stride
  // + j·mask_col_stride] (strides 0 where the mask broadcasts). kCausal: key j ≤ query i.
  const int32_t* mask_offsets;
  int64_t mask_row_stride;
  int64_t mask_col_stride;
  const float* float_mask;   // kFloat: added to the scores
  const uint8_t* bool_mask;  // kBool: nonzero = the key takes part
  // The slices' layouts (see AttentionLayout); heads ≥ 1 divides batch. The gradients dq, dk,
  // dv share the layouts of q, k, v; dout shares out's.
  int64_t heads;
  AttentionLayout q_layout, k_layout, v_layout, out_layout;
  // Dropout on the attention weights: weight (b, i, j) is kept (and scaled by 1/(1 − p)) when
  // counter_keeps(counter_row_key(dropout_seed, b·L + i), dropout_seed, j, dropout_threshold)
  // (counter_hash.h); threshold 0 = none, 2²⁴ = drop everything.
  uint32_t dropout_threshold;
  uint64_t dropout_seed;
};

// Dense layouts for (batch, L, E), (batch, S, E), (batch, S, Ev), (batch, L, Ev); heads 1.
void set_dense_layouts(AttentionShape& s);

// q: (batch, L, E), k: (batch, S, E), v: (batch, S, Ev) → out: (batch, L, Ev) (in their
// layouts), lse: (batch, L) dense, the log-sum-exp of each row of scores (−inf for a fully
// masked row, whose output is NaN, as PyTorch 2's). Requires S ≥ 1. Parallel over
// (batch × blocks of queries).
void attention_forward(const float* q, const float* k, const float* v, float* out, float* lse, const AttentionShape& s);

// Gradients of out w.r.t. q, k, v given dout (batch, L, Ev) and the forward's out and lse;
// dq, dk, dv are overwritten. Scores are recomputed block by block from q, k and lse; uses
// D_i = Σ dout_i ∘ out_i. Parallel over the batch × heads slices (each owns its dq, dk, dv
// rows, so nothing is shared between threads); one slice runs on one thread.
void attention_backward(const float* q, const float* k, const float* v, const float* out, const float* lse,
                        const float* dout, float* dq, float* dk, float* dv, const AttentionShape& s);

}  // namespace kiln
