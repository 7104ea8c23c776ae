// Depthwise convolution (one input channel per group, c == groups): direct loops. Output
// channel kk reads input channel kk / multiplier (multiplier = k / c). Stride 1 (the common
// case) takes the register-blocked path below; other strides take row loops, whose inner loop
// runs along a row:
//
//   forward          y[n, kk, oh, :]  += w[kk, r, q] · x[n, c, ih, shifted]
//   backward input   gx[n, c, ih, shifted] += w[kk, r, q] · gy[n, kk, oh, :]   (scatter)
//   backward weight  gw[kk, r, q] = Σ gy[n, kk, oh, :] · x[n, c, ih, shifted]  (per-lane sums)
// with ih = oh·stride_h − pad_top + r·dilation_h and shifted columns ow·stride_w − pad_left +
// q·dilation_w. Threads split planes (forward, input gradient) or channels (weight gradient).
#include <algorithm>
#include <vector>

#include "../vectorize.h"

#include "../parallel.h"
#include "internal.h"

namespace kiln::conv {
namespace {

// Column tap q of the filter: its offset (ow·stride_w + offset is the input column) and the
// outputs whose column is inside the input. The same for every row, so computed once per call.
struct ColumnTap {
  int64_t offset;
  Range valid;
};
std::vector<ColumnTap> column_taps(const Conv2dShape& s) {
  std::vector<ColumnTap> taps(static_cast<size_t>(s.kernel_w));
  for (int64_t q = 0; q < s.kernel_w; ++q) {
    const int64_t offset = q * s.dilation_w - s.pad_left;
    taps[q] = {offset, valid_outputs(s.out_w, s.w, s.stride_w, offset)};
  }
  return taps;
}

// y: (out_h, out_w) = bias + the depthwise filter w: (kernel_h, kernel_w) over x: (h, w).
KILN_VECTORIZE void forward_plane(const float* x, const float* w, float bias, float* y, const Conv2dShape& s,
                                  const ColumnTap* columns) {
  for (int64_t oh = 0; oh < s.out_h; ++oh) {
    float* y_row = y + oh * s.out_w;
    for (int64_t ow = 0; ow < s.out_w; ++ow) y_row[ow] = bias;
    for (int64_t r = 0; r < s.kernel_h; ++r) {
      const int64_t ih = oh * s.stride_h - s.pad_top + r * s.dilation_h;
      if (ih < 0 || ih >= s.h) continue;
      for (int64_t q = 0; q < s.kernel_w; ++q) {
        const int64_t offset = columns[q].offset;
        const Range valid = columns[q].valid;
        const float* x_row = x + ih * s.w + offset;  // x_row[ow · stride_w]
        const float tap = w[r * s.kernel_w + q];
        if (s.stride_w == 1) {
          for (int64_t ow = valid.begin; ow < valid.end; ++ow) y_row[ow] += tap * x_row[ow];
        } else {
          for (int64_t ow = valid.begin; ow < valid.end; ++ow) y_row[ow] += tap * x_row[ow * s.stride_w];
        }
      }
    }
  }
}

// gx: (h, w) += the input gradient of one output plane gy: (out_h, out_w) through filter w.
KILN_VECTORIZE void backward_input_plane(const float* gy, const float* w, float* gx, const Conv2dShape& s,
                                         const ColumnTap* columns) {
  for (int64_t oh = 0; oh < s.out_h; ++oh) {
    const float* gy_row = gy + oh * s.out_w;
    for (int64_t r = 0; r < s.kernel_h; ++r) {
      const int64_t ih = oh * s.stride_h - s.pad_top + r * s.dilation_h;
      if (ih < 0 || ih >= s.h) continue;
      for (int64_t q = 0; q < s.kernel_w; ++q) {
        const int64_t offset = columns[q].offset;
        const Range valid = columns[q].valid;
        float* gx_row = gx + ih * s.w + offset;  // gx_row[ow · stride_w]
        const float tap = w[r * s.kernel_w + q];
        if (s.stride_w == 1) {
          for (int64_t ow = valid.begin; ow < valid.end; ++ow) gx_row[ow] += tap * gy_row[ow];
        } else {
          for (int64_t ow = valid.begin; ow < valid.end; ++ow) gx_row[ow * s.stride_w] += tap * gy_row[ow];
        }
      }
    }
  }
}

// lanes: (kernel_h · kernel_w, out_w) += per-column products of gy: (out_h, out_w) with the
// shifted rows of x: (h, w); summing a tap's lanes gives its weight gradient.
KILN_VECTORIZE void weight_lanes_plane(const float* x, const float* gy, float* lanes, const Conv2dShape& s,
                                       const ColumnTap* columns) {
  for (int64_t oh = 0; oh < s.out_h; ++oh) {
    const float* gy_row = gy + oh * s.out_w;
    for (int64_t r = 0; r < s.kernel_h; ++r) {
      const int64_t ih = oh * s.stride_h - s.pad_top + r * s.dilation_h;
      if (ih < 0 || ih >= s.h) continue;
      for (int64_t q = 0; q < s.kernel_w; ++q) {
        const int64_t offset = columns[q].offset;
        const Range valid = columns[q].valid;
        const float* x_row = x + ih * s.w + offset;
        float* lane = lanes + (r * s.kernel_w + q) * s.out_w;
        if (s.stride_w == 1) {
          for (int64_t ow = valid.begin; ow < valid.end; ++ow) lane[ow] += gy_row[ow] * x_row[ow];
        } else {
          for (int64_t ow = valid.begin; ow < valid.end; ++ow) lane[ow] += gy_row[ow] * x_row[ow * s.stride_w];
        }
      }
    }
  }
}

int64_t plane_work(const Conv2dShape& s) { return s.out_h * s.out_w * s.kernel_h * s.kernel_w; }

#if KILN_HAS_VEC16
// ---- register-blocked path (stride 1) -------------------------------------------------
// Planes are copied into zero-padded buffers, so every 16-column chunk of an output row is a
// sum of whole-vector loads times broadcast taps, accumulated in registers; no bounds checks
// in the inner loops. The input gradient is the same correlation over the padded output
// gradient with the filter flipped.

// Filters with more taps take the row path for the weight gradient (one accumulator per tap).
constexpr int64_t kMaxRegisterTaps = 25;

bool register_path(const Conv2dShape& s) { return s.stride_h == 1 && s.stride_w == 1; }

// y (out_h, out_w) = init + (or += when accumulate) the correlation of the padded plane xp
// (row stride cols) with filter (kernel_h, kernel_w), dilated, stride 1.
KILN_VECTORIZE void correlate(const float* xp, int64_t cols, const float* filter, const Conv2dShape& s, float init,
                              bool accumulate, float* y, int64_t out_h, int64_t out_w) {
  for (int64_t oh = 0; oh < out_h; ++oh) {
    float* y_row = y + oh * out_w;
    for (int64_t ow0 = 0; ow0 < out_w; ow0 += 16) {
      Vec16 acc = Vec16{} + init;
      for (int64_t r = 0; r < s.kernel_h; ++r) {
        const float* x_row = xp + (oh + r * s.dilation_h) * cols + ow0;
        for (int64_t q = 0; q < s.kernel_w; ++q) acc += filter[r * s.kernel_w + q] * load16(x_row + q * s.dilation_w);
      }
      const int64_t n = std::min<int64_t>(16, out_w - ow0);
      for (int64_t l = 0; l < n; ++l) y_row[ow0 + l] = accumulate ? y_row[ow0 + l] + acc[l] : acc[l];
    }
  }
}

void register_forward(const float* x, const float* weight, const float* bias, float* y, const Conv2dShape& s) {
  const int64_t multiplier = s.k / s.c, taps = s.kernel_h * s.kernel_w;
  const PaddedPlane padding = input_padding(s);
  parallel_for(0, s.n * s.c, grain_for(plane_work(s) * multiplier), [&](int64_t begin, int64_t end) {
    float* xp = thread_buffer(padding.size(), 0);
    for (int64_t plane = begin; plane < end; ++plane) {
      place(x + plane * s.h * s.w, s.h, s.w, xp, padding);
      const int64_t n = plane / s.c, c = plane % s.c;
      for (int64_t kk = c * multiplier; kk < (c + 1) * multiplier; ++kk) {
        correlate(xp, padding.cols, weight + kk * taps, s, bias == nullptr ? 0.0f : bias[kk], false,
                  y + (n * s.k + kk) * s.out_h * s.out_w, s.out_h, s.out_w);
      }
    }
  });
}

void register_backward_input(const float* gy, const float* weight, float* gx, const Conv2dShape& s) {
  const int64_t multiplier = s.k / s.c, taps = s.kernel_h * s.kernel_w;
  const PaddedPlane padding = output_gradient_padding(s);
  parallel_for(0, s.n * s.c, grain_for(plane_work(s) * multiplier), [&](int64_t begin, int64_t end) {
    float* gyp = thread_buffer(padding.size(), 0);
    std::vector<float> flipped(static_cast<size_t>(taps));
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t n = plane / s.c, c = plane % s.c;
      for (int64_t kk = c * multiplier; kk < (c + 1) * multiplier; ++kk) {
        std::reverse_copy(weight + kk * taps, weight + (kk + 1) * taps, flipped.begin());
        place(gy + (n * s.k + kk) * s.out_h * s.out_w, s.out_h, s.out_w, gyp, padding);
        correlate(gyp, padding.cols, flipped.data(), s, 0.0f, kk > c * multiplier, gx + plane * s.h * s.w, s.h, s.w);
      }
    }
  });
}

// gw[0 : taps] = Σ over images of gy[n, kk] correlated with the padded planes x[n, c].
// TAPS is kernel_h · kernel_w when known at compile time (the accumulators then stay in
// registers), or 0 for any count up to kMaxRegisterTaps.
template <int TAPS>
__attribute__((always_inline)) inline void weight_channel(const float* x, const float* gy, float* gw, int64_t kk, const Conv2dShape& s,
                           const PaddedPlane& padding, float* xp) {
  const int64_t c = kk / (s.k / s.c), taps = TAPS > 0 ? TAPS : s.kernel_h * s.kernel_w;
  int64_t offset[kMaxRegisterTaps];  // of tap t in the padded plane
  Vec16 acc[kMaxRegisterTaps];
  for (int64_t t = 0; t < taps; ++t) {
    offset[t] = t / s.kernel_w * s.dilation_h * padding.cols + t % s.kernel_w * s.dilation_w;
    acc[t] = Vec16{};
  }
  for (int64_t n = 0; n < s.n; ++n) {
    place(x + (n * s.c + c) * s.h * s.w, s.h, s.w, xp, padding);
    const float* gy_plane = gy + (n * s.k + kk) * s.out_h * s.out_w;
    for (int64_t oh = 0; oh < s.out_h; ++oh) {
      const float* gy_row = gy_plane + oh * s.out_w;
      const float* x_row = xp + oh * padding.cols;
      for (int64_t ow0 = 0; ow0 < s.out_w; ow0 += 16) {
        Vec16 g = Vec16{};
        if (s.out_w - ow0 >= 16) {
          g = load16(gy_row + ow0);
        } else {
          float tail[16] = {};
          std::copy(gy_row + ow0, gy_row + s.out_w, tail);
          g = load16(tail);
        }
        for (int64_t t = 0; t < taps; ++t) {
          acc[t] += g * keep_first(load16(x_row + ow0 + offset[t]), s.out_w - ow0);  // past the row: no 0 · Inf
        }
      }
    }
  }
  for (int64_t t = 0; t < taps; ++t) gw[t] = sum16(acc[t]);
}

// weight_channel for 3×3 filters (compile-time tap count) or any other size.
KILN_VECTORIZE void weight_channel_any(const float* x, const float* gy, float* gw, int64_t kk, const Conv2dShape& s,
                                       const PaddedPlane& padding, float* xp) {
  if (s.kernel_h * s.kernel_w == 9) {
    weight_channel<9>(x, gy, gw, kk, s, padding, xp);
  } else {
    weight_channel<0>(x, gy, gw, kk, s, padding, xp);
  }
}

void register_backward_weight(const float* x, const float* gy, float* gweight, const Conv2dShape& s) {
  const int64_t taps = s.kernel_h * s.kernel_w;
  const PaddedPlane padding = input_padding(s);
  parallel_for(0, s.k, grain_for(plane_work(s) * s.n), [&](int64_t begin, int64_t end) {
    float* xp = thread_buffer(padding.size(), 0);
    for (int64_t kk = begin; kk < end; ++kk) weight_channel_any(x, gy, gweight + kk * taps, kk, s, padding, xp);
  });
}
#endif


}  // namespace

void depthwise_forward(const float* x, const float* weight, const float* bias, float* y, const Conv2dShape& s) {
#if KILN_HAS_VEC16
  if (register_path(s)) return register_forward(x, weight, bias, y, s);
#endif
  const int64_t multiplier = s.k / s.c, taps = s.kernel_h * s.kernel_w;
  const std::vector<ColumnTap> columns = column_taps(s);
  parallel_for(0, s.n * s.k, grain_for(plane_work(s)), [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t n = plane / s.k, kk = plane % s.k, c = kk / multiplier;
      forward_plane(x + (n * s.c + c) * s.h * s.w, weight + kk * taps, bias == nullptr ? 0.0f : bias[kk],
                    y + plane * s.out_h * s.out_w, s, columns.data());
    }
  });
}

void depthwise_backward_input(const float* gy, const float* weight, float* gx, const Conv2dShape& s) {
#if KILN_HAS_VEC16
  if (register_path(s)) return register_backward_input(gy, weight, gx, s);
#endif
  const int64_t multiplier = s.k / s.c, taps = s.kernel_h * s.kernel_w;
  const std::vector<ColumnTap> columns = column_taps(s);
  parallel_for(0, s.n * s.c, grain_for(plane_work(s) * multiplier), [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t n = plane / s.c, c = plane % s.c;
      float* gx_plane = gx + plane * s.h * s.w;
      std::fill(gx_plane, gx_plane + s.h * s.w, 0.0f);
      for (int64_t kk = c * multiplier; kk < (c + 1) * multiplier; ++kk) {
        backward_input_plane(gy + (n * s.k + kk) * s.out_h * s.out_w, weight + kk * taps, gx_plane, s, columns.data());
      }
    }
  });
}

void depthwise_backward_weight(const float* x, const float* gy, float* gweight, const Conv2dShape& s) {
#if KILN_HAS_VEC16
  if (register_path(s) && s.kernel_h * s.kernel_w <= kMaxRegisterTaps) return register_backward_weight(x, gy, gweight, s);
#endif
  const int64_t multiplier = s.k / s.c, taps = s.kernel_h * s.kernel_w;
  const std::vector<ColumnTap> columns = column_taps(s);
  parallel_for(0, s.k, grain_for(plane_work(s) * s.n), [&](int64_t begin, int64_t end) {
    std::vector<float> lanes(static_cast<size_t>(taps * s.out_w));
    for (int64_t kk = begin; kk < end; ++kk) {
      std::fill(lanes.begin(), lanes.end(), 0.0f);
      for (int64_t n = 0; n < s.n; ++n) {
        weight_lanes_plane(x + (n * s.c + kk / multiplier) * s.h * s.w, gy + (n * s.k + kk) * s.out_h * s.out_w,
                           lanes.data(), s, columns.data());
      }
      for (int64_t tap = 0; tap < taps; ++tap) gweight[kk * taps + tap] = sum_row(lanes.data() + tap * s.out_w, s.out_w);
    }
  });
}

}  // namespace kiln::conv
