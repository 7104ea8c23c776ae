// Scalar int8 GEMM kernels: the naive oracle of the SIMD ones (the C++ tests check the AVX2
// kernels against these bit for bit) and the fallback on CPUs without AVX2.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "internal.h"

namespace kiln::qgemm {

uint8_t quantize_value(float x, float inverse_scale, float zero_point) {
  const float rounded = std::nearbyint(std::fmaf(x, inverse_scale, zero_point));
  return static_cast<uint8_t>(std::min(127.0f, std::max(0.0f, rounded)));
}

namespace {

bool min_max_scalar(const float* x, int64_t count, float* min, float* max) {
  float lo = x[0], hi = x[0];
  bool finite = true;
  for (int64_t i = 0; i < count; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
    finite = finite && std::isfinite(x[i]);
  }
  *min = lo;
  *max = hi;
  return finite;
}

void quantize_panel_scalar(const float* x, int64_t ldx, int rows, int64_t k, int64_t groups, ActivationQuantization q,
                           uint8_t* panel) {
  std::memset(panel, 0, static_cast<size_t>(groups * kRows * kQgemmGroupDepth));
  const float inverse_scale = 1.0f / q.scale;
  const float zero_point = static_cast<float>(q.zero_point);
  for (int r = 0; r < rows; ++r) {
    for (int64_t p = 0; p < k; ++p) {
      const int64_t g = p / kQgemmGroupDepth, within = p % kQgemmGroupDepth;
      panel[(g * kRows + r) * kQgemmGroupDepth + within] = quantize_value(x[r * ldx + p], inverse_scale, zero_point);
    }
  }
}

// acc[r][c] = Σ_p a[r, p] · b[c, p] over the panels' groups, then the epilogue.
void tile_scalar(const uint8_t* a_panel, const int8_t* b_panel, int64_t groups, int rows, int cols, const Epilogue& e,
                 float* out, int64_t ldo) {
  int32_t acc[kRows][kQgemmPanelColumns] = {};
  for (int64_t g = 0; g < groups; ++g) {
    const uint8_t* a = a_panel + g * kRows * kQgemmGroupDepth;
    const int8_t* b = b_panel + g * kQgemmPanelColumns * kQgemmGroupDepth;
    for (int r = 0; r < kRows; ++r) {
      for (int c = 0; c < kQgemmPanelColumns; ++c) {
        for (int q = 0; q < kQgemmGroupDepth; ++q) {
          acc[r][c] += int32_t{a[r * kQgemmGroupDepth + q]} * int32_t{b[c * kQgemmGroupDepth + q]};
        }
      }
    }
  }
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) out[r * ldo + c] = dequantize(acc[r][c], e, c);
  }
}

}  // namespace

const QgemmKernel kScalarKernel = {"scalar", 1, min_max_scalar, quantize_panel_scalar, tile_scalar};

}  // namespace kiln::qgemm
