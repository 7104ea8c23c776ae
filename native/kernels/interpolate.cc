// Separable interpolation: each plane is resampled along w into a (h, out_w) scratch (a gather
// per output column), then along h (each output row a weighted sum of `taps` scratch rows,
// contiguous and vectorizable). The backward runs the same two passes transposed.
#include "interpolate.h"

#include <algorithm>
#include <cmath>

#include "parallel.h"

namespace kiln {
namespace {

constexpr float kCubicA = -0.75f;

// PyTorch's area_pixel_compute_scale<float>.
float source_scale(int64_t in_size, int64_t out_size, bool align_corners, double scale) {
  if (align_corners) return out_size > 1 ? static_cast<float>(in_size - 1) / static_cast<float>(out_size - 1) : 0.0f;
  if (scale > 0) return static_cast<float>(1.0 / scale);
  return static_cast<float>(in_size) / static_cast<float>(out_size);
}

// Keys' cubic convolution for |x| <= 1 and 1 < |x| < 2.
float cubic_near(float x) { return ((kCubicA + 2) * x - (kCubicA + 3)) * x * x + 1; }
float cubic_far(float x) { return ((kCubicA * x - 5 * kCubicA) * x + 8 * kCubicA) * x - 4 * kCubicA; }

// Work of one plane in one pass, for the grain size.
int64_t plane_work(const Upsample2dShape& s, int taps) { return taps * (s.h * s.out_w + s.out_h * s.out_w) + 1; }

// scratch (h, out_w) = x_plane (h, w) resampled along w.
void resample_rows(const float* x_plane, float* scratch, const Upsample2dShape& s, const AxisTaps& cols) {
  const int taps = cols.taps;
  for (int64_t i = 0; i < s.h; ++i) {
    const float* x_row = x_plane + i * s.w;
    float* out = scratch + i * s.out_w;
    for (int64_t ow = 0; ow < s.out_w; ++ow) {
      const int64_t* index = cols.index.data() + ow * taps;
      const float* weight = cols.weight.data() + ow * taps;
      float sum = 0.0f;
      for (int b = 0; b < taps; ++b) sum += weight[b] * x_row[index[b]];
      out[ow] = sum;
    }
  }
}

// y_plane (out_h, out_w) = scratch resampled along h.
void resample_columns(const float* scratch, float* y_plane, const Upsample2dShape& s, const AxisTaps& rows) {
  const int taps = rows.taps;
  for (int64_t oh = 0; oh < s.out_h; ++oh) {
    float* __restrict out = y_plane + oh * s.out_w;
    const int64_t* index = rows.index.data() + oh * taps;
    const float* weight = rows.weight.data() + oh * taps;
    const float* __restrict first = scratch + index[0] * s.out_w;
    const float w0 = weight[0];
    for (int64_t ow = 0; ow < s.out_w; ++ow) out[ow] = w0 * first[ow];
    for (int a = 1; a < taps; ++a) {
      const float* __restrict row = scratch + index[a] * s.out_w;
      const float wa = weight[a];
      for (int64_t ow = 0; ow < s.out_w; ++ow) out[ow] += wa * row[ow];
    }
  }
}

// scratch (h, out_w) = the adjoint of resample_columns applied to gy_plane (out_h, out_w).
void spread_columns(const float* gy_plane, float* scratch, const Upsample2dShape& s, const AxisTaps& rows) {
  const int taps = rows.taps;
  std::fill(scratch, scratch + s.h * s.out_w, 0.0f);
  for (int64_t oh = 0; oh < s.out_h; ++oh) {
    const float* __restrict g = gy_plane + oh * s.out_w;
    for (int a = 0; a < taps; ++a) {
      float* __restrict row = scratch + rows.index[oh * taps + a] * s.out_w;
      const float wa = rows.weight[oh * taps + a];
      for (int64_t ow = 0; ow < s.out_w; ++ow) row[ow] += wa * g[ow];
    }
  }
}

// gx_plane (h, w) = the adjoint of resample_rows applied to scratch.
void spread_rows(const float* scratch, float* gx_plane, const Upsample2dShape& s, const AxisTaps& cols) {
  const int taps = cols.taps;
  std::fill(gx_plane, gx_plane + s.h * s.w, 0.0f);
  for (int64_t i = 0; i < s.h; ++i) {
    const float* in = scratch + i * s.out_w;
    float* gx_row = gx_plane + i * s.w;
    for (int64_t ow = 0; ow < s.out_w; ++ow) {
      const int64_t* index = cols.index.data() + ow * taps;
      const float* weight = cols.weight.data() + ow * taps;
      const float v = in[ow];
      for (int b = 0; b < taps; ++b) gx_row[index[b]] += weight[b] * v;
    }
  }
}

}  // namespace

AxisTaps upsample_axis_taps(int64_t in_size, int64_t out_size, bool cubic, bool align_corners, double scale) {
  AxisTaps t;
  t.taps = cubic ? 4 : 2;
  t.index.resize(static_cast<size_t>(out_size * t.taps));
  t.weight.resize(static_cast<size_t>(out_size * t.taps));
  const float step = source_scale(in_size, out_size, align_corners, scale);
  for (int64_t o = 0; o < out_size; ++o) {
    float real = align_corners ? step * static_cast<float>(o) : step * (static_cast<float>(o) + 0.5f) - 0.5f;
    if (!cubic && real < 0) real = 0;
    const int64_t i0 = std::min(static_cast<int64_t>(std::floor(real)), in_size - 1);
    const float frac = std::min(std::max(real - static_cast<float>(i0), 0.0f), 1.0f);
    int64_t* index = t.index.data() + o * t.taps;
    float* weight = t.weight.data() + o * t.taps;
    if (cubic) {
      const float coefficients[4] = {cubic_far(frac + 1), cubic_near(frac), cubic_near(1 - frac), cubic_far(2 - frac)};
      for (int k = 0; k < 4; ++k) {
        index[k] = std::min(std::max<int64_t>(i0 - 1 + k, 0), in_size - 1);
        weight[k] = coefficients[k];
      }
    } else {
      index[0] = i0;
      index[1] = i0 + (i0 < in_size - 1 ? 1 : 0);
      weight[0] = 1 - frac;
      weight[1] = frac;
    }
  }
  return t;
}

void upsample2d_forward(const float* x, float* y, const Upsample2dShape& s) {
  const AxisTaps rows = upsample_axis_taps(s.h, s.out_h, s.cubic, s.align_corners, s.scale_h);
  const AxisTaps cols = upsample_axis_taps(s.w, s.out_w, s.cubic, s.align_corners, s.scale_w);
  parallel_for_balanced(0, s.planes, grain_for(plane_work(s, rows.taps)), [&](int64_t begin, int64_t end) {
    std::vector<float> scratch(static_cast<size_t>(s.h * s.out_w));
    for (int64_t p = begin; p < end; ++p) {
      resample_rows(x + p * s.h * s.w, scratch.data(), s, cols);
      resample_columns(scratch.data(), y + p * s.out_h * s.out_w, s, rows);
    }
  });
}

void upsample2d_backward(const float* gy, float* gx, const Upsample2dShape& s) {
  const AxisTaps rows = upsample_axis_taps(s.h, s.out_h, s.cubic, s.align_corners, s.scale_h);
  const AxisTaps cols = upsample_axis_taps(s.w, s.out_w, s.cubic, s.align_corners, s.scale_w);
  parallel_for_balanced(0, s.planes, grain_for(plane_work(s, rows.taps)), [&](int64_t begin, int64_t end) {
    std::vector<float> scratch(static_cast<size_t>(s.h * s.out_w));
    for (int64_t p = begin; p < end; ++p) {
      spread_columns(gy + p * s.out_h * s.out_w, scratch.data(), s, rows);
      spread_rows(scratch.data(), gx + p * s.h * s.w, s, cols);
    }
  });
}

}  // namespace kiln
