// index_select / index_add / gather / scatter_add against naive loops, and bad indices.
#include "check.h"
#include "index.h"

using namespace kiln;
using kiln::test::Random;

struct Block {
  int64_t outer, n, m, inner;
};

static const Block kBlocks[] = {{1, 1, 1, 1}, {2, 5, 0, 3}, {0, 4, 3, 2}, {3, 7, 11, 1}, {2, 13, 5, 17}, {4, 97, 301, 67}};

// Index values in [0, n) with repeats.
static std::vector<int32_t> random_indices(int64_t count, int64_t n, uint64_t seed) {
  Random random(seed);
  std::vector<int32_t> idx(static_cast<size_t>(count));
  for (int32_t& value : idx) value = static_cast<int32_t>(random.uniform(0.0f, float(n))) % int32_t(n);
  return idx;
}

TEST(index_select_and_index_add_match_naive) {
  for (const Block& b : kBlocks) {
    const std::vector<int32_t> idx = random_indices(b.m, b.n, 1);
    const std::vector<float> x = Random(2).vector(b.outer * b.n * b.inner);
    std::vector<float> out(b.outer * b.m * b.inner), expected(out.size());
    for (int64_t o = 0; o < b.outer; ++o)
      for (int64_t j = 0; j < b.m; ++j)
        for (int64_t i = 0; i < b.inner; ++i) expected[(o * b.m + j) * b.inner + i] = x[(o * b.n + idx[j]) * b.inner + i];
    CHECK(index_select(x.data(), idx.data(), b.m, out.data(), b.outer, b.n, b.inner) == -1);
    CHECK_ALL_CLOSE(out, expected, 0);

    const std::vector<float> src = Random(3).vector(b.outer * b.m * b.inner);
    std::vector<float> dst = Random(4).vector(b.outer * b.n * b.inner), expected_dst = dst;
    for (int64_t o = 0; o < b.outer; ++o)
      for (int64_t j = 0; j < b.m; ++j)
        for (int64_t i = 0; i < b.inner; ++i)
          expected_dst[(o * b.n + idx[j]) * b.inner + i] += src[(o * b.m + j) * b.inner + i];
    CHECK(index_add(src.data(), idx.data(), b.m, dst.data(), b.outer, b.n, b.inner) == -1);
    CHECK_ALL_CLOSE(dst, expected_dst, 0);
  }
}

TEST(gather_and_scatter_add_match_naive) {
  for (const Block& b : kBlocks) {
    const int64_t count = b.outer * b.m * b.inner;
    const std::vector<int32_t> idx = random_indices(count, b.n, 5);
    const std::vector<float> x = Random(6).vector(b.outer * b.n * b.inner);
    std::vector<float> out(count), expected(count);
    for (int64_t o = 0; o < b.outer; ++o)
      for (int64_t j = 0; j < b.m; ++j)
        for (int64_t i = 0; i < b.inner; ++i) {
          const int64_t at = (o * b.m + j) * b.inner + i;
          expected[at] = x[(o * b.n + idx[at]) * b.inner + i];
        }
    CHECK(gather(x.data(), idx.data(), out.data(), b.outer, b.n, b.m, b.inner) == -1);
    CHECK_ALL_CLOSE(out, expected, 0);

    const std::vector<float> src = Random(7).vector(count);
    std::vector<float> dst = Random(8).vector(b.outer * b.n * b.inner), expected_dst = dst;
    for (int64_t o = 0; o < b.outer; ++o)
      for (int64_t j = 0; j < b.m; ++j)
        for (int64_t i = 0; i < b.inner; ++i) {
          const int64_t at = (o * b.m + j) * b.inner + i;
          expected_dst[(o * b.n + idx[at]) * b.inner + i] += src[at];
        }
    CHECK(scatter_add(src.data(), idx.data(), dst.data(), b.outer, b.n, b.m, b.inner) == -1);
    CHECK_ALL_CLOSE(dst, expected_dst, 0);
  }
}

TEST(bad_index_is_reported_and_nothing_is_written) {
  const std::vector<float> x(2 * 4 * 3, 1.0f);
  for (int32_t bad_value : {4, -1, 1 << 30}) {
    const std::vector<int32_t> idx{0, 3, bad_value, 9};
    std::vector<float> out(2 * 4 * 3, 5.0f);
    CHECK(index_select(x.data(), idx.data(), 4, out.data(), 2, 4, 3) == 2);
    CHECK(index_add(x.data(), idx.data(), 4, out.data(), 2, 4, 3) == 2);
    CHECK(gather(x.data(), idx.data(), out.data(), 1, 4, 4, 1) == 2);
    CHECK(scatter_add(x.data(), idx.data(), out.data(), 1, 4, 4, 1) == 2);
    CHECK(out == std::vector<float>(2 * 4 * 3, 5.0f));
  }
}

TEST(threaded_results_equal_single_threaded) {
  const Block b{3, 50, 400, 129};
  const std::vector<int32_t> rows = random_indices(b.m, b.n, 9), idx = random_indices(b.outer * b.m * b.inner, b.n, 10);
  const std::vector<float> src = Random(11).vector(b.outer * b.m * b.inner), x = Random(12).vector(b.outer * b.n * b.inner);
  CHECK(kiln::test::same_with_threads<std::vector<float>>([&] {
    std::vector<float> dst(b.outer * b.n * b.inner, 0.0f), out(src.size());
    index_add(src.data(), rows.data(), b.m, dst.data(), b.outer, b.n, b.inner);
    scatter_add(src.data(), idx.data(), dst.data(), b.outer, b.n, b.m, b.inner);
    gather(x.data(), idx.data(), out.data(), b.outer, b.n, b.m, b.inner);
    dst.insert(dst.end(), out.begin(), out.end());
    return dst;
  }));
}

KILN_TEST_MAIN()
