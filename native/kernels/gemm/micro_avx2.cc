// AVX2 + FMA micro-kernel: a 6 × 16 tile of C in 12 ymm accumulators (two 8-float vectors per
// row; one vector and two accumulator sets for the last micro-panel of B when it has <= 8
// columns), leaving 4 of the 16 ymm registers for the two B vectors and the A broadcast. 12
// independent accumulators cover the FMA latency (4 cycles) × 2 FMA pipes of Zen 3 and
// recent Intel cores. Full tiles load and store C with plain vector moves; edge columns go
// through maskload / maskstore (slow on AMD, so only there), which never touch the
// masked-off lanes. Every row of C is read before any is written: rows a multiple of 4 KiB
// apart (ldc 1024, 2048, …) share their low 12 address bits, and a load issued after a store
// with the same low bits waits for that store (4K aliasing), which cost 2048³ ~4%.
#include "config.h"

#if defined(__x86_64__) || defined(_M_X64)

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx2,fma")
#endif

#include <immintrin.h>

namespace kiln::gemm {
namespace {

constexpr int MR = kAvx2Rule.mr;  // 6
constexpr int NR = kAvx2Rule.nr;  // 16
static_assert(NR == 16, "two ymm vectors per row");

// Lane mask (all ones in lanes < count) for maskload / maskstore.
inline __m256i first_lanes(int count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// C row pieces: 8 floats, all of them when `full`, else the lanes of `mask`.
inline __m256 load_c(const float* c, __m256i mask, bool full) {
  return full ? _mm256_loadu_ps(c) : _mm256_maskload_ps(c, mask);
}
inline void store_c(float* c, __m256 value, __m256i mask, bool full) {
  if (full) {
    _mm256_storeu_ps(c, value);
  } else {
    _mm256_maskstore_ps(c, mask, value);
  }
}

// acc = alpha · acc + beta · c[r, 0:8 · VECS] (all of it when `full`, else the lanes of the masks).
template <int VECS>
inline void merge_row(__m256 (&acc)[VECS], const float* c_row, const __m256i (&mask)[2], bool full, __m256 alpha,
                      float beta) {
#pragma GCC unroll 2
  for (int v = 0; v < VECS; ++v) {
    acc[v] = _mm256_mul_ps(acc[v], alpha);
    if (beta != 0.0f) acc[v] = _mm256_fmadd_ps(_mm256_set1_ps(beta), load_c(c_row + 8 * v, mask[v], full), acc[v]);
  }
}

// acc[r] += A(r, p) · B(p, 0:8 · VECS) for one step p.
template <int ROWS, int VECS>
inline void multiply_add_step(__m256 (&acc)[ROWS][VECS], const float* a, const float* b) {
  __m256 b_v[VECS];
#pragma GCC unroll 2
  for (int v = 0; v < VECS; ++v) b_v[v] = _mm256_loadu_ps(b + 8 * v);
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; ++r) {
    const __m256 a_r = _mm256_broadcast_ss(a + r);
#pragma GCC unroll 2
    for (int v = 0; v < VECS; ++v) acc[r][v] = _mm256_fmadd_ps(a_r, b_v[v], acc[r][v]);
  }
}

// The kernel for a tile of exactly ROWS rows (ROWS <= MR) and at most 8 · VECS columns, so
// short edge tiles and the narrow last micro-panel of B (cols <= 8: one vector per row) do no
// wasted work. Tiles of fewer than 8 accumulators cannot cover the FMA latency, so they keep
// two sets, for even and odd steps, added at the end.
template <int ROWS, int VECS>
void micro_tile(int64_t kc, const float* a, const float* b, int64_t b_rs, float* c, int64_t ldc, int cols,
                float alpha, float beta) {
  constexpr int SETS = ROWS * VECS <= 6 ? 2 : 1;
  __m256 acc[SETS][ROWS][VECS];
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; ++r) {
    for (int s = 0; s < SETS; ++s) {
      for (int v = 0; v < VECS; ++v) acc[s][r][v] = _mm256_setzero_ps();
    }
    // Fetch the C tile while the loop runs (rows ldc apart, 16 floats may span two lines).
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 8 * VECS - 1), _MM_HINT_T0);
  }
  int64_t p = 0;
#pragma GCC unroll 4
  for (; p + SETS <= kc; p += SETS) {
#pragma GCC unroll 2
    for (int s = 0; s < SETS; ++s) multiply_add_step<ROWS, VECS>(acc[s], a + s * MR, b + s * b_rs);
    a += SETS * MR;
    b += SETS * b_rs;
  }
  if (p < kc) multiply_add_step<ROWS, VECS>(acc[0], a, b);
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; ++r) {
    for (int s = 1; s < SETS; ++s) {
      for (int v = 0; v < VECS; ++v) acc[0][r][v] = _mm256_add_ps(acc[0][r][v], acc[s][r][v]);
    }
  }
  const bool full = cols == 8 * VECS;
  const __m256i mask[2] = {first_lanes(cols), first_lanes(cols - 8)};
  const __m256 alpha_v = _mm256_set1_ps(alpha);
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; ++r) merge_row<VECS>(acc[0][r], c + r * ldc, mask, full, alpha_v, beta);
#pragma GCC unroll 8
  for (int r = 0; r < ROWS; ++r) {
#pragma GCC unroll 2
    for (int v = 0; v < VECS; ++v) store_c(c + r * ldc + 8 * v, acc[0][r][v], mask[v], full);
  }
}

using Tile = void (*)(int64_t, const float*, const float*, int64_t, float*, int64_t, int, float, float);

// micro_tile<rows, VECS> by rows (index 0 unused).
template <int VECS>
constexpr Tile kTilesByRows[MR + 1] = {nullptr,
                                       micro_tile<1, VECS>,
                                       micro_tile<2, VECS>,
                                       micro_tile<3, VECS>,
                                       micro_tile<4, VECS>,
                                       micro_tile<5, VECS>,
                                       micro_tile<6, VECS>};

void micro_avx2(int64_t kc, const float* a, const float* b, int64_t b_rs, float* c, int64_t ldc, int rows, int cols,
                float alpha, float beta) {
  const Tile tile = cols <= 8 ? kTilesByRows<1>[rows] : kTilesByRows<2>[rows];
  tile(kc, a, b, b_rs, c, ldc, cols, alpha, beta);
}

}  // namespace

const GemmKernel kAvx2Kernel{"avx2", kAvx2Rule, micro_avx2, kPackLanesAvx2};

}  // namespace kiln::gemm

#if defined(__clang__)
#pragma clang attribute pop
#endif

#endif  // x86-64
