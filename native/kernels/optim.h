// Fused optimizer updates: each kernel makes one pass over a parameter, its gradient and its
// state buffers, in place. The math is PyTorch 1.13's single-tensor update rule of the same
// optimizer (torch/optim/<name>.py), evaluated in float32; the scalars that depend only on the
// step count (bias corrections, NAdam's momentum schedule) are computed in double.
//
// Shapes: param, grad and every state buffer are n contiguous floats. A buffer an option
// turns off (the momentum buffer when momentum == 0, ...) is not read and may be null.
// Multi-threaded above a grain size; each element is updated the same way on any thread count.
#pragma once

#include <cstdint>

namespace kiln {

// SGD. d = g + wd·p; with momentum: buf = first_step ? d : momentum·buf + (1 − dampening)·d,
// d = nesterov ? d + momentum·buf : buf; then p −= lr·d.
struct SgdConfig {
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
  bool first_step;  // the momentum buffer is set to d instead of updated
};
void sgd_step(float* param, const float* grad, float* momentum_buffer, int64_t n, const SgdConfig& c);

// Adagrad. g += wd·p; sum += g²; p −= lr / (1 + (step − 1)·lr_decay) · g / (√sum + eps).
struct AdagradConfig {
  double lr, lr_decay, weight_decay, eps;
  int64_t step;  // counted from 1, this step included
};
void adagrad_step(float* param, const float* grad, float* sum, int64_t n, const AdagradConfig& c);

// RMSprop. g += wd·p; sq = α·sq + (1 − α)·g²; centered: ga = α·ga + (1 − α)·g and
// avg = √(sq − ga²) + eps, else avg = √sq + eps; momentum > 0: buf = momentum·buf + g/avg,
// p −= lr·buf; else p −= lr·g/avg.
struct RmspropConfig {
  double lr, alpha, eps, weight_decay, momentum;
  bool centered;
};
void rmsprop_step(float* param, const float* grad, float* square_avg, float* grad_avg, float* momentum_buffer,
                  int64_t n, const RmspropConfig& c);

// Adadelta. g += wd·p; sq = ρ·sq + (1 − ρ)·g²; delta = √(acc + eps) / √(sq + eps) · g;
// acc = ρ·acc + (1 − ρ)·delta²; p −= lr·delta.
struct AdadeltaConfig {
  double lr, rho, eps, weight_decay;
};
void adadelta_step(float* param, const float* grad, float* square_avg, float* acc_delta, int64_t n,
                   const AdadeltaConfig& c);

// Adam, AMSGrad and AdamW. Adam: g += wd·p. AdamW (decoupled): p ·= 1 − lr·wd instead.
// m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²; amsgrad: vmax = max(vmax, v), used for v;
// p −= lr / (1 − β1^step) · m / (√v / √(1 − β2^step) + eps).
struct AdamConfig {
  double lr, beta1, beta2, eps, weight_decay;
  int64_t step;  // counted from 1, this step included
  bool amsgrad;
  bool decoupled_weight_decay;  // AdamW
};
void adam_step(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, float* max_exp_avg_sq,
               int64_t n, const AdamConfig& c);

// NAdam (the paper's rule, as PyTorch ≥ 2.0 and 1.13's foreach path compute it).
// g += wd·p; m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²; denom = √(v / (1 − β2^step)) + eps;
// p −= lr·(1 − μ)/(1 − Π) · g/denom + lr·μ_next/(1 − Π·μ_next) · m/denom, where μ, μ_next are
// this and the next step's momentum and Π = μ_1···μ_step (mu_product, this step included).
struct NadamConfig {
  double lr, beta1, beta2, eps, weight_decay;
  int64_t step;
  double mu, mu_next, mu_product;
};
void nadam_step(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n,
                const NadamConfig& c);

// Adamax. g += wd·p; m = β1·m + (1 − β1)·g; u = max(β2·u, |g| + eps);
// p −= lr / (1 − β1^step) · m / u.
struct AdamaxConfig {
  double lr, beta1, beta2, eps, weight_decay;
  int64_t step;
};
void adamax_step(float* param, const float* grad, float* exp_avg, float* exp_inf, int64_t n, const AdamaxConfig& c);

}  // namespace kiln
