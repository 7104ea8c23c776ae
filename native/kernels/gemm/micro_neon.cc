// NEON micro-kernel (aarch64 builds only): an 8 × 8 tile of C in 16 q-register accumulators
// (two 4-float vectors per row). Edge tiles are computed whole in registers and only their
// valid corner is written back.
#include "config.h"

#if defined(__aarch64__) || defined(_M_ARM64)

#include <arm_neon.h>

namespace kiln::gemm {
namespace {

constexpr int MR = kNeonRule.mr;  // 8
constexpr int NR = kNeonRule.nr;  // 8
static_assert(NR == 8, "two q vectors per row");

void micro_neon(int64_t kc, const float* a, const float* b, int64_t b_rs, float* c, int64_t ldc, int rows, int cols,
                float alpha, float beta) {
  float32x4_t acc[MR][2];
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = vdupq_n_f32(0.0f);
  for (int64_t p = 0; p < kc; ++p) {
    const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
    const float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
    acc[0][0] = vfmaq_laneq_f32(acc[0][0], b0, a0, 0);
    acc[0][1] = vfmaq_laneq_f32(acc[0][1], b1, a0, 0);
    acc[1][0] = vfmaq_laneq_f32(acc[1][0], b0, a0, 1);
    acc[1][1] = vfmaq_laneq_f32(acc[1][1], b1, a0, 1);
    acc[2][0] = vfmaq_laneq_f32(acc[2][0], b0, a0, 2);
    acc[2][1] = vfmaq_laneq_f32(acc[2][1], b1, a0, 2);
    acc[3][0] = vfmaq_laneq_f32(acc[3][0], b0, a0, 3);
    acc[3][1] = vfmaq_laneq_f32(acc[3][1], b1, a0, 3);
    acc[4][0] = vfmaq_laneq_f32(acc[4][0], b0, a1, 0);
    acc[4][1] = vfmaq_laneq_f32(acc[4][1], b1, a1, 0);
    acc[5][0] = vfmaq_laneq_f32(acc[5][0], b0, a1, 1);
    acc[5][1] = vfmaq_laneq_f32(acc[5][1], b1, a1, 1);
    acc[6][0] = vfmaq_laneq_f32(acc[6][0], b0, a1, 2);
    acc[6][1] = vfmaq_laneq_f32(acc[6][1], b1, a1, 2);
    acc[7][0] = vfmaq_laneq_f32(acc[7][0], b0, a1, 3);
    acc[7][1] = vfmaq_laneq_f32(acc[7][1], b1, a1, 3);
    a += MR;
    b += b_rs;
  }
  float tile[MR][NR];
  for (int r = 0; r < MR; ++r) {
    vst1q_f32(tile[r], acc[r][0]);
    vst1q_f32(tile[r] + 4, acc[r][1]);
  }
  for (int i = 0; i < rows; ++i) {
    float* c_row = c + i * ldc;
    for (int j = 0; j < cols; ++j) c_row[j] = alpha * tile[i][j] + (beta == 0.0f ? 0.0f : beta * c_row[j]);
  }
}

}  // namespace

const GemmKernel kNeonKernel{"neon", kNeonRule, micro_neon, nullptr};

}  // namespace kiln::gemm

#endif  // aarch64
