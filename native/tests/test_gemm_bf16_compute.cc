// sgemm_bf16 / sgemm_grid_bf16 (float32 operands, bfloat16 compute) against an FP64 GEMM of the
// operands rounded to bfloat16 (float_to_bf16), with gemm_bf16.h's bound for the FP32 result,
// |c − ref| ≤ K·2⁻²⁴·Σ|a·b| (plus |beta·c₀| and |bias| terms in Σ when they are used); all four
// transposes, wide leading dimensions, odd depths (1, 3, 33), sizes off the 12 × 32 tile,
// block-crossing sizes, alpha, beta, the column bias, batched grids, bitwise equality across
// thread counts; the converting pack against a naive one (ties, NaN, subnormals, overflow);
// and, where the BF16 kernel does not run, equality with sgemm itself.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "check.h"
#include "cpu.h"
#include "gemm/gemm.h"
#include "gemm/gemm_bf16.h"
#include "gemm/gemm_bf16_compute.h"

using namespace kiln;
using kiln::test::Random;

namespace {

struct Problem {
  int64_t m, n, k;
  bool trans_a = false, trans_b = false;
  int64_t pad = 0;  // extra elements per stored row of A and B
  float alpha = 1.0f, beta = 0.0f;
  bool bias = false;
};

struct Operands {
  int64_t lda, ldb;
  std::vector<float> a, b, c0, bias;  // c0: C before the product
};

Operands make_operands(const Problem& p, uint64_t seed) {
  const int64_t a_rows = p.trans_a ? p.k : p.m, a_cols = p.trans_a ? p.m : p.k;
  const int64_t b_rows = p.trans_b ? p.n : p.k, b_cols = p.trans_b ? p.k : p.n;
  Operands o{a_cols + p.pad, b_cols + p.pad, {}, {}, {}, {}};
  o.a = Random(seed).vector(a_rows * o.lda);  // float32 values: rounded to bfloat16 by the pack
  o.b = Random(seed + 1).vector(b_rows * o.ldb);
  o.c0 = p.beta != 0.0f ? Random(seed + 2).vector(p.m * p.n)
                        : std::vector<float>(static_cast<size_t>(p.m * p.n), std::numeric_limits<float>::quiet_NaN());
  if (p.bias) o.bias = Random(seed + 3).vector(p.n);
  return o;
}

double rounded(float value) { return bf16_to_float(float_to_bf16(value)); }

// Whether every element of c is within the bound of the FP64 product of the rounded operands.
bool within_bound(const Problem& p, const Operands& o, const std::vector<float>& c) {
  const double unit = std::ldexp(1.0, -24);
  for (int64_t i = 0; i < p.m; ++i) {
    for (int64_t j = 0; j < p.n; ++j) {
      double sum = 0.0, magnitude = 0.0;
      for (int64_t q = 0; q < p.k; ++q) {
        const double product = rounded(o.a[p.trans_a ? q * o.lda + i : i * o.lda + q]) *
                               rounded(o.b[p.trans_b ? j * o.ldb + q : q * o.ldb + j]);
        sum += product;
        magnitude += std::fabs(product);
      }
      const double scaled_c = p.beta != 0.0f ? double(p.beta) * o.c0[i * p.n + j] : 0.0;
      const double bias = p.bias ? o.bias[j] : 0.0;
      const double expected = p.alpha * sum + scaled_c + bias;
      const double bound = (p.k + 3) * unit * (std::fabs(p.alpha) * magnitude + std::fabs(scaled_c) + std::fabs(bias));
      const float actual = c[i * p.n + j];
      if (!(std::fabs(actual - expected) <= bound)) {
        std::printf("  (%lld, %lld) of %lldx%lldx%lld: %.9g, fp64 %.9g, bound %.3g\n", static_cast<long long>(i),
                    static_cast<long long>(j), static_cast<long long>(p.m), static_cast<long long>(p.n),
                    static_cast<long long>(p.k), actual, expected, bound);
        return false;
      }
    }
  }
  return true;
}

std::vector<float> product(const Problem& p, const Operands& o) {
  std::vector<float> c = o.c0;
  sgemm_grid_bf16(p.trans_a, p.trans_b, p.m, p.n, p.k, p.alpha, o.a.data(), o.lda, o.b.data(), o.ldb, p.beta, c.data(),
                  p.n, BatchGrid{1, 1, 0, 0, 0, 0, 0}, p.bias ? o.bias.data() : nullptr);
  return c;
}

bool matches_oracle(const Problem& p, uint64_t seed) {
  const Operands o = make_operands(p, seed);
  return within_bound(p, o, product(p, o));
}

// Whether the BF16 kernel runs; prints why not once per test otherwise.
bool pairs_run() {
  if (sgemm_bf16_rounds_operands()) return true;
  std::printf("  (sgemm_bf16 is sgemm here: gemm_bf16 kernel %s)\n", gemm_bf16_kernel_name());
  return false;
}

// Floats that exercise float_to_bf16: ties both ways, NaN, infinities, overflow, subnormals.
std::vector<float> awkward_floats(int64_t count, uint64_t seed) {
  std::vector<float> values = Random(seed).vector(count);
  const float specials[] = {1.0f + 1.0f / 256, 1.0f + 3.0f / 256, -(1.0f + 3.0f / 256), std::numeric_limits<float>::quiet_NaN(),
                            -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::max(), 1e-40f, -0.0f};
  for (size_t i = 0; i < values.size(); i += 7) values[i] = specials[i / 7 % 8];
  return values;
}

}  // namespace

TEST(the_bf16_kernel_runs_where_gemm_bf16_runs_it) {
  std::printf("  sgemm_bf16 rounds operands: %s (gemm_bf16 kernel %s)\n", sgemm_bf16_rounds_operands() ? "yes" : "no",
              gemm_bf16_kernel_name());
  CHECK(sgemm_bf16_rounds_operands() == (std::strcmp(gemm_bf16_kernel_name(), "avx512_bf16") == 0));
  CHECK(sgemm_bf16_rounds_operands() == cpu_features().avx512_bf16);
}

TEST(naive_converting_pack_matches_the_layout) {
  const std::vector<float> src = awkward_floats(9 * 7, 3);
  std::vector<uint16_t> dst(static_cast<size_t>(4 * 2 * 12));
  gemm::pack_pairs_f32_scalar(src.data(), 7, 1, 9, 7, 12, dst.data());  // 9 lanes of 7 depths
  bool same = true;
  for (size_t i = 0; i < dst.size(); ++i) {
    const int64_t q = i / 24, l = i % 24 / 2, depth = 2 * q + i % 2;
    same = same && dst[i] == (l < 9 && depth < 7 ? float_to_bf16(src[static_cast<size_t>(l * 7 + depth)]) : 0);
  }
  CHECK(same);
}

#if defined(__x86_64__) || defined(_M_X64)
TEST(avx512_converting_pack_matches_the_naive_one) {
  if (!cpu_features().avx512) {
    std::printf("  (no AVX-512: not run on this CPU)\n");
    return;
  }
  const std::vector<float> src = awkward_floats(40 * 60, 21);
  const int64_t strides[][2] = {{60, 1}, {1, 40}, {60, 2}};  // depth contiguous, lanes contiguous, neither
  for (const auto& stride : strides) {
    for (int width : {12, 32}) {
      for (int64_t n : {int64_t{1}, int64_t{width} - 1, int64_t{width}}) {
        for (int64_t depth : {1, 2, 3, 17, 30, 33}) {
          const size_t size = static_cast<size_t>((depth + 1) / 2 * 2 * width);
          std::vector<uint16_t> fast(size + 8, 0xabcd), naive(size + 8, 0xabcd);  // 8 guards past the panel
          gemm::kPackPairsF32Avx512(src.data(), stride[0], stride[1], n, depth, width, fast.data());
          gemm::pack_pairs_f32_scalar(src.data(), stride[0], stride[1], n, depth, width, naive.data());
          if (fast != naive) {
            std::printf("  strides (%lld, %lld), width %d, n %lld, depth %lld\n", static_cast<long long>(stride[0]),
                        static_cast<long long>(stride[1]), width, static_cast<long long>(n), static_cast<long long>(depth));
          }
          CHECK(fast == naive);
        }
      }
    }
  }
}
#endif

TEST(edge_shapes_and_transposes_within_the_bound) {
  if (!pairs_run()) return;
  for (int64_t m : {1, 5, 12, 13, 37}) {
    for (int64_t n : {1, 10, 31, 32, 33, 70}) {
      for (int t = 0; t < 4; ++t) CHECK(matches_oracle({m, n, 19, (t & 1) != 0, (t & 2) != 0, t}, m * 100 + n));
    }
  }
}

TEST(depths_one_three_and_thirty_three_within_the_bound) {
  if (!pairs_run()) return;
  for (int64_t k : {1, 2, 3, 33}) {
    for (int t = 0; t < 4; ++t) {
      CHECK(matches_oracle({13, 35, k, (t & 1) != 0, (t & 2) != 0, 1}, k));
      CHECK(matches_oracle({1, 1, k, (t & 1) != 0, (t & 2) != 0}, k + 50));
    }
  }
}

TEST(block_crossing_sizes_within_the_bound) {
  if (!pairs_run()) return;
  CHECK(matches_oracle({400, 70, 600}, 1));  // M > MC
  CHECK(matches_oracle({37, 300, 1100, true, true, 3}, 2));  // K > KC
  CHECK(matches_oracle({150, 40, 1025, false, false, 5}, 4));  // odd depth in the last KC block
  CHECK(matches_oracle({170, 1100, 90, false, true, 2}, 6));  // N > NC
}

TEST(alpha_beta_and_bias_follow_sgemms_contract) {
  if (!pairs_run()) return;
  CHECK(matches_oracle({20, 45, 33, false, false, 0, 1.0f, 1.0f}, 1));        // C += A·B (the weight gradient's slots)
  CHECK(matches_oracle({20, 45, 33, true, false, 2, 1.0f, 0.0f, true}, 2));  // + bias (Linear), C never read
  CHECK(matches_oracle({20, 45, 33, false, true, 1, 0.5f, -2.0f, true}, 3));
  CHECK(matches_oracle({7, 9, 3, false, false, 0, 2.0f, 0.0f}, 4));
  CHECK(matches_oracle({7, 9, 0, false, false, 0, 1.0f, 0.5f, true}, 5));  // k = 0: beta·C + bias
  CHECK(matches_oracle({7, 9, 5, false, false, 0, 0.0f, 0.0f}, 6));        // alpha = 0: zeros, NaN C not read
}

TEST(a_batched_grid_matches_its_products_one_by_one) {
  if (!pairs_run()) return;
  const int64_t m = 9, n = 40, k = 21, outer = 2, inner = 3;
  const std::vector<float> a = Random(7).vector(outer * inner * m * k), b = Random(8).vector(k * n);
  const std::vector<float> bias = Random(9).vector(n);
  std::vector<float> grid(static_cast<size_t>(outer * inner * m * n)), single(grid.size());
  sgemm_grid_bf16(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, grid.data(), n,
                  BatchGrid{outer, inner, inner * m * k, m * k, 0, 0, m * n}, bias.data());
  for (int64_t p = 0; p < outer * inner; ++p) {
    std::vector<float> c(static_cast<size_t>(m * n));
    for (int64_t i = 0; i < m; ++i) std::copy(bias.begin(), bias.end(), c.begin() + i * n);
    sgemm_bf16(false, false, m, n, k, 1.0f, a.data() + p * m * k, k, b.data(), n, 1.0f, c.data(), n);
    std::copy(c.begin(), c.end(), single.begin() + p * m * n);
  }
  CHECK(grid == single);
}

// Column parts (the first two: few row blocks; m <= n) and one shared nest (a tall product).
TEST(same_result_at_any_thread_count) {
  if (!pairs_run()) return;
  for (const Problem& p : {Problem{300, 200, 700, false, true}, Problem{157, 611, 1031, true, false, 0, 1.0f, 1.0f},
                           Problem{1200, 100, 300, false, false}}) {
    const Operands o = make_operands(p, 11);
    std::vector<float> threaded;
    CHECK(kiln::test::same_with_threads<std::vector<float>>([&] { return threaded = product(p, o); }));
    CHECK(within_bound(p, o, threaded));
  }
}

TEST(without_the_bf16_kernel_it_is_sgemm) {
  const Problem p{37, 45, 33, true, false, 3, 1.0f, 0.5f, false};
  const Operands o = make_operands(p, 12);
  std::vector<float> expected = o.c0;
  set_gemm_bf16_path(Bf16Path::kWiden);
  CHECK(!sgemm_bf16_rounds_operands());
  sgemm(p.trans_a, p.trans_b, p.m, p.n, p.k, p.alpha, o.a.data(), o.lda, o.b.data(), o.ldb, p.beta, expected.data(), p.n);
  CHECK(product(p, o) == expected);
  set_gemm_bf16_path(Bf16Path::kPairs);
  if (set_gemm_isa(GemmIsa::kAvx2)) {  // a narrower sgemm keeps the BF16 kernel out too
    CHECK(!sgemm_bf16_rounds_operands());
    std::vector<float> avx2 = o.c0;
    sgemm(p.trans_a, p.trans_b, p.m, p.n, p.k, p.alpha, o.a.data(), o.lda, o.b.data(), o.ldb, p.beta, avx2.data(), p.n);
    CHECK(product(p, o) == avx2);
    set_gemm_isa(GemmIsa::kAvx512) || set_gemm_isa(GemmIsa::kAvx2);
  }
}

TEST(sgemm_in_follows_the_precision) {
  const Problem p{20, 30, 40};
  const Operands o = make_operands(p, 13);
  std::vector<float> f32(600), in_f32(600), bf16(600), in_bf16(600);
  sgemm(false, false, 20, 30, 40, 1.0f, o.a.data(), 40, o.b.data(), 30, 0.0f, f32.data(), 30);
  sgemm_bf16(false, false, 20, 30, 40, 1.0f, o.a.data(), 40, o.b.data(), 30, 0.0f, bf16.data(), 30);
  sgemm_in(GemmPrecision::kFloat32, false, false, 20, 30, 40, 1.0f, o.a.data(), 40, o.b.data(), 30, 0.0f, in_f32.data(), 30);
  sgemm_in(GemmPrecision::kBFloat16, false, false, 20, 30, 40, 1.0f, o.a.data(), 40, o.b.data(), 30, 0.0f, in_bf16.data(), 30);
  CHECK(in_f32 == f32);
  CHECK(in_bf16 == bf16);
  CHECK((bf16 != f32) == sgemm_bf16_rounds_operands());  // float32 operands: rounding them changes the sums
}

KILN_TEST_MAIN()
