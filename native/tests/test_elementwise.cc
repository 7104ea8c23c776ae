// Elementwise kernels against naive loops.
#include <cmath>
#include <limits>

#include "check.h"
#include "elementwise.h"

using namespace kiln;
using kiln::test::Random;

static const float kNaN = std::numeric_limits<float>::quiet_NaN();
static const float kInf = std::numeric_limits<float>::infinity();
static const int64_t kSizes[] = {0, 1, 2, 7, 97, 200003};

// Inputs with the awkward values first, then random ones.
static std::vector<float> test_input(int64_t n, uint64_t seed) {
  std::vector<float> x = Random(seed).vector(n, -3.0f, 3.0f);
  const float specials[] = {kNaN, kInf, -kInf, 0.0f, -0.0f, 1.0f, -1.0f};
  for (int64_t i = 0; i < n && i < 7; ++i) x[i] = specials[i];
  return x;
}

static float naive_unary(UnaryOp op, float x) {
  switch (op) {
    case UnaryOp::Neg: return -x;
    case UnaryOp::Abs: return std::fabs(x);
    case UnaryOp::Exp: return std::exp(x);
    case UnaryOp::Log: return std::log(x);
    case UnaryOp::Sqrt: return std::sqrt(x);
    case UnaryOp::Sigmoid: return float(1.0 / (1.0 + std::exp(-double(x))));
    case UnaryOp::Tanh: return std::tanh(x);
    case UnaryOp::Relu: return std::isnan(x) ? x : (x > 0 ? x : 0.0f);
    case UnaryOp::Sign: return std::isnan(x) ? x : float((x > 0) - (x < 0));
    case UnaryOp::Reciprocal: return 1.0f / x;
    case UnaryOp::Square: return x * x;
    case UnaryOp::Erf: return float(std::erf(double(x)));
    case UnaryOp::Expm1: return float(std::expm1(double(x)));
    case UnaryOp::Log1p: return float(std::log1p(double(x)));
    case UnaryOp::Sin: return float(std::sin(double(x)));
    case UnaryOp::Cos: return float(std::cos(double(x)));
    case UnaryOp::Tan: return float(std::tan(double(x)));
    case UnaryOp::Sinh: return float(std::sinh(double(x)));
    case UnaryOp::Cosh: return float(std::cosh(double(x)));
    case UnaryOp::Rsqrt: return float(1.0 / std::sqrt(double(x)));
    case UnaryOp::Floor: return std::floor(x);
    case UnaryOp::Ceil: return std::ceil(x);
    case UnaryOp::Round: {  // half to even, written out
      const double down = std::floor(double(x)), fraction = double(x) - down;
      if (fraction != 0.5) return float(std::floor(double(x) + 0.5));
      return float(std::fmod(down, 2.0) == 0.0 ? down : down + 1.0);
    }
  }
  return 0;
}

static float naive_binary(BinaryOp op, float a, float b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return a / b;
    case BinaryOp::Pow:
      if (std::isnan(b) || (std::isinf(b) && std::fabs(a) == 1.0f)) return kNaN;  // JavaScript's **
      return std::pow(a, b);
    case BinaryOp::Maximum: return std::isnan(a) || std::isnan(b) ? kNaN : std::fmax(a, b);
    case BinaryOp::Minimum: return std::isnan(a) || std::isnan(b) ? kNaN : std::fmin(a, b);
    case BinaryOp::Atan2: return float(std::atan2(double(a), double(b)));
    case BinaryOp::Fmod: return float(std::fmod(double(a), double(b)));
    case BinaryOp::Remainder: {  // Python's %: the result takes b's sign
      const double r = std::fmod(double(a), double(b));
      return float(r != 0.0 && (r < 0.0) != (b < 0.0f) ? r + b : r);
    }
  }
  return 0;
}

static uint8_t naive_compare(CompareOp op, float a, float b) {
  switch (op) {
    case CompareOp::Eq: return a == b;
    case CompareOp::Ne: return a != b;
    case CompareOp::Lt: return a < b;
    case CompareOp::Le: return a <= b;
    case CompareOp::Gt: return a > b;
    case CompareOp::Ge: return a >= b;
  }
  return 0;
}

TEST(unary_matches_naive_for_every_op) {
  for (int32_t code = 0; code < kUnaryOpCount; ++code) {
    const UnaryOp op = static_cast<UnaryOp>(code);
    for (int64_t n : kSizes) {
      std::vector<float> x = test_input(n, 1), out(n), expected(n);
      for (int64_t i = 0; i < n; ++i) expected[i] = naive_unary(op, x[i]);
      unary(op, x.data(), out.data(), n);
      CHECK_ALL_CLOSE(out, expected, 1e-6);
    }
  }
}

TEST(trig_is_accurate_over_a_wide_range_and_at_special_values) {
  std::vector<float> x = Random(8).vector(100003, -2.0e6f, 2.0e6f);  // past the vector reduction limit too
  const float specials[] = {kNaN, kInf, -kInf, 0.0f, -0.0f, 1e-30f, 1.5707964f, 3.1415927f, 1e6f, -1e6f, 3e7f, 1e20f};
  for (size_t i = 0; i < sizeof specials / sizeof specials[0]; ++i) x[i] = specials[i];
  for (UnaryOp op : {UnaryOp::Sin, UnaryOp::Cos, UnaryOp::Tan}) {
    std::vector<float> out(x.size());
    std::vector<double> expected(x.size());
    for (size_t i = 0; i < x.size(); ++i) expected[i] = naive_unary(op, x[i]);
    unary(op, x.data(), out.data(), static_cast<int64_t>(x.size()));
    // Within 2 float ulps of the correctly rounded result (relative 2.4e-7; tan can be large).
    CHECK_ALL_CLOSE(out, expected, 2.4e-7);
    CHECK(std::signbit(out[4]) == (op != UnaryOp::Cos));  // sin(−0) = tan(−0) = −0
  }
}

TEST(binary_without_plan_matches_naive_for_same_length_and_scalars) {
  for (int32_t code = 0; code < kBinaryOpCount; ++code) {
    const BinaryOp op = static_cast<BinaryOp>(code);
    for (int64_t n : kSizes) {
      std::vector<float> a = test_input(n, 2), b = Random(3).vector(n), out(n), expected(n);
      if (n > 10) b[8] = kNaN, b[9] = kInf;
      for (int a_scalar = 0; a_scalar < 2; ++a_scalar) {
        for (int b_scalar = 0; b_scalar < 2; ++b_scalar) {
          if (n == 0 && (a_scalar || b_scalar)) continue;
          for (int64_t i = 0; i < n; ++i) expected[i] = naive_binary(op, a[a_scalar ? 0 : i], b[b_scalar ? 0 : i]);
          binary(op, a.data(), a_scalar, b.data(), b_scalar, out.data(), n);
          CHECK_ALL_CLOSE(out, expected, 1e-6);
        }
      }
    }
  }
}

TEST(maximum_and_minimum_propagate_nan) {
  const float a[] = {kNaN, 1.0f, kNaN, 2.0f};
  const float b[] = {1.0f, kNaN, kNaN, 3.0f};
  float out[4];
  binary(BinaryOp::Maximum, a, false, b, false, out, 4);
  CHECK(std::isnan(out[0]) && std::isnan(out[1]) && std::isnan(out[2]) && out[3] == 3.0f);
  binary(BinaryOp::Minimum, a, false, b, false, out, 4);
  CHECK(std::isnan(out[0]) && std::isnan(out[1]) && std::isnan(out[2]) && out[3] == 2.0f);
}

TEST(pow_follows_javascript) {
  const float a[] = {1.0f, -1.0f, 2.0f, -8.0f, 0.0f};
  const float b[] = {kNaN, kInf, 0.5f, 1.0f / 3.0f, -1.0f};
  float out[5];
  binary(BinaryOp::Pow, a, false, b, false, out, 5);
  CHECK(std::isnan(out[0]));
  CHECK(std::isnan(out[1]));
  CHECK_CLOSE(out[2], std::sqrt(2.0), 1e-6);
  CHECK(std::isnan(out[3]));
  CHECK(out[4] == kInf);
}

// Naive broadcasting: decompose every output index into per-dim coordinates.
template <typename Out, typename Op>
static std::vector<Out> naive_broadcast(const std::vector<int32_t>& shape, const std::vector<int32_t>& a_strides,
                                        const std::vector<int32_t>& b_strides, const float* a, const float* b,
                                        Op op) {
  int64_t count = 1;
  for (int32_t extent : shape) count *= extent;
  std::vector<Out> out(static_cast<size_t>(count));
  for (int64_t flat = 0; flat < count; ++flat) {
    int64_t rest = flat, a_offset = 0, b_offset = 0;
    for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
      const int64_t coordinate = rest % shape[d];
      rest /= shape[d];
      a_offset += coordinate * a_strides[d];
      b_offset += coordinate * b_strides[d];
    }
    out[flat] = op(a[a_offset], b[b_offset]);
  }
  return out;
}

struct PlanCase {
  std::vector<int32_t> shape, a_strides, b_strides;
};

static const PlanCase kPlanCases[] = {
    {{}, {}, {}},                                   // 0-d
    {{3, 4}, {1, 0}, {0, 1}},                       // (3,1) op (1,4)
    {{5, 7, 3}, {21, 3, 1}, {0, 3, 1}},             // (5,7,3) op (7,3)
    {{2, 0, 3}, {0, 3, 1}, {0, 3, 1}},              // empty
    {{11, 13}, {1, 11}, {13, 1}},                   // a transposed
    {{517, 263}, {263, 1}, {0, 1}},                 // large: row vector added to every row
    {{263, 517}, {517, 1}, {1, 0}},                 // large: column vector
    {{263, 517}, {1, 263}, {517, 1}},               // large, a transposed: tiled walk, partial tiles
    {{3, 70, 90}, {1, 3 * 90, 3}, {0, 90, 1}},      // a permuted view over planes, b broadcast: tiled
    {{100, 65}, {65, 1}, {1, 100}},                 // b transposed
};

TEST(binary_and_compare_with_plan_match_naive) {
  Random random(4);
  for (const PlanCase& c : kPlanCases) {
    const std::vector<float> a = random.vector(517 * 263 + 1), b = random.vector(517 * 263 + 1);
    const BroadcastPlan plan{int64_t(c.shape.size()), c.shape.data(), c.a_strides.data(), c.b_strides.data()};
    for (int32_t code = 0; code < kBinaryOpCount; ++code) {
      const BinaryOp op = static_cast<BinaryOp>(code);
      auto expected = naive_broadcast<float>(c.shape, c.a_strides, c.b_strides, a.data(), b.data(),
                                             [&](float x, float y) { return naive_binary(op, x, y); });
      std::vector<float> out(expected.size());
      binary_broadcast(op, a.data(), b.data(), out.data(), plan);
      CHECK_ALL_CLOSE(out, expected, 1e-6);
    }
    for (int32_t code = 0; code < kCompareOpCount; ++code) {
      const CompareOp op = static_cast<CompareOp>(code);
      auto expected = naive_broadcast<uint8_t>(c.shape, c.a_strides, c.b_strides, a.data(), b.data(),
                                               [&](float x, float y) { return naive_compare(op, x, y); });
      std::vector<uint8_t> out(expected.size());
      compare_broadcast(op, a.data(), b.data(), out.data(), plan);
      CHECK(out == expected);
    }
  }
}

TEST(compare_without_plan_handles_nan) {
  const float a[] = {kNaN, 1.0f, 2.0f};
  const float b[] = {kNaN};
  for (int32_t code = 0; code < kCompareOpCount; ++code) {
    const CompareOp op = static_cast<CompareOp>(code);
    uint8_t out[3];
    compare(op, a, false, b, true, out, 3);
    for (int i = 0; i < 3; ++i) CHECK(out[i] == naive_compare(op, a[i], kNaN));
  }
}

TEST(where_and_clamp_match_naive) {
  for (int64_t n : kSizes) {
    std::vector<float> a = test_input(n, 5), b = Random(6).vector(n), out(n), expected(n);
    std::vector<uint8_t> cond(n);
    for (int64_t i = 0; i < n; ++i) cond[i] = (i * 7) % 3 == 0 ? 2 : 0;  // any nonzero byte is true
    for (int64_t i = 0; i < n; ++i) expected[i] = cond[i] ? a[i] : b[i];
    where(cond.data(), a.data(), b.data(), out.data(), n);
    CHECK_ALL_CLOSE(out, expected, 0);
    for (int64_t i = 0; i < n; ++i) expected[i] = std::isnan(a[i]) ? a[i] : std::fmin(std::fmax(a[i], -0.5f), 1.5f);
    clamp(a.data(), -0.5f, 1.5f, out.data(), n);
    CHECK_ALL_CLOSE(out, expected, 0);
  }
  const float x[] = {kNaN, -kInf, kInf, 3.0f};
  float out[4];
  clamp(x, -kInf, kInf, out, 4);
  CHECK(std::isnan(out[0]) && out[1] == -kInf && out[2] == kInf && out[3] == 3.0f);
  clamp(x, 2.0f, 1.0f, out, 4);  // lo > hi gives hi, as min(max(x, lo), hi)
  CHECK(std::isnan(out[0]) && out[1] == 1.0f && out[2] == 1.0f && out[3] == 1.0f);
}

TEST(relu_backward_matches_naive) {
  for (int64_t n : kSizes) {
    std::vector<float> x = test_input(n, 9), g = Random(10).vector(n), out(n), expected(n);
    for (int64_t i = 0; i < n; ++i) expected[i] = x[i] > 0.0f ? g[i] : 0.0f;
    relu_backward(g.data(), x.data(), out.data(), n);
    CHECK_ALL_CLOSE(out, expected, 0);
  }
  const float x[] = {kNaN, -0.0f, 0.0f, 1e-30f, -kInf, kInf};
  const float g[] = {1, 2, 3, 4, 5, 6};
  float out[6];
  relu_backward(g, x, out, 6);
  CHECK(out[0] == 0 && out[1] == 0 && out[2] == 0 && out[3] == 4 && out[4] == 0 && out[5] == 6);
}

TEST(threaded_results_equal_single_threaded) {
  const int64_t n = 300007;
  const std::vector<float> a = Random(7).vector(n), b = Random(8).vector(n);
  CHECK(kiln::test::same_with_threads<std::vector<float>>([&] {
    std::vector<float> out(n);
    unary(UnaryOp::Tanh, a.data(), out.data(), n);
    return out;
  }));
  CHECK(kiln::test::same_with_threads<std::vector<float>>([&] {
    std::vector<float> out(n);
    binary(BinaryOp::Div, a.data(), false, b.data(), false, out.data(), n);
    return out;
  }));
  const std::vector<int32_t> shape{601, 499}, a_strides{499, 1}, b_strides{1, 0};
  const BroadcastPlan plan{2, shape.data(), a_strides.data(), b_strides.data()};
  CHECK(kiln::test::same_with_threads<std::vector<float>>([&] {
    std::vector<float> out(601 * 499);
    binary_broadcast(BinaryOp::Sub, a.data(), b.data(), out.data(), plan);
    return out;
  }));
}

KILN_TEST_MAIN()
