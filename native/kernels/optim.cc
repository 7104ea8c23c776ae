// The updates only take square roots of non-negative numbers. Without errno bookkeeping GCC
// vectorizes std::sqrt, which these memory-bound loops need to keep up with the memory bus.
// Set before any include, so the inlined <cmath> code is compiled the same way.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-math-errno")
#endif

#include "optim.h"

#include <cmath>

#include "parallel.h"
#include "vectorize.h"

namespace kiln {
namespace {

// Floats touched per element, roughly; sets the grain so a chunk is worth a thread wake-up.
constexpr int64_t kWorkPerElement = 8;

// Runs body(begin, end) over [0, n) on the thread pool.
template <typename Body>
void for_chunks(int64_t n, const Body& body) {
  parallel_for_balanced(0, n, grain_for(kWorkPerElement), body);
}

// NaN-propagating max, as torch.amax / torch.maximum.
inline float max_with_nan(float a, float b) { return (a != a || b != b) ? NAN : (a > b ? a : b); }

// One chunk [begin, end) of the SGD update, with its options fixed at compile time so the
// loop has no branches; compiled per instruction set (KILN_VECTORIZE) to stream at full width.
template <bool kWeightDecay, bool kMomentum, bool kNesterov, bool kFirst>
KILN_VECTORIZE void sgd_range(float* __restrict param, const float* __restrict grad, float* __restrict momentum_buffer,
                              int64_t begin, int64_t end, float lr, float wd, float momentum, float keep) {
  for (int64_t i = begin; i < end; ++i) {
    float d = grad[i];
    if (kWeightDecay) d += wd * param[i];
    if (kMomentum) {
      const float buf = kFirst ? d : momentum * momentum_buffer[i] + keep * d;
      momentum_buffer[i] = buf;
      d = kNesterov ? d + momentum * buf : buf;
    }
    param[i] -= lr * d;
  }
}

// The SGD update over all n elements on the thread pool.
template <bool kWeightDecay, bool kMomentum, bool kNesterov, bool kFirst>
void sgd_loop(float* param, const float* grad, float* momentum_buffer, int64_t n, const SgdConfig& c) {
  const float lr = float(c.lr), wd = float(c.weight_decay), momentum = float(c.momentum);
  const float keep = float(1.0 - c.dampening);
  for_chunks(n, [=](int64_t begin, int64_t end) {
    sgd_range<kWeightDecay, kMomentum, kNesterov, kFirst>(param, grad, momentum_buffer, begin, end, lr, wd, momentum, keep);
  });
}

template <bool kWeightDecay>
void sgd_dispatch(float* param, const float* grad, float* buf, int64_t n, const SgdConfig& c) {
  if (c.momentum == 0.0) return sgd_loop<kWeightDecay, false, false, false>(param, grad, buf, n, c);
  if (c.first_step) {
    if (c.nesterov) return sgd_loop<kWeightDecay, true, true, true>(param, grad, buf, n, c);
    return sgd_loop<kWeightDecay, true, false, true>(param, grad, buf, n, c);
  }
  if (c.nesterov) return sgd_loop<kWeightDecay, true, true, false>(param, grad, buf, n, c);
  sgd_loop<kWeightDecay, true, false, false>(param, grad, buf, n, c);
}

}  // namespace

void sgd_step(float* param, const float* grad, float* momentum_buffer, int64_t n, const SgdConfig& c) {
  if (c.weight_decay != 0.0) sgd_dispatch<true>(param, grad, momentum_buffer, n, c);
  else sgd_dispatch<false>(param, grad, momentum_buffer, n, c);
}

void adagrad_step(float* param, const float* grad, float* sum, int64_t n, const AdagradConfig& c) {
  const float clr = float(c.lr / (1.0 + double(c.step - 1) * c.lr_decay));
  const float wd = float(c.weight_decay), eps = float(c.eps);
  for_chunks(n, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float g = grad[i];
      if (wd != 0.0f) g += wd * param[i];
      const float s = sum[i] + g * g;
      sum[i] = s;
      param[i] -= clr * g / (std::sqrt(s) + eps);
    }
  });
}

void rmsprop_step(float* param, const float* grad, float* square_avg, float* grad_avg, float* momentum_buffer,
                  int64_t n, const RmspropConfig& c) {
  const float lr = float(c.lr), alpha = float(c.alpha), one_minus_alpha = float(1.0 - c.alpha);
  const float eps = float(c.eps), wd = float(c.weight_decay), momentum = float(c.momentum);
  const bool centered = c.centered, use_momentum = c.momentum > 0.0;
  for_chunks(n, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float g = grad[i];
      if (wd != 0.0f) g += wd * param[i];
      const float sq = alpha * square_avg[i] + one_minus_alpha * g * g;
      square_avg[i] = sq;
      float avg;
      if (centered) {
        const float ga = alpha * grad_avg[i] + one_minus_alpha * g;
        grad_avg[i] = ga;
        avg = std::sqrt(sq - ga * ga) + eps;
      } else {
        avg = std::sqrt(sq) + eps;
      }
      if (use_momentum) {
        const float buf = momentum * momentum_buffer[i] + g / avg;
        momentum_buffer[i] = buf;
        param[i] -= lr * buf;
      } else {
        param[i] -= lr * g / avg;
      }
    }
  });
}

void adadelta_step(float* param, const float* grad, float* square_avg, float* acc_delta, int64_t n,
                   const AdadeltaConfig& c) {
  const float lr = float(c.lr), rho = float(c.rho), one_minus_rho = float(1.0 - c.rho);
  const float eps = float(c.eps), wd = float(c.weight_decay);
  for_chunks(n, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float g = grad[i];
      if (wd != 0.0f) g += wd * param[i];
      const float sq = rho * square_avg[i] + one_minus_rho * g * g;
      square_avg[i] = sq;
      const float delta = std::sqrt(acc_delta[i] + eps) / std::sqrt(sq + eps) * g;
      acc_delta[i] = rho * acc_delta[i] + one_minus_rho * delta * delta;
      param[i] -= lr * delta;
    }
  });
}

namespace {

// The Adam loop with amsgrad fixed at compile time (a branch-free, vectorizable body).
template <bool kAmsgrad>
void adam_loop(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, float* max_exp_avg_sq, int64_t n,
               const AdamConfig& c) {
  const double step = double(c.step);
  const float step_size = float(c.lr / (1.0 - std::pow(c.beta1, step)));
  const float bias_correction2_sqrt = float(std::sqrt(1.0 - std::pow(c.beta2, step)));
  const float beta1 = float(c.beta1), one_minus_beta1 = float(1.0 - c.beta1);
  const float beta2 = float(c.beta2), one_minus_beta2 = float(1.0 - c.beta2);
  const float eps = float(c.eps);
  const float l2 = c.decoupled_weight_decay ? 0.0f : float(c.weight_decay);
  const float shrink = c.decoupled_weight_decay ? float(1.0 - c.lr * c.weight_decay) : 1.0f;
  for_chunks(n, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float p = param[i];
      const float g = l2 != 0.0f ? grad[i] + l2 * p : grad[i];
      const float m = beta1 * exp_avg[i] + one_minus_beta1 * g;
      float v = beta2 * exp_avg_sq[i] + one_minus_beta2 * g * g;
      exp_avg[i] = m;
      exp_avg_sq[i] = v;
      if (kAmsgrad) {
        v = max_with_nan(max_exp_avg_sq[i], v);
        max_exp_avg_sq[i] = v;
      }
      param[i] = p * shrink - step_size * m / (std::sqrt(v) / bias_correction2_sqrt + eps);
    }
  });
}

}  // namespace

void adam_step(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, float* max_exp_avg_sq,
               int64_t n, const AdamConfig& c) {
  if (c.amsgrad) adam_loop<true>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n, c);
  else adam_loop<false>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n, c);
}

void nadam_step(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n,
                const NadamConfig& c) {
  const float bias_correction2 = float(1.0 - std::pow(c.beta2, double(c.step)));
  const float grad_coef = float(c.lr * (1.0 - c.mu) / (1.0 - c.mu_product));
  const float avg_coef = float(c.lr * c.mu_next / (1.0 - c.mu_product * c.mu_next));
  const float beta1 = float(c.beta1), one_minus_beta1 = float(1.0 - c.beta1);
  const float beta2 = float(c.beta2), one_minus_beta2 = float(1.0 - c.beta2);
  const float eps = float(c.eps), wd = float(c.weight_decay);
  for_chunks(n, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float g = grad[i];
      if (wd != 0.0f) g += wd * param[i];
      const float m = beta1 * exp_avg[i] + one_minus_beta1 * g;
      const float v = beta2 * exp_avg_sq[i] + one_minus_beta2 * g * g;
      exp_avg[i] = m;
      exp_avg_sq[i] = v;
      const float denom = std::sqrt(v / bias_correction2) + eps;
      param[i] -= grad_coef * g / denom + avg_coef * m / denom;
    }
  });
}

void adamax_step(float* param, const float* grad, float* exp_avg, float* exp_inf, int64_t n, const AdamaxConfig& c) {
  const float clr = float(c.lr / (1.0 - std::pow(c.beta1, double(c.step))));
  const float beta1 = float(c.beta1), one_minus_beta1 = float(1.0 - c.beta1), beta2 = float(c.beta2);
  const float eps = float(c.eps), wd = float(c.weight_decay);
  for_chunks(n, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float g = grad[i];
      if (wd != 0.0f) g += wd * param[i];
      const float m = beta1 * exp_avg[i] + one_minus_beta1 * g;
      const float u = max_with_nan(beta2 * exp_inf[i], std::fabs(g) + eps);
      exp_avg[i] = m;
      exp_inf[i] = u;
      param[i] -= clr * m / u;
    }
  });
}

}  // namespace kiln
