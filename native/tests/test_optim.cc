// The fused optimizer kernels against naive double-precision loops of the same update rules,
// over several steps, with every option on; and thread-count independence.
#include <cmath>
#include <vector>

#include "check.h"
#include "optim.h"

using namespace kiln;
using kiln::test::Random;

namespace {

constexpr int64_t kN = 100003;  // several pool chunks and an odd tail
constexpr int kSteps = 4;

using Vec = std::vector<double>;

Vec widen(const std::vector<float>& v) { return Vec(v.begin(), v.end()); }

// One parameter, its per-step gradients, in float (for the kernel) and double (for the loop).
struct Problem {
  std::vector<float> param = Random(1).vector(kN);
  std::vector<std::vector<float>> grads;
  Problem() {
    for (int s = 0; s < kSteps; ++s) grads.push_back(Random(10 + s).vector(kN));
  }
};

TEST(sgd_momentum_nesterov_weight_decay) {
  Problem pr;
  std::vector<float> p = pr.param, buf(kN);
  Vec q = widen(pr.param), b(kN);
  for (int s = 0; s < kSteps; ++s) {
    sgd_step(p.data(), pr.grads[s].data(), buf.data(), kN, {0.1, 0.9, 0.2, 0.01, false, s == 0});
    for (int64_t i = 0; i < kN; ++i) {
      double d = pr.grads[s][i] + 0.01 * q[i];
      b[i] = s == 0 ? d : 0.9 * b[i] + 0.8 * d;
      q[i] -= 0.1 * b[i];
    }
  }
  CHECK_ALL_CLOSE(p, q, 1e-5);
  std::vector<float> pn = pr.param, bn(kN);
  Vec qn = widen(pr.param), bq(kN);
  for (int s = 0; s < kSteps; ++s) {
    sgd_step(pn.data(), pr.grads[s].data(), bn.data(), kN, {0.1, 0.9, 0.0, 0.0, true, s == 0});
    for (int64_t i = 0; i < kN; ++i) {
      double d = pr.grads[s][i];
      bq[i] = s == 0 ? d : 0.9 * bq[i] + d;
      qn[i] -= 0.1 * (d + 0.9 * bq[i]);
    }
  }
  CHECK_ALL_CLOSE(pn, qn, 1e-5);
}

TEST(adam_amsgrad_and_adamw) {
  for (bool decoupled : {false, true}) {
    Problem pr;
    std::vector<float> p = pr.param, m(kN), v(kN), vmax(kN);
    Vec q = widen(pr.param), mq(kN), vq(kN), vmaxq(kN);
    for (int s = 1; s <= kSteps; ++s) {
      adam_step(p.data(), pr.grads[s - 1].data(), m.data(), v.data(), vmax.data(), kN,
                {0.01, 0.9, 0.99, 1e-8, 0.1, s, true, decoupled});
      for (int64_t i = 0; i < kN; ++i) {
        double g = pr.grads[s - 1][i] + (decoupled ? 0.0 : 0.1 * q[i]);
        if (decoupled) q[i] *= 1 - 0.01 * 0.1;
        mq[i] = 0.9 * mq[i] + 0.1 * g;
        vq[i] = 0.99 * vq[i] + 0.01 * g * g;
        vmaxq[i] = std::fmax(vmaxq[i], vq[i]);
        q[i] -= 0.01 / (1 - std::pow(0.9, s)) * mq[i] / (std::sqrt(vmaxq[i]) / std::sqrt(1 - std::pow(0.99, s)) + 1e-8);
      }
    }
    CHECK_ALL_CLOSE(p, q, 1e-4);
  }
}

TEST(adagrad_rmsprop_adadelta) {
  Problem pr;
  std::vector<float> pa = pr.param, sum(kN), pr_ = pr.param, sq(kN), ga(kN), buf(kN), pd = pr.param, sqd(kN), acc(kN);
  Vec qa = widen(pr.param), suma(kN), qr = widen(pr.param), sqq(kN), gaq(kN), bufq(kN), qd = widen(pr.param), sqdq(kN), accq(kN);
  for (int s = 1; s <= kSteps; ++s) {
    const std::vector<float>& g = pr.grads[s - 1];
    adagrad_step(pa.data(), g.data(), sum.data(), kN, {0.1, 0.05, 0.1, 1e-10, s});
    rmsprop_step(pr_.data(), g.data(), sq.data(), ga.data(), buf.data(), kN, {0.01, 0.9, 1e-8, 0.1, 0.5, true});
    adadelta_step(pd.data(), g.data(), sqd.data(), acc.data(), kN, {0.5, 0.8, 1e-6, 0.1});
    for (int64_t i = 0; i < kN; ++i) {
      double ga1 = g[i] + 0.1 * qa[i];
      suma[i] += ga1 * ga1;
      qa[i] -= 0.1 / (1 + (s - 1) * 0.05) * ga1 / (std::sqrt(suma[i]) + 1e-10);
      double gr = g[i] + 0.1 * qr[i];
      sqq[i] = 0.9 * sqq[i] + 0.1 * gr * gr;
      gaq[i] = 0.9 * gaq[i] + 0.1 * gr;
      bufq[i] = 0.5 * bufq[i] + gr / (std::sqrt(sqq[i] - gaq[i] * gaq[i]) + 1e-8);
      qr[i] -= 0.01 * bufq[i];
      double gd = g[i] + 0.1 * qd[i];
      sqdq[i] = 0.8 * sqdq[i] + 0.2 * gd * gd;
      double delta = std::sqrt(accq[i] + 1e-6) / std::sqrt(sqdq[i] + 1e-6) * gd;
      accq[i] = 0.8 * accq[i] + 0.2 * delta * delta;
      qd[i] -= 0.5 * delta;
    }
  }
  CHECK_ALL_CLOSE(pa, qa, 1e-4);
  CHECK_ALL_CLOSE(pr_, qr, 1e-3);
  CHECK_ALL_CLOSE(pd, qd, 1e-4);
}

TEST(nadam_adamax) {
  Problem pr;
  std::vector<float> pn = pr.param, m(kN), v(kN), px = pr.param, mx(kN), u(kN);
  Vec qn = widen(pr.param), mq(kN), vq(kN), qx = widen(pr.param), mxq(kN), uq(kN);
  double mu_product = 1;
  for (int s = 1; s <= kSteps; ++s) {
    const std::vector<float>& g = pr.grads[s - 1];
    const double mu = 0.9 * (1 - 0.5 * std::pow(0.96, s * 0.004)), mu_next = 0.9 * (1 - 0.5 * std::pow(0.96, (s + 1) * 0.004));
    mu_product *= mu;
    nadam_step(pn.data(), g.data(), m.data(), v.data(), kN, {0.002, 0.9, 0.999, 1e-8, 0.1, s, mu, mu_next, mu_product});
    adamax_step(px.data(), g.data(), mx.data(), u.data(), kN, {0.002, 0.9, 0.999, 1e-8, 0.1, s});
    for (int64_t i = 0; i < kN; ++i) {
      double gn = g[i] + 0.1 * qn[i];
      mq[i] = 0.9 * mq[i] + 0.1 * gn;
      vq[i] = 0.999 * vq[i] + 0.001 * gn * gn;
      double denom = std::sqrt(vq[i] / (1 - std::pow(0.999, s))) + 1e-8;
      qn[i] -= 0.002 * (1 - mu) / (1 - mu_product) * gn / denom + 0.002 * mu_next / (1 - mu_product * mu_next) * mq[i] / denom;
      double gx = g[i] + 0.1 * qx[i];
      mxq[i] = 0.9 * mxq[i] + 0.1 * gx;
      uq[i] = std::fmax(0.999 * uq[i], std::fabs(gx) + 1e-8);
      qx[i] -= 0.002 / (1 - std::pow(0.9, s)) * mxq[i] / uq[i];
    }
  }
  CHECK_ALL_CLOSE(pn, qn, 1e-4);
  CHECK_ALL_CLOSE(px, qx, 1e-4);
}

TEST(same_result_on_any_thread_count) {
  Problem pr;
  CHECK(kiln::test::same_with_threads<std::vector<float>>([&] {
    std::vector<float> p = pr.param, m(kN), v(kN);
    for (int s = 1; s <= kSteps; ++s) {
      adam_step(p.data(), pr.grads[s - 1].data(), m.data(), v.data(), nullptr, kN, {0.01, 0.9, 0.999, 1e-8, 0, s, false, false});
    }
    return p;
  }));
}

}  // namespace

KILN_TEST_MAIN()
