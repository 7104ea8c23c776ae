// reduce and arg_reduce against naive loops over (outer, n, inner).
#include <cmath>
#include <limits>

#include "check.h"
#include "reduce.h"

using namespace kiln;
using kiln::test::Random;

static const float kNaN = std::numeric_limits<float>::quiet_NaN();
static const float kInf = std::numeric_limits<float>::infinity();

struct Block {
  int64_t outer, n, inner;
};

static const Block kBlocks[] = {{1, 0, 1},  {3, 0, 4},  {0, 5, 3},    {1, 1, 1},     {7, 13, 1},
                                {5, 11, 3}, {2, 97, 17}, {3, 1031, 1}, {1, 100003, 1}, {1, 3, 70001}};

// x: (outer, n, inner), out: (outer, inner); sums in double, so the tolerance covers ordering.
static std::vector<double> naive_reduce(ReduceOp op, const std::vector<float>& x, const Block& b) {
  std::vector<double> out(static_cast<size_t>(b.outer * b.inner));
  for (int64_t o = 0; o < b.outer; ++o) {
    for (int64_t i = 0; i < b.inner; ++i) {
      double acc = op == ReduceOp::Sum ? 0.0 : (op == ReduceOp::Max ? -kInf : kInf);
      for (int64_t j = 0; j < b.n; ++j) {
        const double v = x[(o * b.n + j) * b.inner + i];
        if (op == ReduceOp::Sum) acc += v;
        else if (std::isnan(v) || std::isnan(acc)) acc = kNaN;
        else acc = op == ReduceOp::Max ? std::fmax(acc, v) : std::fmin(acc, v);
      }
      out[o * b.inner + i] = acc;
    }
  }
  return out;
}

TEST(reduce_matches_naive_for_every_op_and_layout) {
  for (const Block& b : kBlocks) {
    std::vector<float> x = Random(1).vector(b.outer * b.n * b.inner);
    if (x.size() > 40) x[17] = kNaN, x[33] = kInf;
    for (int32_t code = 0; code < kReduceOpCount; ++code) {
      const ReduceOp op = static_cast<ReduceOp>(code);
      std::vector<float> out(static_cast<size_t>(b.outer * b.inner), 123.0f);
      reduce(op, x.data(), out.data(), b.outer, b.n, b.inner);
      CHECK_ALL_CLOSE(out, naive_reduce(op, x, b), op == ReduceOp::Sum ? 1e-4 : 0);
    }
  }
}

TEST(reduce_of_empty_axis_gives_identity) {
  std::vector<float> out(6, 7.0f);
  reduce(ReduceOp::Sum, nullptr, out.data(), 2, 0, 3);
  CHECK(out == std::vector<float>(6, 0.0f));
  reduce(ReduceOp::Max, nullptr, out.data(), 2, 0, 3);
  CHECK(out == std::vector<float>(6, -kInf));
  reduce(ReduceOp::Min, nullptr, out.data(), 6, 0, 1);
  CHECK(out == std::vector<float>(6, kInf));
}

// x: (outer, n, inner) → first index of the extreme, a NaN counting as the extreme.
static std::vector<int32_t> naive_arg_reduce(bool is_max, const std::vector<float>& x, const Block& b) {
  std::vector<int32_t> indices;
  for (int64_t o = 0; o < b.outer; ++o) {
    for (int64_t i = 0; i < b.inner; ++i) {
      int32_t best = 0;
      for (int64_t j = 0; j < b.n; ++j) {
        const float v = x[(o * b.n + j) * b.inner + i];
        if (std::isnan(v)) {
          best = int32_t(j);
          break;
        }
        const float current = x[(o * b.n + best) * b.inner + i];
        if (is_max ? v > current : v < current) best = int32_t(j);
      }
      indices.push_back(best);
    }
  }
  return indices;
}

TEST(arg_reduce_matches_naive_with_ties_and_nan) {
  for (const Block& b : kBlocks) {
    if (b.n == 0) continue;
    std::vector<float> x = Random(2).vector(b.outer * b.n * b.inner);
    for (float& v : x) v = std::round(v * 2.0f);  // many ties
    if (x.size() > 40) x[21] = kNaN, x[29] = kNaN;
    for (bool is_max : {true, false}) {
      const int64_t count = b.outer * b.inner;
      std::vector<float> values(count);
      std::vector<int32_t> indices(count);
      arg_reduce(is_max ? ReduceOp::Max : ReduceOp::Min, x.data(), values.data(), indices.data(), b.outer, b.n,
                 b.inner);
      std::vector<int32_t> expected = naive_arg_reduce(is_max, x, b);
      CHECK(indices == expected);
      std::vector<float> expected_values;
      for (int64_t c = 0; c < count; ++c) {
        expected_values.push_back(x[((c / b.inner) * b.n + expected[c]) * b.inner + c % b.inner]);
      }
      CHECK_ALL_CLOSE(values, expected_values, 0);
    }
  }
}

TEST(threaded_results_equal_single_threaded) {
  for (const Block& b : {Block{1000, 301, 1}, Block{7, 301, 513}}) {
    const std::vector<float> x = Random(3).vector(b.outer * b.n * b.inner);
    for (int32_t code = 0; code < kReduceOpCount; ++code) {
      CHECK(kiln::test::same_with_threads<std::vector<float>>([&] {
        std::vector<float> out(b.outer * b.inner);
        reduce(static_cast<ReduceOp>(code), x.data(), out.data(), b.outer, b.n, b.inner);
        return out;
      }));
    }
    CHECK(kiln::test::same_with_threads<std::vector<int32_t>>([&] {
      std::vector<float> values(b.outer * b.inner);
      std::vector<int32_t> indices(b.outer * b.inner);
      arg_reduce(ReduceOp::Max, x.data(), values.data(), indices.data(), b.outer, b.n, b.inner);
      return indices;
    }));
  }
}

KILN_TEST_MAIN()
