// matmul against a naive triple loop, for every transpose combination and batch layout.
#include "check.h"
#include "matmul.h"

using namespace kiln;
using kiln::test::Random;

// The row strides matmul uses: lda/ldb, or the dense row length when they are 0.
static int64_t lda_of(const MatmulShape& s) { return s.lda != 0 ? s.lda : (s.trans_a ? s.m : s.k); }
static int64_t ldb_of(const MatmulShape& s) { return s.ldb != 0 ? s.ldb : (s.trans_b ? s.k : s.n); }

// op(a[p]) element (i, kk) and op(b[p]) element (kk, j), read straight from the stored layout.
static std::vector<double> naive_matmul(const std::vector<float>& a, const std::vector<float>& b,
                                        const MatmulShape& s) {
  const int64_t lda = lda_of(s), ldb = ldb_of(s);
  std::vector<double> out(static_cast<size_t>(s.batch * s.m * s.n));
  for (int64_t p = 0; p < s.batch; ++p) {
    for (int64_t i = 0; i < s.m; ++i) {
      for (int64_t j = 0; j < s.n; ++j) {
        double acc = 0.0;
        for (int64_t kk = 0; kk < s.k; ++kk) {
          const float a_value = a[p * s.a_batch_stride + (s.trans_a ? kk * lda + i : i * lda + kk)];
          const float b_value = b[p * s.b_batch_stride + (s.trans_b ? j * ldb + kk : kk * ldb + j)];
          acc += double(a_value) * b_value;
        }
        out[(p * s.m + i) * s.n + j] = acc;
      }
    }
  }
  return out;
}

// Runs matmul on random operands of the right size and checks it against the naive loop.
static void check_against_naive(MatmulShape s) {
  // Stored a[p]: (m, k) rows lda apart, or (k, m) when trans_a; b likewise.
  const int64_t a_rows = s.trans_a ? s.k : s.m, a_cols = s.trans_a ? s.m : s.k;
  const int64_t b_rows = s.trans_b ? s.n : s.k, b_cols = s.trans_b ? s.k : s.n;
  const int64_t a_extent = a_rows * a_cols == 0 ? 0 : (a_rows - 1) * lda_of(s) + a_cols;
  const int64_t b_extent = b_rows * b_cols == 0 ? 0 : (b_rows - 1) * ldb_of(s) + b_cols;
  const int64_t a_size = s.batch == 0 ? 0 : (s.batch - 1) * s.a_batch_stride + a_extent;
  const int64_t b_size = s.batch == 0 ? 0 : (s.batch - 1) * s.b_batch_stride + b_extent;
  const std::vector<float> a = Random(1).vector(a_size), b = Random(2).vector(b_size);
  std::vector<float> out(static_cast<size_t>(s.batch * s.m * s.n), 99.0f);
  matmul(a.data(), b.data(), out.data(), s);
  CHECK_ALL_CLOSE(out, naive_matmul(a, b, s), 1e-5 * (1 + s.k));
}

TEST(every_transpose_combination_matches_naive) {
  const int64_t sizes[][3] = {{1, 1, 1}, {2, 3, 4}, {7, 5, 3}, {13, 131, 11}, {3, 129, 257}, {131, 2, 130}};
  for (const auto& size : sizes) {
    for (bool trans_a : {false, true}) {
      for (bool trans_b : {false, true}) {
        const int64_t m = size[0], k = size[1], n = size[2];
        check_against_naive({1, m, k, n, m * k, k * n, trans_a, trans_b});
        check_against_naive({3, m, k, n, m * k, k * n, trans_a, trans_b});
      }
    }
  }
}

TEST(batch_strides_broadcast_and_skip) {
  check_against_naive({4, 3, 5, 2, 0, 10, false, false});    // one a for every batch
  check_against_naive({4, 3, 5, 2, 15, 0, true, true});      // one b for every batch
  check_against_naive({3, 3, 5, 2, 20, 13, false, true});    // gaps between matrices
}

// Views: rows further apart than their length (a slice of wider rows, a permuted batch).
TEST(leading_dimensions_of_views_match_naive) {
  for (bool trans_a : {false, true}) {
    for (bool trans_b : {false, true}) {
      MatmulShape s{3, 13, 37, 11, 0, 0, trans_a, trans_b};
      s.lda = (trans_a ? 13 : 37) + 5;
      s.ldb = (trans_b ? 37 : 11) + 3;
      s.a_batch_stride = 19;  // matrices overlap in storage, as a permuted batch's do
      s.b_batch_stride = 7;
      check_against_naive(s);
    }
  }
  MatmulShape wide{2, 64, 300, 70, 64, 70, true, false};  // attention-style: batch stride = one head's width
  wide.lda = 128;
  wide.ldb = 140;
  check_against_naive(wide);
}

TEST(zero_sizes) {
  check_against_naive({2, 3, 0, 4, 0, 0, false, false});  // k = 0 gives zeros
  check_against_naive({2, 0, 5, 4, 0, 20, false, false});
  check_against_naive({2, 3, 5, 0, 15, 0, false, true});
  check_against_naive({0, 3, 5, 4, 15, 20, false, false});
}

TEST(threaded_results_equal_single_threaded) {
  const MatmulShape s{3, 67, 45, 139, 67 * 45, 45 * 139, false, true};
  const std::vector<float> a = Random(3).vector(3 * 67 * 45), b = Random(4).vector(3 * 45 * 139);
  CHECK(kiln::test::same_with_threads<std::vector<float>>([&] {
    std::vector<float> out(3 * 67 * 139);
    matmul(a.data(), b.data(), out.data(), s);
    return out;
  }));
}

KILN_TEST_MAIN()
