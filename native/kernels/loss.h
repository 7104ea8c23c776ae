// Fused softmax cross-entropy with class-index targets: log-softmax, the pick of the target
// class, class weights, label smoothing and an ignore index in one pass, plus its backward.
//
// Layout: logits are (outer, n, inner) with the n classes on the middle axis (PyTorch's
// (N, C) or (N, C, d1, ...) with outer = N, inner = d1·...); one sample per (outer, inner)
// position. Per sample s with target t (class weights w, W = Σ w, ε = label smoothing,
// lse = log Σ_c exp(x_c)):
//   loss_s = (1 − ε)·w_t·(lse − x_t) + ε/n · Σ_c w_c·(lse − x_c),   0 when t == ignore_index.
// Without weights w_c = 1. Targets are trusted: each is ignore_index or in [0, n).
#pragma once

#include <cstdint>

namespace kiln {

struct CrossEntropyConfig {
  int64_t outer, n, inner;
  int64_t ignore_index;
  double label_smoothing;
};

// logits: (outer, n, inner); target: (outer, inner); weight: (n) or null for all ones.
// Writes loss and lse, each (outer, inner); lse is what the backward needs.
void softmax_cross_entropy_forward(const float* logits, const int32_t* target, const float* weight, float* loss,
                                   float* lse, const CrossEntropyConfig& c);

// grad_logits (outer, n, inner) = grad_loss_s · d loss_s / d logits, from the forward's lse:
//   (1 − ε)·w_t·(p_c − [c == t]) + ε/n·(W·p_c − w_c),  p_c = exp(x_c − lse); 0 for ignored samples.
void softmax_cross_entropy_backward(const float* logits, const int32_t* target, const float* weight,
                                    const float* lse, const float* grad_loss, float* grad_logits,
                                    const CrossEntropyConfig& c);

}  // namespace kiln
