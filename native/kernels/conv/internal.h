// Helpers shared by the convolution algorithms (conv_*.cc), and their entry points.
#pragma once

#include <cstdint>

#include "../cpu.h"
#include "../vectorize.h"
#include "conv.h"

namespace kiln::conv {

#if KILN_HAS_SHUFFLE
// v[0 : 16] becomes its transpose: lane j of v[i] goes to lane i of v[j]. Four rounds, each
// swapping one bit of the row index with the same bit of the lane index.
__attribute__((always_inline)) inline void transpose16(Vec16 v[16]) {
  for (int i = 0; i < 16; i += 2) {
    const Vec16 a = v[i], b = v[i + 1];
    v[i] = __builtin_shufflevector(a, b, 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
    v[i + 1] = __builtin_shufflevector(a, b, 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
  }
  for (int i = 0; i < 16; ++i) {
    if (i & 2) continue;
    const Vec16 a = v[i], b = v[i + 2];
    v[i] = __builtin_shufflevector(a, b, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29);
    v[i + 2] = __builtin_shufflevector(a, b, 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
  }
  for (int i = 0; i < 16; ++i) {
    if (i & 4) continue;
    const Vec16 a = v[i], b = v[i + 4];
    v[i] = __builtin_shufflevector(a, b, 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
    v[i + 4] = __builtin_shufflevector(a, b, 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
  }
  for (int i = 0; i < 8; ++i) {
    const Vec16 a = v[i], b = v[i + 8];
    v[i] = __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    v[i + 8] = __builtin_shufflevector(a, b, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
  }
}

// v[0 : 8] becomes its transpose (transpose16's three rounds, for Vec8).
__attribute__((always_inline)) inline void transpose8(Vec8 v[8]) {
  for (int i = 0; i < 8; i += 2) {
    const Vec8 a = v[i], b = v[i + 1];
    v[i] = __builtin_shufflevector(a, b, 0, 8, 2, 10, 4, 12, 6, 14);
    v[i + 1] = __builtin_shufflevector(a, b, 1, 9, 3, 11, 5, 13, 7, 15);
  }
  for (int i = 0; i < 8; ++i) {
    if (i & 2) continue;
    const Vec8 a = v[i], b = v[i + 2];
    v[i] = __builtin_shufflevector(a, b, 0, 1, 8, 9, 4, 5, 12, 13);
    v[i + 2] = __builtin_shufflevector(a, b, 2, 3, 10, 11, 6, 7, 14, 15);
  }
  for (int i = 0; i < 4; ++i) {
    const Vec8 a = v[i], b = v[i + 4];
    v[i] = __builtin_shufflevector(a, b, 0, 1, 2, 3, 8, 9, 10, 11);
    v[i + 4] = __builtin_shufflevector(a, b, 4, 5, 6, 7, 12, 13, 14, 15);
  }
}

// out[j · dst_ld + i] = block[i · src_ld + j] for i, j < 16: one transpose16, or four
// transpose8 of its 8 × 8 quarters.
template <typename V>
__attribute__((always_inline)) inline void transpose_block16(const float* block, int64_t src_ld, float* out,
                                                             int64_t dst_ld) {
  constexpr int L = kLanes<V>;
  for (int i0 = 0; i0 < 16; i0 += L) {
    for (int j0 = 0; j0 < 16; j0 += L) {
      V v[L];
      for (int i = 0; i < L; ++i) v[i] = load_vec<V>(block + (i0 + i) * src_ld + j0);
      if constexpr (L == 16) {
        transpose16(v);
      } else {
        transpose8(v);
      }
      for (int j = 0; j < L; ++j) store_vec(out + (j0 + j) * dst_ld + i0, v[j]);
    }
  }
}
#endif

#if KILN_HAS_VEC16
// The epilogue's steps on vectors (ConvEpilogue): ReLU as x < 0 ? 0 : x (−0 and NaN pass), and
// the running max of a pooling window, which a later tap takes when larger or NaN.
template <typename V>
__attribute__((always_inline)) inline V relu_lanes(V v) {
  return v < V{} ? V{} : v;
}
template <typename V>
__attribute__((always_inline)) inline V keep_max_lanes(V best, V v) {
  return ((v > best) | (v != v)) ? v : best;
}
// The vector at p, through ReLU when `relu`.
template <typename V>
__attribute__((always_inline)) inline V load_relu_if(const float* p, bool relu) {
  const V v = load_vec<V>(p);
  return relu ? relu_lanes(v) : v;
}
#endif

// The outputs o in [begin, end) whose input position o·stride + offset lies in [0, size),
// with 0 <= begin <= end <= out_size.
struct Range {
  int64_t begin, end;
};
inline Range valid_outputs(int64_t out_size, int64_t size, int64_t stride, int64_t offset) {
  int64_t begin = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  int64_t end = size - offset <= 0 ? 0 : (size - offset + stride - 1) / stride;
  if (end > out_size) end = out_size;
  if (begin > end) begin = end;
  return {begin, end};
}

// x[0] + … + x[n − 1], summed in 16 interleaved lanes (vectorizes; fixed order).
float sum_row(const float* x, int64_t n);

// gbias[k] = Σ over n and the output plane of gy[n, k] (fixed summation order).
void bias_gradient(const float* gy, float* gbias, const Conv2dShape& s);

// y[n, k, j] += bias[k] for images [n_begin, n_end) and plane columns [j_begin, j_end).
void add_bias(const float* bias, float* y, const Conv2dShape& s, int64_t n_begin, int64_t n_end, int64_t j_begin,
              int64_t j_end);

// Zero-padded copies of planes, for the register-blocked kernels (conv_direct.cc and the
// stride-1 depthwise path): every 16-column chunk of an output row then reads whole vectors
// with no bounds checks.
struct PaddedPlane {
  int64_t rows, cols;  // cols leaves 16 readable columns past every chunk start
  int64_t top, left;   // where the source's (0, 0) lands; negative offsets crop the source
  int64_t size() const { return rows * cols; }
};

// Where x goes for the forward pass and the weight gradient (out_h × out_w outputs read it).
PaddedPlane input_padding(const Conv2dShape& s);

// Where gy goes for the input gradient at stride 1: the correlation of the padded gy with the
// flipped filter gives h × w outputs.
PaddedPlane output_gradient_padding(const Conv2dShape& s);

// dst (p.rows, p.cols) = zeros with src (src_h, src_w) placed at (p.top, p.left).
void place(const float* src, int64_t src_h, int64_t src_w, float* dst, const PaddedPlane& p);

// A per-thread buffer of at least `floats` floats, reused between calls. `slot` tells apart
// buffers one thread needs at the same time (0 or 1; 2 is image_output's).
float* thread_buffer(int64_t floats, int slot);

// Where an algorithm writes image n of its output (k, out_h, out_w) under epilogue e: y's own
// image, or, when e pools, a per-thread buffer that finish_image pools into y.
float* image_output(float* y, int64_t n, const Conv2dShape& s, const ConvEpilogue& e);

// Applies e to image n, just written at `image` (image_output's pointer); y is the final output.
void finish_image(float* image, float* y, int64_t n, const Conv2dShape& s, const ConvEpilogue& e);

// Whether e changes values before pooling (an affine map, ReLU or ReLU6).
bool has_value_steps(const ConvEpilogue& e);

// values[0 : n] (outputs of channel kk) through e's steps before pooling, in place.
void finish_values(float* values, int64_t n, int64_t kk, const ConvEpilogue& e);

// Every plane of y (n, k, out_h, out_w) through e's steps before pooling, threads splitting planes.
void finish_output_values(float* y, const Conv2dShape& s, const ConvEpilogue& e);

// y's image n (k, out_h / 2, out_w / 2) = 2×2 max pooling of image (k, out_h, out_w), of its
// ReLU when with_relu.
void pool_image(const float* image, float* y, int64_t n, const Conv2dShape& s, bool with_relu);

// The algorithms. Each overwrites its output.
void gemm_forward(const float* x, const float* weight, const float* bias, float* y, const Conv2dShape& s);
void gemm_backward_input(const float* gy, const float* weight, float* gx, const Conv2dShape& s);
void gemm_backward_weight(const float* x, const float* gy, float* gweight, const Conv2dShape& s);

// e's steps before pooling run on each output plane as soon as it is written (e must not pool).
void depthwise_forward(const float* x, const float* weight, const float* bias, float* y, const Conv2dShape& s,
                       const ConvEpilogue& e = {});
void depthwise_backward_input(const float* gy, const float* weight, float* gx, const Conv2dShape& s);
// gbias (or nullptr) too: the register path sums it in the same pass.
void depthwise_backward_weight(const float* x, const float* gy, float* gweight, float* gbias, const Conv2dShape& s);

// Winograd needs a 3×3 filter, stride 1, no dilation, groups 1 and padding at most 2.
bool winograd_supported(const Conv2dShape& s);
void winograd_forward(const float* x, const float* weight, const float* bias, float* y, const Conv2dShape& s);
void winograd_backward_input(const float* gy, const float* weight, float* gx, const Conv2dShape& s);
void winograd_backward_weight(const float* x, const float* gy, float* gweight, const Conv2dShape& s);

// The direct algorithm needs groups == 1 and stride 1, and GCC or Clang (KILN_HAS_VEC16).
bool direct_supported(const Conv2dShape& s);
void direct_forward(const float* x, const float* weight, const float* bias, float* y, const Conv2dShape& s,
                    const ConvEpilogue& e = {});
void direct_backward_input(const float* gy, const float* weight, float* gx, const Conv2dShape& s);
void direct_backward_weight(const float* x, const float* gy, float* gweight, const Conv2dShape& s);

// 1×1, stride 1, no padding, groups 1 (conv.h's kPointwise). e's steps before pooling run on
// each tile as soon as it is written (e must not pool).
bool pointwise_supported(const Conv2dShape& s);
void pointwise_forward(const float* x, const float* weight, const float* bias, float* y, const Conv2dShape& s,
                       const ConvEpilogue& e = {});

// Output channels in the lanes: groups 1, column stride 1 or 2, no dilation, k a multiple of
// 16, kernels at most 7 wide, GCC 12+ or Clang.
bool direct_channels_supported(const Conv2dShape& s);
void direct_channels_forward(const float* x, const float* weight, const float* bias, float* y, const Conv2dShape& s,
                             const ConvEpilogue& e = {});
// gbias (or nullptr) too, from the transposed gy the weight gradient reads anyway.
void direct_channels_backward_weight(const float* x, const float* gy, float* gweight, float* gbias,
                                     const Conv2dShape& s);

// Images in the lanes, 16 at a time (the rest as direct_backward_input): groups 1, stride 1,
// no dilation, GCC 12+ or Clang.
bool direct_batch_supported(const Conv2dShape& s);
void direct_batch_backward_input(const float* gy, const float* weight, float* gx, const Conv2dShape& s);

// ⌈value / divisor⌉ for value ≥ 0, divisor > 0: blocks of `divisor` covering `value`.
inline int64_t ceil_div(int64_t value, int64_t divisor) { return (value + divisor - 1) / divisor; }

}  // namespace kiln::conv
