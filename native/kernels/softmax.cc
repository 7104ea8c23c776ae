#include "softmax.h"

#include <cmath>

#include "parallel.h"

namespace kiln {
namespace {

// Columns are processed in strips this wide, so per-column partial results fit on the stack.
constexpr int64_t kStripWidth = 64;

// Rough work per element: an exp plus a few passes.
constexpr int64_t kWorkPerElement = 12;

// NaN-propagating max: once acc is NaN it stays NaN; a NaN x replaces any number.
inline float max_with_nan(float acc, float x) { return (x > acc || x != x) && acc == acc ? x : acc; }

// One strip of columns of one outer slice: x, out: (n, inner), columns [i_begin, i_end).
// With inner == 1 and a single column this is a plain contiguous row.
void softmax_strip(const float* x, float* out, int64_t n, int64_t inner, int64_t i_begin, int64_t i_end,
                   bool log) {
  const int64_t width = i_end - i_begin;
  float column_max[kStripWidth];
  float column_sum[kStripWidth];
  for (int64_t c = 0; c < width; ++c) {
    column_max[c] = -INFINITY;
    column_sum[c] = 0.0f;
  }
  for (int64_t j = 0; j < n; ++j) {
    const float* x_row = x + j * inner + i_begin;
    for (int64_t c = 0; c < width; ++c) column_max[c] = max_with_nan(column_max[c], x_row[c]);
  }
  for (int64_t j = 0; j < n; ++j) {
    const float* x_row = x + j * inner + i_begin;
    float* out_row = out + j * inner + i_begin;
    for (int64_t c = 0; c < width; ++c) {
      float shifted_exp = std::exp(x_row[c] - column_max[c]);
      column_sum[c] += shifted_exp;
      if (!log) out_row[c] = shifted_exp;
    }
  }
  for (int64_t j = 0; j < n; ++j) {
    const float* x_row = x + j * inner + i_begin;
    float* out_row = out + j * inner + i_begin;
    for (int64_t c = 0; c < width; ++c) {
      out_row[c] = log ? x_row[c] - column_max[c] - std::log(column_sum[c]) : out_row[c] / column_sum[c];
    }
  }
}

// One strip of the backward pass: y, gy, gx: (n, inner), columns [i_begin, i_end).
void softmax_backward_strip(const float* y, const float* gy, float* gx, int64_t n, int64_t inner,
                            int64_t i_begin, int64_t i_end, bool log) {
  const int64_t width = i_end - i_begin;
  float column_sum[kStripWidth];
  for (int64_t c = 0; c < width; ++c) column_sum[c] = 0.0f;
  for (int64_t j = 0; j < n; ++j) {
    const int64_t row = j * inner + i_begin;
    for (int64_t c = 0; c < width; ++c) column_sum[c] += log ? gy[row + c] : gy[row + c] * y[row + c];
  }
  for (int64_t j = 0; j < n; ++j) {
    const int64_t row = j * inner + i_begin;
    for (int64_t c = 0; c < width; ++c) {
      gx[row + c] = log ? gy[row + c] - std::exp(y[row + c]) * column_sum[c]
                        : y[row + c] * (gy[row + c] - column_sum[c]);
    }
  }
}

}  // namespace

void softmax_forward(const float* x, float* out, int64_t outer, int64_t n, int64_t inner, bool log) {
  parallel_for_columns(outer, inner, n * kWorkPerElement, kStripWidth,
                       [=](int64_t o, int64_t i_begin, int64_t i_end) {
                         const int64_t slice = o * n * inner;
                         softmax_strip(x + slice, out + slice, n, inner, i_begin, i_end, log);
                       });
}

void softmax_backward(const float* y, const float* gy, float* gx, int64_t outer, int64_t n, int64_t inner,
                      bool log) {
  parallel_for_columns(outer, inner, n * kWorkPerElement, kStripWidth,
                       [=](int64_t o, int64_t i_begin, int64_t i_end) {
                         const int64_t slice = o * n * inner;
                         softmax_backward_strip(y + slice, gy + slice, gx + slice, n, inner, i_begin, i_end, log);
                       });
}

}  // namespace kiln
