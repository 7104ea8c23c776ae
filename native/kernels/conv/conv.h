// 2-D convolution (NCHW, PyTorch weight layout), forward and both backward passes. conv1d is
// conv2d with h = 1; convTranspose2d's forward is conv2d_backward_input and its input gradient
// is conv2d_forward (lib/ops/conv.ts wires them).
//
// Algorithms (conv.cc picks one per shape, see choose_conv_algorithm):
//   kGemm       im2col + GEMM over column blocks of the output plane (conv_gemm.cc); a 1×1,
//               stride-1, unpadded convolution skips im2col and multiplies x directly
//   kDepthwise  one input channel per group: register-blocked rows at stride 1, row loops
//               otherwise (conv_depthwise.cc)
//   kDirect     few input channels (LeNet's layers), stride 1, groups 1: zero-padded planes and
//               register-blocked rows of 16 pixels × up to 8 output channels (conv_direct.cc)
//   kDirectChannels  the same shapes with k a multiple of 16, and stride 2: the output channels
//               in the vector lanes, so short rows waste no lanes and strided inputs are read
//               in place (conv_direct_channels.cc); the input gradient puts 16 images in the
//               lanes at stride 1 with AVX-512 (conv_direct_batch.cc), is kDirect's at stride 1
//               elsewhere, and kGemm's at stride 2
//
// The direct, depthwise and Winograd kernels take Vec16 registers where AVX-512 runs and Vec8
// elsewhere (wide_vectors() in cpu.h), with register blocks sized for each; the choice between
// algorithms follows the width too.
//   kWinograd   3×3, stride 1, many channels: Winograd F(2×2, 3×3), 16 GEMMs over channels per
//               block of tiles, 2.25× fewer multiplications (conv_winograd.cc)
//   kPointwise  1×1, stride 1, unpadded, groups 1 (forward only; the gradients are kGemm's):
//               y[n] (k, h·w) = W (k, c) · x[n] (c, h·w) in tiles of output channels × columns
//               that the threads share even at batch 1, the epilogue applied to each tile while
//               it is in cache (conv_pointwise.cc)
#pragma once

#include <cstdint>

#include "../gemm/gemm_bf16_compute.h"

namespace kiln {

struct Conv2dShape {
  int64_t n, c, h, w;                    // x: (n, c, h, w)
  int64_t k;                             // y: (n, k, out_h, out_w)
  int64_t kernel_h, kernel_w;            // weight: (k, c / groups, kernel_h, kernel_w)
  int64_t stride_h, stride_w;
  int64_t pad_top, pad_bottom, pad_left, pad_right;  // zeros around x, each >= 0
  int64_t dilation_h, dilation_w;
  int64_t groups;                        // divides c and k
  int64_t out_h, out_w;  // (h + pad_top + pad_bottom - dilation_h·(kernel_h − 1) − 1) / stride_h + 1, >= 1
  // The GEMMs of kGemm and kPointwise in bfloat16 compute (sgemm_in; autocast's convolutions);
  // the other algorithms compute in FP32 whatever it says.
  GemmPrecision gemm_precision = GemmPrecision::kFloat32;
};

enum class ConvAlgorithm { kGemm, kDepthwise, kDirect, kDirectChannels, kWinograd, kPointwise };

// What an inference convolution does to each image's output while it is still in cache
// (conv_epilogue.cc), in this order:
//   1. a per-channel affine map v·scale[k] + shift[k] when scale is set (shift too): an
//      inference BatchNorm folded into the convolution (scale = γ/√(var + eps), shift =
//      β − mean·scale); within float rounding of the separate pass (one multiply-add);
//   2. ReLU (x < 0 ? 0 : x, NaN stays NaN), then with relu6 the clamp x > 6 ? 6 : x (ReLU6 =
//      hardtanh(0, 6), NaN stays NaN);
//   3. 2×2 max pooling at stride 2 (out_h and out_w even; PyTorch's window order: ties keep the
//      first maximum, a NaN wins).
// Steps 2 and 3 are bit for bit the separate relu, clamp and max_pool2d_forward kernels.
struct ConvEpilogue {
  bool relu = false;
  bool max_pool_2x2 = false;
  bool relu6 = false;             // clamp to [0, 6] (implies relu)
  const float* scale = nullptr;   // (k) or nullptr
  const float* shift = nullptr;   // (k); set exactly when scale is
};

// The algorithm conv2d_forward and conv2d_backward_input use for shape s.
ConvAlgorithm choose_conv_algorithm(const Conv2dShape& s);

// The algorithm conv2d_backward_input uses for shape s (the direct kernels' images in the lanes,
// kDirectChannels, or pixel lanes, kDirect, by the size of a group's transposed gy).
ConvAlgorithm choose_input_gradient_algorithm(const Conv2dShape& s);

// The algorithm conv2d_backward_weight uses for shape s (kDirect's shapes may take channel lanes).
ConvAlgorithm choose_weight_gradient_algorithm(const Conv2dShape& s);

// y = conv2d(x, weight) + bias. bias: (k) or nullptr.
void conv2d_forward(const float* x, const float* weight, const float* bias, float* y, const Conv2dShape& s);

// conv2d_forward followed by the epilogue e. y: (n, k, out_h, out_w), or (n, k, out_h / 2,
// out_w / 2) with e.max_pool_2x2.
void conv2d_forward_fused(const float* x, const float* weight, const float* bias, float* y, const Conv2dShape& s,
                          const ConvEpilogue& e);

// gx (n, c, h, w) = d(Σ gy·y)/dx, overwritten.
void conv2d_backward_input(const float* gy, const float* weight, float* gx, const Conv2dShape& s);

// gweight (k, c / groups, kernel_h, kernel_w) and gbias (k, or nullptr), overwritten.
void conv2d_backward_weight(const float* x, const float* gy, float* gweight, float* gbias, const Conv2dShape& s);

// The same three passes with a forced algorithm (for tests and benchmarks; kDepthwise needs
// c == groups; kDirectChannels falls back to kDirect, and kDirect, kWinograd and kPointwise to
// kGemm, where they do not apply).
void conv2d_forward_with(ConvAlgorithm algorithm, const float* x, const float* weight, const float* bias, float* y,
                         const Conv2dShape& s);
void conv2d_backward_input_with(ConvAlgorithm algorithm, const float* gy, const float* weight, float* gx,
                                const Conv2dShape& s);
void conv2d_backward_weight_with(ConvAlgorithm algorithm, const float* x, const float* gy, float* gweight,
                                 float* gbias, const Conv2dShape& s);

}  // namespace kiln
