// Fused scaled dot-product attention: softmax(q·kᵀ·scale + mask)·v, forward and backward,
// flash-attention style (tiled online softmax; the L×S scores are never stored).
#pragma once

#include <cstdint>

namespace kiln {

enum class AttentionMask : int32_t { kNone = 0, kFloat = 1, kBool = 2, kCausal = 3 };

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
};

// q: (batch, L, E), k: (batch, S, E), v: (batch, S, Ev) → out: (batch, L, Ev),
// lse: (batch, L) the log-sum-exp of each row of scores (−inf for a fully masked row, whose
// output is NaN, as PyTorch 2's). Requires S ≥ 1.
// Parallel over (batch × query tiles).
void attention_forward(const float* q, const float* k, const float* v, float* out, float* lse, const AttentionShape& s);

// Gradients of out w.r.t. q, k, v given dout (batch, L, Ev) and the forward's out and lse;
// dq, dk, dv are overwritten. Scores are recomputed tile by tile from q, k and lse; uses
// D_i = Σ dout_i ∘ out_i. Parallel over the batch × heads slices (each owns its dq, dk, dv
// rows, so nothing is shared between threads); one slice runs on one thread.
void attention_backward(const float* q, const float* k, const float* v, const float* out, const float* lse,
                        const float* dout, float* dq, float* dk, float* dv, const AttentionShape& s);

}  // namespace kiln
