// Pooling kernels. Windows follow PyTorch's CPU kernels exactly (bounds, divisor, tie order).
// Max and average pooling work one output row at a time, tap by tap: for each tap (r, q) of
// the window, in row-major order, one loop runs along the output row, which vectorizes, and
// visiting taps in window order keeps PyTorch's per-window results (first maximum, sum order).
// Threads split planes; every plane is computed the same way whatever the thread count.
#include "pool.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "cpu.h"
#include "parallel.h"
#include "vectorize.h"

namespace kiln {
namespace {

// The first and one-past-last input position of a window starting at `start` with `count`
// taps `step` apart, clipped to [0, size) and kept on the tap grid.
struct Window {
  int64_t begin, end;
};
inline Window clip_window(int64_t start, int64_t count, int64_t step, int64_t size) {
  int64_t begin = start;
  const int64_t end = std::min(start + (count - 1) * step + 1, size);
  if (begin < 0) begin += (-begin + step - 1) / step * step;
  return {begin, std::max(begin, end)};
}

int64_t plane_grain(const Pool2dShape& s) { return grain_for(s.out_h * s.out_w * s.kernel_h * s.kernel_w + s.h * s.w); }

// The outputs ow whose tap at column offset ow·stride + offset is inside [0, size).
struct Span {
  int64_t begin, end;
};
inline Span valid_outputs(int64_t out_size, int64_t size, int64_t stride, int64_t offset) {
  int64_t begin = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  int64_t end = size - offset <= 0 ? 0 : (size - offset + stride - 1) / stride;
  end = std::min(end, out_size);
  return {std::min(begin, end), end};
}

// One tap of max pooling along an output row: for ow in span, the input x_row[ow · STRIDE]
// (position base + ow · STRIDE in the plane) replaces the running max when larger or NaN.
// STRIDE = 0 means the stride is the runtime `stride`.
template <int STRIDE>
inline void max_tap(const float* x_row, int32_t base, int64_t stride, Span span, float* best, int32_t* index) {
  const int64_t step = STRIDE > 0 ? STRIDE : stride;
  for (int64_t ow = span.begin; ow < span.end; ++ow) {
    const float value = x_row[ow * step];
    const bool take = value > best[ow] || value != value;
    best[ow] = take ? value : best[ow];
    index[ow] = take ? base + static_cast<int32_t>(ow * step) : index[ow];
  }
}

// Output row oh of max pooling over plane x: y, index: (out_w). Taps are visited in the
// window's row-major order, so ties keep the first maximum and the last NaN wins.
KILN_VECTORIZE void max_pool_row(const float* x, float* y, int32_t* index, const Pool2dShape& s, int64_t oh) {
  const Window rows = clip_window(oh * s.stride_h - s.pad_h, s.kernel_h, s.dilation_h, s.h);
  for (int64_t ow = 0; ow < s.out_w; ++ow) {
    y[ow] = -std::numeric_limits<float>::infinity();
    index[ow] = -1;  // until a tap beats -Infinity
  }
  for (int64_t ih = rows.begin; ih < rows.end; ih += s.dilation_h) {
    for (int64_t q = 0; q < s.kernel_w; ++q) {
      const int64_t offset = q * s.dilation_w - s.pad_w;
      const Span span = valid_outputs(s.out_w, s.w, s.stride_w, offset);
      const float* x_row = x + ih * s.w + offset;
      const int32_t base = static_cast<int32_t>(ih * s.w + offset);
      if (s.stride_w == 1) {
        max_tap<1>(x_row, base, 1, span, y, index);
      } else if (s.stride_w == 2) {
        max_tap<2>(x_row, base, 2, span, y, index);
      } else {
        max_tap<0>(x_row, base, s.stride_w, span, y, index);
      }
    }
  }
  // Windows of only -Infinity (or none) point at their first position, as in PyTorch.
  for (int64_t ow = 0; ow < s.out_w; ++ow) {
    if (index[ow] >= 0) continue;
    const Window cols = clip_window(ow * s.stride_w - s.pad_w, s.kernel_w, s.dilation_w, s.w);
    const bool empty = rows.begin >= rows.end || cols.begin >= cols.end;
    index[ow] = empty ? 0 : static_cast<int32_t>(rows.begin * s.w + cols.begin);
  }
}

// The divisor of average window (oh, ow) and whether it holds any input element: windows are
// clipped to the padded input for the divisor and to the input for the sum (PyTorch).
struct AvgDivisor {
  float divisor;
  bool empty;
};
inline AvgDivisor avg_divisor(const Pool2dShape& s, int64_t oh, int64_t ow, bool count_include_pad,
                              int64_t divisor_override) {
  const int64_t h0 = oh * s.stride_h - s.pad_h, w0 = ow * s.stride_w - s.pad_w;
  const int64_t h1 = std::min(h0 + s.kernel_h, s.h + s.pad_h), w1 = std::min(w0 + s.kernel_w, s.w + s.pad_w);
  const int64_t rows = std::min(h1, s.h) - std::max<int64_t>(h0, 0);
  const int64_t cols = std::min(w1, s.w) - std::max<int64_t>(w0, 0);
  const bool empty = rows <= 0 || cols <= 0;
  const int64_t divisor = divisor_override > 0 ? divisor_override
                          : count_include_pad  ? (h1 - h0) * (w1 - w0)
                                               : (empty ? 1 : rows * cols);
  return {static_cast<float>(divisor), empty};
}

// Output row oh of average pooling over plane x: y (out_w). Each window is summed in
// row-major order, as PyTorch does.
KILN_VECTORIZE void avg_pool_row(const float* x, float* y, const Pool2dShape& s, int64_t oh, bool count_include_pad,
                                 int64_t divisor_override) {
  for (int64_t ow = 0; ow < s.out_w; ++ow) y[ow] = 0.0f;
  const int64_t h0 = oh * s.stride_h - s.pad_h;
  for (int64_t ih = std::max<int64_t>(h0, 0); ih < std::min(h0 + s.kernel_h, s.h); ++ih) {
    for (int64_t q = 0; q < s.kernel_w; ++q) {
      const Span span = valid_outputs(s.out_w, s.w, s.stride_w, q - s.pad_w);
      const float* x_row = x + ih * s.w + q - s.pad_w;  // x_row[ow · stride_w]
      if (s.stride_w == 2) {
        for (int64_t ow = span.begin; ow < span.end; ++ow) y[ow] += x_row[2 * ow];
      } else {
        for (int64_t ow = span.begin; ow < span.end; ++ow) y[ow] += x_row[ow * s.stride_w];
      }
    }
  }
  for (int64_t ow = 0; ow < s.out_w; ++ow) {
    const AvgDivisor d = avg_divisor(s, oh, ow, count_include_pad, divisor_override);
    y[ow] = d.empty ? 0.0f : y[ow] / d.divisor;
  }
}

// gx plane += the gradient of output row oh, gy (out_w); share: scratch of out_w floats.
KILN_VECTORIZE void avg_pool_backward_row(const float* gy, float* gx, float* share, const Pool2dShape& s, int64_t oh,
                                          bool count_include_pad, int64_t divisor_override) {
  for (int64_t ow = 0; ow < s.out_w; ++ow) share[ow] = gy[ow] / avg_divisor(s, oh, ow, count_include_pad, divisor_override).divisor;
  const int64_t h0 = oh * s.stride_h - s.pad_h;
  for (int64_t ih = std::max<int64_t>(h0, 0); ih < std::min(h0 + s.kernel_h, s.h); ++ih) {
    for (int64_t q = 0; q < s.kernel_w; ++q) {
      const Span span = valid_outputs(s.out_w, s.w, s.stride_w, q - s.pad_w);
      float* gx_row = gx + ih * s.w + q - s.pad_w;  // gx_row[ow · stride_w]
      if (s.stride_w == 2) {
        for (int64_t ow = span.begin; ow < span.end; ++ow) gx_row[2 * ow] += share[ow];
      } else {
        for (int64_t ow = span.begin; ow < span.end; ++ow) gx_row[ow * s.stride_w] += share[ow];
      }
    }
  }
}

// 2×2 windows at stride 2 that tile the plane exactly (no padding, no dilation, even h and w):
// the usual downsampling. Its row kernels keep all four taps of a window in registers, in one
// pass per output row, with the same results as the general ones; its backward writes every
// input-gradient element exactly once, so the plane needs no zero fill first.
bool tiles_2x2(const Pool2dShape& s) {
  return s.kernel_h == 2 && s.kernel_w == 2 && s.stride_h == 2 && s.stride_w == 2 && s.pad_h == 0 && s.pad_w == 0 &&
         s.dilation_h == 1 && s.dilation_w == 1 && s.h == 2 * s.out_h && s.w == 2 * s.out_w;
}

// A later tap wins when larger or NaN (so ties keep the first maximum, the last NaN wins).
inline void keep_max(float value, int32_t position, float& best, int32_t& at) {
  const bool take = value > best || value != value;
  best = take ? value : best;
  at = take ? position : at;
}

// Window ow of 2×2 max pooling between input rows top and bottom (w apart in the plane, top
// starting at plane position `first`): y[ow] and index[ow].
inline void max_2x2_window(const float* top, const float* bottom, int32_t first, int32_t w, int64_t ow, float* y,
                           int32_t* index) {
  const int32_t at0 = first + static_cast<int32_t>(2 * ow);
  float best = top[2 * ow];
  int32_t at = at0;
  keep_max(top[2 * ow + 1], at0 + 1, best, at);
  keep_max(bottom[2 * ow], at0 + w, best, at);
  keep_max(bottom[2 * ow + 1], at0 + w + 1, best, at);
  y[ow] = best;
  index[ow] = at;
}

// Output row oh of 2×2 max pooling over plane x (2·out_h, w): y, index: (out_w). Rows of at
// least 16 go in chunks of 16 windows (whole vectors, no scalar tail), the last chunk
// overlapping the one before it.
KILN_VECTORIZE void max_pool_2x2_row(const float* x, float* y, int32_t* index, int64_t w, int64_t oh, int64_t out_w) {
  const float* top = x + 2 * oh * w;
  const int32_t first = static_cast<int32_t>(2 * oh * w), w32 = static_cast<int32_t>(w);
  if (out_w < 16) {
    for (int64_t ow = 0; ow < out_w; ++ow) max_2x2_window(top, top + w, first, w32, ow, y, index);
    return;
  }
  for (int64_t chunk = 0; chunk < out_w; chunk += 16) {
    const int64_t start = std::min(chunk, out_w - 16);
    for (int64_t ow = start; ow < start + 16; ++ow) max_2x2_window(top, top + w, first, w32, ow, y, index);
  }
}

#if KILN_HAS_SHUFFLE
// Rows of at least this many windows take the one-pass 2×2 backward below; shorter rows (LeNet:
// 14 and 5 windows) are faster zero-filled and scattered (64×6×28×28 relu + pool fwd+bwd on 1
// thread: 1.34 → 0.83 ms), as a window at a time in scalar code costs more than the fill.
constexpr int64_t kOnePassMinWindows = 16;

// Lanes of V as int32 (for the index arithmetic).
template <typename V>
struct Ints;
template <>
struct Ints<Vec16> {
  typedef int32_t type __attribute__((vector_size(64), aligned(4)));
};
template <>
struct Ints<Vec8> {
  typedef int32_t type __attribute__((vector_size(32), aligned(4)));
};

// Input-gradient rows 2·oh and 2·oh + 1 of 2×2 max pooling from gy row oh and its indices
// (out_w ≥ V's lanes): each window's four cells get the window's gy where its index points and
// zero elsewhere, written once (no zero fill first, no scatter), in chunks of V's lanes of
// windows (the last one overlapping the one before it) with the even and odd columns
// interleaved in registers. A window's cells are index − (its top-left position): 0, 1, w and
// w + 1. Returns false when some index lies outside its own window (the rows are then wrong).
// V is Vec16 on AVX-512, Vec8 elsewhere: GCC turns Vec16 selects into scalar branches on AVX2.
template <typename V>
__attribute__((always_inline)) inline bool backward_row_2x2(const float* gy, const int32_t* index, float* gx,
                                                            int64_t w, int64_t oh, int64_t out_w) {
  typedef typename Ints<V>::type Int;
  constexpr int W = kLanes<V>;
  float* top = gx + 2 * oh * w;
  float* bottom = top + w;
  const int32_t first = static_cast<int32_t>(2 * oh * w), w32 = static_cast<int32_t>(w);
  // Selects (?:) rather than masks (&) of compares: GCC lowers the latter to scalar code in
  // target_clones functions.
  Int even_lanes = {};
  for (int l = 0; l < W; ++l) even_lanes[l] = 2 * l;
  const V zero = {}, one = zero + 1.0f;
  V outside = zero;  // 1 in a lane for each window whose index is elsewhere
  for (int64_t chunk = 0; chunk < out_w; chunk += W) {
    const int64_t ow = std::min<int64_t>(chunk, out_w - W);
    Int at;
    std::memcpy(&at, index + ow, sizeof at);
    at -= first + static_cast<int32_t>(2 * ow) + even_lanes;
    const V g = load_vec<V>(gy + ow);
    const V top_even = at == 0 ? g : zero, top_odd = at == 1 ? g : zero;
    const V bottom_even = at == w32 ? g : zero, bottom_odd = at == w32 + 1 ? g : zero;
    outside += (at == 0 ? zero : one) - (at == 1 ? one : zero) - (at == w32 ? one : zero) -
               (at == w32 + 1 ? one : zero);
    store_vec(top + 2 * ow, interleave_low(top_even, top_odd));
    store_vec(top + 2 * ow + W, interleave_high(top_even, top_odd));
    store_vec(bottom + 2 * ow, interleave_low(bottom_even, bottom_odd));
    store_vec(bottom + 2 * ow + W, interleave_high(bottom_even, bottom_odd));
  }
  return sum_lanes(outside) == 0.0f;
}

KILN_VECTORIZE bool max_pool_2x2_backward_row_wide(const float* gy, const int32_t* index, float* gx, int64_t w,
                                                   int64_t oh, int64_t out_w) {
  return backward_row_2x2<Vec16>(gy, index, gx, w, oh, out_w);
}

KILN_VECTORIZE bool max_pool_2x2_backward_row_narrow(const float* gy, const int32_t* index, float* gx, int64_t w,
                                                     int64_t oh, int64_t out_w) {
  return backward_row_2x2<Vec8>(gy, index, gx, w, oh, out_w);
}

// One plane's input gradient in one pass where the shape allows (2×2 tiles, rows of at least
// kOnePassMinWindows windows); false when it does not, or when an index lies outside its window.
bool max_pool_2x2_backward_plane(const float* gy, const int32_t* index, float* gx, const Pool2dShape& s) {
  if (!tiles_2x2(s) || s.out_w < kOnePassMinWindows) return false;
  const bool wide = wide_vectors();
  bool inside = true;
  for (int64_t oh = 0; oh < s.out_h; ++oh) {
    const float* gy_row = gy + oh * s.out_w;
    const int32_t* index_row = index + oh * s.out_w;
    inside &= wide ? max_pool_2x2_backward_row_wide(gy_row, index_row, gx, s.w, oh, s.out_w)
                   : max_pool_2x2_backward_row_narrow(gy_row, index_row, gx, s.w, oh, s.out_w);
  }
  return inside;
}
#else
bool max_pool_2x2_backward_plane(const float*, const int32_t*, float*, const Pool2dShape&) { return false; }
#endif

// Output row oh of 2×2 average pooling over plane x (2·out_h, w): y (out_w), summed in window
// order from zero as the general row kernel does.
KILN_VECTORIZE void avg_pool_2x2_row(const float* x, float* y, int64_t w, int64_t oh, int64_t out_w, float divisor) {
  const float* top = x + 2 * oh * w;
  const float* bottom = top + w;
  for (int64_t ow = 0; ow < out_w; ++ow) {
    y[ow] = (0.0f + top[2 * ow] + top[2 * ow + 1] + bottom[2 * ow] + bottom[2 * ow + 1]) / divisor;
  }
}

// Input-gradient rows 2·oh and 2·oh + 1 of 2×2 average pooling from gy row oh (out_w).
KILN_VECTORIZE void avg_pool_2x2_backward_row(const float* gy, float* gx, int64_t w, int64_t oh, int64_t out_w,
                                              float divisor) {
  float* top = gx + 2 * oh * w;
  float* bottom = top + w;
  for (int64_t ow = 0; ow < out_w; ++ow) {
    const float share = 0.0f + gy[ow] / divisor;
    top[2 * ow] = share;
    top[2 * ow + 1] = share;
    bottom[2 * ow] = share;
    bottom[2 * ow + 1] = share;
  }
}

// Input rows [begin, end) of adaptive output row i of out_size over size.
inline Window adaptive_window(int64_t i, int64_t size, int64_t out_size) {
  return {i * size / out_size, ((i + 1) * size + out_size - 1) / out_size};
}

}  // namespace

void max_pool2d_forward(const float* x, float* y, int32_t* indices, const Pool2dShape& s) {
  const int64_t in_plane = s.h * s.w, out_plane = s.out_h * s.out_w;
  parallel_for_balanced(0, s.planes, plane_grain(s), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      for (int64_t oh = 0; oh < s.out_h; ++oh) {
        const int64_t row = p * out_plane + oh * s.out_w;
        if (tiles_2x2(s)) {
          max_pool_2x2_row(x + p * in_plane, y + row, indices + row, s.w, oh, s.out_w);
        } else {
          max_pool_row(x + p * in_plane, y + row, indices + row, s, oh);
        }
      }
    }
  });
}

void max_pool2d_backward(const float* gy, const int32_t* indices, float* gx, const Pool2dShape& s) {
  const int64_t in_plane = s.h * s.w, out_plane = s.out_h * s.out_w;
  parallel_for_balanced(0, s.planes, plane_grain(s), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      float* gx_plane = gx + p * in_plane;
      const float* gy_plane = gy + p * out_plane;
      const int32_t* index_plane = indices + p * out_plane;
      if (max_pool_2x2_backward_plane(gy_plane, index_plane, gx_plane, s)) continue;
      std::fill(gx_plane, gx_plane + in_plane, 0.0f);
      for (int64_t i = 0; i < out_plane; ++i) gx_plane[index_plane[i]] += gy_plane[i];
    }
  });
}

void avg_pool2d_forward(const float* x, float* y, const Pool2dShape& s, bool count_include_pad,
                        int64_t divisor_override) {
  const int64_t in_plane = s.h * s.w, out_plane = s.out_h * s.out_w;
  const float divisor_2x2 = avg_divisor(s, 0, 0, count_include_pad, divisor_override).divisor;
  parallel_for_balanced(0, s.planes, plane_grain(s), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      for (int64_t oh = 0; oh < s.out_h; ++oh) {
        float* y_row = y + p * out_plane + oh * s.out_w;
        if (tiles_2x2(s)) {
          avg_pool_2x2_row(x + p * in_plane, y_row, s.w, oh, s.out_w, divisor_2x2);
        } else {
          avg_pool_row(x + p * in_plane, y_row, s, oh, count_include_pad, divisor_override);
        }
      }
    }
  });
}

void avg_pool2d_backward(const float* gy, float* gx, const Pool2dShape& s, bool count_include_pad,
                         int64_t divisor_override) {
  const int64_t in_plane = s.h * s.w, out_plane = s.out_h * s.out_w;
  const float divisor_2x2 = avg_divisor(s, 0, 0, count_include_pad, divisor_override).divisor;
  parallel_for_balanced(0, s.planes, plane_grain(s), [&](int64_t begin, int64_t end) {
    std::vector<float> share(static_cast<size_t>(s.out_w));
    for (int64_t p = begin; p < end; ++p) {
      float* gx_plane = gx + p * in_plane;
      if (tiles_2x2(s)) {
        for (int64_t oh = 0; oh < s.out_h; ++oh) {
          avg_pool_2x2_backward_row(gy + p * out_plane + oh * s.out_w, gx_plane, s.w, oh, s.out_w, divisor_2x2);
        }
        continue;
      }
      std::fill(gx_plane, gx_plane + in_plane, 0.0f);
      for (int64_t oh = 0; oh < s.out_h; ++oh) {
        avg_pool_backward_row(gy + p * out_plane + oh * s.out_w, gx_plane, share.data(), s, oh, count_include_pad,
                              divisor_override);
      }
    }
  });
}

void adaptive_avg_pool2d_forward(const float* x, float* y, int64_t planes, int64_t h, int64_t w, int64_t out_h,
                                 int64_t out_w) {
  parallel_for(0, planes, grain_for(h * w + out_h * out_w), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const float* x_plane = x + p * h * w;
      for (int64_t oh = 0; oh < out_h; ++oh) {
        const Window rows = adaptive_window(oh, h, out_h);
        for (int64_t ow = 0; ow < out_w; ++ow) {
          const Window cols = adaptive_window(ow, w, out_w);
          float sum = 0.0f;
          for (int64_t ih = rows.begin; ih < rows.end; ++ih) {
            for (int64_t iw = cols.begin; iw < cols.end; ++iw) sum += x_plane[ih * w + iw];
          }
          y[(p * out_h + oh) * out_w + ow] = sum / static_cast<float>((rows.end - rows.begin) * (cols.end - cols.begin));
        }
      }
    }
  });
}

void adaptive_avg_pool2d_backward(const float* gy, float* gx, int64_t planes, int64_t h, int64_t w, int64_t out_h,
                                  int64_t out_w) {
  parallel_for(0, planes, grain_for(h * w + out_h * out_w), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      float* gx_plane = gx + p * h * w;
      std::fill(gx_plane, gx_plane + h * w, 0.0f);
      for (int64_t oh = 0; oh < out_h; ++oh) {
        const Window rows = adaptive_window(oh, h, out_h);
        for (int64_t ow = 0; ow < out_w; ++ow) {
          const Window cols = adaptive_window(ow, w, out_w);
          const float share = gy[(p * out_h + oh) * out_w + ow] /
                              static_cast<float>((rows.end - rows.begin) * (cols.end - cols.begin));
          for (int64_t ih = rows.begin; ih < rows.end; ++ih) {
            for (int64_t iw = cols.begin; iw < cols.end; ++iw) gx_plane[ih * w + iw] += share;
          }
        }
      }
    }
  });
}

}  // namespace kiln
