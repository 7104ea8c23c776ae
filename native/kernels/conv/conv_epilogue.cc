// The inference epilogue of a convolution (ConvEpilogue in conv.h): a per-channel affine map
// (a folded BatchNorm), ReLU or ReLU6, then 2×2 max pooling, applied to one image's output, or
// one tile of it, right after an algorithm computed it, while it is in cache. Each value is
// what elementwise.cc's relu and clamp and pool.cc's max_pool2d_forward would give: ReLU is
// x < 0 ? 0 : x and the ReLU6 clamp x > 6 ? 6 : x (so −0 and NaN pass through), and a window's
// taps are visited in row-major order, a later tap winning when larger or NaN.
#include <algorithm>

#include "../parallel.h"
#include "internal.h"

namespace kiln::conv {
namespace {

inline float relu(float v) { return v < 0.0f ? 0.0f : v; }

inline float keep_max(float best, float v) { return v > best || v != v ? v : best; }

// The window whose top-left tap is top[j] (bottom is the next row).
template <bool RELU>
inline float window_2x2(const float* top, const float* bottom, int64_t j) {
  if constexpr (RELU) {
    return keep_max(keep_max(keep_max(relu(top[j]), relu(top[j + 1])), relu(bottom[j])), relu(bottom[j + 1]));
  } else {
    return keep_max(keep_max(keep_max(top[j], top[j + 1]), bottom[j]), bottom[j + 1]);
  }
}

#if KILN_HAS_SHUFFLE
template <bool RELU>
__attribute__((always_inline)) inline Vec8 prepared(Vec8 v) {
  if constexpr (RELU) {
    return relu_lanes(v);
  } else {
    return v;
  }
}
#endif

// y (out_w) = the windows of input rows top and bottom (2·out_w columns each). Rows of at
// least 8 windows go 8 at a time (the last chunk overlapping the one before it).
template <bool RELU>
__attribute__((always_inline)) inline void pool_row_2x2(const float* top, const float* bottom, float* y,
                                                        int64_t out_w) {
#if KILN_HAS_SHUFFLE
  if (out_w >= 8) {
    for (int64_t chunk = 0; chunk < out_w; chunk += 8) {
      const int64_t ow = std::min<int64_t>(chunk, out_w - 8);
      Vec8 top_even, top_odd, bottom_even, bottom_odd;
      split_pairs(top + 2 * ow, &top_even, &top_odd);
      split_pairs(bottom + 2 * ow, &bottom_even, &bottom_odd);
      Vec8 best = prepared<RELU>(top_even);
      best = keep_max_lanes(best, prepared<RELU>(top_odd));
      best = keep_max_lanes(best, prepared<RELU>(bottom_even));
      best = keep_max_lanes(best, prepared<RELU>(bottom_odd));
      store_vec(y + ow, best);
    }
    return;
  }
#endif
  for (int64_t ow = 0; ow < out_w; ++ow) y[ow] = window_2x2<RELU>(top, bottom, 2 * ow);
}

// y (out_h, out_w) = 2×2 max pooling of plane (2·out_h, 2·out_w), of its ReLU when `with_relu`.
KILN_VECTORIZE void pool_plane_2x2(const float* plane, float* y, int64_t out_h, int64_t out_w, bool with_relu) {
  const int64_t w = 2 * out_w;
  for (int64_t oh = 0; oh < out_h; ++oh) {
    const float* top = plane + 2 * oh * w;
    if (with_relu) {
      pool_row_2x2<true>(top, top + w, y + oh * out_w, out_w);
    } else {
      pool_row_2x2<false>(top, top + w, y + oh * out_w, out_w);
    }
  }
}

// v[0 : n] through the affine map (AFFINE), ReLU (RELU) and the clamp at 6 (RELU6).
template <bool AFFINE, bool RELU, bool RELU6>
__attribute__((always_inline)) inline void map_values(float* v, int64_t n, float scale, float shift) {
  for (int64_t i = 0; i < n; ++i) {
    float value = AFFINE ? v[i] * scale + shift : v[i];
    if constexpr (RELU) value = relu(value);
    if constexpr (RELU6) value = value > 6.0f ? 6.0f : value;
    v[i] = value;
  }
}

template <bool AFFINE>
KILN_VECTORIZE void map_values_as(float* v, int64_t n, float scale, float shift, const ConvEpilogue& e) {
  if (e.relu6) {
    map_values<AFFINE, true, true>(v, n, scale, shift);
  } else if (e.relu) {
    map_values<AFFINE, true, false>(v, n, scale, shift);
  } else {
    map_values<AFFINE, false, false>(v, n, scale, shift);
  }
}

// Whether pooling may take ReLU in its own pass (the only step before it).
bool relu_only(const ConvEpilogue& e) { return e.scale == nullptr && !e.relu6; }

}  // namespace

bool has_value_steps(const ConvEpilogue& e) { return e.scale != nullptr || e.relu || e.relu6; }

void finish_values(float* values, int64_t n, int64_t kk, const ConvEpilogue& e) {
  if (e.scale != nullptr) {
    map_values_as<true>(values, n, e.scale[kk], e.shift[kk], e);
  } else if (e.relu || e.relu6) {
    map_values_as<false>(values, n, 1.0f, 0.0f, e);
  }
}

void finish_output_values(float* y, const Conv2dShape& s, const ConvEpilogue& e) {
  if (!has_value_steps(e)) return;
  const int64_t plane = s.out_h * s.out_w;
  parallel_for_balanced(0, s.n * s.k, grain_for(plane), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) finish_values(y + p * plane, plane, p % s.k, e);
  });
}

void pool_image(const float* image, float* y, int64_t n, const Conv2dShape& s, bool with_relu) {
  const int64_t plane = s.out_h * s.out_w, pooled = plane / 4;
  for (int64_t kk = 0; kk < s.k; ++kk) {
    pool_plane_2x2(image + kk * plane, y + (n * s.k + kk) * pooled, s.out_h / 2, s.out_w / 2, with_relu);
  }
}

float* image_output(float* y, int64_t n, const Conv2dShape& s, const ConvEpilogue& e) {
  const int64_t image = s.k * s.out_h * s.out_w;
  return e.max_pool_2x2 ? thread_buffer(image, 2) : y + n * image;
}

void finish_image(float* image, float* y, int64_t n, const Conv2dShape& s, const ConvEpilogue& e) {
  const int64_t plane = s.out_h * s.out_w;
  const bool pool_takes_relu = e.max_pool_2x2 && relu_only(e);
  if (!pool_takes_relu) {
    for (int64_t kk = 0; kk < s.k; ++kk) finish_values(image + kk * plane, plane, kk, e);
  }
  if (e.max_pool_2x2) pool_image(image, y, n, s, pool_takes_relu && e.relu);
}

}  // namespace kiln::conv
