// Layer and batch normalization vs naive oracles in double: statistics, output, and the
// gradients of x, weight and bias; results independent of the thread count.
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

struct BatchOracle {
  std::vector<double> out, mean, variance, gx, gw, gb;
};

// Naive batch norm over x (n, c, inner): per channel mean and biased variance, then the textbook gradient.
BatchOracle batch_oracle(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
                         const std::vector<float>& gy, int64_t n, int64_t c, int64_t inner, double eps) {
  BatchOracle o{std::vector<double>(x.size()), std::vector<double>(c), std::vector<double>(c),
                std::vector<double>(x.size()), std::vector<double>(c), std::vector<double>(c)};
  const double m = static_cast<double>(n * inner);
  auto at = [&](int64_t i, int64_t ch, int64_t j) { return (i * c + ch) * inner + j; };
  for (int64_t ch = 0; ch < c; ++ch) {
    double mean = 0, variance = 0, sum_g = 0, sum_g_xhat = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < inner; ++j) mean += x[at(i, ch, j)];
    mean /= m;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < inner; ++j) variance += (x[at(i, ch, j)] - mean) * (x[at(i, ch, j)] - mean);
    variance /= m;
    const double rstd = 1.0 / std::sqrt(variance + eps);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < inner; ++j) {
        const double xhat = (x[at(i, ch, j)] - mean) * rstd;
        o.out[at(i, ch, j)] = xhat * w[ch] + b[ch];
        sum_g += gy[at(i, ch, j)];
        sum_g_xhat += gy[at(i, ch, j)] * xhat;
      }
    }
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < inner; ++j) {
        const double xhat = (x[at(i, ch, j)] - mean) * rstd;
        o.gx[at(i, ch, j)] = w[ch] * rstd * (gy[at(i, ch, j)] - sum_g / m - xhat * sum_g_xhat / m);
      }
    }
    o.mean[ch] = mean;
    o.variance[ch] = variance;
    o.gw[ch] = sum_g_xhat;
    o.gb[ch] = sum_g;
  }
  return o;
}

}  // namespace

TEST(batch_norm_matches_naive_oracle) {
  struct Shape {
    int64_t n, c, inner;
  };
  for (const Shape& s : {Shape{2, 1, 1}, Shape{3, 4, 5}, Shape{16, 70, 49}, Shape{5, 3, 1000}}) {
    kiln::test::Random random(7 + s.c);
    const int64_t size = s.n * s.c * s.inner;
    const std::vector<float> x = random.vector(size, 1.0f, 9.0f), w = random.vector(s.c), b = random.vector(s.c);
    const std::vector<float> gy = random.vector(size);
    const BatchOracle want = batch_oracle(x, w, b, gy, s.n, s.c, s.inner, 1e-5);
    std::vector<float> out(size), mean(s.c), variance(s.c), rstd(s.c), gx(size), gw(s.c), gb(s.c);
    kiln::batch_norm_forward(x.data(), w.data(), b.data(), out.data(), mean.data(), variance.data(), rstd.data(), s.n,
                             s.c, s.inner, 1e-5f);
    kiln::batch_norm_backward(gy.data(), x.data(), w.data(), mean.data(), rstd.data(), gx.data(), gw.data(), gb.data(),
                              s.n, s.c, s.inner);
    CHECK_ALL_CLOSE(mean, want.mean, 1e-5);
    CHECK_ALL_CLOSE(variance, want.variance, 1e-4);
    CHECK_ALL_CLOSE(out, want.out, 2e-4);
    CHECK_ALL_CLOSE(gx, want.gx, s.n * s.inner == 2 ? 1e-2 : 5e-4);
    CHECK_ALL_CLOSE(gw, want.gw, 1e-3);
    CHECK_ALL_CLOSE(gb, want.gb, 1e-3);
  }
}

TEST(batch_norm_without_affine_and_threaded_results_equal_single_threaded) {
  const int64_t n = 8, c = 33, inner = 50;
  kiln::test::Random random(5);
  const std::vector<float> x = random.vector(n * c * inner), gy = random.vector(n * c * inner);
  CHECK(kiln::test::same_with_threads<std::vector<float>>([&] {
    std::vector<float> out(x.size()), mean(c), variance(c), rstd(c), gx(x.size()), gw(c), gb(c);
    kiln::batch_norm_forward(x.data(), nullptr, nullptr, out.data(), mean.data(), variance.data(), rstd.data(), n, c,
                             inner, 1e-5f);
    kiln::batch_norm_backward(gy.data(), x.data(), nullptr, mean.data(), rstd.data(), gx.data(), gw.data(), gb.data(), n,
                              c, inner);
    for (const std::vector<float>* part : {&mean, &variance, &rstd, &gx, &gw, &gb}) out.insert(out.end(), part->begin(), part->end());
    return out;
  }));
}

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
