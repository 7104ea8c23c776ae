// gemm_bf16 / matmul_bf16 against an FP64 GEMM of the same bfloat16 values, with the error
// bound derived in gemm/gemm_bf16.h: |c − ref| ≤ K·2⁻²⁴·Σ|a·b| for the FP32 result, plus
// 2⁻⁸·|ref| once rounded to bfloat16; on every path this CPU runs (the AVX512-BF16 kernel, and
// widening for each FP32 micro-kernel), all four transposes, wide leading dimensions, edge,
// odd-depth and block-crossing sizes, batches, and bitwise equality across thread counts.
// Also the pair packing against its layout formula, and the bfloat16 rounding itself (ties,
// overflow, NaN).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <vector>

#include "check.h"
#include "cpu.h"
#include "gemm/gemm.h"
#include "gemm/gemm_bf16.h"
#include "matmul_bf16.h"

using namespace kiln;
using kiln::test::Random;

namespace {

struct Bf16Problem {
  int64_t m, n, k;
  bool trans_a = false, trans_b = false;
  int64_t pad = 0;  // extra elements per stored row of A and B
};

struct Bf16Operands {
  int64_t lda, ldb;
  std::vector<uint16_t> a, b;
};

std::vector<uint16_t> random_bf16(int64_t count, uint64_t seed) {
  std::vector<uint16_t> bits(static_cast<size_t>(count));
  const std::vector<float> values = Random(seed).vector(count);
  round_to_bf16(values.data(), count, bits.data());
  return bits;
}

Bf16Operands make_operands(const Bf16Problem& p, uint64_t seed) {
  const int64_t a_rows = p.trans_a ? p.k : p.m, a_cols = p.trans_a ? p.m : p.k;
  const int64_t b_rows = p.trans_b ? p.n : p.k, b_cols = p.trans_b ? p.k : p.n;
  Bf16Operands o{a_cols + p.pad, b_cols + p.pad, {}, {}};
  o.a = random_bf16(a_rows * o.lda, seed);
  o.b = random_bf16(b_rows * o.ldb, seed + 1);
  return o;
}

// The FP64 product and Σ|a·b| of element (i, j).
struct Reference {
  double value, magnitude;
};

Reference reference(const Bf16Problem& p, const Bf16Operands& o, int64_t i, int64_t j) {
  Reference r{0.0, 0.0};
  for (int64_t q = 0; q < p.k; ++q) {
    const double a = bf16_to_float(o.a[p.trans_a ? q * o.lda + i : i * o.lda + q]);
    const double b = bf16_to_float(o.b[p.trans_b ? j * o.ldb + q : q * o.ldb + j]);
    r.value += a * b;
    r.magnitude += std::fabs(a * b);
  }
  return r;
}

// Whether c (FP32) and its bfloat16 rounding are within the bounds of every element.
bool within_bounds(const Bf16Problem& p, const Bf16Operands& o, const std::vector<float>& c) {
  const double unit = std::ldexp(1.0, -24), half_ulp = std::ldexp(1.0, -8);
  for (int64_t i = 0; i < p.m; ++i) {
    for (int64_t j = 0; j < p.n; ++j) {
      const Reference r = reference(p, o, i, j);
      const float sum = c[i * p.n + j];
      const double accumulation = static_cast<double>(p.k) * unit * r.magnitude;
      const double rounded = bf16_to_float(float_to_bf16(sum));
      if (std::fabs(sum - r.value) > accumulation ||
          std::fabs(rounded - r.value) > half_ulp * std::fabs(r.value) + accumulation * (1 + half_ulp)) {
        std::printf("  (%lld, %lld) of %lldx%lldx%lld: fp32 %.9g, bf16 %.9g, fp64 %.9g\n", static_cast<long long>(i),
                    static_cast<long long>(j), static_cast<long long>(p.m), static_cast<long long>(p.n),
                    static_cast<long long>(p.k), sum, rounded, r.value);
        return false;
      }
    }
  }
  return true;
}

std::vector<float> product(const Bf16Problem& p, const Bf16Operands& o) {
  std::vector<float> c(static_cast<size_t>(p.m * p.n), std::numeric_limits<float>::quiet_NaN());
  gemm_bf16(p.trans_a, p.trans_b, p.m, p.n, p.k, o.a.data(), o.lda, o.b.data(), o.ldb, c.data(), p.n);
  return c;
}

bool matches_oracle(const Bf16Problem& p, uint64_t seed) {
  const Bf16Operands o = make_operands(p, seed);
  return within_bounds(p, o, product(p, o));
}

// Runs `body` on every path of gemm_bf16 this CPU runs: widening for each FP32 instruction
// set, and the AVX512-BF16 kernel where it exists; then gives the choice back.
template <typename Body>
void on_each_path(const Body& body) {
  for (Bf16Path path : {Bf16Path::kWiden, Bf16Path::kPairs}) {
    set_gemm_bf16_path(path);
    for (GemmIsa isa : {GemmIsa::kScalar, GemmIsa::kAvx2, GemmIsa::kAvx512, GemmIsa::kNeon}) {
      if (!set_gemm_isa(isa)) continue;
      const bool pairs = std::strcmp(gemm_bf16_kernel_name(), "avx512_bf16") == 0;
      if (pairs == (path == Bf16Path::kPairs)) body();  // kPairs elsewhere is a widening path already run
    }
  }
  set_gemm_isa(GemmIsa::kAvx512) || set_gemm_isa(GemmIsa::kAvx2) || set_gemm_isa(GemmIsa::kNeon);
}

// The value pack_pairs should put at dst[index] (the PackPairs formula, gemm_bf16.h).
uint16_t pair_layout_value(const std::vector<uint16_t>& src, int64_t lane_stride, int64_t depth_stride, int64_t n,
                           int64_t depth, int width, int64_t index) {
  const int64_t q = index / (2 * width), l = index % (2 * width) / 2, p = 2 * q + index % 2;
  return l < n && p < depth ? src[static_cast<size_t>(l * lane_stride + p * depth_stride)] : 0;
}

}  // namespace

TEST(rounding_to_bfloat16_is_nearest_even) {
  CHECK(float_to_bf16(1.0f) == 0x3f80);
  CHECK(float_to_bf16(1.0f + 1.0f / 256) == 0x3f80);        // 0x3f808000: tie, even kept
  CHECK(float_to_bf16(1.0f + 3.0f / 256) == 0x3f82);        // 0x3f818000: tie, up to even
  CHECK(float_to_bf16(1.0f + 3.0f / 256 + 1e-6f) == 0x3f82);  // above the tie
  CHECK(float_to_bf16(std::numeric_limits<float>::max()) == 0x7f80);           // overflow to Inf
  CHECK(float_to_bf16(-std::numeric_limits<float>::infinity()) == 0xff80);
  CHECK(float_to_bf16(std::numeric_limits<float>::quiet_NaN()) == 0xffff);
  CHECK(float_to_bf16(1e-40f) == 0x0001);  // subnormal kept: 1e-40 ≈ 0x000116C2 → 0x0001
}

TEST(the_avx512_bf16_kernel_runs_where_the_cpu_has_it) {
  const bool expected = cpu_features().avx512_bf16;
  std::printf("  gemm_bf16 kernel: %s (avx512_bf16 %s)\n", gemm_bf16_kernel_name(), expected ? "yes" : "no");
  CHECK((std::strcmp(gemm_bf16_kernel_name(), "avx512_bf16") == 0) == expected);
  set_gemm_bf16_path(Bf16Path::kWiden);
  CHECK(std::strcmp(gemm_bf16_kernel_name(), gemm_isa_name()) == 0);
  set_gemm_bf16_path(Bf16Path::kPairs);
  if (expected && set_gemm_isa(GemmIsa::kAvx2)) {  // a narrower sgemm keeps AVX-512 out of gemm_bf16 too
    CHECK(std::strcmp(gemm_bf16_kernel_name(), "avx2") == 0);
    set_gemm_isa(GemmIsa::kAvx512);
  }
}

#if defined(__x86_64__) || defined(_M_X64)
TEST(pair_packing_matches_its_layout) {
  if (!cpu_features().avx512_bf16) {
    std::printf("  (no avx512_bf16: pair packing not run on this CPU)\n");
    return;
  }
  const std::vector<uint16_t> src = random_bf16(40 * 60, 21);
  // (lane_stride, depth_stride): depth contiguous, lanes contiguous, neither.
  const int64_t strides[][2] = {{60, 1}, {1, 40}, {60, 2}};
  for (const auto& stride : strides) {
    for (int width : {12, 32}) {
      for (int64_t n : {int64_t{1}, int64_t{width} - 1, int64_t{width}}) {
        for (int64_t depth : {1, 2, 17, 29, 30}) {
          const int64_t size = (depth + 1) / 2 * 2 * width;
          std::vector<uint16_t> dst(static_cast<size_t>(size) + 8, 0xabcd);  // 8 guards past the panel
          gemm::kPackPairsAvx512(src.data(), stride[0], stride[1], n, depth, width, dst.data());
          bool same = true;
          for (int64_t i = 0; i < size; ++i) {
            same = same && dst[static_cast<size_t>(i)] == pair_layout_value(src, stride[0], stride[1], n, depth, width, i);
          }
          for (size_t i = static_cast<size_t>(size); i < dst.size(); ++i) same = same && dst[i] == 0xabcd;
          if (!same) {
            std::printf("  strides (%lld, %lld), width %d, n %lld, depth %lld\n", static_cast<long long>(stride[0]),
                        static_cast<long long>(stride[1]), width, static_cast<long long>(n), static_cast<long long>(depth));
          }
          CHECK(same);
        }
      }
    }
  }
}
#endif

TEST(edge_shapes_and_transposes_within_the_bound) {
  on_each_path([] {
    const int64_t sizes[] = {1, 3, 7, 16, 17, 33};
    for (int64_t m : sizes) {
      for (int64_t n : sizes) {
        for (int t = 0; t < 4; ++t) CHECK(matches_oracle({m, n, 19, (t & 1) != 0, (t & 2) != 0, t}, m * 100 + n));
      }
    }
  });
}

TEST(depths_odd_even_and_one_within_the_bound) {
  on_each_path([] {
    for (int64_t k : {1, 2, 3, 4, 31, 32, 33}) {
      for (int t = 0; t < 4; ++t) {
        CHECK(matches_oracle({13, 35, k, (t & 1) != 0, (t & 2) != 0, 1}, k));
        CHECK(matches_oracle({1, 1, k, (t & 1) != 0, (t & 2) != 0}, k + 50));
      }
    }
  });
}

TEST(block_crossing_sizes_within_the_bound) {
  on_each_path([] {
    CHECK(matches_oracle({400, 70, 600}, 1));              // M > MC, K > KC
    CHECK(matches_oracle({37, 300, 1100, true, true, 3}, 2));
    CHECK(matches_oracle({1, 513, 300, false, true}, 3));  // one row, transposed B
    // Odd depth in the last KC block (KC is at most 1024): 1 and 77 values
    CHECK(matches_oracle({150, 40, 1025, false, false, 5}, 4));
    CHECK(matches_oracle({30, 290, 2125, true, false}, 5));
    CHECK(matches_oracle({170, 530, 90, false, true, 2}, 6));  // N > NC, M > MC
  });
}

TEST(zero_depth_gives_zeros) {
  const Bf16Problem p{3, 4, 0};
  const Bf16Operands o = make_operands(p, 9);
  for (float value : product(p, o)) CHECK(value == 0.0f);
}

TEST(batched_bfloat16_output_is_the_rounded_float_output) {
  MatmulShape s{};
  s.batch = 3, s.m = 20, s.k = 50, s.n = 30, s.a_batch_stride = 20 * 50, s.b_batch_stride = 0;
  s.trans_a = false, s.trans_b = true;
  const std::vector<uint16_t> a = random_bf16(3 * 20 * 50, 5), b = random_bf16(30 * 50, 6);
  std::vector<float> sums(3 * 20 * 30);
  std::vector<uint16_t> rounded(sums.size());
  matmul_bf16(a.data(), b.data(), sums.data(), s);
  matmul_bf16(a.data(), b.data(), rounded.data(), s);
  bool all_rounded = true;
  for (size_t i = 0; i < sums.size(); ++i) all_rounded = all_rounded && rounded[i] == float_to_bf16(sums[i]);
  CHECK(all_rounded);
  const Bf16Operands second{50, 50, std::vector<uint16_t>(a.begin() + 20 * 50, a.begin() + 40 * 50), b};
  CHECK(within_bounds({20, 30, 50, false, true}, second, std::vector<float>(sums.begin() + 600, sums.begin() + 1200)));
}

// Column parts (the first two: few row blocks; m <= n) and one shared nest (a tall product).
TEST(same_result_at_any_thread_count) {
  on_each_path([] {
    for (const Bf16Problem& p : {Bf16Problem{300, 200, 700, false, true}, Bf16Problem{157, 611, 1031, true, false},
                                 Bf16Problem{1200, 100, 300, false, false}}) {
      const Bf16Operands o = make_operands(p, 11);
      std::vector<float> threaded;
      CHECK(kiln::test::same_with_threads<std::vector<float>>([&] { return threaded = product(p, o); }));
      CHECK(within_bounds(p, o, threaded));
    }
  });
}

KILN_TEST_MAIN()
