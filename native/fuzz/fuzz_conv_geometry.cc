// libFuzzer target: the geometry check of the conv2d bindings
// (native/bindings/conv_geometry.h) against an oracle in 128-bit arithmetic. A small geometry
// it accepts is then run through every convolution algorithm, forward and both backward
// passes, over arrays of exactly the sizes the bindings require, so AddressSanitizer catches a
// geometry the check let through that a kernel would read or write outside its arrays; the
// forward results are compared with a naive convolution.
//
// Input: 18 geometry entries (small values mostly, any int32 sometimes; outH and outW usually
// the ones the other entries give), then the values of x and the weight.
#include <cmath>
#include <initializer_list>
#include <memory>
#include <vector>

#include "conv/conv.h"
#include "conv_geometry.h"
#include "fuzz_input.h"

namespace {

using kiln::Conv2dShape;
using kiln::bindings::kConvGeometrySize;
using kiln::bindings::kMaxWork;
using kiln::bindings::Problem;
using kiln::fuzz::expect;
using kiln::fuzz::FuzzInput;
using Wide = __int128;

constexpr kiln::ConvAlgorithm kAlgorithms[] = {kiln::ConvAlgorithm::kGemm, kiln::ConvAlgorithm::kDepthwise,
                                               kiln::ConvAlgorithm::kDirect, kiln::ConvAlgorithm::kDirectChannels,
                                               kiln::ConvAlgorithm::kWinograd};

// The output size along one axis, computed wide (the oracle's own formula); 0 for a stride
// below one, which the check rejects anyway.
Wide out_size(Wide size, Wide pad_before, Wide pad_after, Wide kernel, Wide stride, Wide dilation) {
  if (stride < 1) return 0;
  const Wide span = size + pad_before + pad_after - dilation * (kernel - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

// The product of the sizes, counting those below one as one, saturated at 2^100.
Wide steps(std::initializer_list<Wide> sizes) {
  constexpr Wide kSaturated = Wide{1} << 100;
  Wide product = 1;
  for (Wide size : sizes) {
    const Wide factor = size > 1 ? size : 1;
    product = product > kSaturated / factor ? kSaturated : product * factor;
  }
  return product;
}

// g: the geometry entries, in conv_geometry.cc's order.
bool oracle_accepts(const int32_t* g) {
  for (int i = 0; i < kConvGeometrySize; ++i) {
    const bool may_be_zero = i == 0 || (i >= 9 && i <= 12);
    if (g[i] < (may_be_zero ? 0 : 1)) return false;
  }
  const Wide n = g[0], c = g[1], h = g[2], w = g[3], k = g[4], kh = g[5], kw = g[6], groups = g[15];
  if (c % groups != 0 || k % groups != 0) return false;
  const Wide padded_h = h + g[9] + g[10], padded_w = w + g[11] + g[12];
  if (steps({n, k, c / groups, g[16], g[17], kh, kw}) > kMaxWork || steps({n, c, padded_h, padded_w}) > kMaxWork ||
      steps({n, c, Wide{g[13]} * (kh - 1) + 1, Wide{g[14]} * (kw - 1) + 1}) > kMaxWork) {
    return false;
  }
  return out_size(h, g[9], g[10], kh, g[7], g[13]) == g[16] && out_size(w, g[11], g[12], kw, g[8], g[14]) == g[17];
}

void read_geometry(FuzzInput& in, int32_t* g) {
  for (int i = 0; i < kConvGeometrySize - 2; ++i) {
    g[i] = in.pick(8) == 0 ? in.int32() : static_cast<int32_t>(in.pick(i == 7 || i == 8 ? 3 : 5) + (i == 15 ? 1 : 0));
  }
  const bool consistent = in.pick(4) != 0;
  const Wide out_h = out_size(g[2], g[9], g[10], g[5], g[7], g[13]);
  const Wide out_w = out_size(g[3], g[11], g[12], g[6], g[8], g[14]);
  const bool representable = out_h >= 0 && out_h <= INT32_MAX && out_w >= 0 && out_w <= INT32_MAX;
  g[16] = consistent && representable ? static_cast<int32_t>(out_h) : in.int32();
  g[17] = consistent && representable ? static_cast<int32_t>(out_w) : in.int32();
}

// y[n][k][oy][ox] = Σ x·weight over the taps inside the input (padding multiplies zeros).
std::vector<float> naive_conv(const float* x, const float* weight, const Conv2dShape& s) {
  const int64_t cg = s.c / s.groups, kg = s.k / s.groups;
  std::vector<float> y(s.n * s.k * s.out_h * s.out_w, 0.0f);
  for (int64_t i = 0; i < static_cast<int64_t>(y.size()); ++i) {
    const int64_t ox = i % s.out_w, oy = i / s.out_w % s.out_h, oc = i / (s.out_w * s.out_h) % s.k;
    const int64_t image = i / (s.out_w * s.out_h * s.k);
    for (int64_t ic = 0; ic < cg; ++ic) {
      for (int64_t ty = 0; ty < s.kernel_h; ++ty) {
        for (int64_t tx = 0; tx < s.kernel_w; ++tx) {
          const int64_t iy = oy * s.stride_h - s.pad_top + ty * s.dilation_h;
          const int64_t ix = ox * s.stride_w - s.pad_left + tx * s.dilation_w;
          if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
          const int64_t channel = oc / kg * cg + ic;
          const float tap = weight[((oc * cg + ic) * s.kernel_h + ty) * s.kernel_w + tx];
          y[i] += x[((image * s.c + channel) * s.h + iy) * s.w + ix] * tap;
        }
      }
    }
  }
  return y;
}

std::unique_ptr<float[]> filled(FuzzInput& in, int64_t count) {
  std::unique_ptr<float[]> values(new float[count]);
  for (int64_t i = 0; i < count; ++i) values[i] = static_cast<float>(static_cast<int8_t>(in.byte())) / 16.0f;
  return values;
}

// Every algorithm's three passes over exactly sized arrays (as the bindings require them).
void run_kernels(FuzzInput& in, const Conv2dShape& s) {
  const int64_t x_size = s.n * s.c * s.h * s.w, y_size = s.n * s.k * s.out_h * s.out_w;
  const int64_t weight_size = s.k * (s.c / s.groups) * s.kernel_h * s.kernel_w;
  const auto x = filled(in, x_size), weight = filled(in, weight_size), gy = filled(in, y_size);
  const std::unique_ptr<float[]> y(new float[y_size]), gx(new float[x_size]), gweight(new float[weight_size]);
  const std::unique_ptr<float[]> gbias(new float[s.k]);
  const std::vector<float> expected = naive_conv(x.get(), weight.get(), s);
  for (kiln::ConvAlgorithm algorithm : kAlgorithms) {
    if (algorithm == kiln::ConvAlgorithm::kDepthwise && s.c != s.groups) continue;
    // The bindings skip the forward and input-gradient kernels for an empty batch.
    if (s.n > 0) {
      kiln::conv2d_forward_with(algorithm, x.get(), weight.get(), nullptr, y.get(), s);
      for (int64_t i = 0; i < y_size; ++i) {
        expect(std::fabs(y[i] - expected[i]) <= 1e-3f * (1.0f + std::fabs(expected[i])), "conv2d_forward vs naive");
      }
      kiln::conv2d_backward_input_with(algorithm, gy.get(), weight.get(), gx.get(), s);
    }
    kiln::conv2d_backward_weight_with(algorithm, x.get(), gy.get(), gweight.get(), gbias.get(), s);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  int32_t g[kConvGeometrySize];
  read_geometry(in, g);
  Conv2dShape s;
  Problem problem;
  const bool accepted = kiln::bindings::conv_shape_from_geometry(g, kConvGeometrySize, s, problem);
  expect(accepted == oracle_accepts(g) && accepted != problem.found, "conv_shape_from_geometry vs oracle");
  if (!accepted) return 0;
  // Small enough to run every pass of every algorithm quickly (an empty batch counts as one image).
  constexpr Wide kSmall = 20000;
  const Wide cg = s.c / s.groups;
  if (steps({s.n, s.k, cg, s.out_h, s.out_w, s.kernel_h, s.kernel_w}) <= kSmall &&
      steps({s.n, s.c, s.h + s.pad_top + s.pad_bottom, s.w + s.pad_left + s.pad_right}) <= kSmall &&
      steps({s.k, cg, s.kernel_h, s.kernel_w}) <= kSmall) {
    run_kernels(in, s);
  }
  return 0;
}
