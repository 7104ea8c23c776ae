#include "strided.h"

#include "parallel.h"
#include "strided_rows.h"

namespace kiln {
namespace {

// One row: dst[i] = src[i * step], i < n.
void copy_row(const float* src, int64_t step, float* dst, int64_t n) {
  if (step == 1) {
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
  } else if (step == 0) {
    const float value = src[0];
    for (int64_t i = 0; i < n; ++i) dst[i] = value;
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i * step];
  }
}

// One row: dst[i * step] = src[i] (or +=), i < n.
void scatter_row(const float* src, float* dst, int64_t step, int64_t n, bool accumulate) {
  if (accumulate) {
    for (int64_t i = 0; i < n; ++i) dst[i * step] += src[i];
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i * step] = src[i];
  }
}

}  // namespace

void strided_copy(const float* src, const StridedView& view, float* dst) {
  if (view.ndim == 0) {
    dst[0] = src[view.offset];
    return;
  }
  const int64_t last = view.ndim - 1;
  const int64_t row_length = view.shape[last];
  const int64_t rows = product(view.shape, last);
  if (row_length == 0) return;
  parallel_for(0, rows, grain_for(row_length), [&](int64_t begin, int64_t end) {
    RowCursor cursor(view.ndim, view.shape, view.strides, nullptr, view.offset, 0, begin);
    for (int64_t row = begin; row < end; ++row, cursor.advance()) {
      copy_row(src + cursor.offset(0), view.strides[last], dst + row * row_length, row_length);
    }
  });
}

void strided_scatter(const float* src, float* dst, const StridedView& view, bool accumulate) {
  if (view.ndim == 0) {
    dst[view.offset] = accumulate ? dst[view.offset] + src[0] : src[0];
    return;
  }
  const int64_t last = view.ndim - 1;
  const int64_t row_length = view.shape[last];
  const int64_t rows = product(view.shape, last);
  if (row_length == 0 || rows == 0) return;
  RowCursor cursor(view.ndim, view.shape, view.strides, nullptr, view.offset, 0, 0);
  for (int64_t row = 0; row < rows; ++row, cursor.advance()) {
    scatter_row(src + row * row_length, dst + cursor.offset(0), view.strides[last], row_length, accumulate);
  }
}

}  // namespace kiln
