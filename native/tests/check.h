// A tiny test framework for the kernel tests: TEST(name) { CHECK(...); }, and
// KILN_TEST_MAIN() at the end of each test file. Each test file is one ctest executable.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <vector>

#include "cpu.h"
#include "parallel.h"

namespace kiln::test {

struct TestCase {
  const char* name;
  void (*body)();
};

inline std::vector<TestCase>& registry() {
  static std::vector<TestCase> tests;
  return tests;
}

inline int& failure_count() {
  static int failures = 0;
  return failures;
}

struct Registrar {
  Registrar(const char* name, void (*body)()) { registry().push_back({name, body}); }
};

inline void report_failure(const char* file, int line, const char* what) {
  ++failure_count();
  std::printf("  FAILED %s:%d: %s\n", file, line, what);
}

// True when a and b are the same float, NaN equal to NaN.
inline bool same_float(float a, float b) { return a == b || (std::isnan(a) && std::isnan(b)); }

// True when actual is within tolerance of expected (relative above 1), NaN matching NaN and
// infinities matching exactly.
inline bool close_float(double actual, double expected, double tolerance) {
  if (std::isnan(expected) || std::isinf(expected)) return same_float(float(actual), float(expected));
  return std::fabs(actual - expected) <= tolerance * std::fmax(1.0, std::fabs(expected));
}

// Checks two equally long sequences elementwise with close_float; reports the first mismatch.
template <typename Actual, typename Expected>
void check_all_close(const Actual& actual, const Expected& expected, double tolerance, const char* file, int line) {
  if (actual.size() != expected.size()) {
    std::printf("  sizes differ: %zu vs %zu\n", actual.size(), expected.size());
    report_failure(file, line, "sizes match");
    return;
  }
  for (size_t i = 0; i < actual.size(); ++i) {
    if (!close_float(actual[i], expected[i], tolerance)) {
      std::printf("  at %zu: actual %.9g, expected %.9g\n", i, double(actual[i]), double(expected[i]));
      report_failure(file, line, "all elements close");
      return;
    }
  }
}

inline int run_all() {
  for (const TestCase& test : registry()) {
    const int failures_before = failure_count();
    test.body();
    std::printf("%s %s\n", failure_count() == failures_before ? "ok    " : "FAILED", test.name);
  }
  std::printf("%d failure(s)\n", failure_count());
  return failure_count() == 0 ? 0 : 1;
}

// Deterministic pseudo-random floats in [lo, hi).
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed * 6364136223846793005ULL + 1442695040888963407ULL) {}
  float uniform(float lo, float hi) {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (hi - lo) * static_cast<float>(state_ >> 40) / static_cast<float>(1ULL << 24);
  }
  std::vector<float> vector(int64_t n, float lo = -2.0f, float hi = 2.0f) {
    std::vector<float> values(static_cast<size_t>(n));
    for (float& value : values) value = uniform(lo, hi);
    return values;
  }

 private:
  uint64_t state_;
};

// Runs fn once with each vector width forced (Vec8, as on AVX2, and Vec16, as on AVX-512; see
// cpu.h), so one machine checks both, then gives the choice back to the CPU.
template <typename Fn>
void for_each_vector_width(Fn fn) {
  for (VectorWidth width : {VectorWidth::kNarrow, VectorWidth::kWide}) {
    force_vector_width(width);
    fn();
  }
  force_vector_width(VectorWidth::kAuto);
}

// Runs `compute` with one thread and with several, and returns whether both results are
// bitwise identical (every kernel partitions work so each output is computed the same way).
template <typename Result>
bool same_with_threads(const std::function<Result()>& compute) {
  const int saved = get_num_threads();
  set_num_threads(1);
  const Result serial = compute();
  set_num_threads(3);
  const Result threaded = compute();
  set_num_threads(saved);
  if (serial.size() != threaded.size()) return false;
  for (size_t i = 0; i < serial.size(); ++i) {
    if (!same_float(static_cast<float>(serial[i]), static_cast<float>(threaded[i]))) return false;
  }
  return true;
}

}  // namespace kiln::test

#define TEST(name)                                                         \
  static void name();                                                      \
  static const ::kiln::test::Registrar name##_registrar(#name, name);      \
  static void name()

#define CHECK(condition)                                                            \
  do {                                                                              \
    if (!(condition)) ::kiln::test::report_failure(__FILE__, __LINE__, #condition); \
  } while (0)

// Checks actual ≈ expected (see close_float), printing both on failure.
#define CHECK_CLOSE(actual, expected, tolerance)                                                   \
  do {                                                                                             \
    const double check_actual_ = (actual), check_expected_ = (expected);                           \
    if (!::kiln::test::close_float(check_actual_, check_expected_, (tolerance))) {                 \
      std::printf("  actual %.9g, expected %.9g\n", check_actual_, check_expected_);               \
      ::kiln::test::report_failure(__FILE__, __LINE__, #actual " close to " #expected);            \
    }                                                                                              \
  } while (0)

// Checks every element of actual ≈ expected (tolerance 0: identical, NaN matching NaN).
#define CHECK_ALL_CLOSE(actual, expected, tolerance) \
  ::kiln::test::check_all_close((actual), (expected), (tolerance), __FILE__, __LINE__)

#define KILN_TEST_MAIN() \
  int main() { return ::kiln::test::run_all(); }
