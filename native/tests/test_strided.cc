// strided_copy / strided_scatter against naive index decomposition.
#include "check.h"
#include "strided.h"

using namespace kiln;
using kiln::test::Random;

// Offset in the viewed array of contiguous element `flat` of the view.
static int64_t view_offset(const std::vector<int32_t>& shape, const std::vector<int32_t>& strides, int64_t offset,
                           int64_t flat) {
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
    offset += (flat % shape[d]) * strides[d];
    flat /= shape[d];
  }
  return offset;
}

struct ViewCase {
  std::vector<int32_t> shape, strides;
  int64_t offset;
};

static const ViewCase kViews[] = {
    {{}, {}, 5},                        // 0-d
    {{0, 3}, {3, 1}, 0},                // empty
    {{3, 0}, {1, 1}, 0},                // empty last dim
    {{4, 6}, {6, 1}, 0},                // contiguous
    {{6, 4}, {1, 6}, 0},                // transposed
    {{5}, {-1}, 4},                     // reversed
    {{3, 4}, {-4, -1}, 11},             // reversed in both dims
    {{2, 3, 4}, {0, 4, 1}, 0},          // expanded
    {{3, 5}, {1, 0}, 2},                // expanded last dim
    {{2, 3, 5, 7}, {105, 1, 21, 3}, 0}, // permuted, odd sizes
    {{1001, 53}, {1, 1001}, 0},         // large transposed
};

TEST(copy_matches_naive) {
  const std::vector<float> src = Random(1).vector(1001 * 53);
  for (const ViewCase& v : kViews) {
    int64_t count = 1;
    for (int32_t extent : v.shape) count *= extent;
    std::vector<float> dst(static_cast<size_t>(count)), expected(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) expected[i] = src[view_offset(v.shape, v.strides, v.offset, i)];
    strided_copy(src.data(), {int64_t(v.shape.size()), v.shape.data(), v.strides.data(), v.offset}, dst.data());
    CHECK_ALL_CLOSE(dst, expected, 0);
  }
}

TEST(scatter_matches_naive_with_and_without_accumulate) {
  for (const ViewCase& v : kViews) {
    int64_t count = 1;
    for (int32_t extent : v.shape) count *= extent;
    const std::vector<float> src = Random(2).vector(count);
    for (bool accumulate : {false, true}) {
      std::vector<float> dst = Random(3).vector(1001 * 53), expected = dst;
      for (int64_t i = 0; i < count; ++i) {
        float& place = expected[view_offset(v.shape, v.strides, v.offset, i)];
        place = accumulate ? place + src[i] : src[i];
      }
      strided_scatter(src.data(), dst.data(), {int64_t(v.shape.size()), v.shape.data(), v.strides.data(), v.offset},
                      accumulate);
      CHECK_ALL_CLOSE(dst, expected, accumulate ? 1e-6 : 0);
    }
  }
}

TEST(accumulating_scatter_through_zero_strides_sums) {
  const std::vector<int32_t> shape{3, 4}, strides{0, 1};  // the gradient of expanding (4) to (3, 4)
  std::vector<float> src(12, 1.0f), dst(4, 0.5f);
  strided_scatter(src.data(), dst.data(), {2, shape.data(), strides.data(), 0}, true);
  CHECK(dst == std::vector<float>(4, 3.5f));
}

TEST(threaded_copy_equals_single_threaded) {
  const std::vector<float> src = Random(4).vector(700 * 300);
  const std::vector<int32_t> shape{300, 700}, strides{1, 300};
  CHECK(kiln::test::same_with_threads<std::vector<float>>([&] {
    std::vector<float> dst(700 * 300);
    strided_copy(src.data(), {2, shape.data(), strides.data(), 0}, dst.data());
    return dst;
  }));
}

KILN_TEST_MAIN()
