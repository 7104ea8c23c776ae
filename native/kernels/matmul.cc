#include "matmul.h"

#include <algorithm>
#include <vector>

#include "parallel.h"

namespace kiln {
namespace {

// Block sizes: a (kBlockK, kBlockN) panel of B is 64 KiB and stays in L2 while every row of
// the task's rows streams over it.
constexpr int64_t kBlockK = 128;
constexpr int64_t kBlockN = 128;

// Rows [row_begin, row_end) of out[p] = op(a[p]) · op(b[p]).
//   a_p: op(a[p]) element (i, kk) at a_p[i * a_row_step + kk * a_col_step]
//   b_p: b[p] as stored; c_p: (m, n)
//   b_panel: scratch of kBlockK * kBlockN floats, used when trans_b
void matmul_rows(const float* a_p, int64_t a_row_step, int64_t a_col_step, const float* b_p, float* c_p,
                 const MatmulShape& s, int64_t row_begin, int64_t row_end, float* b_panel) {
  std::fill(c_p + row_begin * s.n, c_p + row_end * s.n, 0.0f);
  for (int64_t j0 = 0; j0 < s.n; j0 += kBlockN) {
    const int64_t width = std::min(kBlockN, s.n - j0);
    for (int64_t k0 = 0; k0 < s.k; k0 += kBlockK) {
      const int64_t depth = std::min(kBlockK, s.k - k0);
      // panel: op(b[p]) rows [k0, k0 + depth), columns [j0, j0 + width); row kk at panel + kk * panel_stride
      const float* panel = b_p + k0 * s.n + j0;
      int64_t panel_stride = s.n;
      if (s.trans_b) {  // b[p] is (n, k): copy the transposed block into contiguous rows
        for (int64_t j = 0; j < width; ++j) {
          const float* b_column = b_p + (j0 + j) * s.k + k0;
          for (int64_t kk = 0; kk < depth; ++kk) b_panel[kk * width + j] = b_column[kk];
        }
        panel = b_panel;
        panel_stride = width;
      }
      for (int64_t i = row_begin; i < row_end; ++i) {
        float* __restrict c_row = c_p + i * s.n + j0;
        const float* a_row = a_p + i * a_row_step + k0 * a_col_step;
        for (int64_t kk = 0; kk < depth; ++kk) {
          const float a_value = a_row[kk * a_col_step];
          const float* __restrict b_row = panel + kk * panel_stride;
          for (int64_t j = 0; j < width; ++j) c_row[j] += a_value * b_row[j];
        }
      }
    }
  }
}

}  // namespace

void matmul(const float* a, const float* b, float* out, const MatmulShape& s) {
  const int64_t a_row_step = s.trans_a ? 1 : s.k;
  const int64_t a_col_step = s.trans_a ? s.m : 1;
  // Parallel over all batch * m output rows; a row costs about k * n multiply-adds.
  parallel_for(0, s.batch * s.m, grain_for(s.k * s.n + s.n), [&](int64_t begin, int64_t end) {
    std::vector<float> b_panel(s.trans_b ? kBlockK * kBlockN : 0);
    for (int64_t row = begin; row < end;) {
      const int64_t p = row / s.m;
      const int64_t row_begin = row % s.m;
      const int64_t row_end = std::min(s.m, row_begin + (end - row));
      matmul_rows(a + p * s.a_batch_stride, a_row_step, a_col_step, b + p * s.b_batch_stride, out + p * s.m * s.n, s,
                  row_begin, row_end, b_panel.data());
      row += row_end - row_begin;
    }
  });
}

}  // namespace kiln
