// kiln's sgemm against OpenBLAS's cblas_sgemm on one shape, timed alternately in one process
// (a measuring tool for the GEMM kernels, never part of the addon): on a shared machine, the
// ratio of two figures taken seconds apart means more than either figure.
//
// Build (from the repository root):
//   g++ -std=c++17 -O3 -Wno-psabi -Inative/kernels -o /tmp/gemm_vs_openblas
//     bench/anchors/gemm_vs_openblas.cc native/kernels/parallel.cc native/kernels/gemm/*.cc
//     /usr/lib/x86_64-linux-gnu/libopenblas.so.0 -lpthread   (one command line)
// Run: taskset -c 0 /tmp/gemm_vs_openblas M K N [N|A|B|AB] [THREADS] [ROUNDS]
//   (A: A stored (k, m), B: B stored (n, k)). Time is the process's CPU time, which leaves
//   out the time other processes hold the core (only meaningful at 1 thread); WALL=1 times the
//   wall clock instead. ONLY=k or ONLY=b runs one side (for perf record).
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "gemm/gemm.h"
#include "parallel.h"

extern "C" {
void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc);
void openblas_set_num_threads(int threads);
}

namespace {

constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

double seconds_now() {
  timespec now;
  clock_gettime(std::getenv("WALL") != nullptr ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &now);
  return now.tv_sec + 1e-9 * now.tv_nsec;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// GF/s of `calls` runs of `product` (flops each).
template <typename Product>
double gflops(const Product& product, int calls, double flops) {
  const double start = seconds_now();
  for (int i = 0; i < calls; ++i) product();
  return flops * calls / (seconds_now() - start) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s M K N [N|A|B|AB] [THREADS] [ROUNDS]\n", argv[0]);
    return 2;
  }
  const int m = std::atoi(argv[1]), k = std::atoi(argv[2]), n = std::atoi(argv[3]);
  const char* layout = argc > 4 ? argv[4] : "N";
  const bool trans_a = std::strchr(layout, 'A') != nullptr, trans_b = std::strchr(layout, 'B') != nullptr;
  const int threads = argc > 5 ? std::atoi(argv[5]) : 1, rounds = argc > 6 ? std::atoi(argv[6]) : 7;
  const char* only = std::getenv("ONLY");
  kiln::set_num_threads(threads);
  openblas_set_num_threads(threads);

  std::vector<float> a(size_t(m) * k), b(size_t(k) * n), c_kiln(size_t(m) * n), c_blas(size_t(m) * n);
  std::mt19937 random(1);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (float& x : a) x = uniform(random);
  for (float& x : b) x = uniform(random);
  const int lda = trans_a ? m : k, ldb = trans_b ? k : n;
  const double flops = 2.0 * m * n * k;
  const int calls = std::clamp(static_cast<int>(3e9 * threads / flops), 1, 100000);  // ~0.1 s at 30 GF/s

  auto kiln_product = [&] {
    kiln::sgemm(trans_a, trans_b, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c_kiln.data(), n);
  };
  auto blas_product = [&] {
    cblas_sgemm(kRowMajor, trans_a ? kTrans : kNoTrans, trans_b ? kTrans : kNoTrans, m, n, k, 1.0f, a.data(), lda,
                b.data(), ldb, 0.0f, c_blas.data(), n);
  };
  std::vector<double> kiln_rates, blas_rates;
  for (int round = 0; round < rounds; ++round) {
    if (only == nullptr || only[0] == 'k') kiln_rates.push_back(gflops(kiln_product, calls, flops));
    if (only == nullptr || only[0] == 'b') blas_rates.push_back(gflops(blas_product, calls, flops));
  }
  double max_difference = 0.0;
  if (only == nullptr) {
    for (size_t i = 0; i < c_kiln.size(); ++i) max_difference = std::max(max_difference, double(std::fabs(c_kiln[i] - c_blas[i])));
  }
  const double kiln_median = median(kiln_rates), blas_median = median(blas_rates);
  std::printf("%dx%dx%d %s threads %d: kiln %.1f GF/s, openblas %.1f GF/s, kiln/openblas %.3f (max |difference| %.2g, %d calls per round)\n",
              m, k, n, layout, threads, kiln_median, blas_median, blas_median > 0 ? kiln_median / blas_median : 0.0,
              max_difference, calls);
  return 0;
}
