#include "loss.h"

#include <cmath>

#include "parallel.h"

namespace kiln {
namespace {

// Rough work per class of one sample: an exp plus a few passes.
constexpr int64_t kWorkPerClass = 12;

// Calls body(o, i) for every sample position of the block, in parallel.
template <typename Body>
void for_each_sample(const CrossEntropyConfig& c, const Body& body) {
  parallel_for(0, c.outer * c.inner, grain_for(c.n * kWorkPerClass), [&](int64_t begin, int64_t end) {
    for (int64_t s = begin; s < end; ++s) body(s / c.inner, s % c.inner);
  });
}

// log Σ exp over the n classes of one sample, x[j * inner] for j < n, computed stably.
float log_sum_exp(const float* x, int64_t n, int64_t inner) {
  float max = -INFINITY;
  for (int64_t j = 0; j < n; ++j) {
    const float value = x[j * inner];
    if (value > max || value != value) max = value;  // NaN wins and stays
  }
  if (std::isinf(max)) return max;
  float sum = 0.0f;
  for (int64_t j = 0; j < n; ++j) sum += std::exp(x[j * inner] - max);
  return max + std::log(sum);
}

}  // namespace

void softmax_cross_entropy_forward(const float* logits, const int32_t* target, const float* weight, float* loss,
                                   float* lse, const CrossEntropyConfig& c) {
  const float eps = float(c.label_smoothing), smooth_share = float(c.label_smoothing / double(c.n));
  for_each_sample(c, [&](int64_t o, int64_t i) {
    const int64_t s = o * c.inner + i;
    const float* x = logits + o * c.n * c.inner + i;
    const float l = log_sum_exp(x, c.n, c.inner);
    lse[s] = l;
    const int64_t t = target[s];
    if (t == c.ignore_index) {
      loss[s] = 0.0f;
      return;
    }
    float value = (weight ? weight[t] : 1.0f) * (l - x[t * c.inner]);
    if (eps != 0.0f) {
      float smooth = 0.0f;
      for (int64_t j = 0; j < c.n; ++j) smooth += (weight ? weight[j] : 1.0f) * (l - x[j * c.inner]);
      value = (1.0f - eps) * value + smooth_share * smooth;
    }
    loss[s] = value;
  });
}

void softmax_cross_entropy_backward(const float* logits, const int32_t* target, const float* weight,
                                    const float* lse, const float* grad_loss, float* grad_logits,
                                    const CrossEntropyConfig& c) {
  const float eps = float(c.label_smoothing), smooth_share = float(c.label_smoothing / double(c.n));
  float weight_sum = float(c.n);
  if (weight) {
    weight_sum = 0.0f;
    for (int64_t j = 0; j < c.n; ++j) weight_sum += weight[j];
  }
  for_each_sample(c, [&](int64_t o, int64_t i) {
    const int64_t s = o * c.inner + i;
    const int64_t offset = o * c.n * c.inner + i;
    const float* x = logits + offset;
    float* gx = grad_logits + offset;
    const int64_t t = target[s];
    if (t == c.ignore_index) {
      for (int64_t j = 0; j < c.n; ++j) gx[j * c.inner] = 0.0f;
      return;
    }
    const float g = grad_loss[s];
    const float pick = g * (1.0f - eps) * (weight ? weight[t] : 1.0f);
    const float smooth = g * smooth_share;
    for (int64_t j = 0; j < c.n; ++j) {
      const float p = std::exp(x[j * c.inner] - lse[s]);
      gx[j * c.inner] = pick * p + smooth * (weight_sum * p - (weight ? weight[j] : 1.0f));
    }
    gx[t * c.inner] -= pick;
  });
}

}  // namespace kiln
