// softmax_cross_entropy_forward / _backward against naive double-precision loops: weights,
// label smoothing, ignored targets, (outer, n, inner) layouts; extreme logits stay finite.
#include <cmath>
#include <vector>

#include "check.h"
#include "loss.h"

using namespace kiln;
using kiln::test::Random;

namespace {

struct Case {
  int64_t outer, n, inner;
  bool weighted;
  double smoothing;
};

const Case kCases[] = {{4, 5, 1, false, 0.0}, {3, 7, 1, true, 0.2}, {2, 3, 9, true, 0.1}, {257, 11, 1, false, 0.3}, {1, 1, 1, false, 0.0}};
constexpr int64_t kIgnore = -100;

// Per-sample losses and logit gradients (for grad_loss = 1 + s/10) by the textbook formulas.
void naive(const Case& c, const std::vector<float>& x, const std::vector<int32_t>& t, const std::vector<float>& w,
           std::vector<double>& loss, std::vector<double>& grad) {
  auto weight = [&](int64_t j) { return c.weighted ? double(w[j]) : 1.0; };
  for (int64_t o = 0; o < c.outer; ++o) {
    for (int64_t i = 0; i < c.inner; ++i) {
      const int64_t s = o * c.inner + i;
      auto at = [&](int64_t j) { return (o * c.n + j) * c.inner + i; };
      double max = -INFINITY, sum = 0, weight_sum = 0;
      for (int64_t j = 0; j < c.n; ++j) max = std::fmax(max, x[at(j)]);
      for (int64_t j = 0; j < c.n; ++j) sum += std::exp(x[at(j)] - max), weight_sum += weight(j);
      const double lse = max + std::log(sum);
      loss[s] = 0;
      for (int64_t j = 0; j < c.n; ++j) grad[at(j)] = 0;
      if (t[s] == kIgnore) continue;
      const double g = 1 + s / 10.0;
      double smooth = 0;
      for (int64_t j = 0; j < c.n; ++j) smooth += weight(j) * (lse - x[at(j)]);
      loss[s] = (1 - c.smoothing) * weight(t[s]) * (lse - x[at(t[s])]) + c.smoothing / c.n * smooth;
      for (int64_t j = 0; j < c.n; ++j) {
        const double p = std::exp(x[at(j)] - lse);
        grad[at(j)] = g * ((1 - c.smoothing) * weight(t[s]) * (p - (j == t[s])) + c.smoothing / c.n * (weight_sum * p - weight(j)));
      }
    }
  }
}

TEST(forward_and_backward_match_naive) {
  for (const Case& c : kCases) {
    const int64_t samples = c.outer * c.inner, count = samples * c.n;
    std::vector<float> x = Random(3).vector(count, -4.0f, 4.0f), w = Random(4).vector(c.n, 0.5f, 2.0f);
    std::vector<int32_t> t(samples);
    for (int64_t s = 0; s < samples; ++s) t[s] = s % 5 == 3 ? kIgnore : int32_t((s * 7) % c.n);
    std::vector<float> loss(samples), lse(samples), grad_loss(samples), grad(count);
    for (int64_t s = 0; s < samples; ++s) grad_loss[s] = float(1 + s / 10.0);
    const CrossEntropyConfig config{c.outer, c.n, c.inner, kIgnore, c.smoothing};
    const float* weight = c.weighted ? w.data() : nullptr;
    softmax_cross_entropy_forward(x.data(), t.data(), weight, loss.data(), lse.data(), config);
    softmax_cross_entropy_backward(x.data(), t.data(), weight, lse.data(), grad_loss.data(), grad.data(), config);
    std::vector<double> expected_loss(samples), expected_grad(count);
    naive(c, x, t, w, expected_loss, expected_grad);
    CHECK_ALL_CLOSE(loss, expected_loss, 1e-5);
    CHECK_ALL_CLOSE(grad, expected_grad, 1e-5);
  }
}

TEST(extreme_logits_stay_finite) {
  std::vector<float> x = {1e30f, -1e30f, 0.0f, 88.0f, -88.0f, 3.0f};
  std::vector<int32_t> t = {1, 1};
  std::vector<float> loss(2), lse(2), grad(6), ones = {1.0f, 1.0f};
  const CrossEntropyConfig config{2, 3, 1, kIgnore, 0.0};
  softmax_cross_entropy_forward(x.data(), t.data(), nullptr, loss.data(), lse.data(), config);
  softmax_cross_entropy_backward(x.data(), t.data(), nullptr, lse.data(), ones.data(), grad.data(), config);
  CHECK_CLOSE(loss[0], 2e30, 1e-6);
  CHECK_CLOSE(loss[1], 176.0, 1e-5);
  for (float g : grad) CHECK(std::isfinite(g));
}

}  // namespace

KILN_TEST_MAIN()
