// Layer normalization vs a naive oracle in double: statistics, output, and the gradients of
// x, weight and bias; results independent of the thread count.
#include <cmath>
#include <utility>
#include <vector>

#include "check.h"
#include "norm.h"

namespace {

struct Oracle {
  std::vector<double> out, gx, gw, gb;
};

// Naive: per row mean and biased variance, then the textbook gradient.
Oracle oracle(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
              const std::vector<float>& gy, int64_t rows, int64_t n, double eps) {
  Oracle o{std::vector<double>(rows * n), std::vector<double>(rows * n), std::vector<double>(n, 0.0),
           std::vector<double>(n, 0.0)};
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, variance = 0;
    for (int64_t i = 0; i < n; ++i) mean += x[r * n + i];
    mean /= n;
    for (int64_t i = 0; i < n; ++i) variance += (x[r * n + i] - mean) * (x[r * n + i] - mean);
    const double rstd = 1.0 / std::sqrt(variance / n + eps);
    double sum_g = 0, sum_g_xhat = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double xhat = (x[r * n + i] - mean) * rstd;
      o.out[r * n + i] = xhat * w[i] + b[i];
      sum_g += gy[r * n + i] * w[i];
      sum_g_xhat += gy[r * n + i] * w[i] * xhat;
      o.gw[i] += gy[r * n + i] * xhat;
      o.gb[i] += gy[r * n + i];
    }
    for (int64_t i = 0; i < n; ++i) {
      const double xhat = (x[r * n + i] - mean) * rstd;
      o.gx[r * n + i] = rstd * (gy[r * n + i] * w[i] - sum_g / n - xhat * sum_g_xhat / n);
    }
  }
  return o;
}

}  // namespace

TEST(layer_norm_matches_naive_oracle) {
  for (const auto& [rows, n] : {std::pair<int64_t, int64_t>{1, 1}, {3, 5}, {130, 256}, {7, 1000}}) {
    kiln::test::Random random(11 + rows);
    const std::vector<float> x = random.vector(rows * n, -3.0f, 5.0f), w = random.vector(n), b = random.vector(n);
    const std::vector<float> gy = random.vector(rows * n);
    const Oracle want = oracle(x, w, b, gy, rows, n, 1e-5);
    std::vector<float> out(rows * n), mean(rows), rstd(rows), gx(rows * n), gw(n), gb(n);
    kiln::layer_norm_forward(x.data(), w.data(), b.data(), out.data(), mean.data(), rstd.data(), rows, n, 1e-5f);
    kiln::layer_norm_backward(gy.data(), x.data(), w.data(), mean.data(), rstd.data(), gx.data(), gw.data(), gb.data(),
                              rows, n);
    CHECK_ALL_CLOSE(out, want.out, 1e-4);
    CHECK_ALL_CLOSE(gx, want.gx, n == 1 ? 1e-2 : 2e-4);
    CHECK_ALL_CLOSE(gw, want.gw, 2e-4);
    CHECK_ALL_CLOSE(gb, want.gb, 2e-4);
  }
}

TEST(layer_norm_without_affine_and_threaded_results_equal_single_threaded) {
  const int64_t rows = 300, n = 96;
  kiln::test::Random random(4);
  const std::vector<float> x = random.vector(rows * n), gy = random.vector(rows * n);
  CHECK(kiln::test::same_with_threads<std::vector<float>>([&] {
    std::vector<float> out(rows * n), mean(rows), rstd(rows), gx(rows * n), gw(n), gb(n);
    kiln::layer_norm_forward(x.data(), nullptr, nullptr, out.data(), mean.data(), rstd.data(), rows, n, 1e-5f);
    kiln::layer_norm_backward(gy.data(), x.data(), nullptr, mean.data(), rstd.data(), gx.data(), gw.data(), gb.data(),
                              rows, n);
    for (const std::vector<float>* part : {&gx, &gw, &gb}) out.insert(out.end(), part->begin(), part->end());
    return out;
  }));
}

KILN_TEST_MAIN()
