// Bilinear and bicubic interpolation against naive loops written from PyTorch 1.13's
// definitions (one output point at a time, its own source-index arithmetic), and the
// backward against the naive adjoint.
#include <algorithm>
#include <cmath>
#include <vector>

#include "check.h"
#include "interpolate.h"

using namespace kiln;
using kiln::test::Random;

//   planes h  w  out_h out_w cubic  align  scale_h scale_w
static const Upsample2dShape kCases[] = {
    {3, 4, 5, 8, 10, false, false, 0, 0},     // 2x up
    {2, 7, 9, 3, 4, false, false, 0, 0},      // down
    {2, 5, 6, 9, 11, false, true, 0, 0},      // align corners
    {2, 5, 6, 8, 10, false, false, 1.7, 1.7}, // non-integer scale factor used as given
    {1, 1, 7, 1, 13, false, false, 0, 0},     // 1-D linear
    {3, 4, 5, 8, 10, true, false, 0, 0},      // bicubic up
    {2, 9, 8, 4, 3, true, false, 0, 0},       // bicubic down
    {2, 5, 6, 9, 11, true, true, 0, 0},       // bicubic align corners
    {1, 1, 1, 3, 2, true, false, 0, 0},       // one pixel
    {5, 56, 56, 112, 112, false, false, 0, 0},  // the bench shape, enough planes for threads
};

// Source coordinate of output position o along an axis (PyTorch's area_pixel_* helpers).
static float naive_source(int64_t in, int64_t out, int64_t o, bool align, double scale, bool cubic) {
  float step;
  if (align) step = out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.0f;
  else step = scale > 0 ? static_cast<float>(1.0 / scale) : static_cast<float>(in) / static_cast<float>(out);
  float real = align ? step * static_cast<float>(o) : step * (static_cast<float>(o) + 0.5f) - 0.5f;
  if (!cubic && real < 0) real = 0;
  return real;
}

static double cubic_weight(double d) {  // Keys' kernel, A = -0.75, at distance d
  const double a = -0.75, x = std::fabs(d);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

// The input points and weights output position o reads along an axis.
static std::vector<std::pair<int64_t, double>> naive_taps(int64_t in, int64_t out, int64_t o, bool align, double scale,
                                                          bool cubic) {
  const float real = naive_source(in, out, o, align, scale, cubic);
  const int64_t i0 = std::min(static_cast<int64_t>(std::floor(real)), in - 1);
  const double t = std::min(std::max(static_cast<double>(real) - static_cast<double>(i0), 0.0), 1.0);
  std::vector<std::pair<int64_t, double>> taps;
  if (cubic) {
    for (int k = -1; k <= 2; ++k) taps.push_back({std::min(std::max<int64_t>(i0 + k, 0), in - 1), cubic_weight(t - k)});
  } else {
    taps.push_back({i0, 1 - t});
    taps.push_back({std::min(i0 + 1, in - 1), t});
  }
  return taps;
}

TEST(upsample2d_matches_naive) {
  for (const Upsample2dShape& s : kCases) {
    const std::vector<float> x = Random(1).vector(s.planes * s.h * s.w), gy = Random(2).vector(s.planes * s.out_h * s.out_w);
    std::vector<float> y(gy.size()), gx(x.size(), 99.0f);
    upsample2d_forward(x.data(), y.data(), s);
    upsample2d_backward(gy.data(), gx.data(), s);
    std::vector<double> y_expected(gy.size()), gx_expected(x.size());
    for (int64_t p = 0; p < s.planes; ++p)
      for (int64_t oh = 0; oh < s.out_h; ++oh)
        for (int64_t ow = 0; ow < s.out_w; ++ow) {
          const int64_t o = (p * s.out_h + oh) * s.out_w + ow;
          for (const auto& [ih, wh] : naive_taps(s.h, s.out_h, oh, s.align_corners, s.scale_h, s.cubic))
            for (const auto& [iw, ww] : naive_taps(s.w, s.out_w, ow, s.align_corners, s.scale_w, s.cubic)) {
              const int64_t i = (p * s.h + ih) * s.w + iw;
              y_expected[o] += wh * ww * x[i];
              gx_expected[i] += wh * ww * gy[o];
            }
        }
    CHECK_ALL_CLOSE(y, y_expected, 1e-5);
    CHECK_ALL_CLOSE(gx, gx_expected, 1e-5);
  }
}

TEST(upsample2d_identity_size_copies) {
  const Upsample2dShape s{2, 6, 7, 6, 7, false, false, 0, 0};
  const std::vector<float> x = Random(3).vector(s.planes * s.h * s.w);
  std::vector<float> y(x.size());
  upsample2d_forward(x.data(), y.data(), s);
  CHECK_ALL_CLOSE(y, std::vector<double>(x.begin(), x.end()), 0.0);
}

KILN_TEST_MAIN()
