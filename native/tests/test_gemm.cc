// sgemm / sgemm_batched / sgemm_grid against a naive triple loop (double accumulation), on every
// micro-kernel this CPU runs: edge shapes (1, primes, non-multiples of MR and NR, K = 1),
// block boundaries (MC, KC, NC), all four transposes, alpha / beta, beta = 0 over NaN, wide
// leading dimensions, batches, threads, and a random-vector residual for large products; the
// products of a packed A (sgemm_packed_a) and of a B written in panels (sgemm_packed_b); and the
// block sizes derived from the cache sizes.
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "check.h"
#include "cpu.h"
#include "gemm/gemm.h"
#include "gemm/internal.h"

using namespace kiln;
using kiln::test::Random;

namespace {

struct Problem {
  int64_t m, n, k;
  bool trans_a = false, trans_b = false;
  float alpha = 1.0f, beta = 0.0f;
  int64_t pad = 0;  // extra elements per row of A, B and C beyond the stored row length
};

// A problem's operands, each allocated to exactly its size (so AddressSanitizer sees any
// access past the last row).
struct Operands {
  int64_t lda, ldb, ldc;
  std::vector<float> a, b, c;
  std::vector<float> bias = {};  // (n) added to every row of C, or empty
};

Operands make_operands(const Problem& p, uint64_t seed, bool nan_c) {
  Operands o;
  const int64_t a_rows = p.trans_a ? p.k : p.m, a_cols = p.trans_a ? p.m : p.k;
  const int64_t b_rows = p.trans_b ? p.n : p.k, b_cols = p.trans_b ? p.k : p.n;
  o.lda = a_cols + p.pad;
  o.ldb = b_cols + p.pad;
  o.ldc = p.n + p.pad;
  Random random(seed);
  o.a = random.vector(a_rows * o.lda);
  o.b = random.vector(b_rows * o.ldb);
  o.c = nan_c ? std::vector<float>(p.m * o.ldc, std::numeric_limits<float>::quiet_NaN()) : random.vector(p.m * o.ldc);
  return o;
}

double a_at(const Problem& p, const Operands& o, int64_t i, int64_t l) {
  return p.trans_a ? o.a[l * o.lda + i] : o.a[i * o.lda + l];
}
double b_at(const Problem& p, const Operands& o, int64_t l, int64_t j) {
  return p.trans_b ? o.b[j * o.ldb + l] : o.b[l * o.ldb + j];
}

// Checks c_out against the naive product. Each element may differ from the exact value by
// the standard float bound (k + 2) · eps · (|alpha| · Σ|a||b| + |beta · c|); padding columns
// of C must be untouched.
bool matches_naive(const Problem& p, const Operands& in, const std::vector<float>& c_out) {
  const double eps = std::numeric_limits<float>::epsilon();
  for (int64_t i = 0; i < p.m; ++i) {
    for (int64_t j = 0; j < in.ldc; ++j) {
      const size_t at = static_cast<size_t>(i * in.ldc + j);
      if (j >= p.n) {
        if (!test::same_float(c_out[at], in.c[at])) return false;
        continue;
      }
      double sum = 0.0, magnitude = 0.0;
      for (int64_t l = 0; l < p.k; ++l) {
        const double term = a_at(p, in, i, l) * b_at(p, in, l, j);
        sum += term;
        magnitude += std::fabs(term);
      }
      const double c_old = (p.beta == 0.0f ? 0.0 : double(p.beta) * in.c[at]) + (in.bias.empty() ? 0.0 : in.bias[j]);
      const double expected = p.alpha * sum + c_old;
      const double bound = (p.k + 3) * eps * (std::fabs(p.alpha) * magnitude + std::fabs(c_old)) + 1e-30;
      if (!(std::fabs(c_out[at] - expected) <= bound)) {
        std::printf("  m=%lld n=%lld k=%lld ta=%d tb=%d alpha=%g beta=%g pad=%lld: C(%lld,%lld) = %.9g, expected %.9g\n",
                    (long long)p.m, (long long)p.n, (long long)p.k, p.trans_a, p.trans_b, p.alpha, p.beta,
                    (long long)p.pad, (long long)i, (long long)j, c_out[at], expected);
        return false;
      }
    }
  }
  return true;
}

bool run_and_check(const Problem& p, uint64_t seed) {
  const bool nan_c = p.beta == 0.0f;
  Operands o = make_operands(p, seed, nan_c);
  std::vector<float> c = o.c;
  sgemm(p.trans_a, p.trans_b, p.m, p.n, p.k, p.alpha, o.a.data(), o.lda, o.b.data(), o.ldb, p.beta, c.data(), o.ldc);
  return matches_naive(p, o, c);
}

// The product with a column bias (sgemm_grid's column_bias, one product) against the naive loop.
bool run_and_check_with_bias(const Problem& p, uint64_t seed) {
  Operands o = make_operands(p, seed, p.beta == 0.0f);
  o.bias = Random(seed + 1000).vector(p.n);
  std::vector<float> c = o.c;
  sgemm_grid(p.trans_a, p.trans_b, p.m, p.n, p.k, p.alpha, o.a.data(), o.lda, o.b.data(), o.ldb, p.beta, c.data(),
             o.ldc, BatchGrid{1, 1, 0, 0, 0, 0, 0}, o.bias.data());
  return matches_naive(p, o, c);
}

// Runs `body` once per instruction set this build and CPU support, forcing each in turn.
template <typename Body>
void for_each_isa(const Body& body) {
  const GemmIsa all[] = {GemmIsa::kScalar, GemmIsa::kAvx2, GemmIsa::kAvx512, GemmIsa::kNeon};
  const char* names[] = {"scalar", "avx2", "avx512", "neon"};
  for (int i = 0; i < 4; ++i) {
    if (!set_gemm_isa(all[i])) {
      std::printf("  note: %s not available on this CPU or build, skipped\n", names[i]);
      continue;
    }
    body();
  }
  set_gemm_isa(GemmIsa::kAvx512) || set_gemm_isa(GemmIsa::kAvx2) || set_gemm_isa(GemmIsa::kNeon);
}

const int64_t kEdgeSizes[] = {1, 2, 3, 5, 7, 11, 13, 16, 17, 31, 33, 37, 64, 67};

}  // namespace

TEST(edge_shapes_all_transposes) {
  for_each_isa([] {
    uint64_t seed = 1;
    for (int64_t m : kEdgeSizes) {
      for (int64_t n : kEdgeSizes) {
        const int64_t k = kEdgeSizes[(m + n) % 14];
        for (int t = 0; t < 4; ++t) {
          Problem p{m, n, k, bool(t & 1), bool(t & 2)};
          p.pad = (m + n) % 3 == 0 ? 3 : 0;
          CHECK(run_and_check(p, seed++));
        }
      }
    }
  });
}

// The bias goes into each tile once, with the first depth slice: edge tiles, all transposes,
// several KC slices, C taller than wide and narrower than two tiles (computed transposed: the
// bias runs down its rows), a threaded product, beta over C and k = 0 (C = beta · C + bias).
TEST(column_bias) {
  for_each_isa([] {
    uint64_t seed = 300;
    for (int64_t m : {1, 5, 17, 67, 300}) {
      for (int64_t n : {1, 3, 16, 33, 200}) {
        for (int t = 0; t < 4; ++t) {
          Problem p{m, n, m == 300 ? 600 : 37, bool(t & 1), bool(t & 2)};
          p.pad = n == 33 ? 2 : 0;
          CHECK(run_and_check_with_bias(p, seed++));
        }
      }
    }
    Problem scaled{40, 24, 19};
    scaled.alpha = -0.5f;
    scaled.beta = 2.0f;
    CHECK(run_and_check_with_bias(scaled, 77));
    CHECK(run_and_check_with_bias({6, 5, 0}, 78));
  });
}

TEST(depth_one_and_long_depth) {
  for_each_isa([] {
    for (int64_t k : {1, 2, 383, 385, 1000, 2053}) {
      for (int t = 0; t < 4; ++t) CHECK(run_and_check({29, 45, k, bool(t & 1), bool(t & 2)}, 7 + k));
    }
  });
}

TEST(alpha_beta_and_nan_in_c) {
  for_each_isa([] {
    const float pairs[][2] = {{1, 0}, {2.5f, 0}, {1, 1}, {-0.5f, 2}, {0, 0}, {0, 3}, {1.5f, -1}};
    for (const auto& pair : pairs) {
      for (int t = 0; t < 4; ++t) {
        Problem p{23, 41, 19, bool(t & 1), bool(t & 2), pair[0], pair[1], 2};
        CHECK(run_and_check(p, 99));
        p.m = 70;  // tall and narrow: C is computed transposed
        p.n = 5;
        CHECK(run_and_check(p, 98));
        p.m = 90;  // narrower than two AVX-512 tiles (transposed there), wider than AVX2's two
        p.n = 40;
        CHECK(run_and_check(p, 97));
      }
    }
  });
}

// C taller than wide and narrower than two micro-tiles is computed as Cᵀ = Bᵀ · Aᵀ and merged into C
// transposed (gemm.cc's role swap; the AVX-512 merge transposes in registers): it gives the
// same bits as the product asked for the other way round, Cᵀ = Bᵀ · Aᵀ with Cᵀ in place (not
// swapped: wider than tall), for every alpha / beta, edge tiles and several depth slices.
TEST(swapped_roles_match_the_transposed_product_bit_for_bit) {
  for_each_isa([] {
    const float pairs[][2] = {{1, 0}, {1, 1}, {-0.5f, 2}, {1.5f, -1}};
    for (const auto& pair : pairs) {
      const int64_t nr = gemm::current_kernel().blocks.nr;
      for (const int64_t n : {int64_t{5}, nr + 1, nr + nr / 2 + 1, 2 * nr - 1}) {  // swapped: n < 2·NR, n != NR
        const int64_t m = 203, k = 2100;
        Random random(static_cast<uint64_t>(n));
        const std::vector<float> a = random.vector(m * k), b = random.vector(k * n), c0 = random.vector(m * n);
        std::vector<float> c = c0, ct(n * m);
        for (int64_t i = 0; i < m; ++i) {
          for (int64_t j = 0; j < n; ++j) ct[j * m + i] = c0[i * n + j];
        }
        sgemm(false, false, m, n, k, pair[0], a.data(), k, b.data(), n, pair[1], c.data(), n);
        sgemm(true, true, n, m, k, pair[0], b.data(), n, a.data(), k, pair[1], ct.data(), m);
        bool same = true;
        for (int64_t i = 0; i < m; ++i) {
          for (int64_t j = 0; j < n; ++j) same = same && c[i * n + j] == ct[j * m + i];
        }
        if (!same) std::printf("    %s: %ld x %ld x %ld, alpha %g beta %g: swapped and transposed products differ\n", gemm::current_kernel().name, m, n, k, pair[0], pair[1]);
        CHECK(same);
      }
    }
  });
}

TEST(empty_and_zero_depth) {
  for_each_isa([] {
    CHECK(run_and_check({0, 5, 3}, 1));
    CHECK(run_and_check({4, 0, 3}, 1));
    CHECK(run_and_check({4, 5, 0, false, false, 1.0f, 0.0f}, 1));  // beta 0 over NaN: zeros
    CHECK(run_and_check({4, 5, 0, false, true, 1.0f, 0.5f}, 1));
  });
}

// C whose last micro-panel is at most half a micro-tile wide (AVX2: n mod 16 in 1..8, one
// vector per row): full and masked half panels, every tile height, beta over C, all transposes.
TEST(narrow_last_micro_panel) {
  for_each_isa([] {
    uint64_t seed = 500;
    for (int64_t n : {8, 24, 21, 120}) {
      for (int64_t m : {1, 4, 6, 64}) {
        for (int t = 0; t < 4; ++t) {
          Problem p{m, n, 400, bool(t & 1), bool(t & 2), 1.0f, m == 4 ? 0.5f : 0.0f, n == 21 ? 3 : 0};
          CHECK(run_and_check(p, seed++));
        }
      }
    }
  });
}

// Crossing MC, KC and NC (as derived for this CPU) and the thread split.
TEST(block_boundaries) {
  for_each_isa([] {
    const gemm::BlockSizes& bs = gemm::current_kernel().blocks;
    CHECK(run_and_check({bs.mc + 53, 131, bs.kc + 144}, 3));
    CHECK(run_and_check({bs.mc + 6, 70, bs.kc + 4, true, false, 1.0f, 0.5f, 1}, 4));
    CHECK(run_and_check({3, bs.nc + 4, 5, false, true}, 5));
    CHECK(run_and_check({66, bs.nc + 3, 3, false, false, 2.0f, 1.0f}, 6));
    // M past MC (an odd number of MC blocks, cut into an even number of equal ones) and just
    // over MR past it (the last block short).
    CHECK(run_and_check({2 * bs.mc + 7, 40, 30, false, true}, 8));
    CHECK(run_and_check({bs.mc + bs.mr + 1, 33, 20, true, false, 1.0f, 0.5f}, 9));
  });
}

// Leading dimensions that are powers of two (rows of B alias in the caches) with few rows of
// C: B read in place (M <= MR) and packed, at 1 and 3 threads.
TEST(skinny_power_of_two_strides) {
  for_each_isa([] {
    for (int64_t m : {1, 4, 6, 7, 32, 64}) {
      for (int t = 0; t < 4; ++t) CHECK(run_and_check({m, 256, 512, bool(t & 1), bool(t & 2), 1.0f, 0.0f}, 30 + m));
    }
  });
}

// One row block whose B rows are not a multiple of 128 bytes apart: B read in place by every
// full micro-panel (packed for the narrow last one), across depth slices, with beta, a bias
// and a wide leading dimension, at 1 and 2 threads (a column part per thread).
TEST(short_products_read_b_in_place) {
  for_each_isa([] {
    uint64_t seed = 700;
    const int saved = get_num_threads();
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      for (int64_t m : {int64_t{7}, int64_t{64}, int64_t{gemm::current_kernel().blocks.mc}}) {
        for (int64_t n : {120, 200}) {
          Problem p{m, n, 400, false, false, 1.0f, 0.5f, n == 200 ? 5 : 0};
          CHECK(run_and_check(p, seed++));
          CHECK(run_and_check_with_bias(p, seed++));
        }
      }
    }
    set_num_threads(saved);
  });
}

// The formulas of derive_blocks: the sizes measured best on the VMs they were tuned on, and
// clamped, aligned sizes on caches far from those.
TEST(blocks_from_cache_sizes) {
  // The Zen 5 VM (48 KiB, 1 MiB, and an L3 reported as 508 MiB, capped to kMaxL3): FP32 and
  // bfloat16 panels of the same bytes, twice the depth for bfloat16.
  const gemm::BlockSizes zen5 = gemm::derive_blocks(gemm::kAvx512Rule, 48 << 10, 1 << 20, kMaxL3);
  CHECK(zen5.kc == 1024 && zen5.mc == 96 && zen5.nc == 1024);
  const gemm::BlockSizes zen5_bf16 = gemm::derive_blocks(gemm::kAvx512Bf16Rule, 48 << 10, 1 << 20, kMaxL3);
  CHECK(zen5_bf16.kc == 2048 && zen5_bf16.mc == 96 && zen5_bf16.nc == 1024);
  const gemm::BlockSizes zen3 = gemm::derive_blocks(gemm::kAvx2Rule, 32 << 10, 512 << 10, 32 << 20);
  CHECK(zen3.kc == 256 && zen3.mc == 384 && zen3.nc == 4096);
  for (const gemm::BlockRule& rule :
       {gemm::kAvx512Rule, gemm::kAvx512Bf16Rule, gemm::kAvx2Rule, gemm::kNeonRule, gemm::kScalarRule}) {
    for (long long scale : {1LL, 64LL, 4096LL}) {
      const gemm::BlockSizes bs = gemm::derive_blocks(rule, 512 * scale, 4096 * scale, 65536 * scale);
      CHECK(bs.mr == rule.mr && bs.nr == rule.nr);
      CHECK(bs.kc >= 64 && bs.kc <= 4096 / rule.element_bytes && bs.kc % 16 == 0);
      CHECK(bs.mc >= rule.mr && bs.mc <= 1024 && bs.mc % rule.mr == 0);
      CHECK(bs.nc >= rule.nr && bs.nc <= 8192 && bs.nc % rule.nr == 0);
    }
  }
  const CacheSizes& caches = cache_sizes();
  std::printf("  caches: L1d %lld KiB, L2 %lld KiB, L3 %lld KiB\n", caches.l1d >> 10, caches.l2 >> 10, caches.l3 >> 10);
  CHECK(caches.l1d > 0 && caches.l2 > 0 && caches.l3 > 0);
  for_each_isa([] {
    const gemm::GemmKernel& kernel = gemm::current_kernel();
    const gemm::BlockSizes& bs = kernel.blocks;
    std::printf("  %s: MR %d NR %d KC %d MC %d NC %d\n", kernel.name, bs.mr, bs.nr, bs.kc, bs.mc, bs.nc);
    const CacheSizes& c = cache_sizes();
    const gemm::BlockSizes expected = gemm::derive_blocks(kernel.rule, c.l1d, c.l2, c.l3);
    CHECK(bs.kc == expected.kc && bs.mc == expected.mc && bs.nc == expected.nc);
  });
}

// C · v against A · (B · v) for products too large for the naive loop.
TEST(residual_large) {
  for_each_isa([] {
    for (int t = 0; t < 4; ++t) {
      Problem p{517, 603, 1029, bool(t & 1), bool(t & 2)};
      Operands o = make_operands(p, 11 + t, false);
      sgemm(p.trans_a, p.trans_b, p.m, p.n, p.k, 1.0f, o.a.data(), o.lda, o.b.data(), o.ldb, 0.0f, o.c.data(), o.ldc);
      const std::vector<float> v = Random(5).vector(p.n);
      std::vector<double> bv(p.k, 0.0);
      for (int64_t l = 0; l < p.k; ++l) {
        for (int64_t j = 0; j < p.n; ++j) bv[l] += b_at(p, o, l, j) * v[j];
      }
      double worst = 0.0, scale = 0.0;
      for (int64_t i = 0; i < p.m; ++i) {
        double abv = 0.0, cv = 0.0;
        for (int64_t l = 0; l < p.k; ++l) abv += a_at(p, o, i, l) * bv[l];
        for (int64_t j = 0; j < p.n; ++j) cv += double(o.c[i * o.ldc + j]) * v[j];
        worst = std::fmax(worst, std::fabs(cv - abv));
        scale = std::fmax(scale, std::fabs(abv));
      }
      // Random signs: errors grow like sqrt(k) · eps per element, sqrt(n) over the sum.
      CHECK(worst <= 1e-5 * scale + 1e-3);
    }
  });
}

TEST(batched_with_strides_and_broadcast) {
  for_each_isa([] {
    const int64_t batch = 5, m = 13, n = 37, k = 21;
    for (int64_t stride_b : {k * n, int64_t{0}}) {
      Random random(17);
      const std::vector<float> a = random.vector(batch * m * k);
      const std::vector<float> b = random.vector(stride_b == 0 ? k * n : batch * k * n);
      std::vector<float> c(batch * m * n, std::numeric_limits<float>::quiet_NaN());
      sgemm_batched(false, false, m, n, k, 1.0f, a.data(), k, m * k, b.data(), n, stride_b, 0.0f, c.data(), n, m * n, batch);
      for (int64_t q = 0; q < batch; ++q) {
        Problem p{m, n, k};
        Operands o{k, n, n, std::vector<float>(a.begin() + q * m * k, a.begin() + (q + 1) * m * k),
                   std::vector<float>(b.begin() + q * stride_b, b.begin() + q * stride_b + k * n),
                   std::vector<float>(m * n, 0.0f)};
        CHECK(matches_naive(p, o, std::vector<float>(c.begin() + q * m * n, c.begin() + (q + 1) * m * n)));
      }
    }
  });
}

// A two-level grid as a permuted attention tensor gives it: A is (outer, m, inner, k) in memory,
// so matrix (o, i) has rows inner * k apart; B (outer, k, n) is reused across the inner level.
// Each product against the naive loop on its own copy of the operands; more products than
// threads (whole products per thread) and an odd count (each product split).
TEST(grid_with_outer_and_inner_strides) {
  for_each_isa([] {
    for (int64_t inner : {int64_t{4}, int64_t{3}}) {
      const int64_t outer = inner == 4 ? 3 : 1, m = 130, n = 150, k = 60;  // 2.3 MFLOP per product
      Random random(23);
      const std::vector<float> a = random.vector(outer * m * inner * k);
      const std::vector<float> b = random.vector(outer * k * n);
      std::vector<float> c(outer * inner * m * n, std::numeric_limits<float>::quiet_NaN());
      const BatchGrid grid{outer, inner, m * inner * k, k, k * n, 0, m * n};
      sgemm_grid(false, false, m, n, k, 1.0f, a.data(), inner * k, b.data(), n, 0.0f, c.data(), n, grid);
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          Problem p{m, n, k};
          Operands in{k, n, n, std::vector<float>(m * k), std::vector<float>(b.begin() + o * k * n, b.begin() + (o + 1) * k * n),
                      std::vector<float>(m * n, 0.0f)};
          for (int64_t r = 0; r < m; ++r) {
            for (int64_t l = 0; l < k; ++l) in.a[r * k + l] = a[o * m * inner * k + r * inner * k + i * k + l];
          }
          const int64_t start = (o * inner + i) * m * n;
          CHECK(matches_naive(p, in, std::vector<float>(c.begin() + start, c.begin() + start + m * n)));
        }
      }
    }
  });
}

// Every thread count computes each element the same way: results are bitwise identical.
TEST(threads_do_not_change_results) {
  for_each_isa([] {
    // {m, n, k, B transposed}: column parts (m <= n; few row blocks), many row blocks (A
    // packed per block, the B panel shared), a C too narrow for column parts (taller than
    // wide: computed transposed, in column parts; else one row block, its columns cut into
    // slabs, A packed once), B read in place (m <= MR, B not transposed), B wider than NC.
    for (auto shape : {std::vector<int64_t>{300, 700, 200, 1}, std::vector<int64_t>{700, 90, 300, 1},
                       std::vector<int64_t>{2000, 150, 64, 0}, std::vector<int64_t>{300, 60, 200, 0},
                       std::vector<int64_t>{40, 60, 2000, 0},
                       std::vector<int64_t>{5, 900, 300, 0}, std::vector<int64_t>{40, 8300, 40, 0}}) {
      const Problem p{shape[0], shape[1], shape[2], false, shape[3] == 1};
      const Operands o = make_operands(p, 21, false);
      CHECK(test::same_with_threads<std::vector<float>>([&] {
        std::vector<float> c = o.c;
        sgemm(p.trans_a, p.trans_b, p.m, p.n, p.k, 1.0f, o.a.data(), o.lda, o.b.data(), o.ldb, 0.5f, c.data(), o.ldc);
        return c;
      }));
    }
  });
}

// sgemm_packed_a (A packed once, B's full micro-panels read in place) against the naive loop:
// edge shapes, several KC slices and MC row blocks, a padded ldb / ldc, beta over C and beta 0
// over NaN; and the same bits whatever the thread count.
bool run_and_check_packed_a(const Problem& p, uint64_t seed) {
  Operands o = make_operands(p, seed, p.beta == 0.0f);
  const PackedA packed(p.m, p.k, o.a.data(), o.lda);
  std::vector<float> c = o.c;
  sgemm_packed_a(packed, p.n, o.b.data(), o.ldb, p.beta, c.data(), o.ldc);
  return matches_naive(p, o, c);
}

TEST(packed_a_products) {
  for_each_isa([] {
    const gemm::BlockSizes& bs = gemm::current_kernel().blocks;
    uint64_t seed = 500;
    for (int64_t m : {1, 5, 7, 64, 67}) {
      for (int64_t n : {1, 15, 16, 33, 264}) {
        CHECK(run_and_check_packed_a({m, n, 13}, seed++));
        CHECK(run_and_check_packed_a({m, n, 64, false, false, 1.0f, 0.5f, 8}, seed++));
      }
    }
    CHECK(run_and_check_packed_a({2 * bs.mc + 5, 70, bs.kc + 3, false, false, 1.0f, 0.0f, 8}, seed++));
    CHECK(run_and_check_packed_a({bs.mc + 1, 40, 2 * bs.kc + 1, false, false, 1.0f, 1.0f}, seed++));
    const Problem p{130, 1000, 300, false, false, 1.0f, 0.5f, 8};
    const Operands o = make_operands(p, seed, false);
    const PackedA packed(p.m, p.k, o.a.data(), o.lda);
    CHECK(test::same_with_threads<std::vector<float>>([&] {
      std::vector<float> c = o.c;
      sgemm_packed_a(packed, p.n, o.b.data(), o.ldb, p.beta, c.data(), o.ldc);
      return c;
    }));
  });
}

// sgemm_packed_b (B laid out in NR-column panels by the caller, A packed inside) against the
// naive loop: edge shapes (a partial last panel, whose slack columns hold NaN that must not
// reach C), several KC slices and MC row blocks, padded lda / ldc and panel steps, beta over C
// and beta 0 over NaN.
bool run_and_check_packed_b(const Problem& p, uint64_t seed) {
  const Operands o = make_operands(p, seed, p.beta == 0.0f);
  const int64_t nr = sgemm_panel_width(), panel_step = (p.k + 3) * nr;
  std::vector<float> panels(static_cast<size_t>((p.n + nr - 1) / nr * panel_step), NAN);
  for (int64_t row = 0; row < p.k; ++row) {
    for (int64_t j = 0; j < p.n; ++j) panels[static_cast<size_t>(j / nr * panel_step + row * nr + j % nr)] = o.b[row * o.ldb + j];
  }
  std::vector<float> c = o.c;
  sgemm_packed_b(p.m, p.n, p.k, o.a.data(), o.lda, panels.data(), panel_step, p.beta, c.data(), o.ldc);
  return matches_naive(p, o, c);
}

TEST(packed_b_products) {
  for_each_isa([] {
    const gemm::BlockSizes& bs = gemm::current_kernel().blocks;
    uint64_t seed = 700;
    for (int64_t m : {1, 5, 7, 64, 67}) {
      for (int64_t n : {1, 15, 16, 33, 264}) {
        CHECK(run_and_check_packed_b({m, n, 13}, seed++));
        CHECK(run_and_check_packed_b({m, n, 64, false, false, 1.0f, 0.5f, 8}, seed++));
      }
    }
    CHECK(run_and_check_packed_b({2 * bs.mc + 5, 70, bs.kc + 3, false, false, 1.0f, 0.0f, 8}, seed++));
    CHECK(run_and_check_packed_b({bs.mc + 1, 40, 2 * bs.kc + 1, false, false, 1.0f, 1.0f}, seed++));
  });
}

TEST(isa_env_names_and_forcing) {
  CHECK(gemm_isa_supported(GemmIsa::kScalar));
  CHECK(set_gemm_isa(GemmIsa::kScalar));
  CHECK(std::string(gemm_isa_name()) == "scalar");
  if (set_gemm_isa(GemmIsa::kAvx512)) CHECK(std::string(gemm_isa_name()) == "avx512");
  set_gemm_isa(GemmIsa::kAvx512) || set_gemm_isa(GemmIsa::kAvx2) || set_gemm_isa(GemmIsa::kNeon);
}

KILN_TEST_MAIN()
