#include "index.h"

#include "parallel.h"

namespace kiln {
namespace {

// idx: (count). The position of the first index outside [0, n), or -1.
int64_t find_bad_index(const int32_t* idx, int64_t count, int64_t n) {
  for (int64_t p = 0; p < count; ++p) {
    if (idx[p] < 0 || idx[p] >= n) return p;
  }
  return -1;
}

}  // namespace

int64_t index_select(const float* x, const int32_t* idx, int64_t m, float* out, int64_t outer, int64_t n,
                     int64_t inner) {
  const int64_t bad = find_bad_index(idx, m, n);
  if (bad >= 0) return bad;
  // Parallel over the outer * m output rows, each a contiguous copy of inner floats.
  parallel_for(0, outer * m, grain_for(inner), [=](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t o = row / m;
      const float* x_row = x + (o * n + idx[row % m]) * inner;
      float* out_row = out + row * inner;
      for (int64_t i = 0; i < inner; ++i) out_row[i] = x_row[i];
    }
  });
  return -1;
}

int64_t index_add(const float* src, const int32_t* idx, int64_t m, float* dst, int64_t outer, int64_t n,
                  int64_t inner) {
  const int64_t bad = find_bad_index(idx, m, n);
  if (bad >= 0) return bad;
  // Parallel over columns (o, i): repeated indices add into the same row, never the same column.
  parallel_for_columns(outer, inner, m, inner, [=](int64_t o, int64_t i_begin, int64_t i_end) {
    for (int64_t j = 0; j < m; ++j) {
      const float* src_row = src + (o * m + j) * inner;
      float* dst_row = dst + (o * n + idx[j]) * inner;
      for (int64_t i = i_begin; i < i_end; ++i) dst_row[i] += src_row[i];
    }
  });
  return -1;
}

int64_t gather(const float* x, const int32_t* idx, float* out, int64_t outer, int64_t n, int64_t m,
               int64_t inner) {
  const int64_t bad = find_bad_index(idx, outer * m * inner, n);
  if (bad >= 0) return bad;
  parallel_for(0, outer * m, grain_for(inner), [=](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const float* x_slice = x + (row / m) * n * inner;
      const int32_t* idx_row = idx + row * inner;
      float* out_row = out + row * inner;
      for (int64_t i = 0; i < inner; ++i) out_row[i] = x_slice[idx_row[i] * inner + i];
    }
  });
  return -1;
}

int64_t scatter_add(const float* src, const int32_t* idx, float* dst, int64_t outer, int64_t n, int64_t m,
                    int64_t inner) {
  const int64_t bad = find_bad_index(idx, outer * m * inner, n);
  if (bad >= 0) return bad;
  // Parallel over columns (o, i): each column of dst is written by one thread only.
  parallel_for_columns(outer, inner, m, inner, [=](int64_t o, int64_t i_begin, int64_t i_end) {
    float* dst_slice = dst + o * n * inner;
    for (int64_t j = 0; j < m; ++j) {
      const int64_t row = (o * m + j) * inner;
      for (int64_t i = i_begin; i < i_end; ++i) dst_slice[idx[row + i] * inner + i] += src[row + i];
    }
  });
  return -1;
}

}  // namespace kiln
