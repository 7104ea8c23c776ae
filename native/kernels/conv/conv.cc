// The convolution entry points: algorithm choice, bias, and the shared helpers.
#include <algorithm>
#include <vector>

#include "../cpu.h"
#include "../parallel.h"
#include "internal.h"

namespace kiln {

namespace conv {

KILN_VECTORIZE float sum_row(const float* x, int64_t n) {
  constexpr int kLanes = 16;
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) lanes[l] += x[i + l];
  }
  for (; i < n; ++i) lanes[i % kLanes] += x[i];
  float sum = 0.0f;
  for (float lane : lanes) sum += lane;
  return sum;
}

namespace {
int64_t round_up16(int64_t n) { return (n + 15) / 16 * 16; }
}  // namespace

PaddedPlane input_padding(const Conv2dShape& s) {
  return {s.out_h + s.dilation_h * (s.kernel_h - 1), round_up16(s.out_w) + s.dilation_w * (s.kernel_w - 1), s.pad_top,
          s.pad_left};
}

PaddedPlane output_gradient_padding(const Conv2dShape& s) {
  const int64_t span_h = s.dilation_h * (s.kernel_h - 1), span_w = s.dilation_w * (s.kernel_w - 1);
  return {s.h + span_h, round_up16(s.w) + span_w, span_h - s.pad_top, span_w - s.pad_left};
}

namespace {
// dst[0 : n] = src[0 : n]: whole vectors, the last one overlapping the one before it (rows of
// planes are short, so a memcpy call per row or a scalar tail would cost more than the copy).
inline void copy_row(const float* src, float* dst, int64_t n) {
#if KILN_HAS_VEC16
  if (n >= 16) {
    for (int64_t j = 0; j < n; j += 16) {
      const int64_t at = std::min(j, n - 16);
      store16(dst + at, load16(src + at));
    }
    return;
  }
#endif
  for (int64_t j = 0; j < n; ++j) dst[j] = src[j];
}
}  // namespace

// Each destination row is written once: zeros, the source row's kept columns, zeros.
KILN_VECTORIZE void place(const float* src, int64_t src_h, int64_t src_w, float* dst, const PaddedPlane& p) {
  const int64_t i_begin = std::max<int64_t>(0, -p.top), i_end = std::min(src_h, p.rows - p.top);
  const int64_t j_begin = std::max<int64_t>(0, -p.left), j_end = std::min(src_w, p.cols - p.left);
  for (int64_t row = 0; row < p.rows; ++row) {
    float* dst_row = dst + row * p.cols;
    const int64_t i = row - p.top;
    if (i < i_begin || i >= i_end || j_begin >= j_end) {
      for (int64_t col = 0; col < p.cols; ++col) dst_row[col] = 0.0f;
      continue;
    }
    const int64_t lo = p.left + j_begin, hi = p.left + j_end;  // destination columns copied
    for (int64_t col = 0; col < lo; ++col) dst_row[col] = 0.0f;
    copy_row(src + i * src_w + j_begin, dst_row + lo, hi - lo);
    for (int64_t col = hi; col < p.cols; ++col) dst_row[col] = 0.0f;
  }
}

float* thread_buffer(int64_t floats, int slot) {
  thread_local std::vector<float> buffers[3];
  std::vector<float>& buffer = buffers[slot];
  if (static_cast<int64_t>(buffer.size()) < floats) buffer.resize(static_cast<size_t>(floats));
  return buffer.data();
}

void bias_gradient(const float* gy, float* gbias, const Conv2dShape& s) {
  const int64_t plane = s.out_h * s.out_w;
  parallel_for_balanced(0, s.k, grain_for(s.n * plane), [&](int64_t begin, int64_t end) {
    for (int64_t kk = begin; kk < end; ++kk) {
      float sum = 0.0f;
      for (int64_t n = 0; n < s.n; ++n) sum += sum_row(gy + (n * s.k + kk) * plane, plane);
      gbias[kk] = sum;
    }
  });
}

KILN_VECTORIZE void add_bias(const float* bias, float* y, const Conv2dShape& s, int64_t n_begin, int64_t n_end,
                             int64_t j_begin, int64_t j_end) {
  const int64_t plane = s.out_h * s.out_w;
  for (int64_t n = n_begin; n < n_end; ++n) {
    for (int64_t kk = 0; kk < s.k; ++kk) {
      float* y_plane = y + (n * s.k + kk) * plane;
      for (int64_t j = j_begin; j < j_end; ++j) y_plane[j] += bias[kk];
    }
  }
}

}  // namespace conv

// Few input channels (c · kernel area up to this) take the direct kernel: im2col would copy
// each input kernel-area times for GEMMs too thin to run near peak.
constexpr int64_t kDirectMaxRows = 160;

// Winograd's GEMMs run over channels: with fewer, its transforms cost more than they save.
constexpr int64_t kWinogradMinChannels = 32;

// ...and with fewer than this on both sides (c and k) too: its 16 GEMMs are then at most 63
// deep (c in the forward pass, k in the input gradient) and 63 wide, and the direct kernels
// (direct_below_winograd) won every pass on every plane measured at 32 channels (batch 128,
// 1 / 2 threads, AVX-512, medians of 7 round-robin calls on a shared VM; 32→32 3×3 at 14×14:
// forward 4.6 → 3.8 / 6.2 → 4.1 ms, input gradient 5.2 → 3.2 / 3.1 → 1.7, weight gradient
// 5.8 → 3.6 / 4.1 → 2.1; at 28×28, batch 64, 35%, 37% and 47% less; at 56×56, batch 32, a tie
// forward and input gradient, the weight gradient 30% less). At 64 → 64 Winograd's forward
// and input gradient won (7×7 to 32×32 planes), its weight gradient tied (±10%) but at 32×32.
constexpr int64_t kWinogradMinWiderChannels = 64;

// Winograd transforms the whole filter on every call (16 values per channel pair) and runs 16
// GEMMs whose width is the number of 2×2 output tiles. With few tiles (batch 1 at ResNet's
// 14×14 and 7×7 stages: 49 and 16) the filter transform dominates and the GEMMs are too thin:
// ResNet-18's 512→512 3×3 at 7×7, batch 1, took 4× PyTorch's time, 256→256 at 14×14 2×. From
// this many tiles on (28×28 at batch 1 has 196) it pays.
constexpr int64_t kWinogradMinTiles = 128;

int64_t output_tiles_2x2(const Conv2dShape& s) {
  return s.n * ((s.out_h + 1) / 2) * ((s.out_w + 1) / 2);
}

// Output channels in the lanes (kDirectChannels) instead of pieces of rows (kDirect). With
// Vec16 (AVX-512) they pay about kTransposeTaps taps' work per output for the 16 × 16
// transposes into NCHW; pixel lanes waste the lanes a row leaves idle in its last piece (6 of
// 16 in a 10-pixel row). The smaller waste wins. With Vec8 (AVX2) 16 channels are two vectors
// per pixel, a register block that reuses each broadcast twice, and channel lanes won or tied
// on every shape measured, also with no idle pixel lanes (Zen 3, 2 threads, same run but a
// machine loaded ~15×, so rough: LeNet-2 forward 0.34 vs 0.78 ms, weight gradient 0.34 vs
// 2.95 ms; N32 C3 32×32→32 forward 1.4-1.8 vs 1.3-13 ms, weight gradient 1.6 vs 12 ms).
constexpr double kTransposeTaps = 6.0;

// ...and on AVX-512 a busy channel lane did ~15% less than a busy pixel lane: with rows whose
// last piece leaves 2 of 16 pixel lanes idle (14×14, 28×28, 56×56 outputs) pixel lanes won by
// 9–13% (batch 128, medians of 7, 1 / 2 threads: 16→16 at 28×28 forward 3.7 vs 4.2 / 2.6 vs
// 2.7 ms, 32→32 at 28×28 batch 64 6.4 vs 7.7 ms, at 56×56 batch 32 12.9 vs 14.9 ms; 32→32 at
// 14×14 tied), where the transposes alone predicted channel lanes; LeNet-2's 10-pixel rows
// (6 idle) still take channel lanes (0.42 vs 0.61 ms).
constexpr double kChannelLaneEfficiency = 0.85;

bool channel_lanes_pay(const Conv2dShape& s) {
  if (!conv::direct_channels_supported(s)) return false;
  if (!wide_vectors()) return true;
  const double taps = static_cast<double>(s.c * s.kernel_h * s.kernel_w);
  const double channel_lanes_busy = kChannelLaneEfficiency * taps / (taps + kTransposeTaps);
  const double pixel_lanes_busy = static_cast<double>(s.out_w) / static_cast<double>((s.out_w + 15) / 16 * 16);
  return channel_lanes_busy > pixel_lanes_busy;
}

// Stride 2 through im2col copies every input up to 9 times (3×3) for a GEMM that then packs it
// again; channels in the lanes read x in place. Up to this many taps per output (c·kh·kw) that
// pays for the forward; the input gradient stays GEMM. Measured (Zen 5 VM, C++ harness,
// medians of 7, channel lanes vs im2col + GEMM, 1 / 2 threads, ms): 147 taps (RGB 7×7 stem,
// N32 224×224) 55 vs 71 / 26 vs 35; 144 (16→32 3×3, N128 28×28) 2.1 vs 2.3 / 1.07 vs 1.38;
// 64 (1×1 64→128, N64 32×32) 6.4 vs 7.3 / 2.8 vs 3.2; but 256 (1×1 256→512, N1 14×14) 0.25
// vs 0.10 / 0.21 vs 0.08; 288 (32→64 3×3, N128 14×14) 2.24 vs 2.26 / 1.50 vs 1.27; 576
// (64→128 3×3, N64 32×32) 19.1 vs 17.8 / 12.6 vs 9.6, N32 56×56 28.3 vs 24.1 / 17.0 vs 12.5.
// (576 paid when this rule was written, before im2col went through the stride-2 phases.)
constexpr int64_t kStridedChannelLanesMaxTaps = 192;

// The weight gradient with channels in the lanes still pays up to 576 taps (the same runs:
// 288 taps 1.91 vs 2.43 / 1.32 vs 1.63, 576 at N32 24.4 vs 25.4 / 12.9 vs 15.7, at N64 14.8 vs
// 18.5 / 10.6 vs 10.0) but splits the batch between threads, so a single image takes GEMM's
// (RGB stem at N1: 1.70 vs 1.88 / 1.68 vs 1.10; 1×1 256→512 at N1 0.33 vs 0.09 / 0.33 vs 0.07).
constexpr int64_t kStridedLaneWeightGradientMaxTaps = 576;
constexpr int64_t kStridedLaneWeightGradientMinImages = 2;

// A register block of channel lanes is up to 14 pixels of one output row (Vec16), each weight
// vector loaded once per block: rows of 4 outputs use 4 of them, and im2col + GEMM won there
// (64→128 3×3 stride 2, 7×7 → 4×4, batch 128, medians of 7, 1 / 2 threads: forward 4.1 vs
// 2.9 / 2.3 vs 1.6 ms, weight gradient 3.4 vs 3.1 / 2.0 vs 1.7 ms); at rows of 7 (32→64,
// 14×14 → 7×7) they tied forward and channel lanes' weight gradient won 2.2 vs 2.8 ms.
constexpr int64_t kStridedChannelLanesMinRow = 7;

// Whether stride-2 channel lanes can run and pay up to `max_taps` taps per output.
bool strided_channel_lanes_pay(const Conv2dShape& s, int64_t max_taps = kStridedChannelLanesMaxTaps) {
  return conv::direct_channels_supported(s) && wide_vectors() && s.stride_h == 2 && s.stride_w == 2 &&
         s.c * s.kernel_h * s.kernel_w <= max_taps && s.out_w >= kStridedChannelLanesMinRow;
}

// Winograd's shapes (3×3, stride 1) with enough tiles but channels too few on both sides:
// direct kernels, whatever c · kernel area (im2col + GEMM took 1.3–2× their time at 32→32;
// see kWinogradMinWiderChannels).
bool direct_below_winograd(const Conv2dShape& s) {
  return conv::winograd_supported(s) && output_tiles_2x2(s) >= kWinogradMinTiles &&
         std::max(s.c, s.k) < kWinogradMinWiderChannels;
}

ConvAlgorithm choose_conv_algorithm(const Conv2dShape& s) {
  if (s.groups == s.c && s.groups > 1) return ConvAlgorithm::kDepthwise;
  if (conv::pointwise_supported(s)) return ConvAlgorithm::kPointwise;
  if (strided_channel_lanes_pay(s)) return ConvAlgorithm::kDirectChannels;
  if (conv::direct_supported(s) && (s.c * s.kernel_h * s.kernel_w <= kDirectMaxRows || direct_below_winograd(s))) {
    return channel_lanes_pay(s) ? ConvAlgorithm::kDirectChannels : ConvAlgorithm::kDirect;
  }
  if (conv::winograd_supported(s) && s.c >= kWinogradMinChannels && s.k >= kWinogradMinChannels &&
      std::max(s.c, s.k) >= kWinogradMinWiderChannels && output_tiles_2x2(s) >= kWinogradMinTiles) {
    return ConvAlgorithm::kWinograd;
  }
  return ConvAlgorithm::kGemm;
}

namespace {
// kDirect, or kDirectChannels where it falls back to kDirect.
bool is_direct(ConvAlgorithm algorithm) {
  return algorithm == ConvAlgorithm::kDirect || algorithm == ConvAlgorithm::kDirectChannels;
}
}  // namespace

void conv2d_forward_with(ConvAlgorithm algorithm, const float* x, const float* weight, const float* bias, float* y,
                         const Conv2dShape& s) {
  if (algorithm == ConvAlgorithm::kDepthwise) {
    conv::depthwise_forward(x, weight, bias, y, s);
  } else if (algorithm == ConvAlgorithm::kDirectChannels && conv::direct_channels_supported(s)) {
    conv::direct_channels_forward(x, weight, bias, y, s);
  } else if (is_direct(algorithm) && conv::direct_supported(s)) {
    conv::direct_forward(x, weight, bias, y, s);
  } else if (algorithm == ConvAlgorithm::kWinograd && conv::winograd_supported(s)) {
    conv::winograd_forward(x, weight, bias, y, s);
  } else if (algorithm == ConvAlgorithm::kPointwise && conv::pointwise_supported(s)) {
    conv::pointwise_forward(x, weight, bias, y, s);
  } else {
    conv::gemm_forward(x, weight, bias, y, s);
  }
}

void conv2d_backward_input_with(ConvAlgorithm algorithm, const float* gy, const float* weight, float* gx,
                                const Conv2dShape& s) {
  if (algorithm == ConvAlgorithm::kDepthwise) {
    conv::depthwise_backward_input(gy, weight, gx, s);
  } else if (algorithm == ConvAlgorithm::kDirectChannels && conv::direct_batch_supported(s) && wide_vectors()) {
    conv::direct_batch_backward_input(gy, weight, gx, s);  // images in Vec16 lanes: AVX-512 only
  } else if (is_direct(algorithm) && conv::direct_supported(s)) {
    conv::direct_backward_input(gy, weight, gx, s);
  } else if (algorithm == ConvAlgorithm::kWinograd && conv::winograd_supported(s)) {
    conv::winograd_backward_input(gy, weight, gx, s);
  } else {
    conv::gemm_backward_input(gy, weight, gx, s);
  }
}

void conv2d_backward_weight_with(ConvAlgorithm algorithm, const float* x, const float* gy, float* gweight,
                                 float* gbias, const Conv2dShape& s) {
  if (algorithm == ConvAlgorithm::kDepthwise) {
    conv::depthwise_backward_weight(x, gy, gweight, gbias, s);  // the bias gradient too
    return;
  }
  if (algorithm == ConvAlgorithm::kDirectChannels && conv::direct_channels_supported(s)) {
    conv::direct_channels_backward_weight(x, gy, gweight, gbias, s);  // the bias gradient too
    return;
  }
  if (is_direct(algorithm) && conv::direct_supported(s)) {
    conv::direct_backward_weight(x, gy, gweight, s);
  } else if (algorithm == ConvAlgorithm::kWinograd && conv::winograd_supported(s)) {
    conv::winograd_backward_weight(x, gy, gweight, s);
  } else {
    conv::gemm_backward_weight(x, gy, gweight, s);
  }
  if (gbias != nullptr) conv::bias_gradient(gy, gbias, s);
}

void conv2d_forward(const float* x, const float* weight, const float* bias, float* y, const Conv2dShape& s) {
  conv2d_forward_with(choose_conv_algorithm(s), x, weight, bias, y, s);
}

// The direct algorithms compute an image at a time and run the epilogue on it at once (channel
// lanes only ReLU and pooling: with an affine map or ReLU6 they take the path after). The
// depthwise and pointwise ones map the values of each plane or tile as soon as they write it;
// the others write the whole output first, and the values are then mapped plane by plane.
// Pooling then runs image by image.
void conv2d_forward_fused(const float* x, const float* weight, const float* bias, float* y, const Conv2dShape& s,
                          const ConvEpilogue& e) {
  const ConvAlgorithm algorithm = choose_conv_algorithm(s);
  // Channel lanes apply ReLU and pooling in registers; an affine map or ReLU6 runs after it.
  const bool relu_and_pool_only = e.scale == nullptr && !e.relu6;
  if (algorithm == ConvAlgorithm::kDirectChannels && conv::direct_channels_supported(s) && relu_and_pool_only) {
    conv::direct_channels_forward(x, weight, bias, y, s, e);
    return;
  }
  if (is_direct(algorithm) && conv::direct_supported(s)) {
    conv::direct_forward(x, weight, bias, y, s, e);
    return;
  }
  const int64_t image = s.k * s.out_h * s.out_w;
  std::vector<float> unpooled(e.max_pool_2x2 ? static_cast<size_t>(s.n * image) : 0);
  float* out = e.max_pool_2x2 ? unpooled.data() : y;
  if (algorithm == ConvAlgorithm::kDepthwise) {
    conv::depthwise_forward(x, weight, bias, out, s, e);
  } else if (algorithm == ConvAlgorithm::kPointwise) {
    conv::pointwise_forward(x, weight, bias, out, s, e);
  } else {
    conv2d_forward_with(algorithm, x, weight, bias, out, s);
    conv::finish_output_values(out, s, e);
  }
  if (!e.max_pool_2x2) return;
  parallel_for_balanced(0, s.n, grain_for(image), [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) conv::pool_image(out + n * image, y, n, s, false);
  });
}

// The input gradient with 16 images in the lanes (conv_direct_batch.cc) transposes a group's gy
// to (k, out_h, padded row, 16 images); up to this size (bytes) that stays in L2 while each
// input row reads it, and images in the lanes beat pixel lanes: 16→16 at 28×28 (batch 128,
// 784 KiB) 3.5 vs 3.7 ms, 32→32 at 14×14 (392 KiB) 3.2 vs 3.9 ms (1 thread). Larger, pixel lanes
// won: 32→32 at 28×28 (1.5 MiB) 6.5 vs 7.7 ms, at 56×56 (6.1 MiB) 13.2 vs 28.7 ms.
constexpr int64_t kImageLanesMaxGroupBytes = 1024 * 1024;

ConvAlgorithm choose_input_gradient_algorithm(const Conv2dShape& s) {
  const ConvAlgorithm algorithm = choose_conv_algorithm(s);
  if (!is_direct(algorithm)) return algorithm;
  const int64_t group_bytes = 16 * s.k * s.out_h * s.out_w * static_cast<int64_t>(sizeof(float));
  if (conv::direct_batch_supported(s) && wide_vectors() && group_bytes <= kImageLanesMaxGroupBytes) {
    return ConvAlgorithm::kDirectChannels;  // images in the lanes (conv2d_backward_input_with)
  }
  return conv::direct_supported(s) ? ConvAlgorithm::kDirect : algorithm;
}

void conv2d_backward_input(const float* gy, const float* weight, float* gx, const Conv2dShape& s) {
  conv2d_backward_input_with(choose_input_gradient_algorithm(s), gy, weight, gx, s);
}

// Channel lanes transpose one image's gy at a time to pixel-major; up to this size (bytes) it
// stays in L2 while the weight gradient reads it.
constexpr int64_t kLaneWeightGradientMaxBytes = 512 * 1024;

// The weight gradient with channels in the lanes scales across threads where kDirect's does
// not (its chunks each copy every plane of the batch): where kDirect is chosen, channel lanes
// can run and an image's transposed gy fits in L2, they take the weight gradient, while the
// forward and input gradient stay with kDirect's pixel lanes. N32 C3 32×32→32 3×3: weight
// gradient 2 threads 0.83 → 0.50 ms, 1 thread 1.5 → 1.2 ms; N16 C4 64×64→16: forward + weight
// gradient 3.6 → 2.2 ms on 1 thread. (N8 C3 224×224→64, 12.8 MB of gy an image, ran 40%
// slower on 2 threads this way.)
ConvAlgorithm choose_weight_gradient_algorithm(const Conv2dShape& s) {
  const ConvAlgorithm algorithm = choose_conv_algorithm(s);
  const int64_t transposed_gy_bytes = s.out_h * s.out_w * s.k * static_cast<int64_t>(sizeof(float));
  if (algorithm == ConvAlgorithm::kDirect && conv::direct_channels_supported(s) && wide_vectors() &&
      transposed_gy_bytes <= kLaneWeightGradientMaxBytes) {
    return ConvAlgorithm::kDirectChannels;
  }
  // Stride 2, where the forward takes channel lanes or GEMM (see kStridedLaneWeightGradientMaxTaps):
  // channel lanes for a batch, GEMM for one image.
  if (strided_channel_lanes_pay(s, kStridedLaneWeightGradientMaxTaps)) {
    return s.n >= kStridedLaneWeightGradientMinImages ? ConvAlgorithm::kDirectChannels : ConvAlgorithm::kGemm;
  }
  return algorithm;
}

void conv2d_backward_weight(const float* x, const float* gy, float* gweight, float* gbias, const Conv2dShape& s) {
  conv2d_backward_weight_with(choose_weight_gradient_algorithm(s), x, gy, gweight, gbias, s);
}

}  // namespace kiln
