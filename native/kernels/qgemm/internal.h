// Shared between the int8 GEMM driver (qgemm.cc) and its per-ISA kernels (kernels_*.cc).
#pragma once

#include <cmath>
#include <cstdint>

#include "qgemm.h"

namespace kiln::qgemm {

// Rows of x per packed activation panel (one micro-kernel tile is kRows × kQgemmPanelColumns).
constexpr int64_t kRows = 4;

// Packed activations: panels of kRows rows; inside a panel, groups of 4 consecutive k; inside a
// group, each row's 4 u8 values together:
//   packed[((panel · groups + g) · kRows + r) · 4 + q] = x_q[panel · kRows + r, g · 4 + q]
// with zeros past m and past k.

// What the epilogue needs for one tile: out[r, c] = (acc − corrections[c]) · scales[c] +
// bias[c], with corrections[c] = zero_point · Σ_k w[c, k], pointers at the tile's first column,
// each readable for whole panels (the driver pads them to a multiple of kQgemmPanelColumns).
struct Epilogue {
  const int32_t* corrections;
  const float* scales;
  const float* bias;
};

// The per-ISA pieces.
struct QgemmKernel {
  const char* name;
  // Weight panels per tile (a tile is kRows × tile_panels · kQgemmPanelColumns).
  int tile_panels;
  // min and max of x[0:count] (count ≥ 1); false when x holds a NaN or an infinity.
  bool (*min_max)(const float* x, int64_t count, float* min, float* max);
  // Quantizes `rows` (≤ kRows) rows of x (row stride ldx, k columns) into one packed panel
  // of `groups` groups (zeros past rows and past k).
  void (*quantize_panel)(const float* x, int64_t ldx, int rows, int64_t k, int64_t groups, ActivationQuantization q,
                         uint8_t* panel);
  // One tile: `rows` × `cols` (≤ kRows × tile_panels · kQgemmPanelColumns) of out (row stride
  // ldo) from an activation panel and the ⌈cols / 16⌉ consecutive weight panels from b_panel,
  // each of `groups` groups.
  void (*tile)(const uint8_t* a_panel, const int8_t* b_panel, int64_t groups, int rows, int cols, const Epilogue& e,
               float* out, int64_t ldo);
};

extern const QgemmKernel kScalarKernel;
#if defined(__x86_64__) || defined(_M_X64)
extern const QgemmKernel kAvx2Kernel;
extern const QgemmKernel kAvx512VnniKernel;
#endif

// x_q = clamp(round_half_even(fma(x, 1 / scale, zero_point)), 0, 127): the scalar rule every
// kernel reproduces exactly.
uint8_t quantize_value(float x, float inverse_scale, float zero_point);

// The epilogue of one accumulator, shared by the kernels so they agree bit for bit.
inline float dequantize(int32_t acc, const Epilogue& e, int c) {
  const int32_t corrected = acc - e.corrections[c];
  return std::fmaf(static_cast<float>(corrected), e.scales[c], e.bias[c]);
}

}  // namespace kiln::qgemm
