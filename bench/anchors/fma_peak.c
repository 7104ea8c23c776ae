/* The machine's FP32 FMA peak: each thread runs chains of independent fused multiply-adds on
 * the widest vectors the compiler targets (build with -O3 -march=native; a measuring tool,
 * never part of the addon). Usage: fma_peak THREADS; prints {"gflops": total, "seconds": t}. */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__AVX512F__)
typedef __m512 vec;
#define LANES 16
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define SUM(v) _mm512_reduce_add_ps(v)
#else
typedef __m256 vec;
#define LANES 8
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
static float SUM(vec v) { float x[8]; _mm256_storeu_ps(x, v); return x[0] + x[7]; }
#endif

/* Independent accumulators: more than FMA latency × FMA ports (4 × 2 on Zen), yet few enough
 * that they and the two constants stay in registers (32 zmm with AVX-512, 16 ymm with AVX2;
 * 16 chains on AVX2 spill to the stack and halve the figure). */
#if defined(__AVX512F__)
#define CHAINS 16
#else
#define CHAINS 12
#endif
#define ITERS 50000000L

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void* run(void* out) {
  vec acc[CHAINS];
  for (int i = 0; i < CHAINS; i++) acc[i] = SET1(1.0f + i);
  const vec scale = SET1(0.9999999f), bias = SET1(1e-7f);
  for (long it = 0; it < ITERS; it++) {
#pragma GCC unroll 16
    for (int i = 0; i < CHAINS; i++) acc[i] = FMA(acc[i], scale, bias);
  }
  float sum = 0;
  for (int i = 0; i < CHAINS; i++) sum += SUM(acc[i]);
  *(float*)out = sum; /* keeps the loop alive */
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (threads < 1 || threads > 256) return 2;
  pthread_t ids[256];
  float sums[256];
  double t0 = now();
  for (int i = 0; i < threads; i++) pthread_create(&ids[i], NULL, run, &sums[i]);
  for (int i = 0; i < threads; i++) pthread_join(ids[i], NULL);
  double seconds = now() - t0;
  double flops = 2.0 * LANES * CHAINS * (double)ITERS * threads;
  printf("{\"gflops\": %.2f, \"seconds\": %.4f, \"check\": %g}\n", flops / seconds / 1e9, seconds, sums[0]);
  return 0;
}
