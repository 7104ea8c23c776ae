// Fused attention vs a naive oracle in double: full score matrix, softmax, product; and the
// gradients from the explicit softmax Jacobian.
#include <cmath>
#include <limits>
#include <vector>

#include "attention.h"
#include "check.h"

using kiln::AttentionMask;
using kiln::AttentionShape;
using kiln::test::Random;

namespace {

struct Case {
  int64_t batch, L, S, E, Ev;
  AttentionMask mask;
};

struct Inputs {
  std::vector<float> q, k, v, dout, float_mask;
  std::vector<uint8_t> bool_mask;
  std::vector<int32_t> offsets;
  AttentionShape shape;
};

// A (L, S) mask shared by every slice (offsets 0), random; the bool one keeps the diagonal
// so no row is fully masked.
Inputs make_inputs(const Case& c, uint64_t seed) {
  Random random(seed);
  Inputs in;
  in.q = random.vector(c.batch * c.L * c.E);
  in.k = random.vector(c.batch * c.S * c.E);
  in.v = random.vector(c.batch * c.S * c.Ev);
  in.dout = random.vector(c.batch * c.L * c.Ev);
  in.float_mask = random.vector(c.L * c.S);
  for (int64_t i = 0; i < c.L; ++i) {
    for (int64_t j = 0; j < c.S; ++j) in.bool_mask.push_back(i == j || random.uniform(0, 1) < 0.6f);
  }
  in.offsets.assign(c.batch, 0);
  in.shape = {c.batch, c.L, c.S, c.E, c.Ev, 1.0f / std::sqrt(float(c.E)), c.mask, in.offsets.data(), c.S, 1,
              in.float_mask.data(), in.bool_mask.data()};
  return in;
}

// Naive: out, dq, dk, dv in double.
void oracle(const Inputs& in, std::vector<double>& out, std::vector<double>& dq, std::vector<double>& dk,
            std::vector<double>& dv) {
  const AttentionShape& s = in.shape;
  out.assign(s.batch * s.L * s.Ev, 0.0);
  dq.assign(s.batch * s.L * s.E, 0.0);
  dk.assign(s.batch * s.S * s.E, 0.0);
  dv.assign(s.batch * s.S * s.Ev, 0.0);
  std::vector<double> p(s.S), dp(s.S);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t i = 0; i < s.L; ++i) {
      double max = -INFINITY;
      for (int64_t j = 0; j < s.S; ++j) {
        double score = 0;
        for (int64_t e = 0; e < s.E; ++e) score += double(in.q[(b * s.L + i) * s.E + e]) * in.k[(b * s.S + j) * s.E + e];
        score *= s.scale;
        if (s.mask_kind == AttentionMask::kFloat) score += in.float_mask[i * s.S + j];
        if (s.mask_kind == AttentionMask::kBool && !in.bool_mask[i * s.S + j]) score = -INFINITY;
        if (s.mask_kind == AttentionMask::kCausal && j > i) score = -INFINITY;
        p[j] = score;
        max = std::fmax(max, score);
      }
      double sum = 0;
      for (int64_t j = 0; j < s.S; ++j) sum += p[j] = std::exp(p[j] - max);
      for (int64_t j = 0; j < s.S; ++j) p[j] /= sum;
      double delta = 0;
      for (int64_t j = 0; j < s.S; ++j) {
        dp[j] = 0;
        for (int64_t c = 0; c < s.Ev; ++c) {
          out[(b * s.L + i) * s.Ev + c] += p[j] * in.v[(b * s.S + j) * s.Ev + c];
          dp[j] += double(in.dout[(b * s.L + i) * s.Ev + c]) * in.v[(b * s.S + j) * s.Ev + c];
          dv[(b * s.S + j) * s.Ev + c] += p[j] * in.dout[(b * s.L + i) * s.Ev + c];
        }
        delta += p[j] * dp[j];
      }
      for (int64_t j = 0; j < s.S; ++j) {
        const double ds = p[j] * (dp[j] - delta) * s.scale;
        for (int64_t e = 0; e < s.E; ++e) {
          dq[(b * s.L + i) * s.E + e] += ds * in.k[(b * s.S + j) * s.E + e];
          dk[(b * s.S + j) * s.E + e] += ds * in.q[(b * s.L + i) * s.E + e];
        }
      }
    }
  }
}

void check_case(const Case& c) {
  std::printf("  case batch %lld L %lld S %lld E %lld Ev %lld mask %d\n", (long long)c.batch, (long long)c.L,
              (long long)c.S, (long long)c.E, (long long)c.Ev, int(c.mask));
  const Inputs in = make_inputs(c, 7 + c.L * 31 + c.S);
  const AttentionShape& s = in.shape;
  std::vector<float> out(s.batch * s.L * s.Ev), lse(s.batch * s.L);
  std::vector<float> dq(in.q.size()), dk(in.k.size()), dv(in.v.size());
  kiln::attention_forward(in.q.data(), in.k.data(), in.v.data(), out.data(), lse.data(), s);
  kiln::attention_backward(in.q.data(), in.k.data(), in.v.data(), out.data(), lse.data(), in.dout.data(), dq.data(),
                           dk.data(), dv.data(), s);
  std::vector<double> out_ref, dq_ref, dk_ref, dv_ref;
  oracle(in, out_ref, dq_ref, dk_ref, dv_ref);
  CHECK_ALL_CLOSE(out, out_ref, 2e-5);
  CHECK_ALL_CLOSE(dq, dq_ref, 1e-4);
  CHECK_ALL_CLOSE(dk, dk_ref, 1e-4);
  CHECK_ALL_CLOSE(dv, dv_ref, 1e-4);
}

}  // namespace

TEST(matches_naive_oracle_over_odd_sizes_and_masks) {
  for (AttentionMask mask : {AttentionMask::kNone, AttentionMask::kFloat, AttentionMask::kBool, AttentionMask::kCausal}) {
    for (const Case& c : {Case{1, 1, 1, 1, 1, mask}, Case{2, 5, 7, 3, 2, mask}, Case{3, 70, 65, 64, 64, mask},
                          Case{1, 33, 129, 80, 17, mask}, Case{2, 130, 40, 16, 8, mask}}) {
      check_case(c);
    }
  }
}

TEST(fully_masked_row_is_nan_others_finite) {
  Case c{1, 3, 4, 2, 2, AttentionMask::kBool};
  Inputs in = make_inputs(c, 1);
  for (int64_t j = 0; j < 4; ++j) {
    in.bool_mask[4 + j] = 0;  // row 1 sees nothing
    in.bool_mask[j] = 1;
    in.bool_mask[8 + j] = 1;
  }
  std::vector<float> out(6), lse(3);
  kiln::attention_forward(in.q.data(), in.k.data(), in.v.data(), out.data(), lse.data(), in.shape);
  CHECK(std::isnan(out[2]) && std::isnan(out[3]));
  CHECK(std::isfinite(out[0]) && std::isfinite(out[5]));
  CHECK(std::isinf(lse[1]) && lse[1] < 0);
}

TEST(threaded_results_equal_single_threaded) {
  const Inputs in = make_inputs(Case{5, 100, 90, 24, 20, AttentionMask::kCausal}, 3);
  const AttentionShape& s = in.shape;
  CHECK(kiln::test::same_with_threads<std::vector<float>>([&] {
    std::vector<float> out(s.batch * s.L * s.Ev), lse(s.batch * s.L), dq(in.q.size()), dk(in.k.size()), dv(in.v.size());
    kiln::attention_forward(in.q.data(), in.k.data(), in.v.data(), out.data(), lse.data(), s);
    kiln::attention_backward(in.q.data(), in.k.data(), in.v.data(), out.data(), lse.data(), in.dout.data(), dq.data(),
                             dk.data(), dv.data(), s);
    out.insert(out.end(), dq.begin(), dq.end());
    out.insert(out.end(), dk.begin(), dk.end());
    out.insert(out.end(), dv.begin(), dv.end());
    return out;
  }));
}

KILN_TEST_MAIN()
