// softmax_forward / softmax_backward against naive double-precision loops.
#include <cmath>
#include <limits>

#include "check.h"
#include "softmax.h"

using namespace kiln;
using kiln::test::Random;

struct Block {
  int64_t outer, n, inner;
};

static const Block kBlocks[] = {{1, 0, 1}, {0, 4, 2}, {1, 1, 1},  {3, 7, 1},
                                {2, 5, 3}, {3, 13, 131}, {101, 257, 1}, {2, 3, 64}};

// Visits the (outer, inner) columns of a block; x offset of element j in column (o, i).
template <typename Fn>
static void for_each_column(const Block& b, Fn fn) {
  for (int64_t o = 0; o < b.outer; ++o) {
    for (int64_t i = 0; i < b.inner; ++i) fn([=](int64_t j) { return (o * b.n + j) * b.inner + i; });
  }
}

static std::vector<double> naive_softmax(const std::vector<float>& x, const Block& b, bool log) {
  std::vector<double> out(x.size());
  for_each_column(b, [&](auto at) {
    double max = -INFINITY, sum = 0.0;
    for (int64_t j = 0; j < b.n; ++j) max = std::fmax(max, x[at(j)]);
    for (int64_t j = 0; j < b.n; ++j) sum += std::exp(x[at(j)] - max);
    for (int64_t j = 0; j < b.n; ++j) out[at(j)] = log ? x[at(j)] - max - std::log(sum) : std::exp(x[at(j)] - max) / sum;
  });
  return out;
}

static std::vector<double> naive_softmax_backward(const std::vector<float>& y, const std::vector<float>& gy,
                                                  const Block& b, bool log) {
  std::vector<double> gx(y.size());
  for_each_column(b, [&](auto at) {
    double sum = 0.0;
    for (int64_t j = 0; j < b.n; ++j) sum += log ? gy[at(j)] : double(gy[at(j)]) * y[at(j)];
    for (int64_t j = 0; j < b.n; ++j) {
      gx[at(j)] = log ? gy[at(j)] - std::exp(double(y[at(j)])) * sum : y[at(j)] * (gy[at(j)] - sum);
    }
  });
  return gx;
}

TEST(forward_and_backward_match_naive) {
  for (const Block& b : kBlocks) {
    const int64_t count = b.outer * b.n * b.inner;
    std::vector<float> x = Random(1).vector(count, -5.0f, 5.0f), gy = Random(2).vector(count);
    for (bool log : {false, true}) {
      std::vector<float> y(count), gx(count);
      softmax_forward(x.data(), y.data(), b.outer, b.n, b.inner, log);
      CHECK_ALL_CLOSE(y, naive_softmax(x, b, log), 1e-5);
      softmax_backward(y.data(), gy.data(), gx.data(), b.outer, b.n, b.inner, log);
      CHECK_ALL_CLOSE(gx, naive_softmax_backward(y, gy, b, log), 1e-5);
    }
  }
}

TEST(forward_is_stable_for_large_inputs) {
  const float x[] = {1000.0f, 1001.0f, -1000.0f};
  float y[3];
  softmax_forward(x, y, 1, 3, 1, false);
  CHECK_CLOSE(y[0], 1.0 / (1.0 + std::exp(1.0)), 1e-6);
  CHECK_CLOSE(y[1], 1.0 / (1.0 + std::exp(-1.0)), 1e-6);
  CHECK(y[2] == 0.0f);
  softmax_forward(x, y, 1, 3, 1, true);
  CHECK_CLOSE(y[1], -std::log1p(std::exp(-1.0)), 1e-6);
}

TEST(nan_spreads_over_its_row_only) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float x[] = {1.0f, nan, 2.0f, 1.0f, 2.0f, 3.0f};  // (2, 3)
  float y[6];
  softmax_forward(x, y, 2, 3, 1, false);
  CHECK(std::isnan(y[0]) && std::isnan(y[1]) && std::isnan(y[2]));
  CHECK(!std::isnan(y[3]) && !std::isnan(y[4]) && !std::isnan(y[5]));
}

TEST(threaded_results_equal_single_threaded) {
  for (const Block& b : {Block{2000, 67, 1}, Block{5, 67, 300}}) {
    const int64_t count = b.outer * b.n * b.inner;
    const std::vector<float> x = Random(3).vector(count), gy = Random(4).vector(count);
    CHECK(kiln::test::same_with_threads<std::vector<float>>([&] {
      std::vector<float> y(count), gx(count);
      softmax_forward(x.data(), y.data(), b.outer, b.n, b.inner, false);
      softmax_backward(y.data(), gy.data(), gx.data(), b.outer, b.n, b.inner, false);
      y.insert(y.end(), gx.begin(), gx.end());
      return y;
    }));
  }
}

KILN_TEST_MAIN()
