// The counter-based mask (counter_hash.h): its statistics, determinism under a seed, and the
// dropout kernel against a naive loop over the same keep decisions.
#include <cmath>
#include <vector>

#include "check.h"
#include "counter_hash.h"
#include "dropout.h"

using kiln::counter_threshold;

namespace {

bool keeps(uint64_t seed, uint64_t row, int64_t j, uint32_t threshold) {
  return kiln::counter_keeps(kiln::counter_row_key(seed, row), seed, static_cast<uint32_t>(j), threshold);
}

}  // namespace

TEST(counter_hash_keeps_one_minus_p_independently_of_position_and_seed) {
  const uint32_t threshold = counter_threshold(0.1);
  int64_t kept = 0, kept_even_rows = 0, kept_after_kept = 0, pairs_after_kept = 0;
  const int64_t rows = 400, keys = 500;
  for (int64_t row = 0; row < rows; ++row) {
    bool previous = false;
    for (int64_t j = 0; j < keys; ++j) {
      const bool keep = keeps(12345, row, j, threshold);
      kept += keep;
      kept_even_rows += keep && row % 2 == 0;
      if (j > 0 && previous) {
        ++pairs_after_kept;
        kept_after_kept += keep;
      }
      previous = keep;
    }
  }
  const double n = double(rows * keys);  // 200000 draws: standard error of the rate 0.00067
  CHECK(std::fabs(kept / n - 0.9) < 0.004);
  CHECK(std::fabs(kept_even_rows / (n / 2) - 0.9) < 0.006);
  CHECK(std::fabs(double(kept_after_kept) / pairs_after_kept - 0.9) < 0.005);
  // Another seed draws another mask; the same seed the same one.
  int64_t differ = 0;
  for (int64_t j = 0; j < 1000; ++j) {
    differ += keeps(1, 7, j, threshold) != keeps(2, 7, j, threshold);
    CHECK(keeps(1, 7, j, threshold) == keeps(1, 7, j, threshold));
  }
  CHECK(differ > 100 && differ < 260);  // ≈ 2·0.9·0.1·1000 = 180
  CHECK(!keeps(3, 4, 5, counter_threshold(1.0)));
  CHECK(keeps(3, 4, 5, counter_threshold(0.0)));
}

TEST(dropout_kernel_matches_naive_loop_and_is_thread_independent) {
  const int64_t n = 100003;
  const std::vector<float> x = kiln::test::Random(3).vector(n);
  const uint32_t threshold = counter_threshold(0.3);
  const uint64_t seed = 0x123456789abcdefULL;
  std::vector<float> expected(n);
  for (int64_t i = 0; i < n; ++i) expected[i] = keeps(seed, 0, i, threshold) ? x[i] * (1.0f / 0.7f) : 0.0f;
  std::vector<float> out(n);
  kiln::dropout_forward(x.data(), out.data(), n, threshold, 1.0f / 0.7f, seed);
  CHECK_ALL_CLOSE(out, expected, 0);
  CHECK(kiln::test::same_with_threads<std::vector<float>>([&] {
    std::vector<float> y(n);
    kiln::dropout_forward(x.data(), y.data(), n, threshold, 1.0f / 0.7f, seed);
    return y;
  }));
  std::vector<float> in_place = x;  // out may equal x
  kiln::dropout_forward(in_place.data(), in_place.data(), n, threshold, 1.0f / 0.7f, seed);
  CHECK_ALL_CLOSE(in_place, expected, 0);
}

KILN_TEST_MAIN()
