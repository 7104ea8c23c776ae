// rnn_forward / rnn_backward against naive double-precision loops: the forward against the
// equations written out per element, the backward against central differences of that naive
// forward (for every input, state and weight element); lstm_cells_forward (the
// dynamic-quantized LSTM's step) against the cell equations in double.
#include <array>
#include <cmath>
#include <functional>
#include <vector>

#include "check.h"
#include "rnn.h"

using namespace kiln;
using kiln::test::Random;

namespace {

using Vec = std::vector<double>;

// Every input of one layer-direction call, in double.
struct Problem {
  RnnShape s;
  Vec x, h0, c0, w_ih, w_hh, b_ih, b_hh;
};

Problem make_problem(RnnMode mode, bool reverse, int64_t T, int64_t B, int64_t I, int64_t H, uint64_t seed) {
  Random random(seed);
  const int64_t GH = rnn_gate_count(mode) * H;
  auto vec = [&](int64_t n, float scale) {
    const std::vector<float> v = random.vector(n, -scale, scale);
    return Vec(v.begin(), v.end());
  };
  return {{mode, reverse, T, B, I, H}, vec(T * B * I, 1.0f), vec(B * H, 0.5f), vec(B * H, 0.5f),
          vec(GH * I, 0.6f),           vec(GH * H, 0.6f),    vec(GH, 0.3f),     vec(GH, 0.3f)};
}

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// One naive step: pre-activations of gate block k, unit j, row b from the weights.
double affine(const Vec& w, const Vec& bias, const double* v, int64_t n, int64_t row) {
  double sum = bias[row];
  for (int64_t l = 0; l < n; ++l) sum += w[row * n + l] * v[l];
  return sum;
}

// The naive forward: y (T, B, H), then h_n and c_n appended.
Vec naive_forward(const Problem& p) {
  const auto& s = p.s;
  const int64_t T = s.steps, B = s.batch, I = s.input, H = s.hidden;
  Vec y(T * B * H), h(p.h0), c(p.c0);
  for (int64_t step = 0; step < T; ++step) {
    const int64_t t = s.reverse ? T - 1 - step : step;
    Vec h_new(B * H), c_new(c);
    for (int64_t b = 0; b < B; ++b) {
      const double* xt = p.x.data() + (t * B + b) * I;  // not &x[...]: x is empty when I = 0
      const double* hb = &h[b * H];
      for (int64_t j = 0; j < H; ++j) {
        auto in = [&](int64_t k) { return affine(p.w_ih, p.b_ih, xt, I, k * H + j); };
        auto hid = [&](int64_t k) { return affine(p.w_hh, p.b_hh, hb, H, k * H + j); };
        double out;
        if (s.mode == RnnMode::kLstm) {
          const double i = sigmoid(in(0) + hid(0)), f = sigmoid(in(1) + hid(1));
          const double g = std::tanh(in(2) + hid(2)), o = sigmoid(in(3) + hid(3));
          c_new[b * H + j] = f * c[b * H + j] + i * g;
          out = o * std::tanh(c_new[b * H + j]);
        } else if (s.mode == RnnMode::kGru) {
          const double r = sigmoid(in(0) + hid(0)), z = sigmoid(in(1) + hid(1));
          const double n = std::tanh(in(2) + r * hid(2));
          out = (1 - z) * n + z * hb[j];
        } else {
          const double pre = in(0) + hid(0);
          out = s.mode == RnnMode::kRelu ? std::fmax(pre, 0.0) : std::tanh(pre);
        }
        h_new[b * H + j] = out;
        y[(t * B + b) * H + j] = out;
      }
    }
    h = h_new;
    c = c_new;
  }
  y.insert(y.end(), h.begin(), h.end());
  if (s.mode == RnnMode::kLstm) y.insert(y.end(), c.begin(), c.end());
  return y;
}

std::vector<float> to_float(const Vec& v) { return std::vector<float>(v.begin(), v.end()); }

// The kernel's forward: y, then h_n and c_n, as naive_forward lays them out; also the workspace.
Vec kernel_forward(const Problem& p, std::vector<float>& workspace) {
  const auto& s = p.s;
  const int64_t BH = s.batch * s.hidden;
  std::vector<float> x = to_float(p.x), h0 = to_float(p.h0), c0 = to_float(p.c0);
  std::vector<float> w_ih = to_float(p.w_ih), w_hh = to_float(p.w_hh), b_ih = to_float(p.b_ih), b_hh = to_float(p.b_hh);
  std::vector<float> y(s.steps * BH), h_n(BH), c_n(BH);
  workspace.assign(rnn_workspace_size(s), 0.0f);
  rnn_forward(s, {w_ih.data(), w_hh.data(), b_ih.data(), b_hh.data()}, x.data(), h0.data(), c0.data(), y.data(),
              h_n.data(), c_n.data(), workspace.data());
  Vec out(y.begin(), y.end());
  out.insert(out.end(), h_n.begin(), h_n.end());
  if (s.mode == RnnMode::kLstm) out.insert(out.end(), c_n.begin(), c_n.end());
  return out;
}

// The kernel's gradients for the output gradient `proj` (y, then h_n and c_n, as laid out by
// naive_forward).
struct Grads {
  std::vector<float> x, h0, c0, w_ih, w_hh, b_ih, b_hh;
  Vec all() const {
    Vec v;
    for (const auto* part : {&x, &h0, &c0, &w_ih, &w_hh, &b_ih, &b_hh}) v.insert(v.end(), part->begin(), part->end());
    return v;
  }
};

Grads kernel_backward(const Problem& p, const std::vector<float>& proj) {
  const auto& s = p.s;
  const int64_t BH = s.batch * s.hidden;
  std::vector<float> workspace;
  const Vec forward = kernel_forward(p, workspace);
  std::vector<float> y(forward.begin(), forward.begin() + s.steps * BH);
  std::vector<float> x = to_float(p.x), h0 = to_float(p.h0), c0 = to_float(p.c0);
  std::vector<float> w_ih = to_float(p.w_ih), w_hh = to_float(p.w_hh), b_ih = to_float(p.b_ih), b_hh = to_float(p.b_hh);
  Grads g{std::vector<float>(x.size()),    std::vector<float>(BH),          std::vector<float>(BH),
          std::vector<float>(w_ih.size()), std::vector<float>(w_hh.size()), std::vector<float>(b_ih.size()),
          std::vector<float>(b_hh.size())};
  const float* gy = proj.data();
  rnn_backward(s, {w_ih.data(), w_hh.data(), b_ih.data(), b_hh.data()}, x.data(), h0.data(), c0.data(), y.data(),
               workspace.data(), gy, gy + s.steps * BH, gy + s.steps * BH + BH, g.x.data(), g.h0.data(), g.c0.data(),
               {g.w_ih.data(), g.w_hh.data(), g.b_ih.data(), g.b_hh.data()});
  return g;
}

// A projection vector for the outputs of p (y, h_n, c_n).
std::vector<float> projection(const Problem& p) {
  Random random(99);
  const int64_t BH = p.s.batch * p.s.hidden;
  return random.vector(p.s.steps * BH + 2 * BH, -1.0f, 1.0f);
}

// Checks the gradients of rnn_backward against central differences of Σ proj · naive_forward:
// at every element, or, for large problems, at `samples` elements of each array drawn at random.
void check_backward(Problem p, int64_t samples = 0) {
  const auto& s = p.s;
  const std::vector<float> proj = projection(p);
  const Grads g = kernel_backward(p, proj);
  auto objective = [&]() {
    const Vec out = naive_forward(p);
    double sum = 0;
    for (size_t i = 0; i < out.size(); ++i) sum += out[i] * proj[i];
    return sum;
  };
  Random random(17);
  auto check = [&](const std::vector<float>& kernel, Vec& v) {
    std::vector<float> got;
    Vec numeric;
    const int64_t count = samples == 0 ? static_cast<int64_t>(v.size()) : samples;
    for (int64_t k = 0; k < count && !v.empty(); ++k) {
      const size_t i = samples == 0 ? k : static_cast<size_t>(random.uniform(0.0f, 1.0f) * v.size()) % v.size();
      const double saved = v[i], eps = 1e-6;
      v[i] = saved + eps;
      const double plus = objective();
      v[i] = saved - eps;
      const double minus = objective();
      v[i] = saved;
      got.push_back(kernel[i]);
      numeric.push_back((plus - minus) / (2 * eps));
    }
    CHECK_ALL_CLOSE(got, numeric, 2e-4);
  };
  check(g.x, p.x);
  check(g.h0, p.h0);
  if (s.mode == RnnMode::kLstm) check(g.c0, p.c0);
  check(g.w_ih, p.w_ih);
  check(g.w_hh, p.w_hh);
  check(g.b_ih, p.b_ih);
  check(g.b_hh, p.b_hh);
}

const RnnMode kModes[] = {RnnMode::kTanh, RnnMode::kRelu, RnnMode::kLstm, RnnMode::kGru};

}  // namespace

TEST(forward_matches_naive_loops) {
  for (RnnMode mode : kModes) {
    for (bool reverse : {false, true}) {
      const std::vector<std::array<int64_t, 4>> sizes{{1, 1, 1, 1}, {4, 3, 5, 6}, {3, 2, 0, 4}, {7, 5, 9, 33}};
      for (auto [T, B, I, H] : sizes) {
        const Problem p = make_problem(mode, reverse, T, B, I, H, 7 * T + H);
        std::vector<float> workspace;
        CHECK_ALL_CLOSE(kernel_forward(p, workspace), naive_forward(p), 1e-5);
      }
    }
  }
}

TEST(backward_matches_finite_differences) {
  for (RnnMode mode : kModes) {
    for (bool reverse : {false, true}) {
      check_backward(make_problem(mode, reverse, 4, 2, 3, 5, 11));
      check_backward(make_problem(mode, reverse, 1, 3, 2, 4, 12));
    }
  }
}

TEST(threaded_steps_match_naive_loops) {
  // Steps large enough to be split into parts for threads (B·G·H·H ≥ 2^20), with a ragged
  // last gate block: gates stored part-major, products from packed weight slices, the
  // backward's shares summed by the next step, bias gradients per part. Weights scaled by
  // 1/√H so the gates do not saturate. The backward is checked at sampled elements.
  const int64_t B = 16;
  for (RnnMode mode : kModes) {
    const int64_t H = rnn_gate_count(mode) == 1 ? 260 : 170;
    for (bool reverse : {false, true}) {
      Problem p = make_problem(mode, reverse, 3, B, 4, H, 21);
      for (double& v : p.w_hh) v /= std::sqrt(double(H));
      std::vector<float> workspace;
      CHECK_ALL_CLOSE(kernel_forward(p, workspace), naive_forward(p), 1e-5);
      check_backward(p, 12);
    }
  }
}

TEST(large_problems_are_thread_count_invariant) {
  // Gate blocks split across threads: every element is computed the same way whatever the
  // split. Both the GEMM path (B = 64) and the streaming path (B = 1) of the recurrence.
  for (RnnMode mode : kModes) {
    for (int64_t B : {64, 1}) {
      const Problem p = make_problem(mode, B == 1, 3, B, 16, B == 1 ? 1100 : 150, 5);
      CHECK(kiln::test::same_with_threads<Vec>([&] {
        std::vector<float> workspace;
        return kernel_forward(p, workspace);
      }));
      CHECK(kiln::test::same_with_threads<Vec>([&] { return kernel_backward(p, projection(p)).all(); }));
    }
  }
}

TEST(one_thread_per_part_matches_one_thread) {
  // Two threads for two parts: each part's projection and weight-gradient GEMMs then run
  // whole on their own thread (with three threads, above, they run one after another).
  const int saved = get_num_threads();
  for (RnnMode mode : kModes) {
    const Problem p = make_problem(mode, false, 3, 64, 16, 150, 8);
    auto both = [&](int threads) {
      set_num_threads(threads);
      std::vector<float> workspace;
      Vec all = kernel_forward(p, workspace);
      const Vec grads = kernel_backward(p, projection(p)).all();
      all.insert(all.end(), grads.begin(), grads.end());
      return all;
    };
    const Vec serial = both(1);
    CHECK_ALL_CLOSE(both(2), serial, 0.0);
  }
  set_num_threads(saved);
}

TEST(runs_alone_when_the_pool_is_busy) {
  // Two layers at once inside a parallel loop: the pool is taken, so each recurrence runs on
  // its own thread alone (no helper joins its stages) and still gives the same results.
  const Problem p = make_problem(RnnMode::kLstm, false, 4, 64, 8, 150, 6);
  std::vector<float> workspace;
  const Vec expected = kernel_forward(p, workspace);
  const int saved = get_num_threads();
  set_num_threads(2);
  std::vector<Vec> results(2);
  parallel_for(0, 2, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      std::vector<float> own_workspace;
      results[i] = kernel_forward(p, own_workspace);
    }
  });
  set_num_threads(saved);
  for (const Vec& result : results) CHECK_ALL_CLOSE(result, expected, 0.0);
}

TEST(fast_nonlinearities_saturate_without_nan) {
  // Huge pre-activations: the gates saturate to 0 / 1 / ±1, never NaN or Inf.
  Problem p = make_problem(RnnMode::kLstm, false, 2, 2, 3, 4, 3);
  for (double& v : p.x) v *= 1e4;
  std::vector<float> workspace;
  const Vec out = kernel_forward(p, workspace);
  CHECK_ALL_CLOSE(out, naive_forward(p), 1e-5);
}

TEST(lstm_cells_forward_matches_the_cell_equations) {
  // B = 3 rows, H = 37 units (not a multiple of the vector width); pre-activations up to ±12
  // reach the saturated ends of σ and tanh.
  const int64_t B = 3, H = 37, G = 4 * H;
  Random random(11);
  const std::vector<float> recurrent = random.vector(B * G, -6.0f, 6.0f);
  const std::vector<float> input_gates = random.vector(B * G, -6.0f, 6.0f);
  const std::vector<float> c_prev = random.vector(B * H, -2.0f, 2.0f);
  std::vector<float> gates = recurrent, c(B * H), h(B * H);
  lstm_cells_forward(B, H, gates.data(), input_gates.data(), c_prev.data(), c.data(), h.data());
  Vec want_c(B * H), want_h(B * H);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t j = 0; j < H; ++j) {
      auto z = [&](int64_t k) { return double(recurrent[b * G + k * H + j]) + double(input_gates[b * G + k * H + j]); };
      const double cell = sigmoid(z(1)) * c_prev[b * H + j] + sigmoid(z(0)) * std::tanh(z(2));
      want_c[b * H + j] = cell;
      want_h[b * H + j] = sigmoid(z(3)) * std::tanh(cell);
    }
  }
  CHECK_ALL_CLOSE(Vec(c.begin(), c.end()), want_c, 1e-6);
  CHECK_ALL_CLOSE(Vec(h.begin(), h.end()), want_h, 1e-6);
}

KILN_TEST_MAIN()
