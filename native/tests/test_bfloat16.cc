// round_to_bfloat16_values against the scalar bit conversion of gemm/gemm_bf16.h (itself
// checked on ties, overflow and NaN in test_gemm_bf16): random values over the whole float32
// range, specials, lengths around the vector widths, in place, and any thread count.
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "bfloat16.h"
#include "check.h"
#include "gemm/gemm_bf16.h"

using namespace kiln;

namespace {

// Float32 values from every bit pattern class: random bits (all exponents, NaNs included) and specials.
std::vector<float> sample_values(int64_t n) {
  std::vector<float> values(static_cast<size_t>(n));
  uint64_t state = 12345;
  for (float& value : values) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const auto bits = static_cast<uint32_t>(state >> 32);
    std::memcpy(&value, &bits, sizeof value);
  }
  const float specials[] = {0.0f, -0.0f, 1.0f + 1.0f / 256, 1.0f + 3.0f / 256, std::numeric_limits<float>::max(),
                            -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::denorm_min()};
  for (size_t i = 0; i < sizeof specials / sizeof specials[0] && i < values.size(); ++i) values[i] = specials[i];
  return values;
}

// Whether out[i] is x[i] rounded (a NaN may keep more payload than float_to_bf16's 0xFFFF, but stays NaN).
bool all_rounded(const std::vector<float>& x, const std::vector<float>& out) {
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) ? !std::isnan(out[i]) : out[i] != bf16_to_float(float_to_bf16(x[i]))) {
      std::printf("  at %zu: %.9g → %.9g\n", i, double(x[i]), double(out[i]));
      return false;
    }
  }
  return true;
}

std::vector<float> rounded(const std::vector<float>& x) {
  std::vector<float> out(x.size());
  round_to_bfloat16_values(x.data(), out.data(), static_cast<int64_t>(x.size()));
  return out;
}

}  // namespace

TEST(rounds_every_value_like_the_scalar_conversion) {
  for (int64_t n : {1, 7, 8, 9, 15, 16, 17, 33, 100000}) {
    const std::vector<float> x = sample_values(n);
    CHECK(all_rounded(x, rounded(x)));
  }
}

TEST(in_place_and_at_any_thread_count) {
  const std::vector<float> x = sample_values(70000);
  std::vector<float> in_place = x;
  round_to_bfloat16_values(in_place.data(), in_place.data(), static_cast<int64_t>(in_place.size()));
  CHECK(all_rounded(x, in_place));
  CHECK(kiln::test::same_with_threads<std::vector<float>>([&] { return rounded(x); }));
}

KILN_TEST_MAIN()
