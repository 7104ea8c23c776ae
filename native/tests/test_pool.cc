// Pooling kernels against naive loops written from PyTorch's definitions.
#include <cmath>
#include <vector>

#include "check.h"
#include "pool.h"

using namespace kiln;
using kiln::test::Random;

// out_h / out_w with PyTorch's floor or ceil mode (a last window must start inside the input
// or its left padding).
static int64_t pooled_size(int64_t size, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation, bool ceil) {
  const int64_t span = size + 2 * pad - dilation * (kernel - 1) - 1;
  int64_t out = (ceil ? (span + stride - 1) / stride : span / stride) + 1;
  if (ceil && (out - 1) * stride >= size + pad) --out;
  return out;
}

static Pool2dShape make_shape(Pool2dShape s, bool ceil) {
  s.out_h = pooled_size(s.h, s.kernel_h, s.stride_h, s.pad_h, s.dilation_h, ceil);
  s.out_w = pooled_size(s.w, s.kernel_w, s.stride_w, s.pad_w, s.dilation_w, ceil);
  return s;
}

struct Case {
  Pool2dShape shape;
  bool ceil;
};

//     planes h  w  kh kw sh sw ph pw dh dw
static const Case kCases[] = {
    {{3, 8, 8, 2, 2, 2, 2, 0, 0, 1, 1, 0, 0}, false},
    {{2, 7, 9, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0}, true},
    {{2, 7, 9, 3, 2, 2, 3, 1, 1, 1, 1, 0, 0}, false},
    {{4, 1, 11, 1, 3, 1, 4, 0, 1, 1, 1, 0, 0}, true},   // 1-D, stride > kernel
    {{2, 10, 10, 3, 3, 1, 1, 1, 0, 2, 2, 0, 0}, false},  // dilation with padding
    {{1, 5, 6, 5, 6, 1, 1, 0, 0, 1, 1, 0, 0}, false},    // global
    {{3, 6, 56, 2, 2, 2, 2, 0, 0, 1, 1, 0, 0}, false},   // 2×2 fast path, overlapping last chunk
    {{2, 4, 33, 2, 2, 2, 2, 0, 0, 1, 1, 0, 0}, true},    // odd width: general path (ceil)
};

static std::vector<float> quantized(int64_t n, uint64_t seed) {
  std::vector<float> v = Random(seed).vector(n);
  for (float& x : v) x = std::round(x * 2.0f);  // many ties
  return v;
}

TEST(max_pool_matches_naive) {
  for (const Case& c : kCases) {
    const Pool2dShape s = make_shape(c.shape, c.ceil);
    const std::vector<float> x = quantized(s.planes * s.h * s.w, 1), gy = Random(2).vector(s.planes * s.out_h * s.out_w);
    std::vector<float> y(gy.size()), gx(x.size());
    std::vector<int32_t> indices(gy.size());
    max_pool2d_forward(x.data(), y.data(), indices.data(), s);
    std::vector<std::vector<float>> gxs;  // the input gradient with each vector width
    test::for_each_vector_width([&] {
      max_pool2d_backward(gy.data(), indices.data(), gx.data(), s);
      gxs.push_back(gx);
    });
    std::vector<double> y_expected(gy.size()), gx_expected(x.size());
    for (int64_t p = 0; p < s.planes; ++p)
      for (int64_t oh = 0; oh < s.out_h; ++oh)
        for (int64_t ow = 0; ow < s.out_w; ++ow) {
          double best = -INFINITY;
          int64_t at = -1;
          for (int64_t r = 0; r < s.kernel_h; ++r)
            for (int64_t q = 0; q < s.kernel_w; ++q) {
              const int64_t ih = oh * s.stride_h - s.pad_h + r * s.dilation_h;
              const int64_t iw = ow * s.stride_w - s.pad_w + q * s.dilation_w;
              if (ih < 0 || ih >= s.h || iw < 0 || iw >= s.w) continue;
              if (at < 0 || x[(p * s.h + ih) * s.w + iw] > best) {
                best = x[(p * s.h + ih) * s.w + iw];
                at = ih * s.w + iw;
              }
            }
          const int64_t o = (p * s.out_h + oh) * s.out_w + ow;
          y_expected[o] = best;
          CHECK(indices[o] == at);
          gx_expected[p * s.h * s.w + at] += gy[o];
        }
    CHECK_ALL_CLOSE(y, y_expected, 0.0);
    for (const std::vector<float>& g : gxs) CHECK_ALL_CLOSE(g, gx_expected, 1e-6);
  }
}

// The 2×2 backward writes each window's cells directly; an index outside its own window (legal:
// any position of the plane) sends that plane through the general scatter.
TEST(max_pool_backward_scatters_indices_outside_their_window) {
  const Pool2dShape s = make_shape({4, 6, 40, 2, 2, 2, 2, 0, 0, 1, 1, 0, 0}, false);
  const int64_t out_plane = s.out_h * s.out_w, plane = s.h * s.w;
  const std::vector<float> x = quantized(s.planes * plane, 7), gy = Random(8).vector(s.planes * out_plane);
  std::vector<float> y(gy.size()), gx(x.size());
  std::vector<int32_t> indices(gy.size());
  max_pool2d_forward(x.data(), y.data(), indices.data(), s);
  indices[1 * out_plane + 5] = 0;                           // plane 1: another window's cell
  indices[3 * out_plane + out_plane - 1] = int32_t(plane - 1 - 2 * s.w);  // plane 3: a row too high
  std::vector<double> gx_expected(x.size());
  for (int64_t o = 0; o < int64_t(gy.size()); ++o) gx_expected[o / out_plane * plane + indices[o]] += gy[o];
  test::for_each_vector_width([&] {
    max_pool2d_backward(gy.data(), indices.data(), gx.data(), s);
    CHECK_ALL_CLOSE(gx, gx_expected, 1e-6);
  });
}

TEST(avg_pool_matches_naive) {
  for (const Case& c : kCases) {
    if (c.shape.dilation_h != 1 || c.shape.dilation_w != 1) continue;
    const Pool2dShape s = make_shape(c.shape, c.ceil);
    const std::vector<float> x = Random(3).vector(s.planes * s.h * s.w), gy = Random(4).vector(s.planes * s.out_h * s.out_w);
    for (bool include_pad : {false, true}) {
      for (int64_t divisor_override : {0, 3}) {
        std::vector<float> y(gy.size()), gx(x.size());
        avg_pool2d_forward(x.data(), y.data(), s, include_pad, divisor_override);
        avg_pool2d_backward(gy.data(), gx.data(), s, include_pad, divisor_override);
        std::vector<double> y_expected(gy.size()), gx_expected(x.size());
        for (int64_t p = 0; p < s.planes; ++p)
          for (int64_t oh = 0; oh < s.out_h; ++oh)
            for (int64_t ow = 0; ow < s.out_w; ++ow) {
              // Window cells inside the padded input, and those inside x.
              int64_t padded = 0, inside = 0;
              double sum = 0.0;
              for (int64_t r = 0; r < s.kernel_h; ++r)
                for (int64_t q = 0; q < s.kernel_w; ++q) {
                  const int64_t ih = oh * s.stride_h - s.pad_h + r, iw = ow * s.stride_w - s.pad_w + q;
                  if (ih >= s.h + s.pad_h || iw >= s.w + s.pad_w) continue;
                  ++padded;
                  if (ih < 0 || ih >= s.h || iw < 0 || iw >= s.w) continue;
                  ++inside;
                  sum += x[(p * s.h + ih) * s.w + iw];
                }
              const double divisor = divisor_override > 0 ? divisor_override : include_pad ? padded : inside;
              const int64_t o = (p * s.out_h + oh) * s.out_w + ow;
              y_expected[o] = sum / divisor;
              for (int64_t r = 0; r < s.kernel_h; ++r)
                for (int64_t q = 0; q < s.kernel_w; ++q) {
                  const int64_t ih = oh * s.stride_h - s.pad_h + r, iw = ow * s.stride_w - s.pad_w + q;
                  if (ih < 0 || ih >= s.h || iw < 0 || iw >= s.w) continue;
                  gx_expected[(p * s.h + ih) * s.w + iw] += gy[o] / divisor;
                }
            }
        CHECK_ALL_CLOSE(y, y_expected, 1e-5);
        CHECK_ALL_CLOSE(gx, gx_expected, 1e-5);
      }
    }
  }
}

TEST(adaptive_avg_pool_matches_naive) {
  const int64_t planes = 3, h = 7, w = 10;
  for (auto [out_h, out_w] : {std::pair<int64_t, int64_t>{3, 4}, {1, 1}, {7, 10}, {5, 13}}) {
    const std::vector<float> x = Random(5).vector(planes * h * w), gy = Random(6).vector(planes * out_h * out_w);
    std::vector<float> y(gy.size()), gx(x.size());
    adaptive_avg_pool2d_forward(x.data(), y.data(), planes, h, w, out_h, out_w);
    adaptive_avg_pool2d_backward(gy.data(), gx.data(), planes, h, w, out_h, out_w);
    std::vector<double> y_expected(gy.size()), gx_expected(x.size());
    for (int64_t p = 0; p < planes; ++p)
      for (int64_t oh = 0; oh < out_h; ++oh)
        for (int64_t ow = 0; ow < out_w; ++ow) {
          const int64_t h0 = oh * h / out_h, h1 = ((oh + 1) * h + out_h - 1) / out_h;
          const int64_t w0 = ow * w / out_w, w1 = ((ow + 1) * w + out_w - 1) / out_w;
          const double count = double((h1 - h0) * (w1 - w0));
          const int64_t o = (p * out_h + oh) * out_w + ow;
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw) {
              y_expected[o] += x[(p * h + ih) * w + iw] / count;
              gx_expected[(p * h + ih) * w + iw] += gy[o] / count;
            }
        }
    CHECK_ALL_CLOSE(y, y_expected, 1e-5);
    CHECK_ALL_CLOSE(gx, gx_expected, 1e-5);
  }
}

TEST(nan_wins_max_pool) {
  const Pool2dShape s = make_shape({1, 2, 2, 2, 2, 2, 2, 0, 0, 1, 1, 0, 0}, false);
  const float x[] = {1.0f, NAN, 3.0f, 2.0f};
  float y[1];
  int32_t index[1];
  max_pool2d_forward(x, y, index, s);
  CHECK(std::isnan(y[0]));
  CHECK(index[0] == 1);
}

TEST(all_minus_infinity_window_points_at_its_first_position) {
  const Pool2dShape s = make_shape({1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0}, false);
  const std::vector<float> x(9, -INFINITY);
  std::vector<float> y(s.out_h * s.out_w);
  std::vector<int32_t> index(y.size());
  max_pool2d_forward(x.data(), y.data(), index.data(), s);
  // PyTorch 1.13: F.max_pool2d(torch.full((1, 1, 3, 3), -inf), 2, 1, 1, return_indices=True)
  const std::vector<int32_t> expected = {0, 0, 1, 2, 0, 0, 1, 2, 3, 3, 4, 5, 6, 6, 7, 8};
  CHECK(index == expected);
  CHECK(y[0] == -INFINITY);
}

KILN_TEST_MAIN()
