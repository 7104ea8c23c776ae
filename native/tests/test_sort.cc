// sort_rows and topk_rows against std::stable_sort with PyTorch's order (NaN largest,
// -0 == +0, equal values lower index first), and scan against naive double loops.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "check.h"
#include "scan.h"
#include "sort.h"

using namespace kiln;
using kiln::test::Random;

static const float kNaN = std::numeric_limits<float>::quiet_NaN();
static const float kInf = std::numeric_limits<float>::infinity();

// a before b in ascending order, NaN largest; equal values (and NaNs) are not "less".
static bool naive_less(float a, float b) {
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return a < b;
}

// Positions of one row in the stable order (descending keeps equal values in index order).
static std::vector<int32_t> naive_order(const float* row, int64_t n, bool descending) {
  std::vector<int32_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = static_cast<int32_t>(i);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return descending ? naive_less(row[b], row[a]) : naive_less(row[a], row[b]);
  });
  return order;
}

// Random rows with many ties (values on a coarse grid), NaN, ±Infinity and ±0.
static std::vector<float> tied_input(int64_t count, uint64_t seed) {
  std::vector<float> x = Random(seed).vector(count, -8.0f, 8.0f);
  for (float& v : x) v = std::round(v);
  const float specials[] = {kNaN, kInf, -kInf, 0.0f, -0.0f, kNaN, 3.0f, 3.0f};
  for (int64_t i = 0; i < count; i += 37) x[i] = specials[(i / 37) % 8];
  return x;
}

struct Rows {
  int64_t rows, n;
};
static const Rows kRows[] = {{1, 0}, {0, 5}, {3, 1}, {4, 7}, {5, 48}, {5, 49}, {9, 300}, {2, 5000}, {65, 33}};

static bool same_bits_or_nan(float a, float b) {
  return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0;
}

TEST(sort_matches_stable_sort_in_both_directions) {
  for (const Rows& shape : kRows) {
    const int64_t count = shape.rows * shape.n;
    std::vector<float> x = tied_input(count, 4);
    for (int descending = 0; descending < 2; ++descending) {
      std::vector<float> values(count, 99.0f);
      std::vector<int32_t> indices(count, -1);
      sort_rows(x.data(), values.data(), indices.data(), shape.rows, shape.n, descending);
      for (int64_t r = 0; r < shape.rows; ++r) {
        const std::vector<int32_t> order = naive_order(x.data() + r * shape.n, shape.n, descending);
        for (int64_t i = 0; i < shape.n; ++i) {
          CHECK(indices[r * shape.n + i] == order[i]);
          CHECK(same_bits_or_nan(values[r * shape.n + i], x[r * shape.n + order[i]]));
        }
      }
    }
  }
}

TEST(topk_is_the_head_of_the_stable_sort_for_every_k_path) {
  for (const Rows& shape : kRows) {
    const int64_t count = shape.rows * shape.n;
    std::vector<float> x = tied_input(count, 5);
    const int64_t ks[] = {0, 1, 3, 16, 17, shape.n / 20, shape.n / 2, shape.n};
    for (int64_t k : ks) {
      if (k > shape.n) continue;
      for (int largest = 0; largest < 2; ++largest) {
        std::vector<float> values(shape.rows * k, 99.0f);
        std::vector<int32_t> indices(shape.rows * k, -1);
        topk_rows(x.data(), values.data(), indices.data(), shape.rows, shape.n, k, largest);
        for (int64_t r = 0; r < shape.rows; ++r) {
          const std::vector<int32_t> order = naive_order(x.data() + r * shape.n, shape.n, largest);
          for (int64_t i = 0; i < k; ++i) {
            CHECK(indices[r * k + i] == order[i]);
            CHECK(same_bits_or_nan(values[r * k + i], x[r * shape.n + order[i]]));
          }
        }
      }
    }
  }
}

TEST(scan_matches_naive_double_accumulation) {
  struct Block {
    int64_t outer, n, inner;
  };
  const Block blocks[] = {{1, 0, 3}, {2, 5, 1}, {3, 17, 4}, {1, 9, 700}, {4, 1000, 1}};
  for (const Block& b : blocks) {
    std::vector<float> x = Random(6).vector(b.outer * b.n * b.inner, -1.5f, 1.5f);
    if (x.size() > 20) x[11] = 0.0f, x[13] = kNaN;
    for (int32_t code = 0; code < kScanOpCount; ++code) {
      const ScanOp op = static_cast<ScanOp>(code);
      std::vector<float> out(x.size(), 123.0f);
      std::vector<double> expected(x.size());
      for (int64_t o = 0; o < b.outer; ++o) {
        for (int64_t i = 0; i < b.inner; ++i) {
          double acc = op == ScanOp::Sum ? 0.0 : 1.0;
          for (int64_t j = 0; j < b.n; ++j) {
            const int64_t at = (o * b.n + j) * b.inner + i;
            acc = op == ScanOp::Sum ? acc + x[at] : acc * x[at];
            expected[at] = float(acc);
          }
        }
      }
      scan(op, x.data(), out.data(), b.outer, b.n, b.inner);
      CHECK_ALL_CLOSE(out, expected, 0);
    }
  }
}

KILN_TEST_MAIN()
