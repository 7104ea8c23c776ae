// conv2d forward / backward (every algorithm) against naive double-precision loops.
#include <vector>

#include "check.h"
#include "conv/conv.h"
#include "cpu.h"
#include "gemm/gemm_bf16.h"

using namespace kiln;
using kiln::test::Random;

// out_h / out_w from the rest of the shape.
static Conv2dShape make_shape(Conv2dShape s) {
  s.out_h = (s.h + s.pad_top + s.pad_bottom - s.dilation_h * (s.kernel_h - 1) - 1) / s.stride_h + 1;
  s.out_w = (s.w + s.pad_left + s.pad_right - s.dilation_w * (s.kernel_w - 1) - 1) / s.stride_w + 1;
  return s;
}

//                           n  c   h   w  k  kh kw sh sw pt pb pl pr dh dw groups
static const Conv2dShape kShapes[] = {
    make_shape({2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}),
    make_shape({1, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1, 0, 0}),
    make_shape({3, 6, 9, 11, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0}),    // pointwise
    make_shape({2, 4, 10, 9, 6, 2, 3, 3, 2, 1, 0, 2, 1, 2, 1, 2, 0, 0}),    // stride > kernel, dilation, groups
    make_shape({2, 8, 8, 7, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8, 0, 0}),     // depthwise
    make_shape({1, 4, 9, 9, 12, 3, 2, 2, 1, 2, 1, 0, 1, 2, 3, 4, 0, 0}),    // depthwise × 3, dilation
    make_shape({5, 2, 1, 13, 3, 1, 4, 1, 2, 0, 0, 3, 1, 1, 2, 1, 0, 0}),    // conv1d as h = 1
    make_shape({2, 3, 7, 9, 6, 3, 2, 1, 1, 2, 0, 1, 3, 2, 1, 3, 0, 0}),     // depthwise × 2, stride 1, dilation
    make_shape({1, 2, 9, 9, 2, 6, 5, 1, 1, 2, 3, 2, 2, 1, 1, 2, 0, 0}),     // depthwise, 30 taps
    make_shape({1, 2, 5, 21, 2, 3, 3, 1, 1, 4, 0, 0, 5, 1, 1, 2, 0, 0}),    // depthwise, padding > kernel
    make_shape({2, 16, 40, 40, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}),  // several blocks per image
    make_shape({20, 3, 6, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}),    // several images per block
    make_shape({19, 4, 5, 5, 6, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2, 0, 0}),    // pointwise, small planes, groups
    make_shape({2, 3, 5, 37, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3, 0, 0}),    // depthwise, rows of 16 + 16 + 5
    make_shape({2, 2, 4, 16, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 0, 0}),    // depthwise × 2, rows of exactly 16
    make_shape({3, 6, 5, 7, 6, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 6, 0, 0}),     // depthwise 1×1: per-plane scale
    make_shape({2, 4, 3, 9, 8, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 4, 0, 0}),     // depthwise × 2, 1×1
    make_shape({1, 3, 4, 5, 3, 1, 1, 1, 1, 1, 0, 2, 1, 1, 1, 3, 0, 0}),     // depthwise 1×1, padded
    make_shape({1, 2, 5, 5, 2, 5, 5, 4, 4, 2, 2, 2, 2, 1, 1, 2, 0, 0}),
    make_shape({3, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0}),   // LeNet's second layer
    make_shape({2, 3, 19, 37, 21, 3, 2, 1, 1, 0, 3, 1, 4, 2, 3, 1, 0, 0}),   // direct: k blocks 16 + 5, dilation
    make_shape({2, 2, 6, 5, 7, 4, 4, 1, 1, 5, 1, 0, 6, 1, 1, 1, 0, 0}),      // padding larger than the kernel
    // Batch 1 through GEMM: a 7×7 stride-2 RGB stem whose 50×50 output plane is cut into four
    // equal column blocks (640 + 640 + 640 + 580; col2im tasks cut each channel's rows into six),
    // the same on odd sizes (13×11 in, 7×6 out), and a 7×7 plane with many channels (ResNet's
    // layer4 shape, smaller).
    make_shape({1, 3, 100, 100, 8, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, 0, 0}),
    make_shape({1, 5, 13, 11, 6, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, 0, 0}),
    make_shape({1, 40, 7, 7, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}),
    make_shape({3, 5, 9, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}),      // Winograd, odd output
    make_shape({2, 4, 6, 8, 3, 3, 3, 1, 1, 2, 0, 0, 2, 1, 1, 1, 0, 0}),      // Winograd, padding 2 and 0
    // Winograd on one image, its tiles cut into equal blocks: 529 tiles (odd output) in four
    // blocks (136, 136, 136, 121); 225 tiles in two (120, 105); the input gradient alike.
    make_shape({1, 64, 45, 45, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}),
    make_shape({1, 64, 30, 29, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}),
    make_shape({2, 3, 9, 40, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0}),     // stride 2, rows of 20
    make_shape({1, 2, 7, 41, 3, 2, 4, 2, 2, 0, 1, 2, 0, 1, 2, 1, 0, 0}),     // stride 2, dilation, rows of 19
    // Output channels in the lanes (k a multiple of 16): rows of 1, 16, 17 (two overlapping
    // pieces) and 33 pixels, planes under and over 16 pixels, 32 channels, kernels 1 to 7 wide
    // (one to four kernel rows per register block, and the rows left over), padding.
    make_shape({3, 2, 7, 5, 16, 7, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0}),      // a 1 × 1 output
    make_shape({2, 3, 5, 20, 32, 2, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0}),     // 4 rows of 16
    make_shape({2, 1, 3, 19, 16, 3, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0}),     // rows of 17
    make_shape({3, 2, 9, 33, 16, 3, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0}),     // 1 wide, rows of 33
    make_shape({2, 5, 8, 9, 16, 2, 2, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 0}),      // 2 wide, 10 kernel rows
    make_shape({1, 2, 11, 12, 16, 4, 4, 1, 1, 1, 2, 2, 1, 1, 1, 1, 0, 0}),    // 4 wide
    make_shape({2, 1, 10, 10, 16, 3, 6, 1, 1, 1, 1, 2, 3, 1, 1, 1, 0, 0}),    // 6 wide
    make_shape({2, 3, 9, 13, 32, 5, 7, 1, 1, 2, 2, 3, 3, 1, 1, 1, 0, 0}),     // 7 wide: 3 rows a block
    // Column stride 2 (the input gradient then GEMM's), row strides 2 and 3.
    make_shape({2, 3, 11, 12, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0}),
    make_shape({3, 5, 9, 37, 32, 5, 4, 2, 2, 2, 1, 0, 2, 1, 1, 1, 0, 0}),    // rows of 18 outputs
    make_shape({2, 2, 13, 8, 16, 2, 7, 3, 1, 0, 1, 3, 3, 1, 1, 1, 0, 0}),     // row stride 3
    make_shape({2, 4, 6, 30, 16, 3, 3, 1, 2, 0, 0, 0, 0, 1, 1, 1, 0, 0}),     // unpadded, stride (1, 2)
    make_shape({2, 3, 9, 13, 48, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0}),     // 48 channels: two blocks at once, then one
    make_shape({1, 3, 21, 23, 64, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, 0, 0}),    // a stem at batch 1: pairs of blocks per thread
    make_shape({2, 5, 8, 9, 32, 2, 2, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 0}),      // weight gradient: two blocks, 2 wide, 10 rows
    make_shape({3, 40, 9, 9, 32, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, 0, 0}),     // 1×1 stride 2, 40 rows of one tap
    // Its input gradient puts 16 images in the lanes: a group of 16 and the rest (pixel lanes),
    // channel blocks of 6, 3 (+ a zero channel), 5 and 1, rows not a multiple of the block's
    // pixels, planes under 16 pixels.
    make_shape({17, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0}),   // LeNet-2
    make_shape({16, 11, 6, 7, 16, 3, 3, 1, 1, 1, 0, 2, 1, 1, 1, 1, 0, 0}),    // 11 channels: 2 blocks of 6
    make_shape({16, 3, 5, 19, 32, 2, 5, 1, 1, 1, 1, 2, 2, 1, 1, 1, 0, 0}),    // 4-pixel blocks, 19 columns
    make_shape({33, 10, 4, 5, 16, 3, 2, 1, 1, 2, 0, 0, 1, 1, 1, 1, 0, 0}),    // 2 groups, blocks of 5
    make_shape({16, 1, 2, 3, 16, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0}),     // planes of 2 and 6 pixels
    // Depthwise at stride 2 (the even/odd column split): odd planes, rows of 20 outputs with
    // multiplier 2, a 5×5 filter, one-sided padding, a 1-row output.
    make_shape({2, 6, 11, 13, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 6, 0, 0}),
    make_shape({1, 4, 16, 40, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 4, 0, 0}),
    make_shape({1, 3, 9, 8, 3, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 3, 0, 0}),
    make_shape({1, 2, 7, 9, 2, 3, 3, 2, 2, 0, 1, 1, 0, 1, 1, 2, 0, 0}),
    make_shape({1, 2, 3, 35, 2, 3, 2, 2, 2, 0, 0, 0, 1, 1, 1, 2, 0, 0}),
    // GEMM at stride 2 through the planes' phases: ResNet's downsampling 3×3 and 1×1 (rows of
    // 16 and 4 outputs), odd planes with one-sided padding, an even kernel, few channels (the
    // input gradient's rows cut into pieces per channel).
    make_shape({2, 64, 32, 32, 128, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0}),
    make_shape({3, 64, 8, 8, 128, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0}),
    make_shape({3, 32, 16, 16, 64, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, 0, 0}),
    make_shape({3, 6, 9, 11, 8, 3, 3, 2, 2, 0, 1, 2, 0, 1, 1, 1, 0, 0}),
    make_shape({2, 5, 10, 7, 4, 4, 4, 2, 2, 1, 2, 1, 1, 1, 1, 1, 0, 0}),
    make_shape({1, 3, 15, 12, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0}),
};

static int64_t x_size(const Conv2dShape& s) { return s.n * s.c * s.h * s.w; }
static int64_t w_size(const Conv2dShape& s) { return s.k * (s.c / s.groups) * s.kernel_h * s.kernel_w; }
static int64_t y_size(const Conv2dShape& s) { return s.n * s.k * s.out_h * s.out_w; }

// Calls fn(n, kk, c, r, q, oh, ow, x_index, w_index, y_index) for every product term of the
// convolution whose input position is inside x.
template <typename Fn>
static void for_each_term(const Conv2dShape& s, Fn fn) {
  const int64_t cg = s.c / s.groups, kg = s.k / s.groups;
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t kk = 0; kk < s.k; ++kk)
      for (int64_t ci = 0; ci < cg; ++ci)
        for (int64_t r = 0; r < s.kernel_h; ++r)
          for (int64_t q = 0; q < s.kernel_w; ++q)
            for (int64_t oh = 0; oh < s.out_h; ++oh)
              for (int64_t ow = 0; ow < s.out_w; ++ow) {
                const int64_t ih = oh * s.stride_h - s.pad_top + r * s.dilation_h;
                const int64_t iw = ow * s.stride_w - s.pad_left + q * s.dilation_w;
                if (ih < 0 || ih >= s.h || iw < 0 || iw >= s.w) continue;
                const int64_t c = kk / kg * cg + ci;
                fn(((n * s.c + c) * s.h + ih) * s.w + iw, ((kk * cg + ci) * s.kernel_h + r) * s.kernel_w + q,
                   ((n * s.k + kk) * s.out_h + oh) * s.out_w + ow);
              }
}

static const ConvAlgorithm kAlgorithms[] = {ConvAlgorithm::kGemm, ConvAlgorithm::kDepthwise, ConvAlgorithm::kDirect,
                                              ConvAlgorithm::kDirectChannels, ConvAlgorithm::kWinograd,
                                              ConvAlgorithm::kPointwise};

static bool runs(ConvAlgorithm algorithm, const Conv2dShape& s) {
  return algorithm != ConvAlgorithm::kDepthwise || s.groups == s.c;
}

// The naive forward and backward passes, in double precision.
struct Expected {
  std::vector<double> y, gx, gw, gb;
};
static Expected naive(const Conv2dShape& s, const std::vector<float>& x, const std::vector<float>& w,
                      const std::vector<float>& b, const std::vector<float>& gy) {
  Expected e{std::vector<double>(y_size(s)), std::vector<double>(x_size(s)), std::vector<double>(w_size(s)),
             std::vector<double>(s.k)};
  const int64_t plane = s.out_h * s.out_w;
  for (int64_t i = 0; i < y_size(s); ++i) {
    e.y[i] = b[i / plane % s.k];
    e.gb[i / plane % s.k] += gy[i];
  }
  for_each_term(s, [&](int64_t xi, int64_t wi, int64_t yi) {
    e.y[yi] += double(x[xi]) * w[wi];
    e.gx[xi] += double(gy[yi]) * w[wi];
    e.gw[wi] += double(gy[yi]) * x[xi];
  });
  return e;
}

// The three passes of `algorithm` (or the entry points' own choices, for nullptr) against e.
static void check_passes(const ConvAlgorithm* algorithm, const Conv2dShape& s, const std::vector<float>& x,
                         const std::vector<float>& w, const std::vector<float>& b, const std::vector<float>& gy,
                         const Expected& e) {
  std::vector<float> y(y_size(s), NAN), gx(x_size(s), NAN), gw(w_size(s), NAN), gb(s.k, NAN);
  if (algorithm != nullptr) {
    conv2d_forward_with(*algorithm, x.data(), w.data(), b.data(), y.data(), s);
    conv2d_backward_input_with(*algorithm, gy.data(), w.data(), gx.data(), s);
    conv2d_backward_weight_with(*algorithm, x.data(), gy.data(), gw.data(), gb.data(), s);
  } else {
    conv2d_forward(x.data(), w.data(), b.data(), y.data(), s);
    conv2d_backward_input(gy.data(), w.data(), gx.data(), s);
    conv2d_backward_weight(x.data(), gy.data(), gw.data(), gb.data(), s);
  }
  CHECK_ALL_CLOSE(y, e.y, 1e-4);
  CHECK_ALL_CLOSE(gx, e.gx, 1e-4);
  // Weight and bias gradients sum n · out_h · out_w float32 products each.
  CHECK_ALL_CLOSE(gw, e.gw, 1e-3);
  CHECK_ALL_CLOSE(gb, e.gb, 1e-3);
}

TEST(every_algorithm_matches_naive) {
  for (const Conv2dShape& s : kShapes) {
    const std::vector<float> x = Random(1).vector(x_size(s)), w = Random(2).vector(w_size(s)), b = Random(3).vector(s.k);
    const std::vector<float> gy = Random(6).vector(y_size(s));
    const Expected e = naive(s, x, w, b, gy);
    test::for_each_vector_width([&] {
      for (ConvAlgorithm algorithm : kAlgorithms) {
        if (runs(algorithm, s)) check_passes(&algorithm, s, x, w, b, gy, e);
      }
      check_passes(nullptr, s, x, w, b, gy, e);  // the entry points, with their own per-pass choice
    });
  }
}

// values rounded to bfloat16 (float_to_bf16), as autocast's operands are.
static std::vector<float> bfloat16_values(std::vector<float> values) {
  for (float& v : values) v = bf16_to_float(float_to_bf16(v));
  return values;
}

TEST(bfloat16_gemm_precision_matches_naive_on_bfloat16_values) {
  // autocast's convolutions: the im2col and 1×1 GEMMs in bfloat16 compute (the AVX512-BF16
  // kernel where it runs; FP32 elsewhere) on bfloat16 operands, FP32 accumulation, so the
  // FP32 tolerances hold; the other algorithms ignore the precision.
  for (Conv2dShape s : kShapes) {
    s.gemm_precision = GemmPrecision::kBFloat16;
    const std::vector<float> x = bfloat16_values(Random(1).vector(x_size(s))), w = bfloat16_values(Random(2).vector(w_size(s)));
    const std::vector<float> b = Random(3).vector(s.k), gy = bfloat16_values(Random(6).vector(y_size(s)));
    const Expected e = naive(s, x, w, b, gy);
    for (ConvAlgorithm algorithm : {ConvAlgorithm::kGemm, ConvAlgorithm::kPointwise}) check_passes(&algorithm, s, x, w, b, gy, e);
    check_passes(nullptr, s, x, w, b, gy, e);
  }
}

TEST(lenet_shapes_match_naive_with_the_algorithms_chosen_here) {
  // LeNet-5's two convolutions and a 3-channel stem, at batches that split across threads,
  // through what the chooser picks on this CPU (direct kernels with Vec8 on AVX2, channel
  // lanes on AVX-512) and through every algorithm it can return for them.
  for (const Conv2dShape& s : {make_shape({9, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1, 0, 0}),
                               make_shape({9, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0}),
                               make_shape({5, 3, 32, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0})}) {
    const std::vector<float> x = Random(11).vector(x_size(s)), w = Random(12).vector(w_size(s));
    const std::vector<float> b = Random(13).vector(s.k), gy = Random(14).vector(y_size(s));
    const Expected e = naive(s, x, w, b, gy);
    check_passes(nullptr, s, x, w, b, gy, e);
    const ConvAlgorithm chosen[] = {choose_conv_algorithm(s), choose_weight_gradient_algorithm(s)};
    for (ConvAlgorithm algorithm : chosen) check_passes(&algorithm, s, x, w, b, gy, e);
  }
}

TEST(few_channel_weight_gradients_take_channel_lanes) {
  // N32 C3 32×32→32 3×3 p1, whose 32-pixel rows fill pixel lanes: with Vec16, pixel lanes for
  // the forward and channel lanes for the weight gradient; with Vec8 (two vectors of channels
  // per pixel), channel lanes for both. LeNet-1 (6 channels) has pixel lanes only.
  const Conv2dShape s = make_shape({32, 3, 32, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0});
  const Conv2dShape lenet1 = make_shape({64, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1, 0, 0});
  test::for_each_vector_width([&] {
    const ConvAlgorithm forward = wide_vectors() ? ConvAlgorithm::kDirect : ConvAlgorithm::kDirectChannels;
    CHECK(choose_conv_algorithm(s) == forward);
    CHECK(choose_weight_gradient_algorithm(s) == ConvAlgorithm::kDirectChannels);
    CHECK(choose_conv_algorithm(lenet1) == ConvAlgorithm::kDirect);
    CHECK(choose_weight_gradient_algorithm(lenet1) == ConvAlgorithm::kDirect);
  });
}

TEST(narrow_winograd_shapes_take_the_direct_kernels) {
  // 3×3 stride-1 convolutions with fewer than 64 channels on both sides take the direct
  // kernels (issue 14's recipe at width 16: 32→32 at 14×14), not Winograd; the input gradient
  // puts images in the lanes (AVX-512) while a 16-image group's gy is ≤ 1 MiB (14×14) and pixel
  // lanes beyond (28×28). At 64 → 64 Winograd stays. ResNet's 64→128 stride 2 at 7×7 (4-pixel
  // output rows) takes GEMM; 32→64 at 14×14 (288 taps) GEMM forward and channel lanes for the
  // weight gradient, except at batch 1; 16→32 (144 taps) channel lanes for both.
  const Conv2dShape s14 = make_shape({9, 32, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0});
  const Conv2dShape s28 = make_shape({3, 32, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0});
  const Conv2dShape s64 = make_shape({9, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0});
  const Conv2dShape down4 = make_shape({3, 64, 7, 7, 128, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0});
  const Conv2dShape down7 = make_shape({3, 32, 14, 14, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0});
  const Conv2dShape down7_one = make_shape({1, 32, 14, 14, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0});
  const Conv2dShape narrow_down7 = make_shape({3, 16, 14, 14, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0});
  test::for_each_vector_width([&] {
    for (const Conv2dShape& s : {s14, s28}) {
      const ConvAlgorithm forward = choose_conv_algorithm(s);
      CHECK(forward == ConvAlgorithm::kDirect || forward == ConvAlgorithm::kDirectChannels);
      CHECK(choose_weight_gradient_algorithm(s) == ConvAlgorithm::kDirectChannels);
    }
    CHECK(choose_input_gradient_algorithm(s14) == (wide_vectors() ? ConvAlgorithm::kDirectChannels : ConvAlgorithm::kDirect));
    CHECK(choose_input_gradient_algorithm(s28) == ConvAlgorithm::kDirect);
    CHECK(choose_conv_algorithm(s64) == ConvAlgorithm::kWinograd);
    CHECK(choose_input_gradient_algorithm(s64) == ConvAlgorithm::kWinograd);
    if (wide_vectors()) {
      CHECK(choose_conv_algorithm(down4) == ConvAlgorithm::kGemm);
      CHECK(choose_conv_algorithm(down7) == ConvAlgorithm::kGemm);
      CHECK(choose_weight_gradient_algorithm(down7) == ConvAlgorithm::kDirectChannels);
      CHECK(choose_weight_gradient_algorithm(down7_one) == ConvAlgorithm::kGemm);
      CHECK(choose_conv_algorithm(narrow_down7) == ConvAlgorithm::kDirectChannels);
      CHECK(choose_weight_gradient_algorithm(narrow_down7) == ConvAlgorithm::kDirectChannels);
    }
  });
  for (const Conv2dShape& s : {s14, s28, down4, down7, down7_one, narrow_down7}) {
    const std::vector<float> x = Random(21).vector(x_size(s)), w = Random(22).vector(w_size(s));
    const std::vector<float> b = Random(23).vector(s.k), gy = Random(24).vector(y_size(s));
    const Expected e = naive(s, x, w, b, gy);
    test::for_each_vector_width([&] { check_passes(nullptr, s, x, w, b, gy, e); });
  }
}

// Winograd's three passes on shape s against the double-precision oracle, at every vector
// width, outputs NaN-filled first. Deep channel sums (up to 2304 float32 products through the
// transforms) stay within 3e-4 for y and gx, 1e-3 for gw (kShapes' shorter sums: 1e-4).
static void check_deep_winograd(const Conv2dShape& s, const std::vector<float>& x, const std::vector<float>& w,
                                const std::vector<float>& b, const std::vector<float>& gy) {
  const Expected e = naive(s, x, w, b, gy);
  test::for_each_vector_width([&] {
    std::vector<float> y(y_size(s), NAN), gx(x_size(s), NAN), gw(w_size(s), NAN);
    conv2d_forward_with(ConvAlgorithm::kWinograd, x.data(), w.data(), b.data(), y.data(), s);
    conv2d_backward_input_with(ConvAlgorithm::kWinograd, gy.data(), w.data(), gx.data(), s);
    conv2d_backward_weight_with(ConvAlgorithm::kWinograd, x.data(), gy.data(), gw.data(), nullptr, s);
    CHECK_ALL_CLOSE(y, e.y, 3e-4);
    CHECK_ALL_CLOSE(gx, e.gx, 3e-4);
    CHECK_ALL_CLOSE(gw, e.gw, 1e-3);
  });
}

TEST(winograd_deep_blocks_match_naive) {
  // Many channels on few tiles: 180 tiles in blocks of 128 (the transformed filters no larger
  // than a block's transformed tiles; 48 by cache size alone) and 52. Forward and input
  // gradient sum 2304 float32 products through Winograd's transforms: within 3e-4 here, beyond
  // kShapes' 1e-4 for shorter sums.
  const Conv2dShape s = make_shape({5, 256, 12, 12, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0});
  const std::vector<float> x = Random(1).vector(x_size(s)), w = Random(2).vector(w_size(s)), b = Random(3).vector(s.k);
  check_deep_winograd(s, x, w, b, Random(6).vector(y_size(s)));
}

TEST(winograd_resnet18_stages_match_naive) {
  // ResNet-18 (smallInput) stage shapes on small batches: 32×32 planes take runs of tiles from
  // padded rows (their next channels' rows prefetched), 8×8 and 4×4 planes vectors of tiles
  // across rows and images (4×4 at batch 5: 20 tiles, a partial last vector).
  for (const Conv2dShape& s : {make_shape({2, 64, 32, 32, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}),
                               make_shape({3, 256, 8, 8, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}),
                               make_shape({5, 256, 4, 4, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0})}) {
    const std::vector<float> x = Random(11).vector(x_size(s)), w = Random(12).vector(w_size(s)), b = Random(13).vector(s.k);
    check_deep_winograd(s, x, w, b, Random(14).vector(y_size(s)));
  }
}

TEST(results_do_not_depend_on_thread_count) {
  // The direct (few channels; 16 output channels: in the lanes on AVX-512), Winograd (many
  // channels) and GEMM (here with planes cut into two column blocks, whose input gradients
  // overlap) algorithms, chosen per shape.
  for (const Conv2dShape& s : {make_shape({9, 4, 12, 12, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}),
                               make_shape({3, 64, 30, 30, 8, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1, 0, 0}),
                               make_shape({17, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0}),
                               make_shape({7, 32, 9, 9, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}),
                               make_shape({1, 64, 45, 45, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}),
                               // Winograd in one block of 108 tiles, its GEMMs cut across threads
                               make_shape({3, 256, 12, 12, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}),
                               // Batch 1: a stem (channel lanes; its input gradient through
                               // GEMM, 4 column blocks, col2im tasks of rows), one whose three
                               // blocks of 16 channels (or two pairs of them) the threads share, and 7×7 planes through
                               // GEMM (im2col's 640 rows cut across threads; with 128 channels
                               // out, both products taller than wide and computed transposed)
                               make_shape({1, 3, 100, 100, 16, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, 0, 0}),
                               make_shape({1, 3, 60, 60, 48, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, 0, 0}),
                               make_shape({1, 3, 60, 60, 64, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, 0, 0}),
                               make_shape({1, 640, 7, 7, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}),
                               make_shape({1, 96, 7, 7, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}),
                               // Stride 2 through phases: several images per block, and one
                               // image whose im2col rows and col2im row pieces split
                               make_shape({9, 64, 8, 8, 128, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0}),
                               make_shape({1, 3, 40, 40, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0})}) {
  const std::vector<float> x = Random(7).vector(x_size(s)), w = Random(8).vector(w_size(s));
  const std::vector<float> gy = Random(9).vector(y_size(s));
  CHECK(test::same_with_threads<std::vector<float>>([&] {
    std::vector<float> y(y_size(s)), gx(x_size(s)), gw(w_size(s)), gb(s.k);
    conv2d_forward(x.data(), w.data(), nullptr, y.data(), s);
    conv2d_backward_input(gy.data(), w.data(), gx.data(), s);
    conv2d_backward_weight(x.data(), gy.data(), gw.data(), gb.data(), s);
    y.insert(y.end(), gx.begin(), gx.end());
    y.insert(y.end(), gw.begin(), gw.end());
    y.insert(y.end(), gb.begin(), gb.end());
    return y;
  }));
  }
}

TEST(empty_batch_gives_zero_gradients) {
  // GEMM's, and the direct kernels' with channels in the lanes (bias summed in the same pass).
  for (const Conv2dShape& s : {make_shape({0, 2, 5, 5, 3, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0}),
                               make_shape({0, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0})}) {
    for (ConvAlgorithm algorithm : {ConvAlgorithm::kGemm, ConvAlgorithm::kDirectChannels}) {
      std::vector<float> gw(w_size(s), NAN), gb(s.k, NAN);
      conv2d_backward_weight_with(algorithm, nullptr, nullptr, gw.data(), gb.data(), s);
      CHECK_ALL_CLOSE(gw, std::vector<float>(w_size(s), 0.0f), 0.0);
      CHECK_ALL_CLOSE(gb, std::vector<float>(s.k, 0.0f), 0.0);
    }
  }
}

// The epilogue's oracle: v·scale[k] + shift[k] (when scale is set), relu (x < 0 ? 0 : x) and
// with relu6 the clamp x > 6 ? 6 : x, then 2×2 max pooling in PyTorch's window order (a later
// tap wins when larger or NaN), as the separate kernels compute them.
static std::vector<float> naive_epilogue(std::vector<float> y, const Conv2dShape& s, const ConvEpilogue& e) {
  const int64_t plane = s.out_h * s.out_w;
  for (size_t i = 0; i < y.size(); ++i) {
    const int64_t kk = static_cast<int64_t>(i) / plane % s.k;
    float v = e.scale != nullptr ? y[i] * e.scale[kk] + e.shift[kk] : y[i];
    if (e.relu || e.relu6) v = v < 0.0f ? 0.0f : v;
    if (e.relu6) v = v > 6.0f ? 6.0f : v;
    y[i] = v;
  }
  if (!e.max_pool_2x2) return y;
  const int64_t out_h = s.out_h / 2, out_w = s.out_w / 2;
  std::vector<float> pooled(static_cast<size_t>(s.n * s.k * out_h * out_w));
  for (int64_t p = 0; p < s.n * s.k; ++p) {
    for (int64_t oh = 0; oh < out_h; ++oh) {
      for (int64_t ow = 0; ow < out_w; ++ow) {
        const float* window = y.data() + (p * s.out_h + 2 * oh) * s.out_w + 2 * ow;
        float best = window[0];
        for (float v : {window[1], window[s.out_w], window[s.out_w + 1]}) best = v > best || v != v ? v : best;
        pooled[(p * out_h + oh) * out_w + ow] = best;
      }
    }
  }
  return pooled;
}

// conv2d_forward_fused against conv2d_forward and the oracle epilogue, bit for bit.
static void check_fused(const Conv2dShape& s, const std::vector<float>& x, const std::vector<float>& w,
                        const std::vector<float>& b) {
  std::vector<float> y(y_size(s));
  conv2d_forward(x.data(), w.data(), b.data(), y.data(), s);
  for (const ConvEpilogue& e : {ConvEpilogue{true, false}, ConvEpilogue{true, true}, ConvEpilogue{false, true}}) {
    if (e.max_pool_2x2 && (s.out_h % 2 != 0 || s.out_w % 2 != 0)) continue;
    const std::vector<float> expected = naive_epilogue(y, s, e);
    std::vector<float> fused(expected.size(), NAN);
    conv2d_forward_fused(x.data(), w.data(), b.data(), fused.data(), s, e);
    CHECK_ALL_CLOSE(fused, expected, 0.0);
  }
}

TEST(fused_epilogue_gives_the_separate_passes_bit_for_bit) {
  // Every shape above (each algorithm the chooser takes, even and odd outputs), LeNet's two
  // layers with planes of 28 and 10 (pooled rows of 14 and 5: vector and scalar windows), and
  // an identity 1×1 convolution carrying NaN, ±Infinity and ties straight to the epilogue.
  std::vector<Conv2dShape> shapes(std::begin(kShapes), std::end(kShapes));
  shapes.push_back(make_shape({9, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1, 0, 0}));
  shapes.push_back(make_shape({9, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0}));
  test::for_each_vector_width([&] {
    for (const Conv2dShape& s : shapes) {
      check_fused(s, Random(21).vector(x_size(s)), Random(22).vector(w_size(s)), Random(23).vector(s.k));
    }
    const Conv2dShape identity = make_shape({2, 1, 6, 36, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0});
    std::vector<float> x = Random(24).vector(x_size(identity));
    for (int64_t i = 0; i < x_size(identity); i += 7) x[i] = i % 3 == 0 ? NAN : i % 3 == 1 ? -INFINITY : INFINITY;
    for (int64_t i = 3; i < x_size(identity); i += 11) x[i] = x[i - 1];  // ties
    check_fused(identity, x, {1.0f}, {0.0f});
  });
}

// The per-channel affine map (a folded BatchNorm) with ReLU6, ReLU or no activation, pooled
// or not, against the oracle: within float rounding (the fused pass may use one multiply-add).
TEST(fused_affine_epilogue_matches_naive) {
  std::vector<Conv2dShape> shapes(std::begin(kShapes), std::end(kShapes));
  // MobileNet-v2's batch-1 shapes at reduced size: pointwise expand / project over 7×7 and
  // 14×13 planes, depthwise at stride 1 and 2.
  shapes.push_back(make_shape({1, 40, 7, 7, 120, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0}));
  shapes.push_back(make_shape({2, 96, 14, 13, 24, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0}));
  shapes.push_back(make_shape({1, 300, 3, 5, 700, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0}));
  shapes.push_back(make_shape({1, 24, 15, 17, 24, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 24, 0, 0}));
  test::for_each_vector_width([&] {
    for (const Conv2dShape& s : shapes) {
      const std::vector<float> x = Random(31).vector(x_size(s)), w = Random(32).vector(w_size(s));
      const std::vector<float> b = Random(33).vector(s.k), shift = Random(35).vector(s.k);
      std::vector<float> scale = Random(34).vector(s.k);
      for (float& v : scale) v *= 4.0f;  // spread past the ReLU6 clamp
      std::vector<float> y(y_size(s));
      conv2d_forward(x.data(), w.data(), b.data(), y.data(), s);
      for (const bool relu : {false, true}) {
        for (const bool relu6 : {false, true}) {
          for (const bool pool : {false, true}) {
            if (pool && (s.out_h % 2 != 0 || s.out_w % 2 != 0)) continue;
            ConvEpilogue e{relu, pool, relu6, scale.data(), shift.data()};
            const std::vector<float> expected = naive_epilogue(y, s, e);
            std::vector<float> fused(expected.size(), NAN);
            conv2d_forward_fused(x.data(), w.data(), b.data(), fused.data(), s, e);
            CHECK_ALL_CLOSE(fused, expected, 1e-5);
          }
        }
      }
    }
  });
}

TEST(pointwise_results_do_not_depend_on_thread_count) {
  const Conv2dShape s = make_shape({1, 160, 7, 7, 960, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0});
  const std::vector<float> x = Random(36).vector(x_size(s)), w = Random(37).vector(w_size(s));
  const std::vector<float> scale = Random(38).vector(s.k), shift = Random(39).vector(s.k);
  CHECK(test::same_with_threads<std::vector<float>>([&] {
    std::vector<float> y(y_size(s));
    conv2d_forward_fused(x.data(), w.data(), nullptr, y.data(), s, ConvEpilogue{true, false, true, scale.data(), shift.data()});
    return y;
  }));
}

TEST(fused_results_do_not_depend_on_thread_count) {
  const Conv2dShape s = make_shape({17, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0});
  const std::vector<float> x = Random(25).vector(x_size(s)), w = Random(26).vector(w_size(s));
  CHECK(test::same_with_threads<std::vector<float>>([&] {
    std::vector<float> y(y_size(s) / 4);
    conv2d_forward_fused(x.data(), w.data(), nullptr, y.data(), s, ConvEpilogue{true, true});
    return y;
  }));
}

KILN_TEST_MAIN()
