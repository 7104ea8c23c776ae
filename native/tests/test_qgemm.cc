// The int8 dynamic-quantized Linear (kernels/qgemm) against a naive oracle: x quantized by the
// documented rule, exact integer dot products over the unpacked weights, the epilogue in
// double. On every micro-kernel family this CPU runs (scalar, AVX2, AVX512-VNNI, each forced
// in turn), bit-identical between families and between 1 and 3 threads; odd shapes (m = 1, n
// and k not multiples of 16 / 64 / 4 / 16, k = 0), saturation-edge values (x_q 0 and 127 against w ±127 and −128 over a
// long k), the activation's quantization parameters, packing, and the NaN error.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "check.h"
#include "cpu.h"
#include "qgemm/qgemm.h"

using namespace kiln;
using kiln::test::Random;

namespace {

struct Problem {
  int64_t m, n, k;
};

struct Operands {
  std::vector<float> x;
  std::vector<int8_t> w;  // (n, k)
  std::vector<float> weight_scales, bias;
};

Operands random_operands(const Problem& p, uint64_t seed) {
  Random random(seed);
  Operands o;
  o.x = random.vector(p.m * p.k, -3.0f, 5.0f);
  for (int64_t i = 0; i < p.n * p.k; ++i) o.w.push_back(static_cast<int8_t>(std::lround(random.uniform(-128.f, 127.f))));
  o.weight_scales = random.vector(p.n, 0.001f, 0.02f);
  o.bias = random.vector(p.n);
  return o;
}

// The kernel's result on the active micro-kernel family (with or without bias).
std::vector<float> run(const Problem& p, const Operands& o, bool with_bias) {
  std::vector<int8_t> packed(static_cast<size_t>(qgemm_packed_weight_bytes(p.n, p.k)));
  std::vector<int32_t> column_sums(static_cast<size_t>(p.n));
  qgemm_pack_weights(o.w.data(), p.n, p.k, packed.data(), column_sums.data());
  std::vector<float> out(static_cast<size_t>(p.m * p.n), NAN);
  const std::string error = qlinear_dynamic(o.x.data(), p.m, p.k, packed.data(), p.n, column_sums.data(),
                                            o.weight_scales.data(), with_bias ? o.bias.data() : nullptr, out.data());
  CHECK(error.empty());
  return out;
}

// The oracle: quantize x, then Σ (x_q − zp) · w in int64, scaled and biased in double.
std::vector<double> oracle(const Problem& p, const Operands& o, bool with_bias) {
  float min = 0.0f, max = 0.0f;
  for (float v : o.x) {
    min = std::fmin(min, v);
    max = std::fmax(max, v);
  }
  const ActivationQuantization q = choose_activation_quantization(min, max);
  const float inverse_scale = 1.0f / q.scale;
  std::vector<double> out(static_cast<size_t>(p.m * p.n));
  for (int64_t i = 0; i < p.m; ++i) {
    for (int64_t j = 0; j < p.n; ++j) {
      int64_t acc = 0;
      for (int64_t t = 0; t < p.k; ++t) {
        const double rounded = std::nearbyint(std::fmaf(o.x[i * p.k + t], inverse_scale, float(q.zero_point)));
        const int64_t x_q = static_cast<int64_t>(std::fmin(127.0, std::fmax(0.0, rounded)));
        acc += (x_q - q.zero_point) * o.w[j * p.k + t];
      }
      const float scale = q.scale * o.weight_scales[j];
      out[i * p.n + j] = double(acc) * scale + (with_bias ? o.bias[j] : 0.0);
    }
  }
  return out;
}

// The families this CPU runs.
std::vector<QgemmIsa> families() {
  std::vector<QgemmIsa> found;
  for (QgemmIsa isa : {QgemmIsa::kScalar, QgemmIsa::kAvx2, QgemmIsa::kAvx512Vnni}) {
    if (set_qgemm_isa(isa)) found.push_back(isa);
  }
  return found;
}

// Checks one problem on every family against the oracle, and the families against each other.
void check_problem(const Problem& p, const Operands& o, bool with_bias) {
  const std::vector<double> expected = oracle(p, o, with_bias);
  const Operands other = random_operands(p, 1000 + static_cast<uint64_t>(p.m * p.n * p.k));
  std::vector<float> first;
  for (QgemmIsa isa : families()) {
    // A scalar call on other values first: the per-thread scratch then holds other packed
    // activations, so a kernel that leaves bytes of its panels unwritten cannot pass on the
    // previous family's.
    set_qgemm_isa(QgemmIsa::kScalar);
    run(p, other, with_bias);
    set_qgemm_isa(isa);
    const std::vector<float> out = run(p, o, with_bias);
    CHECK_ALL_CLOSE(out, expected, 1e-5);
    if (first.empty()) first = out;
    CHECK_ALL_CLOSE(out, first, 0.0);
  }
  if (!families().empty()) set_qgemm_isa(families().back());
}

// Each family runs where the CPU has its instructions, so none is skipped unnoticed.
TEST(families_follow_the_cpu) {
  const CpuFeatures& cpu = cpu_features();
  CHECK(set_qgemm_isa(QgemmIsa::kScalar));
  CHECK(set_qgemm_isa(QgemmIsa::kAvx2) == cpu.avx2_fma);
  CHECK(set_qgemm_isa(QgemmIsa::kAvx512Vnni) == cpu.avx512_vnni);
  for (QgemmIsa isa : families()) {
    set_qgemm_isa(isa);
    std::printf("  family %s\n", qgemm_isa_name());
  }
}

// n spans 1 to 4 weight panels of a 64-column tile and a partial last tile (17, 80, 100, 130);
// k below, at and past a 16-k quantization step (7, 16, 20, 33).
TEST(odd_shapes_against_the_oracle) {
  const Problem problems[] = {{1, 1, 1},    {1, 10, 784}, {3, 5, 7},    {4, 16, 4},    {5, 17, 33},
                              {7, 31, 65},  {13, 3, 100}, {9, 48, 127}, {2, 15, 31},   {33, 40, 129},
                              {4, 64, 16},  {6, 80, 20},  {3, 100, 17}, {1, 130, 1000}, {10, 130, 48}};
  uint64_t seed = 1;
  for (const Problem& p : problems) {
    std::printf("  m=%lld n=%lld k=%lld\n", (long long)p.m, (long long)p.n, (long long)p.k);
    check_problem(p, random_operands(p, seed++), true);
    check_problem(p, random_operands(p, seed++), false);
  }
}

TEST(zero_depth_gives_the_bias) {
  const Problem p = {3, 18, 0};
  const Operands o = random_operands(p, 7);
  for (QgemmIsa isa : families()) {
    set_qgemm_isa(isa);
    const std::vector<float> out = run(p, o, true);
    for (int64_t i = 0; i < p.m * p.n; ++i) CHECK(out[i] == o.bias[i % p.n]);
  }
}

// x in [0, 1] with exact 0 and 1 entries: x_q takes 0 and 127 (zero point 0); weights at
// −128, −127 and 127 over k = 4099: the largest pair sums vpmaddubsw sees, and a long s32 sum.
TEST(saturation_edges) {
  const Problem p = {6, 20, 4099};
  Operands o = random_operands(p, 11);
  for (int64_t i = 0; i < p.m * p.k; ++i) o.x[i] = (i % 3 == 0) ? 1.0f : (i % 3 == 1 ? 0.0f : o.x[i] * 0.1f + 0.5f);
  const int8_t edges[] = {-128, 127, -127};
  for (int64_t i = 0; i < p.n * p.k; ++i) o.w[i] = edges[(i / 5) % 3];
  for (int64_t t = 0; t < p.k; ++t) o.w[t] = -128;  // column 0: all −128 against x_q = 127 / 0
  check_problem(p, o, true);
  // All x at the maximum: every x_q = 127, column 0 sums 127 · −128 · k exactly.
  std::fill(o.x.begin(), o.x.end(), 2.5f);
  set_qgemm_isa(QgemmIsa::kScalar);
  const std::vector<float> out = run(p, o, false);
  const ActivationQuantization q = choose_activation_quantization(0.0f, 2.5f);
  CHECK(q.zero_point == 0);
  CHECK_CLOSE(out[0], -128.0 * 127 * p.k * double(q.scale * o.weight_scales[0]), 1e-6);
  check_problem(p, o, false);
}

TEST(threads_do_not_change_the_result) {
  const Problem p = {64, 512, 784};
  const Operands o = random_operands(p, 21);
  for (QgemmIsa isa : families()) {
    set_qgemm_isa(isa);
    CHECK(kiln::test::same_with_threads<std::vector<float>>([&] { return run(p, o, true); }));
  }
  check_problem({64, 100, 300}, random_operands({64, 100, 300}, 22), true);
}

// PyTorch's ChooseQuantizationParams (qmin 0, qmax 255, reduce_range) on known ranges.
TEST(activation_quantization_parameters) {
  ActivationQuantization q = choose_activation_quantization(-1.0f, 1.0f);
  CHECK_CLOSE(q.scale, 2.0 / 127, 1e-7);
  CHECK(q.zero_point == 64);  // 63.5 rounds half to even
  q = choose_activation_quantization(0.5f, 3.0f);  // the range is widened to hold 0
  CHECK_CLOSE(q.scale, 3.0 / 127, 1e-7);
  CHECK(q.zero_point == 0);
  q = choose_activation_quantization(-4.0f, -1.0f);
  CHECK_CLOSE(q.scale, 4.0 / 127, 1e-7);
  CHECK(q.zero_point == 127);
  q = choose_activation_quantization(0.0f, 0.0f);  // all zeros: scale 0.1
  CHECK_CLOSE(q.scale, 0.1, 1e-7);
  CHECK(q.zero_point == 0);
  q = choose_activation_quantization(0.0f, 1e-6f);  // tiny range: widened to the smallest scale
  CHECK_CLOSE(q.scale, 6.1e-5, 1e-6);
  CHECK(q.zero_point == 0);
}

TEST(packing_layout_and_column_sums) {
  const int64_t n = 17, k = 6;
  std::vector<int8_t> w(n * k);
  for (int64_t i = 0; i < n * k; ++i) w[i] = static_cast<int8_t>(i % 251 - 125);
  std::vector<int8_t> packed(static_cast<size_t>(qgemm_packed_weight_bytes(n, k)), 99);
  CHECK(packed.size() == 32 * 8);  // 2 panels of 16 columns × 2 groups of 4
  std::vector<int32_t> sums(n);
  qgemm_pack_weights(w.data(), n, k, packed.data(), sums.data());
  CHECK(packed[((0 * 2 + 1) * 16 + 3) * 4 + 1] == w[3 * k + 5]);
  CHECK(packed[((1 * 2 + 0) * 16 + 0) * 4 + 2] == w[16 * k + 2]);
  CHECK(packed[((0 * 2 + 1) * 16 + 3) * 4 + 2] == 0);  // past k
  CHECK(packed[((1 * 2 + 0) * 16 + 1) * 4 + 0] == 0);  // past n
  int32_t expected = 0;
  for (int64_t t = 0; t < k; ++t) expected += w[16 * k + t];
  CHECK(sums[16] == expected);
}

TEST(non_finite_input_is_an_error) {
  const Problem p = {2, 3, 9};
  for (float bad : {NAN, INFINITY, -INFINITY}) {
    for (int64_t where : {int64_t{0}, int64_t{8}, int64_t{17}}) {
      Operands o = random_operands(p, 5);
      o.x[where] = bad;
      std::vector<int8_t> packed(static_cast<size_t>(qgemm_packed_weight_bytes(p.n, p.k)));
      std::vector<int32_t> sums(p.n);
      qgemm_pack_weights(o.w.data(), p.n, p.k, packed.data(), sums.data());
      std::vector<float> out(p.m * p.n);
      for (QgemmIsa isa : families()) {
        set_qgemm_isa(isa);
        const std::string error = qlinear_dynamic(o.x.data(), p.m, p.k, packed.data(), p.n, sums.data(),
                                                  o.weight_scales.data(), nullptr, out.data());
        CHECK(error.find("NaN or infinity") != std::string::npos);
      }
    }
  }
}

}  // namespace

KILN_TEST_MAIN()
