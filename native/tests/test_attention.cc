// Fused attention vs a naive oracle in double: full score matrix, softmax, dropout, product;
// and the gradients from the explicit softmax Jacobian. Also: a packed (N, L, 3E) layout
// against the dense one, and the dropout mask's statistics.
#include <cmath>
#include <limits>
#include <vector>

#include "attention.h"
#include "counter_hash.h"
#include "check.h"

using kiln::AttentionMask;
using kiln::AttentionShape;
using kiln::test::Random;

namespace {

struct Case {
  int64_t batch, L, S, E, Ev;
  AttentionMask mask;
  double dropout = 0.0;
};

bool keeps(uint64_t seed, uint64_t row, int64_t j, uint32_t threshold) {
  return kiln::counter_keeps(kiln::counter_row_key(seed, row), seed, static_cast<uint32_t>(j), threshold);
}

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
              in.float_mask.data(), in.bool_mask.data(), 1, {}, {}, {}, {}, 0, 0};
  kiln::set_dense_layouts(in.shape);
  in.shape.dropout_threshold = kiln::counter_threshold(c.dropout);
  in.shape.dropout_seed = 0x9e3779b97f4a7c15ULL + seed;
  return in;
}

// The dropout factor of weight (b, i, j): 1/(1 − p) when kept, else 0; 1 without dropout.
double dropout_factor(const AttentionShape& s, int64_t b, int64_t i, int64_t j) {
  if (s.dropout_threshold == 0) return 1.0;
  const double p = s.dropout_threshold / 16777216.0;
  return keeps(s.dropout_seed, b * s.L + i, j, s.dropout_threshold) ? 1.0 / (1.0 - p) : 0.0;
}

// Naive: out, dq, dk, dv in double.
void oracle(const Inputs& in, std::vector<double>& out, std::vector<double>& dq, std::vector<double>& dk,
            std::vector<double>& dv) {
  const AttentionShape& s = in.shape;
  out.assign(s.batch * s.L * s.Ev, 0.0);
  dq.assign(s.batch * s.L * s.E, 0.0);
  dk.assign(s.batch * s.S * s.E, 0.0);
  dv.assign(s.batch * s.S * s.Ev, 0.0);
  std::vector<double> p(s.S), dp(s.S), z(s.S);
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
      for (int64_t j = 0; j < s.S; ++j) z[j] = p[j] * dropout_factor(s, b, i, j);  // the weights after dropout
      double delta = 0;
      for (int64_t j = 0; j < s.S; ++j) {
        dp[j] = 0;  // d loss / d z_j
        for (int64_t c = 0; c < s.Ev; ++c) {
          out[(b * s.L + i) * s.Ev + c] += z[j] * in.v[(b * s.S + j) * s.Ev + c];
          dp[j] += double(in.dout[(b * s.L + i) * s.Ev + c]) * in.v[(b * s.S + j) * s.Ev + c];
          dv[(b * s.S + j) * s.Ev + c] += z[j] * in.dout[(b * s.L + i) * s.Ev + c];
        }
        delta += z[j] * dp[j];
      }
      for (int64_t j = 0; j < s.S; ++j) {
        const double ds = p[j] * (dp[j] * dropout_factor(s, b, i, j) - delta) * s.scale;
        for (int64_t e = 0; e < s.E; ++e) {
          dq[(b * s.L + i) * s.E + e] += ds * in.k[(b * s.S + j) * s.E + e];
          dk[(b * s.S + j) * s.E + e] += ds * in.q[(b * s.L + i) * s.E + e];
        }
      }
    }
  }
}

void check_case(const Case& c) {
  std::printf("  case batch %lld L %lld S %lld E %lld Ev %lld mask %d dropout %g\n", (long long)c.batch,
              (long long)c.L, (long long)c.S, (long long)c.E, (long long)c.Ev, int(c.mask), c.dropout);
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

TEST(dropout_matches_oracle_with_the_same_mask) {
  for (AttentionMask mask : {AttentionMask::kNone, AttentionMask::kCausal, AttentionMask::kFloat}) {
    for (const Case& c : {Case{2, 5, 7, 3, 2, mask, 0.3}, Case{3, 70, 65, 32, 16, mask, 0.1}, Case{1, 130, 129, 8, 8, mask, 0.5}}) {
      check_case(c);
    }
  }
}

// Self-attention over a packed (N, L, 3·E) projection with `heads` heads of size d, read and
// written in place (out (N, L, E), dqkv (N, L, 3·E)), equals the dense kernel on copies.
TEST(packed_layout_equals_dense_copies) {
  const int64_t N = 3, L = 37, heads = 4, d = 8, E = heads * d;
  Random random(5);
  const std::vector<float> qkv = random.vector(N * L * 3 * E), dout = random.vector(N * L * E);
  AttentionShape packed{N * heads, L, L, d, d, 0.35f, AttentionMask::kCausal, nullptr, 0, 0, nullptr, nullptr, 1, {}, {}, {}, {}, 0, 0};
  packed.heads = heads;
  packed.q_layout = packed.k_layout = packed.v_layout = {L * 3 * E, d, 3 * E};
  packed.out_layout = {L * E, d, E};
  packed.dropout_threshold = kiln::counter_threshold(0.2);
  packed.dropout_seed = 99;
  std::vector<float> out(N * L * E), lse(N * heads * L), dqkv(qkv.size(), NAN);
  kiln::attention_forward(qkv.data(), qkv.data() + E, qkv.data() + 2 * E, out.data(), lse.data(), packed);
  kiln::attention_backward(qkv.data(), qkv.data() + E, qkv.data() + 2 * E, out.data(), lse.data(), dout.data(),
                           dqkv.data(), dqkv.data() + E, dqkv.data() + 2 * E, packed);
  // Dense copies: slice b = (n, h), part t (q, k, v) row i = qkv[n, i, t·E + h·d : + d].
  AttentionShape dense = packed;
  kiln::set_dense_layouts(dense);
  auto gather = [&](const std::vector<float>& x, int64_t row_stride, int64_t column) {
    std::vector<float> slices(N * heads * L * d);
    for (int64_t b = 0; b < N * heads; ++b) {
      for (int64_t i = 0; i < L; ++i) {
        for (int64_t c = 0; c < d; ++c) {
          slices[(b * L + i) * d + c] = x[(b / heads) * L * row_stride + i * row_stride + column + (b % heads) * d + c];
        }
      }
    }
    return slices;
  };
  const std::vector<float> q = gather(qkv, 3 * E, 0), k = gather(qkv, 3 * E, E), v = gather(qkv, 3 * E, 2 * E);
  const std::vector<float> dout_dense = gather(dout, E, 0);
  std::vector<float> out_dense(q.size()), lse_dense(lse.size()), dq(q.size()), dk(q.size()), dv(q.size());
  kiln::attention_forward(q.data(), k.data(), v.data(), out_dense.data(), lse_dense.data(), dense);
  kiln::attention_backward(q.data(), k.data(), v.data(), out_dense.data(), lse_dense.data(), dout_dense.data(),
                           dq.data(), dk.data(), dv.data(), dense);
  CHECK_ALL_CLOSE(gather(out, E, 0), out_dense, 1e-6);
  CHECK_ALL_CLOSE(lse, lse_dense, 1e-6);
  CHECK_ALL_CLOSE(gather(dqkv, 3 * E, 0), dq, 1e-6);
  CHECK_ALL_CLOSE(gather(dqkv, 3 * E, E), dk, 1e-6);
  CHECK_ALL_CLOSE(gather(dqkv, 3 * E, 2 * E), dv, 1e-6);
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
