// Depthwise convolution (one input channel per group, c == groups): direct loops. Output
// channel kk reads input channel kk / multiplier (multiplier = k / c). Stride 1 (the common
// case) takes the register-blocked path below, and the forward at stride 2 (undilated) its
// variant over the even and odd input columns; a 1×1 unpadded forward at stride 1 is a
// per-plane scale and shift in one streaming pass; other strides take row loops, whose inner
// loop runs along a row:
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

// A 1×1 filter at stride 1 without padding (an inference BatchNorm as a convolution, e.g.
// DenseNet's BN → ReLU): each output plane is its input plane times one weight plus the bias,
// one streaming pass with no padded copy. y: (plane) = bias + w · x: (plane).
KILN_VECTORIZE void scale_plane(const float* x, float w, float bias, float* y, int64_t plane) {
  for (int64_t i = 0; i < plane; ++i) y[i] = bias + w * x[i];
}

bool per_channel_scale_shape(const Conv2dShape& s) {
  return s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_top == 0 &&
         s.pad_bottom == 0 && s.pad_left == 0 && s.pad_right == 0;
}

void per_channel_scale_forward(const float* x, const float* weight, const float* bias, float* y,
                               const Conv2dShape& s, const ConvEpilogue& e) {
  const int64_t multiplier = s.k / s.c, plane = s.h * s.w;
  parallel_for_balanced(0, s.n * s.k, grain_for(plane), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t n = p / s.k, kk = p % s.k;
      scale_plane(x + (n * s.c + kk / multiplier) * plane, weight[kk], bias == nullptr ? 0.0f : bias[kk], y + p * plane,
                  plane);
      finish_values(y + p * plane, plane, kk, e);
    }
  });
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
// Planes are copied into zero-padded buffers, so every vector-wide chunk of an output row is a
// sum of whole-vector loads times broadcast taps, accumulated in registers; no bounds checks
// in the inner loops. The input gradient is the same correlation over the padded output
// gradient with the filter flipped. Vectors are Vec16 on AVX-512 and Vec8 elsewhere
// (wide_vectors()), so the accumulators stay in registers on AVX2 too.

// v with lanes [0, from) set to 0 (a blend, not 0 · v, so Inf and NaN there vanish too).
KILN_VEC_INLINE Vec16 keep_from(Vec16 v, int64_t from) {
  typedef int32_t Int16 __attribute__((vector_size(64), aligned(4)));
  const Int16 lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const Int16 keep = lane >= static_cast<int32_t>(from);  // all bits set in the lanes kept
  return (Vec16)((Int16)v & keep);
}
KILN_VEC_INLINE Vec8 keep_from(Vec8 v, int64_t from) {
  typedef int32_t Int8 __attribute__((vector_size(32), aligned(4)));
  const Int8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
  return (Vec8)((Int8)v & (lane >= static_cast<int32_t>(from)));
}

// Filters with more taps take the row path for the weight gradient (one accumulator per tap).
constexpr int64_t kMaxRegisterTaps = 25;

bool register_path(const Conv2dShape& s) { return s.stride_h == 1 && s.stride_w == 1; }

// Output rows computed at once by correlate: independent accumulators (one multiply-add chain
// per chunk would wait on its own latency) that share the input rows they overlap in. Vec8
// takes twice as many rows, for as many lanes in flight.
template <typename V>
constexpr int kCorrelateRows = kLanes<V> == 16 ? 4 : 8;

// Output rows [oh, oh + ROWS) of correlate below, in chunks of V's lanes.
template <typename V, int ROWS>
__attribute__((always_inline)) inline void correlate_rows(const float* xp, int64_t cols, const float* filter,
                                                          const Conv2dShape& s, float init, bool accumulate,
                                                          float* y, int64_t oh, int64_t out_w) {
  constexpr int W = kLanes<V>;
  const bool overlap = !accumulate && out_w >= W;
  for (int64_t chunk = 0; chunk < out_w; chunk += W) {
    const int64_t ow0 = overlap ? std::min<int64_t>(chunk, out_w - W) : chunk;
    V acc[ROWS];
    for (int i = 0; i < ROWS; ++i) acc[i] = V{} + init;
    for (int64_t r = 0; r < s.kernel_h; ++r) {
      const float* x_row = xp + (oh + r * s.dilation_h) * cols + ow0;
      for (int64_t q = 0; q < s.kernel_w; ++q) {
        const float tap = filter[r * s.kernel_w + q];
        for (int i = 0; i < ROWS; ++i) acc[i] += tap * load_vec<V>(x_row + i * cols + q * s.dilation_w);
      }
    }
    for (int i = 0; i < ROWS; ++i) {
      float* y_row = y + (oh + i) * out_w;
      if (overlap) {
        store_vec(y_row + ow0, acc[i]);
        continue;
      }
      const int64_t n = std::min<int64_t>(W, out_w - ow0);
      for (int64_t l = 0; l < n; ++l) y_row[ow0 + l] = accumulate ? y_row[ow0 + l] + acc[i][l] : acc[i][l];
    }
  }
}

// Output rows [oh, out_h): ROWS at a time, then the rest ROWS / 2, ROWS / 4, ... at a time
// (each output is the same sum whatever the block).
template <typename V, int ROWS>
__attribute__((always_inline)) inline void correlate_rows_from(int64_t oh, const float* xp, int64_t cols,
                                                               const float* filter, const Conv2dShape& s, float init,
                                                               bool accumulate, float* y, int64_t out_h,
                                                               int64_t out_w) {
  for (; oh + ROWS <= out_h; oh += ROWS) correlate_rows<V, ROWS>(xp, cols, filter, s, init, accumulate, y, oh, out_w);
  if constexpr (ROWS > 1) correlate_rows_from<V, ROWS / 2>(oh, xp, cols, filter, s, init, accumulate, y, out_h, out_w);
}

// y (out_h, out_w) = init + (or += when accumulate) the correlation of the padded plane xp
// (row stride cols) with filter (kernel_h, kernel_w), dilated, stride 1, kCorrelateRows output
// rows at a time. Without accumulate, rows of at least a vector end with a chunk overlapping
// the one before it (whole-vector stores).
KILN_VECTORIZE void correlate_wide(const float* xp, int64_t cols, const float* filter, const Conv2dShape& s,
                                   float init, bool accumulate, float* y, int64_t out_h, int64_t out_w) {
  correlate_rows_from<Vec16, kCorrelateRows<Vec16>>(0, xp, cols, filter, s, init, accumulate, y, out_h, out_w);
}

KILN_VECTORIZE void correlate_narrow(const float* xp, int64_t cols, const float* filter, const Conv2dShape& s,
                                     float init, bool accumulate, float* y, int64_t out_h, int64_t out_w) {
  correlate_rows_from<Vec8, kCorrelateRows<Vec8>>(0, xp, cols, filter, s, init, accumulate, y, out_h, out_w);
}

void correlate(bool wide, const float* xp, int64_t cols, const float* filter, const Conv2dShape& s, float init,
               bool accumulate, float* y, int64_t out_h, int64_t out_w) {
  if (wide) {
    correlate_wide(xp, cols, filter, s, init, accumulate, y, out_h, out_w);
  } else {
    correlate_narrow(xp, cols, filter, s, init, accumulate, y, out_h, out_w);
  }
}

void register_forward(const float* x, const float* weight, const float* bias, float* y, const Conv2dShape& s,
                      const ConvEpilogue& e) {
  const int64_t multiplier = s.k / s.c, taps = s.kernel_h * s.kernel_w, out_plane = s.out_h * s.out_w;
  const PaddedPlane padding = input_padding(s);
  const bool wide = wide_vectors();
  parallel_for_balanced(0, s.n * s.c, grain_for(plane_work(s) * multiplier), [&](int64_t begin, int64_t end) {
    float* xp = thread_buffer(padding.size(), 0);
    for (int64_t plane = begin; plane < end; ++plane) {
      place(x + plane * s.h * s.w, s.h, s.w, xp, padding);
      const int64_t n = plane / s.c, c = plane % s.c;
      for (int64_t kk = c * multiplier; kk < (c + 1) * multiplier; ++kk) {
        float* y_plane = y + (n * s.k + kk) * out_plane;
        correlate(wide, xp, padding.cols, weight + kk * taps, s, bias == nullptr ? 0.0f : bias[kk], false, y_plane,
                  s.out_h, s.out_w);
        finish_values(y_plane, out_plane, kk, e);
      }
    }
  });
}

void register_backward_input(const float* gy, const float* weight, float* gx, const Conv2dShape& s) {
  const int64_t multiplier = s.k / s.c, taps = s.kernel_h * s.kernel_w;
  const PaddedPlane padding = output_gradient_padding(s);
  const bool wide = wide_vectors();
  parallel_for_balanced(0, s.n * s.c, grain_for(plane_work(s) * multiplier), [&](int64_t begin, int64_t end) {
    float* gyp = thread_buffer(padding.size(), 0);
    std::vector<float> flipped(static_cast<size_t>(taps));
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t n = plane / s.c, c = plane % s.c;
      for (int64_t kk = c * multiplier; kk < (c + 1) * multiplier; ++kk) {
        std::reverse_copy(weight + kk * taps, weight + (kk + 1) * taps, flipped.begin());
        place(gy + (n * s.k + kk) * s.out_h * s.out_w, s.out_h, s.out_w, gyp, padding);
        correlate(wide, gyp, padding.cols, flipped.data(), s, 0.0f, kk > c * multiplier, gx + plane * s.h * s.w, s.h, s.w);
      }
    }
  });
}

// ---- stride 2 (MobileNet's downsampling layers) ----------------------------------------
// Outputs of a row read every other input column. Each zero-padded input row is split into its
// even and odd columns, so tap q of output ow is even[ow + q/2] (q even) or odd[ow + q/2]
// (q odd): whole-vector loads again, ROWS output rows in flight.

bool split_path(const Conv2dShape& s) {
  return s.stride_h == 2 && s.stride_w == 2 && s.dilation_h == 1 && s.dilation_w == 1;
}

// The split planes: rows of the padded input the outputs read, and columns of each half (a
// vector past the last chunk's reads).
struct SplitPlane {
  int64_t rows, half_cols;
  int64_t size() const { return rows * half_cols; }
};
SplitPlane split_geometry(const Conv2dShape& s) {
  return {(s.out_h - 1) * 2 + s.kernel_h, (s.out_w + 15) / 16 * 16 + (s.kernel_w + 1) / 2 + 16};
}

// e[j] = row[2j], o[j] = row[2j + 1] for j in [begin, end), end − begin >= 8: eight of each
// from two vectors at a time, the last pair overlapping the one before it.
__attribute__((always_inline)) inline void deinterleave(const float* row, float* e, float* o, int64_t begin,
                                                        int64_t end) {
#if KILN_HAS_SHUFFLE
  for (int64_t j = begin; j < end; j += 8) {
    const int64_t at = std::min(j, end - 8);
    const Vec8 a = load_vec<Vec8>(row + 2 * at), b = load_vec<Vec8>(row + 2 * at + 8);
    store_vec(e + at, __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14));
    store_vec(o + at, __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15));
  }
#else
  for (int64_t j = begin; j < end; ++j) e[j] = row[2 * j], o[j] = row[2 * j + 1];
#endif
}

// even, odd (p.rows, p.half_cols) = the even and odd columns of x (h, w) zero-padded by
// pad_top and pad_left (and zeros past its end).
KILN_VECTORIZE void split_columns(const float* x, const Conv2dShape& s, const SplitPlane& p, float* even, float* odd) {
  // Columns j in [j_begin, j_end) read both 2j − pad_left and 2j + 1 − pad_left inside the row.
  const int64_t j_begin = std::min(p.half_cols, (s.pad_left + 1) / 2);
  const int64_t j_end = std::max(j_begin, std::min(p.half_cols, (s.w - 1 + s.pad_left) / 2));
  for (int64_t r = 0; r < p.rows; ++r) {
    const int64_t ih = r - s.pad_top;
    float* e = even + r * p.half_cols;
    float* o = odd + r * p.half_cols;
    if (ih < 0 || ih >= s.h) {
      std::fill(e, e + p.half_cols, 0.0f);
      std::fill(o, o + p.half_cols, 0.0f);
      continue;
    }
    const float* row = x + ih * s.w - s.pad_left;  // row[a] is input column a − pad_left
    const auto at = [&](int64_t a) { return a >= s.pad_left && a < s.w + s.pad_left ? row[a] : 0.0f; };
    for (int64_t j = 0; j < j_begin; ++j) e[j] = at(2 * j), o[j] = at(2 * j + 1);
    if (j_end - j_begin >= 8) {
      deinterleave(row, e, o, j_begin, j_end);
    } else {
      for (int64_t j = j_begin; j < j_end; ++j) e[j] = row[2 * j], o[j] = row[2 * j + 1];
    }
    for (int64_t j = j_end; j < p.half_cols; ++j) e[j] = at(2 * j), o[j] = at(2 * j + 1);
  }
}

// Output rows [oh, oh + ROWS) of one plane: y = init + the stride-2 correlation with filter.
template <typename V, int ROWS>
__attribute__((always_inline)) inline void split_rows(const float* even, const float* odd, int64_t half_cols,
                                                      const float* filter, const Conv2dShape& s, float init, float* y,
                                                      int64_t oh) {
  constexpr int W = kLanes<V>;
  const bool overlap = s.out_w >= W;
  for (int64_t chunk = 0; chunk < s.out_w; chunk += W) {
    const int64_t ow0 = overlap ? std::min<int64_t>(chunk, s.out_w - W) : chunk;
    V acc[ROWS];
    for (int i = 0; i < ROWS; ++i) acc[i] = V{} + init;
    for (int64_t r = 0; r < s.kernel_h; ++r) {
      for (int64_t q = 0; q < s.kernel_w; ++q) {
        const float tap = filter[r * s.kernel_w + q];
        const float* column = (q % 2 == 0 ? even : odd) + (2 * oh + r) * half_cols + ow0 + q / 2;
        for (int i = 0; i < ROWS; ++i) acc[i] += tap * load_vec<V>(column + 2 * i * half_cols);
      }
    }
    for (int i = 0; i < ROWS; ++i) {
      float* y_row = y + (oh + i) * s.out_w;
      if (overlap) {
        store_vec(y_row + ow0, acc[i]);
        continue;
      }
      for (int64_t l = 0; l < s.out_w - ow0 && l < W; ++l) y_row[ow0 + l] = acc[i][l];
    }
  }
}

template <typename V>
__attribute__((always_inline)) inline void split_plane(const float* even, const float* odd, int64_t half_cols,
                                                       const float* filter, const Conv2dShape& s, float init,
                                                       float* y) {
  constexpr int kRows = 4;
  int64_t oh = 0;
  for (; oh + kRows <= s.out_h; oh += kRows) split_rows<V, kRows>(even, odd, half_cols, filter, s, init, y, oh);
  for (; oh < s.out_h; ++oh) split_rows<V, 1>(even, odd, half_cols, filter, s, init, y, oh);
}

KILN_VECTORIZE void split_plane_wide(const float* even, const float* odd, int64_t half_cols, const float* filter,
                                     const Conv2dShape& s, float init, float* y) {
  split_plane<Vec16>(even, odd, half_cols, filter, s, init, y);
}

KILN_VECTORIZE void split_plane_narrow(const float* even, const float* odd, int64_t half_cols, const float* filter,
                                       const Conv2dShape& s, float init, float* y) {
  split_plane<Vec8>(even, odd, half_cols, filter, s, init, y);
}

void split_forward(const float* x, const float* weight, const float* bias, float* y, const Conv2dShape& s,
                   const ConvEpilogue& e) {
  const int64_t multiplier = s.k / s.c, taps = s.kernel_h * s.kernel_w, out_plane = s.out_h * s.out_w;
  const SplitPlane p = split_geometry(s);
  const bool wide = wide_vectors();
  parallel_for_balanced(0, s.n * s.c, grain_for(plane_work(s) * multiplier), [&](int64_t begin, int64_t end) {
    float* even = thread_buffer(p.size(), 0);
    float* odd = thread_buffer(p.size(), 1);
    for (int64_t plane = begin; plane < end; ++plane) {
      split_columns(x + plane * s.h * s.w, s, p, even, odd);
      const int64_t n = plane / s.c, c = plane % s.c;
      for (int64_t kk = c * multiplier; kk < (c + 1) * multiplier; ++kk) {
        float* y_plane = y + (n * s.k + kk) * out_plane;
        const float init = bias == nullptr ? 0.0f : bias[kk];
        if (wide) {
          split_plane_wide(even, odd, p.half_cols, weight + kk * taps, s, init, y_plane);
        } else {
          split_plane_narrow(even, odd, p.half_cols, weight + kk * taps, s, init, y_plane);
        }
        finish_values(y_plane, out_plane, kk, e);
      }
    }
  });
}

// lanes[t] (V's lanes of partial sums per tap t) += gy_plane correlated with the padded x
// plane xp, tap by tap, and lanes[taps] += gy_plane (for the bias gradient). TAPS is
// kernel_h · kernel_w when known at compile time (the accumulators then stay in registers), or
// 0 for any count up to kMaxRegisterTaps.
template <typename V, int TAPS>
__attribute__((always_inline)) inline void weight_plane(const float* xp, const float* gy_plane, float* lanes,
                                                        const Conv2dShape& s, const PaddedPlane& padding) {
  constexpr int W = kLanes<V>;
  const int64_t taps = TAPS > 0 ? TAPS : s.kernel_h * s.kernel_w;
  int64_t offset[kMaxRegisterTaps];  // of tap t in the padded plane
  V acc[kMaxRegisterTaps];
  for (int64_t t = 0; t < taps; ++t) {
    offset[t] = t / s.kernel_w * s.dilation_h * padding.cols + t % s.kernel_w * s.dilation_w;
    acc[t] = load_vec<V>(lanes + t * W);
  }
  V bias = load_vec<V>(lanes + taps * W);
  for (int64_t oh = 0; oh < s.out_h; ++oh) {
    const float* gy_row = gy_plane + oh * s.out_w;
    const float* x_row = xp + oh * padding.cols;
    if (s.out_w < W) {  // one short chunk: gy through a zero-padded copy, x masked past the row
      float tail[W] = {};
      std::copy(gy_row, gy_row + s.out_w, tail);
      const V g = load_vec<V>(tail);
      bias += g;
      for (int64_t t = 0; t < taps; ++t) acc[t] += g * keep_first(load_vec<V>(x_row + offset[t]), s.out_w);
      continue;
    }
    // Whole chunks; a short last one moves back to end at the row's end, with the lanes the
    // chunk before it summed already masked off (in both factors, so no 0 · Inf).
    for (int64_t chunk = 0; chunk < s.out_w; chunk += W) {
      const int64_t ow0 = std::min<int64_t>(chunk, s.out_w - W), done = chunk - ow0;
      const V g = keep_from(load_vec<V>(gy_row + ow0), done);
      bias += g;
      for (int64_t t = 0; t < taps; ++t) acc[t] += g * keep_from(load_vec<V>(x_row + ow0 + offset[t]), done);
    }
  }
  for (int64_t t = 0; t < taps; ++t) store_vec(lanes + t * W, acc[t]);
  store_vec(lanes + taps * W, bias);
}

// weight_plane for 3×3 filters (compile-time tap count) or any other size.
template <typename V>
__attribute__((always_inline)) inline void weight_plane_any(const float* xp, const float* gy_plane, float* lanes,
                                                            const Conv2dShape& s, const PaddedPlane& padding) {
  if (s.kernel_h * s.kernel_w == 9) {
    weight_plane<V, 9>(xp, gy_plane, lanes, s, padding);
  } else {
    weight_plane<V, 0>(xp, gy_plane, lanes, s, padding);
  }
}

KILN_VECTORIZE void weight_plane_wide(const float* xp, const float* gy_plane, float* lanes, const Conv2dShape& s,
                                      const PaddedPlane& padding) {
  weight_plane_any<Vec16>(xp, gy_plane, lanes, s, padding);
}

KILN_VECTORIZE void weight_plane_narrow(const float* xp, const float* gy_plane, float* lanes, const Conv2dShape& s,
                                        const PaddedPlane& padding) {
  weight_plane_any<Vec8>(xp, gy_plane, lanes, s, padding);
}

// Threads split output channels; each walks the images in order and, within an image, its
// channels in memory order (so x and gy stream), keeping V's lanes of partial sums per tap and
// channel plus as many for the bias gradient (gbias, or nullptr), which thus needs no pass over
// gy of its own.
template <typename V>
void register_backward_weight(const float* x, const float* gy, float* gweight, float* gbias, const Conv2dShape& s) {
  constexpr int W = kLanes<V>;
  const int64_t taps = s.kernel_h * s.kernel_w, multiplier = s.k / s.c, rows = taps + 1;
  const PaddedPlane padding = input_padding(s);
  parallel_for_balanced(0, s.k, grain_for(plane_work(s) * s.n), [&](int64_t begin, int64_t end) {
    float* xp = thread_buffer(padding.size(), 0);
    std::vector<float> lanes(static_cast<size_t>((end - begin) * rows * W), 0.0f);  // (channel, tap or bias, W)
    for (int64_t n = 0; n < s.n; ++n) {
      for (int64_t kk = begin; kk < end; ++kk) {
        place(x + (n * s.c + kk / multiplier) * s.h * s.w, s.h, s.w, xp, padding);
        float* channel_lanes = lanes.data() + (kk - begin) * rows * W;
        const float* gy_plane = gy + (n * s.k + kk) * s.out_h * s.out_w;
        if constexpr (W == 16) {
          weight_plane_wide(xp, gy_plane, channel_lanes, s, padding);
        } else {
          weight_plane_narrow(xp, gy_plane, channel_lanes, s, padding);
        }
      }
    }
    for (int64_t kk = begin; kk < end; ++kk) {
      const float* channel = lanes.data() + (kk - begin) * rows * W;
      for (int64_t t = 0; t < taps; ++t) gweight[kk * taps + t] = sum_lanes(load_vec<V>(channel + t * W));
      if (gbias != nullptr) gbias[kk] = sum_lanes(load_vec<V>(channel + taps * W));
    }
  });
}
#endif


}  // namespace

void depthwise_forward(const float* x, const float* weight, const float* bias, float* y, const Conv2dShape& s,
                       const ConvEpilogue& e) {
  if (per_channel_scale_shape(s)) return per_channel_scale_forward(x, weight, bias, y, s, e);
#if KILN_HAS_VEC16
  if (register_path(s)) return register_forward(x, weight, bias, y, s, e);
  if (split_path(s)) return split_forward(x, weight, bias, y, s, e);
#endif
  const int64_t multiplier = s.k / s.c, taps = s.kernel_h * s.kernel_w, out_plane = s.out_h * s.out_w;
  const std::vector<ColumnTap> columns = column_taps(s);
  parallel_for_balanced(0, s.n * s.k, grain_for(plane_work(s)), [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t n = plane / s.k, kk = plane % s.k, c = kk / multiplier;
      forward_plane(x + (n * s.c + c) * s.h * s.w, weight + kk * taps, bias == nullptr ? 0.0f : bias[kk],
                    y + plane * out_plane, s, columns.data());
      finish_values(y + plane * out_plane, out_plane, kk, e);
    }
  });
}

void depthwise_backward_input(const float* gy, const float* weight, float* gx, const Conv2dShape& s) {
#if KILN_HAS_VEC16
  if (register_path(s)) return register_backward_input(gy, weight, gx, s);
#endif
  const int64_t multiplier = s.k / s.c, taps = s.kernel_h * s.kernel_w;
  const std::vector<ColumnTap> columns = column_taps(s);
  parallel_for_balanced(0, s.n * s.c, grain_for(plane_work(s) * multiplier), [&](int64_t begin, int64_t end) {
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

void depthwise_backward_weight(const float* x, const float* gy, float* gweight, float* gbias, const Conv2dShape& s) {
#if KILN_HAS_VEC16
  if (register_path(s) && s.kernel_h * s.kernel_w <= kMaxRegisterTaps) {
    if (wide_vectors()) return register_backward_weight<Vec16>(x, gy, gweight, gbias, s);
    return register_backward_weight<Vec8>(x, gy, gweight, gbias, s);
  }
#endif
  if (gbias != nullptr) bias_gradient(gy, gbias, s);
  const int64_t multiplier = s.k / s.c, taps = s.kernel_h * s.kernel_w;
  const std::vector<ColumnTap> columns = column_taps(s);
  parallel_for_balanced(0, s.k, grain_for(plane_work(s) * s.n), [&](int64_t begin, int64_t end) {
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
